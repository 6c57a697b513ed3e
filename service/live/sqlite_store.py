"""The live store in one SQLite file: every worker of one host, without Redis.

The embedded default (no ``NEWSREC_REDIS_URL``): counts, dedup keys and the lifecycle overlay
in ``<NEWSREC_STATE_DIR>/live.sqlite3``, shared by every worker and the events pool of the
host, and kept across restarts (Redis stays the choice for several hosts). WAL mode: readers
never wait for a writer, and a write (one short transaction per events request or lifecycle
change) waits only for another write. Lifecycle changes are committed with
``synchronous=FULL`` (a takedown survives a power cut), counts with ``NORMAL`` (no fsync per
view; a power cut may lose the last views, not the file, and the event log keeps them).

The request path reads nothing here but the lifecycle generation, one indexed ``SELECT`` of
a few microseconds at most every ``generation_interval`` (100 ms) per worker, as
:class:`service.live.view.Live` does with Redis; counts are read once per refresh tick.

Tables (the keys of :mod:`service.live` in rows): ``seen`` (dedup key, expiry), ``buckets``
(label, article, views), ``expiry`` (label, unix seconds: a bucket past it counts no more and
is deleted by the next prune), ``overlay`` (article, record) and ``meta`` (the generation).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from service.live.counts import (
    FIELD_SEP,
    CountQuery,
    Interaction,
    LiveUnavailable,
    Tally,
    View,
    add_to_tally,
    bucket_expiry,
    category_label,
    day_label,
    dedup_key,
    hour_label,
    tally_day,
    tally_expiry,
    tally_field,
)

log = logging.getLogger("service")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS overlay (article_id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_expires ON seen (expires);
CREATE TABLE IF NOT EXISTS buckets (
    label TEXT NOT NULL,
    article_id TEXT NOT NULL,
    views INTEGER NOT NULL,
    PRIMARY KEY (label, article_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS expiry (label TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally (
    day TEXT NOT NULL,
    field TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, field)
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('gen', 0);
"""

#: Counted unless the pair was seen and its window is still open at this view's time.
_SEE = (
    "INSERT INTO seen (key, expires) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE seen.expires <= ?"
)
_ADD = (
    "INSERT INTO buckets (label, article_id, views) VALUES (?, ?, 1) "
    "ON CONFLICT (label, article_id) DO UPDATE SET views = views + 1"
)
_EXPIRE = "INSERT INTO expiry (label, at) VALUES (?, ?) ON CONFLICT (label) DO NOTHING"

#: Seconds between two deletions of expired rows by one process.
PRUNE_SECONDS = 60.0


