"""The rules in one SQLite file: every worker of one host.

An SQLite file in WAL mode is embedded (no extra server), durable (``synchronous=FULL``: a
committed rule survives a power cut) and shared by every worker on a host; readers never wait
for a writer. Each worker keeps one read connection and asks it ``PRAGMA data_version`` per
request (a read of shared memory, microseconds): the number changes when another connection
committed, and only then are the rules read again. Writes go through a fresh connection, so a
worker's own changes are seen the same way. Creating, deleting and auditing are
:class:`service.editorial.audited.AuditedRules`, shared with the PostgreSQL store.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.editorial.audited import AuditedRules, T
from service.editorial.rules import ActiveRules, RuleBook, rule_from_row

log = logging.getLogger("service")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('pin', 'block')),
    target_id TEXT NOT NULL,
    article_id TEXT,
    section TEXT,
    slot INTEGER,
    starts_at INTEGER,
    ends_at INTEGER,
    author TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    author TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'delete')),
    rule_id INTEGER NOT NULL,
    before TEXT,
    after TEXT
);
"""


def _loads(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value: dict[str, Any] = json.loads(text)
    return value


class RulesStore(AuditedRules):
    """The rules of one SQLite file: cheap per-request reads, durable audited writes.

    Parameters
    ----------
    path : path
        The database file; it (and its directory) is created by the first write. Until then
        there are no rules and nothing is written to disk.
    clock : callable
        Unix seconds; decides which rules are in force and stamps changes (a fake in tests).
    """

    PARAMETER = "?"
    RULES_TABLE = "rules"
    AUDIT_TABLE = "audit"

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._file = str(self.path)
        self.clock = clock
        self._lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._cursor: sqlite3.Cursor | None = None
        self._pid = os.getpid()
        self._data_version: int | None = None
        self._book = RuleBook()
        self._last_error_log = float("-inf")
        self._read_failed = False

    @property
    def location(self) -> str:
        """The database file."""
        return str(self.path)

    @property
    def reachable(self) -> bool:
        """Whether the last read of the file worked (true before the file exists)."""
        return not self._read_failed

    # reading (request path) ----------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # The read connection serves every thread of a gthread worker, one at a time (the lock).
        conn = sqlite3.connect(
            self.path, timeout=5.0, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 5000")
        return conn

    def book(self) -> RuleBook:
        """The current rules, read again only when the database changed since the last call."""
        with self._lock:
            try:
                book = self._refresh()
                self._read_failed = False
                return book
            except sqlite3.Error as exc:
                self._read_failed = True
                # Keep answering with the rules we have: a damaged or locked file must not
                # take the public API down. Logged at most once a minute.
                if time.monotonic() - self._last_error_log > 60:
                    self._last_error_log = time.monotonic()
                    log.error("cannot read rules at %s (%s); keeping the last ones", self.path, exc)
                self._close_reader()
                return self._book

    def active(self) -> ActiveRules:
        """The rules in force now (one call per request)."""
        return self.book().at(self.clock())

    def _close_reader(self) -> None:
        if self._reader is not None and self._pid == os.getpid():
            self._reader.close()
        self._reader = self._cursor = None
        self._data_version = None

    def _refresh(self) -> RuleBook:
        if self._pid != os.getpid():
            # A forked child must not use its parent's connection.
            self._reader, self._cursor, self._data_version = None, None, None
            self._pid = os.getpid()
        if self._reader is None or self._cursor is None:
            if not os.path.exists(self._file):
                return self._book
            self._reader = self._connect()
            self._cursor = self._reader.cursor()
        (data_version,) = self._cursor.execute("PRAGMA data_version").fetchone()
        if data_version != self._data_version:
            self._book = self._load(self._reader)
            self._data_version = data_version
        return self._book

    def _load(self, conn: sqlite3.Connection) -> RuleBook:
        try:
            conn.execute("BEGIN")  # one snapshot for both reads
            try:
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                rows = conn.execute("SELECT * FROM rules ORDER BY id").fetchall()
            finally:
                conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # created a moment ago, schema not committed yet
                return RuleBook()
            raise
        version = f"{meta.get('instance', '')[:8]}-{meta.get('version', '0')}"
        return RuleBook.build(version, tuple(rule_from_row(r) for r in rows))

    # writing (editors and scripts) -----------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', ?), ('version', '0')",
                (uuid.uuid4().hex,),
            )
            try:
                yield conn
                conn.execute(
                    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def _write(self, change: Callable[[sqlite3.Connection, int], T]) -> T:
        now = int(self.clock())
        with self._writing() as conn:
            return change(conn, now)

    def _audit_rows(self, sql: str, limit: int) -> Sequence[Mapping[str, Any]]:
        if not self.path.exists():
            return []
        conn = self._connect()
        try:
            rows: Sequence[Mapping[str, Any]] = conn.execute(sql, (limit,)).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        finally:
            conn.close()
        return rows

    def _json_value(self, value: dict[str, Any]) -> Any:
        return json.dumps(value, ensure_ascii=False)

    def _json_loaded(self, value: Any) -> dict[str, Any] | None:
        return _loads(value)

    def journal_mode(self) -> str | None:
        """The database's journal mode (``wal`` once created), ``None`` before."""
        if not self.path.exists():
            return None
        conn = self._connect()
        try:
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        finally:
            conn.close()
        return str(mode)

    def close(self) -> None:
        """Close the read connection (a later call opens it again)."""
        with self._lock:
            self._close_reader()
