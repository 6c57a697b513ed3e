"""Editorial rules in PostgreSQL: one database for every worker of every host.

The SQLite file of :class:`service.editorial.sqlite_store.RulesStore` is shared by the workers
of one host only.
Behind a load balancer the rules must apply on every instance as soon as an editor saves them,
and survive a restart of any service, so several hosts keep them in PostgreSQL
(``NEWSREC_RULES_URL``): durable (a committed transaction is on disk), reachable from every
host, transactional (a rule, its audit entry and the change counter commit together or not at
all) and backed up with the usual ``pg_dump``. Redis is no place for them: here it is a cache
that may evict, and may keep nothing on disk.

Tables (created by the first write, ``CREATE TABLE IF NOT EXISTS`` under an advisory lock, so
several hosts may start at once; the ``newsrec_`` prefix lets them share a database, and a
``search_path`` in the URL, e.g. ``?options=-csearch_path%3Dnewsrec``, puts them in a schema of
their own): ``newsrec_rules``, ``newsrec_rules_audit`` (``before``/``after`` as JSONB) and
``newsrec_rules_meta`` (one row: a random instance id and the change counter). Rule ids come from
an identity column, so they are never reused.

Reading costs a request nothing: no query, no system call beyond ``os.getpid()``. Each worker
process runs one daemon thread with its own connection that ``LISTEN``\\s on
:data:`CHANNEL`; every write bumps the counter and ``NOTIFY``\\s in its transaction, so the
thread wakes when the change commits, reads the counter and, when it moved, every rule (one
snapshot), and swaps in a new :class:`~service.editorial.rules.RuleBook`. It also reads the
counter every
:data:`POLL_SECONDS` whatever happens, which covers a notification lost with a connection, and
reconnects with a growing pause when the database goes away, keeping the rules it has (an error
logged at most once a minute). A worker's own write installs the new rules before it returns,
so an editor sees the change on the next request to that worker; the other workers, on every
host, follow within milliseconds.

Forks: a connection or a thread of the parent is never used by a child (gunicorn forks its
workers; ``preload_app`` would build the app first). A process that finds another pid than the
one that started its thread starts its own. Writes use a fresh connection each: editors'
changes are rare, and a worker holds one connection (its listener), not two.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb

from service.editorial.audited import RULE_COLUMNS, AuditedRules, T
from service.editorial.rules import ActiveRules, RuleBook, RulesStoreError, rule_from_row

log = logging.getLogger("service")

#: The ``NOTIFY`` channel of rule changes.
CHANNEL = "newsrec_rules"
#: How often each worker reads the change counter even without a notification (seconds).
POLL_SECONDS = 1.0
#: How long the first read of a process may wait for the database (seconds); after that the
#: worker answers without rules until its thread has read them.
START_WAIT_SECONDS = 2.0
#: libpq's ``connect_timeout`` (seconds, at least 2): a write to an unreachable database fails
#: after this long with a 503.
CONNECT_TIMEOUT = 3
#: Pauses between reconnection attempts of a worker's thread: doubling up to the maximum.
RETRY_SECONDS = (0.5, 10.0)
#: How often the thread looks up from waiting to see whether it was asked to stop (seconds).
_WAKE_SECONDS = 0.2
#: Serialises the schema's creation across hosts ("newsrec" in ASCII).
_SCHEMA_LOCK = 0x6E657773726563
_ERROR_LOG_SECONDS = 60.0
#: libpq settings unless the URL gives its own: a dead peer is noticed in about 30 s, not the
#: kernel's 15 minutes.
_DEFAULTS = {
    "connect_timeout": str(CONNECT_TIMEOUT),
    "application_name": "newsrec",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS newsrec_rules_meta (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        instance TEXT NOT NULL,
        version BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS newsrec_rules (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('pin', 'block')),
        target_id TEXT NOT NULL,
        article_id TEXT,
        section TEXT,
        slot INTEGER,
        starts_at BIGINT,
        ends_at BIGINT,
        author TEXT NOT NULL,
        note TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS newsrec_rules_audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        author TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('create', 'delete')),
        rule_id BIGINT NOT NULL,
        before JSONB,
        after JSONB
    )""",
)