class SqliteLiveStore:
    """:class:`service.live.stores.LiveStore` in one SQLite file (see the module docstring).

    Parameters
    ----------
    path : path
        The database file; it and its directory are created now, so a path that cannot be
        written fails at start-up (:class:`LiveUnavailable`), not on the first view.
    dedup_seconds : float
        The dedup window.
    clock : callable
        Unix seconds; buckets whose expiry has passed by it count no more.
    busy_seconds : float
        How long a write waits for another process's write before giving up (503).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        dedup_seconds: float = 1800.0,
        clock: Callable[[], float] = time.time,
        busy_seconds: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.dedup_seconds = dedup_seconds
        self._clock = clock
        self._busy_ms = int(busy_seconds * 1000)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._next_prune = 0.0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as conn:
                conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise LiveUnavailable(f"live store {self.path}: {exc}") from exc

    @property
    def location(self) -> str:
        """The database file."""
        return str(self.path)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self._busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError("the file system does not allow WAL mode")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # one connection per process (a forked worker opens its own), one thread at a time
        with self._lock:
            if self._conn is None or self._pid != os.getpid():
                self._conn, self._pid = self._open(), os.getpid()
            yield self._conn

    @contextmanager
    def _transaction(self, what: str, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            with self._connection() as conn:
                if durable:
                    conn.execute("PRAGMA synchronous = FULL")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                finally:
                    if durable:
                        conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as exc:
            log.error("live store %s failed on %s: %s", what, self.path, exc)
            raise LiveUnavailable(f"live store {what} failed: {exc}") from exc

    @contextmanager
    def _reading(self, what: str) -> Iterator[sqlite3.Connection]:
        try:
            with self._connection() as conn:
                conn.execute("BEGIN")  # one snapshot for every statement of the read
                try:
                    yield conn
                finally:
                    conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            log.error("live store %s failed on %s: %s", what, self.path, exc)
            raise LiveUnavailable(f"live store {what} failed: {exc}") from exc

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        clock = self._clock()
        if clock < self._next_prune:
            return
        self._next_prune = clock + PRUNE_SECONDS
        conn.execute("DELETE FROM seen WHERE expires <= ?", (now,))
        conn.execute(
            "DELETE FROM buckets WHERE label IN (SELECT label FROM expiry WHERE at <= ?)",
            (int(clock),),
        )
        conn.execute("DELETE FROM expiry WHERE at <= ?", (int(clock),))
        for (day,) in conn.execute("SELECT DISTINCT day FROM tally").fetchall():
            if tally_expiry(day) <= clock:
                conn.execute("DELETE FROM tally WHERE day = ?", (day,))

    def record(self, views: Sequence[View], now: float) -> list[bool]:
        """See :meth:`service.live.stores.LiveStore.record`: one transaction per call."""
        if not views:
            return []
        out = []
        expires = now + self.dedup_seconds
        with self._transaction("record") as conn:
            self._prune(conn, now)
            touched: set[str] = set()
            for view in views:
                counted = conn.execute(_SEE, (dedup_key(view), expires, now)).rowcount > 0
                out.append(counted)
                if not counted:
                    continue
                hour = hour_label(view.timestamp)
                labels = [hour, day_label(view.timestamp)]
                if view.category:
                    labels.append(category_label(hour, view.category))
                for label in labels:
                    conn.execute(_ADD, (label, view.article_id))
                touched.update(labels)
            conn.executemany(_EXPIRE, [(label, bucket_expiry(label)) for label in touched])
        return out

    def counts(self, queries: Sequence[CountQuery]) -> list[dict[str, float]]:
        """See :meth:`service.live.stores.LiveStore.counts`: one read snapshot."""
        out: list[dict[str, float]] = []
        clock = int(self._clock())
        with self._reading("counts") as conn:
            for buckets, section in queries:
                weights: dict[str, float] = {}
                for label, weight in buckets:
                    key = label if section is None else category_label(label, section)
                    weights[key] = weights.get(key, 0.0) + weight
                if not weights:
                    out.append({})
                    continue
                values = ", ".join("(?, ?)" for _ in weights)
                rows = conn.execute(
                    f"WITH w (label, weight) AS (VALUES {values}) "
                    "SELECT b.article_id, SUM(b.views * w.weight) FROM w "
                    "JOIN expiry e ON e.label = w.label AND e.at > ? "
                    "JOIN buckets b ON b.label = w.label GROUP BY b.article_id",
                    [*(part for pair in weights.items() for part in pair), clock],
                ).fetchall()
                out.append({str(article_id): float(total) for article_id, total in rows})
        return out

    def record_interactions(self, items: Sequence[Interaction], now: float) -> list[bool]:
        """See :meth:`service.live.stores.LiveStore.record_interactions`: one transaction;
        the ``once`` and ``after`` keys are rows of ``seen``, like the dedup keys."""
        if not items:
            return []
        out = []
        with self._transaction("record_interactions") as conn:
            self._prune(conn, now)
            for item in items:
                counted = item.after is None or (
                    conn.execute(
                        "SELECT 1 FROM seen WHERE key = ? AND expires > ?", (item.after, now)
                    ).fetchone()
                    is not None
                )
                if counted and item.once is not None:
                    counted = conn.execute(_SEE, (item.once, now + item.ttl, now)).rowcount > 0
                if counted:
                    conn.execute(
                        "INSERT INTO tally (day, field, count) VALUES (?, ?, 1) "
                        "ON CONFLICT (day, field) DO UPDATE SET count = count + 1",
                        (tally_day(item.timestamp), tally_field(item)),
                    )
                out.append(counted)
        return out

    def tally(self, experiment: str | None = None) -> Tally:
        """See :meth:`service.live.stores.LiveStore.tally`."""
        out: Tally = {}
        with self._reading("tally") as conn:
            if experiment is None:
                rows = conn.execute("SELECT day, field, count FROM tally").fetchall()
            else:
                rows = conn.execute(
                    "SELECT day, field, count FROM tally WHERE substr(field, 1, ?) = ?",
                    (len(experiment) + 1, experiment + FIELD_SEP),
                ).fetchall()
        clock = self._clock()
        for day, field, count in rows:
            if tally_expiry(day) > clock:
                add_to_tally(out, day, field, int(count))
        return out

    def generation(self) -> int:
        """See :meth:`service.live.stores.LiveStore.generation`."""
        try:
            with self._connection() as conn:
                row = conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()
        except (sqlite3.Error, OSError) as exc:
            log.error("live store generation failed on %s: %s", self.path, exc)
            raise LiveUnavailable(f"live store generation failed: {exc}") from exc
        return int(row[0]) if row else 0

    def overlay(self) -> tuple[int, dict[str, str]]:
        """See :meth:`service.live.stores.LiveStore.overlay`."""
        with self._reading("overlay") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()
            records = dict(conn.execute("SELECT article_id, record FROM overlay").fetchall())
        return (int(row[0]) if row else 0), records

    def put_overlay(self, article_id: str, record: str) -> int:
        """See :meth:`service.live.stores.LiveStore.put_overlay`: durable once it returns."""
        with self._transaction("put_overlay", durable=True) as conn:
            conn.execute(
                "INSERT INTO overlay (article_id, record) VALUES (?, ?) "
                "ON CONFLICT (article_id) DO UPDATE SET record = excluded.record",
                (article_id, record),
            )
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'gen'")
            row = conn.execute("SELECT value FROM meta WHERE key = 'gen'").fetchone()
        return int(row[0])

    def drop_overlay(self, records: Mapping[str, str]) -> None:
        """See :meth:`service.live.stores.LiveStore.drop_overlay`."""
        if records:
            with self._transaction("drop_overlay", durable=True) as conn:
                conn.executemany(
                    "DELETE FROM overlay WHERE article_id = ? AND record = ?", records.items()
                )

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
