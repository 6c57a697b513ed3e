"""The durable event log: every counted view, as daily JSON Lines files ``newsrec train`` reads.

``recommender/`` never talks to Redis, so the loop from live views back to training goes
through plain files: ``NEWSREC_EVENT_LOG_DIR/events-YYYY-MM-DD-<host>.jsonl``, one per UTC day
(of the view's timestamp) per host, one line per view::

    {"session_id":"3f1c...","article_id":"a123","timestamp":1795000000}

``newsrec train --views NEWSREC_EVENT_LOG_DIR`` reads the whole directory as one log
(:func:`recommender.data.read_views_dir`). ``session_id`` is the keyed hash of the reader's
session id (never the raw id), no address or user agent is written.

Every gunicorn worker of a host appends to the same file. The file is opened with
``O_APPEND`` and each request's lines go out in one ``write``: on a local file system the
kernel places each such write at the end of the file as one piece, so lines of two workers
never interleave (not so on NFS: give each host a local directory). A write survives a crash
of the service (it is in the kernel's page cache at once) but not a crash of the machine
within the next few seconds; nothing is fsync'ed per request, which would cost more than the
request itself. Old files are never deleted here: archive or delete them by date.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import socket
import threading
from collections.abc import Iterable
from pathlib import Path

from recommender.windows import DAY

#: Open files kept per process (today's and a late event's day).
MAX_OPEN = 4
_HOST_RE = re.compile(r"[^A-Za-z0-9._-]+")
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


@functools.lru_cache(maxsize=64)
def _day(day: int) -> str:
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day)).strftime("%Y-%m-%d")


def host_name() -> str:
    """This machine's name, made safe for a file name."""
    return _HOST_RE.sub("_", socket.gethostname()) or "host"


def log_name(day: str, host: str, prefix: str = "events") -> str:
    """``events-<YYYY-MM-DD>-<host>.jsonl``."""
    return f"{prefix}-{day}-{host}.jsonl"


class EventLog:
    """Appends counted views to the day files of one host.

    Parameters
    ----------
    directory : path
        Created when the first line is written.
    host : str, optional
        Part of each file name (default: this machine's name), so hosts sharing a directory
        never write the same file.
    """

    #: the files' name prefix
    prefix = "events"

    def __init__(self, directory: str | Path, *, host: str | None = None) -> None:
        self.directory = Path(directory)
        self.host = host or host_name()
        self._files: dict[str, int] = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _fd(self, day: str) -> int:
        if self._pid != os.getpid():  # a forked worker must not share its parent's files
            self._files, self._pid = {}, os.getpid()
        fd = self._files.get(day)
        if fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / log_name(day, self.host, self.prefix)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._files[day] = fd
            while len(self._files) > MAX_OPEN:  # the oldest day first
                os.close(self._files.pop(min(self._files)))
        return fd

    def append(self, views: Iterable[tuple[str, str, int]]) -> int:
        """Write ``(session_hash, article_id, timestamp)`` rows; returns how many.

        Raises
        ------
        OSError
            When the directory or a file cannot be written (the caller logs and counts it).
        """
        days: dict[str, list[str]] = {}
        for session, article_id, timestamp in views:
            day = _day(int(timestamp) // DAY)
            quoted = (
                json.dumps(article_id, ensure_ascii=False)
                if _NEEDS_ESCAPE.search(article_id)
                else f'"{article_id}"'
            )
            days.setdefault(day, []).append(
                f'{{"session_id":"{session}","article_id":{quoted},"timestamp":{int(timestamp)}}}\n'
            )
        return self._write(days)

    def _write(self, days: dict[str, list[str]]) -> int:
        written = 0
        with self._lock:
            for day, lines in days.items():
                data = "".join(lines).encode()
                fd = self._fd(day)
                view = memoryview(data)
                while view:  # a short write only happens on a full disk or a signal
                    view = view[os.write(fd, view) :]
                written += len(lines)
        return written

    def close(self) -> None:
        """Close the open files (a later :meth:`append` opens them again)."""
        with self._lock:
            for fd in self._files.values():
                os.close(fd)
            self._files = {}


class InteractionLog(EventLog):
    """Counted impressions and clicks, one JSON object per line, in
    ``<event log>/clicks/clicks-YYYY-MM-DD-<host>.jsonl`` (a folder ``newsrec train`` does not
    read; ``newsrec evaluate --clicks`` does)."""

    prefix = "clicks"

    def append_records(self, records: Iterable[dict[str, object]]) -> int:
        """Write records holding an int ``timestamp``; returns how many.

        Raises
        ------
        OSError
            As :meth:`EventLog.append`.
        """
        days: dict[str, list[str]] = {}
        for record in records:
            day = _day(int(str(record["timestamp"])) // DAY)
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            days.setdefault(day, []).append(line + "\n")
        return self._write(days)