Conn = psycopg.Connection[DictRow]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(url: str) -> str:
    """``url`` without its password (or any other secret parameter), for logs and errors."""
    params = conninfo_to_dict(url)
    host = params.get("host") or params.get("hostaddr") or "localhost"
    user = f"{params['user']}@" if params.get("user") else ""
    port = params.get("port") or "5432"
    return f"postgresql://{user}{host}:{port}/{params.get('dbname') or ''}"


class PostgresRulesStore(AuditedRules):
    """The rules of one PostgreSQL database: no query per request, durable audited writes.

    Parameters
    ----------
    url : str
        A libpq URL, ``postgresql://user[:password]@host[:port]/dbname[?options]``. Nothing
        connects until the first read or write.
    clock : callable
        Unix seconds; decides which rules are in force and stamps changes (a fake in tests).
    poll_interval : float
        Seconds between two reads of the change counter without a notification.
    start_wait : float
        Seconds the first read of a process waits for the rules.
    """

    PARAMETER = "%s"
    RULES_TABLE = "newsrec_rules"
    AUDIT_TABLE = "newsrec_rules_audit"

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        poll_interval: float = POLL_SECONDS,
        start_wait: float = START_WAIT_SECONDS,
    ) -> None:
        params = conninfo_to_dict(url)
        for key, value in _DEFAULTS.items():
            params.setdefault(key, value)
        self._conninfo = make_conninfo("", **params)
        self._location = describe(url)
        self.clock = clock
        self.poll_interval = poll_interval
        self.start_wait = start_wait
        self._book = RuleBook()
        #: (instance, version) of the installed book; ``None`` while no tables exist.
        self._seen: tuple[str, int] | None = None
        self._last_error_log = float("-inf")
        self._failing = False
        self._fresh_process()

    def _fresh_process(self) -> None:
        # Locks, events and the thread belong to one process: a forked child makes its own (a
        # lock its parent's thread held at the fork would stay locked forever in the child).
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _own(self) -> None:
        if self._pid != os.getpid():
            self._fresh_process()

    @property
    def location(self) -> str:
        """The database, as ``postgresql://user@host:port/dbname`` (no password)."""
        return self._location

    @property
    def reachable(self) -> bool:
        """Whether this process's listener last reached the database."""
        return not self._failing

    def _connect(self) -> Conn:
        return psycopg.connect(self._conninfo, autocommit=True, row_factory=dict_row)

    # reading (request path) ----------------------------------------------------------------

    def book(self) -> RuleBook:
        """The current rules, as this process's listener last read them (no I/O here)."""
        if self._thread is None or self._pid != os.getpid():
            self._start()
        return self._book

    def active(self) -> ActiveRules:
        """The rules in force now (one call per request)."""
        return self.book().at(self.clock())

    def _start(self) -> None:
        self._own()
        with self._start_lock:
            if self._thread is not None:  # another thread of this worker started it
                return
            stop, ready = threading.Event(), threading.Event()
            thread = threading.Thread(
                target=self._listen, args=(stop, ready), name="newsrec-rules", daemon=True
            )
            thread.start()
            # Other threads of the worker wait here too, so none answers before the first read
            # (or before start_wait when the database does not answer).
            ready.wait(self.start_wait)
            self._stop, self._thread = stop, thread

    def _listen(self, stop: threading.Event, ready: threading.Event) -> None:
        """The worker's listener: wake on a notification or every poll interval, read the
        counter, read the rules when it moved; reconnect after failures."""
        pause = RETRY_SECONDS[0]
        while not stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if self._failing:
                        self._failing = False
                        log.warning("rules database %s is reachable again", self.location)
                    pause = RETRY_SECONDS[0]
                    self._follow(conn, stop, ready)
            except psycopg.Error as exc:
                self._failed(exc)
            except Exception:
                # A bug must not end the thread: the worker would keep old rules for good.
                log.exception("rules listener of %s failed", self.location)
            ready.set()
            stop.wait(pause)
            pause = min(pause * 2, RETRY_SECONDS[1])

    def _follow(self, conn: Conn, stop: threading.Event, ready: threading.Event) -> None:
        due = 0.0
        woken = True
        while not stop.is_set():
            if woken or time.monotonic() >= due:
                self._refresh(conn)
                ready.set()
                due = time.monotonic() + self.poll_interval
            woken = False
            for _ in conn.notifies(timeout=_WAKE_SECONDS, stop_after=1):
                woken = True

    def _refresh(self, conn: Conn) -> None:
        try:
            row = conn.execute("SELECT instance, version FROM newsrec_rules_meta").fetchone()
        except pg_errors.UndefinedTable:  # no rule was ever written
            self._install(None, ())
            return
        if row is None or (row["instance"], row["version"]) == self._seen:
            return
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            meta = conn.execute("SELECT instance, version FROM newsrec_rules_meta").fetchone()
            rows = conn.execute(f"SELECT {RULE_COLUMNS} FROM newsrec_rules ORDER BY id").fetchall()
            assert meta is not None
            self._install((meta["instance"], meta["version"]), rows)

    def _install(self, seen: tuple[str, int] | None, rows: Iterable[Mapping[str, Any]]) -> None:
        """Make these rules current unless newer ones already are (a worker's own write and its
        listener may race)."""
        with self._lock:
            current = self._seen
            if seen is None:
                if current is None:
                    return
                book = RuleBook()
            else:
                if current is not None and current[0] == seen[0] and current[1] >= seen[1]:
                    return
                version = f"{seen[0][:8]}-{seen[1]}"
                book = RuleBook.build(version, tuple(rule_from_row(r) for r in rows))
            self._seen, self._book = seen, book

    def _failed(self, exc: BaseException) -> None:
        self._failing = True
        if time.monotonic() - self._last_error_log > _ERROR_LOG_SECONDS:
            self._last_error_log = time.monotonic()
            log.error(
                "cannot read rules from %s (%s); keeping the last ones",
                self.location,
                _first_line(exc),
            )

    # writing (editors and scripts) -----------------------------------------------------------

    def _error(self, exc: psycopg.Error) -> RulesStoreError:
        return RulesStoreError(f"PostgreSQL at {self.location}: {_first_line(exc)}")

    @staticmethod
    def _create_schema(conn: Conn) -> None:
        found = conn.execute("SELECT to_regclass('newsrec_rules_meta') AS found").fetchone()
        if found is not None and found["found"] is not None:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO newsrec_rules_meta (id, instance, version) VALUES (1, %s, 0) "
                "ON CONFLICT (id) DO NOTHING",
                (uuid.uuid4().hex,),
            )

    def _write(self, change: Callable[[Conn, int], T]) -> T:
        """Run ``change(conn, now)`` in one transaction with the counter's bump and the
        notification, then install the rules as they stand after it."""
        self._own()
        now = int(self.clock())
        try:
            with self._connect() as conn:
                self._create_schema(conn)
                with conn.transaction():
                    # An editor had rather get a 503 than wait behind a stuck transaction.
                    conn.execute("SET LOCAL lock_timeout = '5s'")
                    result = change(conn, now)
                    # The counter's row lock orders writers: these rules are this version's.
                    meta = conn.execute(
                        "UPDATE newsrec_rules_meta SET version = version + 1 "
                        "RETURNING instance, version"
                    ).fetchone()
                    assert meta is not None
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(meta["version"])))
                    rows = conn.execute(
                        f"SELECT {RULE_COLUMNS} FROM newsrec_rules ORDER BY id"
                    ).fetchall()
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        self._install((meta["instance"], meta["version"]), rows)
        return result

    def _audit_rows(self, sql: str, limit: int) -> Sequence[Mapping[str, Any]]:
        try:
            with self._connect() as conn:
                rows: Sequence[Mapping[str, Any]] = conn.execute(sql, (limit,)).fetchall()
        except pg_errors.UndefinedTable:
            return []
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        return rows

    def _json_value(self, value: dict[str, Any]) -> Any:
        return Jsonb(value)

    def _json_loaded(self, value: Any) -> dict[str, Any] | None:
        loaded: dict[str, Any] | None = value  # JSONB comes back decoded
        return loaded

    def close(self) -> None:
        """Stop this process's listener and close its connection (a later read starts it
        again)."""
        self._own()
        with self._start_lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and self._pid == os.getpid():
            thread.join(timeout=CONNECT_TIMEOUT + 2 * _WAKE_SECONDS + 1)
