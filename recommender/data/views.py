"""View logs: raw view events or per-article view counts, read into typed arrays.

A view log is either raw view events (one row per article view, grouped into sessions) or
pre-aggregated counts. Files are parsed by pyarrow and validated with vectorised operations
(:mod:`recommender.data._columns`); every bad row is reported as a
:class:`~recommender.errors.DataError` with the file, the 1-based line and the field, and
``max_invalid=N`` skips up to ``N`` bad rows (listed in ``invalid``). CSV line numbers are as
:attr:`csv.reader.line_num` reports them (header is line 1); when the two parsers disagree on
an unusual file, an error whose row cannot be located has ``line=None``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recommender.data._columns import (
    Check,
    Loaded,
    cast_lenient,
    encode,
    ids_to_numpy,
    load_views_csv,
    load_views_jsonl_fast,
    load_views_jsonl_slow,
    load_views_parquet,
    locate_errors,
    missing,
    parse_times,
    recode,
    to_numpy,
)
from recommender.data._files import file_format
from recommender.errors import DataError

if TYPE_CHECKING:
    from recommender._topk import BlockMapper

__all__ = [
    "FUTURE_TOLERANCE",
    "VIEW_FILE_SUFFIXES",
    "ViewCounts",
    "ViewEvents",
    "ViewPaths",
    "latest_plausible_time",
    "read_view_sources",
    "read_views",
    "read_views_dir",
    "view_files",
    "view_partition",
]

#: What ``newsrec train --views`` takes: a file, a directory, or several of them.
ViewPaths = str | Path | Sequence[str | Path]

#: How far after the newest plausible time a view may be dated (seconds): one day.
FUTURE_TOLERANCE = 86_400
#: 9999-12-31T23:59:59Z, the last second a date-time can name.
_LAST_SECOND = 253_402_300_799


def latest_plausible_time(*times: int | None) -> int:
    """The latest time a view may be dated: the latest of ``times`` plus
    :data:`FUTURE_TOLERANCE` (at most the year 9999).

    ``newsrec train`` passes the run's wall clock, the newest article's ``published_at`` and
    ``--now``: no view can happen after the clock, except in data generated for a future
    date, whose articles say so.
    """
    known = [t for t in times if t is not None]
    if not known:
        raise ValueError("latest_plausible_time needs at least one time")
    return min(max(known) + FUTURE_TOLERANCE, _LAST_SECOND)


def _future_check(
    seconds: np.ndarray[Any, np.dtype[np.int64]],
    usable: np.ndarray[Any, np.dtype[np.bool_]],
    column: Any,
    field_name: str,
    not_after: int | None,
) -> Check | None:
    """Rows dated after ``not_after``: epoch milliseconds, typos, a clock gone wrong."""
    if not_after is None:
        return None
    limit = dt.datetime.fromtimestamp(not_after, dt.UTC).isoformat().replace("+00:00", "Z")
    return Check(
        usable & (seconds > not_after),
        field_name,
        lambda row: (
            f"{column[row].as_py()!s} is after {limit}, the latest plausible time (1 day "
            "after the newest article or the clock): Unix seconds, not milliseconds"
        ),
    )


@dataclass(frozen=True, eq=False)
class ViewEvents:
    """View events: one article view per entry, in file order.

    Parameters
    ----------
    article_ids : numpy.ndarray
        Unique external article ids, ``dtype=object`` array of ``str``, shape ``(A,)``, in
        order of first appearance.
    article_codes : numpy.ndarray
        ``int32``, shape ``(E,)``: index into ``article_ids`` of each event.
    session_codes : numpy.ndarray
        ``int64``, shape ``(E,)``: dense session number ``0 .. n_sessions - 1`` of each event.
    timestamps : numpy.ndarray
        ``int64``, shape ``(E,)``: Unix seconds, UTC.
    n_sessions : int
        Number of sessions.
    invalid : list of DataError
        Rows skipped because of ``max_invalid``, in file order.
    path : str
        The file read.
    n_future : int
        How many of the skipped rows were dated after ``not_after``.
    """

    article_ids: np.ndarray[Any, np.dtype[np.object_]]
    article_codes: np.ndarray[Any, np.dtype[np.int32]]
    session_codes: np.ndarray[Any, np.dtype[np.int64]]
    timestamps: np.ndarray[Any, np.dtype[np.int64]]
    n_sessions: int
    invalid: list[DataError]
    path: str
    n_future: int = 0


@dataclass(frozen=True, eq=False)
class ViewCounts:
    """Pre-aggregated view counts, one entry per row of the file, in file order.

    Parameters
    ----------
    article_ids : numpy.ndarray
        Unique external article ids, ``dtype=object`` array of ``str``, in order of first
        appearance.
    article_codes : numpy.ndarray
        ``int32``, one per row: index into ``article_ids``.
    views : numpy.ndarray
        ``int64``, one per row: the (non-negative) number of views.
    timestamps : numpy.ndarray or None
        ``int64`` Unix seconds UTC per row (a date means midnight UTC of that date), or
        ``None`` when the file has no ``date`` column.
    invalid : list of DataError
        Rows skipped because of ``max_invalid``, in file order.
    path : str
        The file read.
    n_future : int
        How many of the skipped rows were dated after ``not_after``.
    """

    article_ids: np.ndarray[Any, np.dtype[np.object_]]
    article_codes: np.ndarray[Any, np.dtype[np.int32]]
    views: np.ndarray[Any, np.dtype[np.int64]]
    timestamps: np.ndarray[Any, np.dtype[np.int64]] | None
    invalid: list[DataError]
    path: str
    n_future: int = 0


def _split_sessions(
    users: np.ndarray[Any, np.dtype[np.int32]],
    timestamps: np.ndarray[Any, np.dtype[np.int64]],
    gap_seconds: float,
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], int]:
    """Dense session numbers: a user's events split where the time gap exceeds the limit.

    Sessions are numbered in order of (user's first appearance, time).
    """
    n = len(users)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    order = np.lexsort((timestamps, users))  # stable: equal times keep file order
    sorted_users = users[order]
    sorted_times = timestamps[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    starts[1:] = (sorted_users[1:] != sorted_users[:-1]) | (np.diff(sorted_times) > gap_seconds)
    sessions = np.empty(n, dtype=np.int64)
    sessions[order] = np.cumsum(starts) - 1
    return sessions, int(starts.sum())


def _events(
    loaded: Loaded,
    where: str,
    session_gap_minutes: float,
    max_invalid: int,
    keys_out: list[Any] | None = None,
    not_after: int | None = None,
) -> ViewEvents:
    article, key, time = (loaded.columns[name] for name in loaded.shape.columns)
    key_name = loaded.shape.columns[1]
    # Encoding is the costly part and Arrow's kernel is single-threaded: encode both id
    # columns on worker threads (Arrow releases the GIL) while this thread checks the rows.
    # Rows are encoded before the bad ones are known; bad rows are rare and handled by
    # renumbering the codes afterwards.
    with ThreadPoolExecutor(max_workers=2) as pool:
        key_job = pool.submit(encode, key)
        article_job = pool.submit(encode, article)
        seconds, bad_time = parse_times(time, max_invalid)
        checks = [
            Check(missing(article), "article_id", lambda row: "missing article id"),
            Check(missing(key), key_name, lambda row: f"missing {key_name}"),
            Check(missing(time), "timestamp", lambda row: "missing timestamp"),
            Check(
                bad_time,
                "timestamp",
                lambda row: (
                    f"cannot parse {time[row].as_py()!r}: expected an ISO 8601 date-time "
                    "or integer Unix seconds"
                ),
            ),
        ]
        future = _future_check(seconds, ~missing(time) & ~bad_time, time, "timestamp", not_after)
        if future is not None:
            checks.append(future)
        invalid, bad = locate_errors(loaded, checks, where, max_invalid)
        article_codes, article_dictionary = article_job.result()
        key_codes, key_dictionary = key_job.result()
    n_keys = len(key_dictionary)
    if bad is not None:
        keep = ~bad
        seconds = seconds[keep]
        article_codes, old_codes = recode(article_codes, keep)
        article_dictionary = article_dictionary.take(pa.array(old_codes))
        key_codes, old_codes = recode(key_codes, keep)
        n_keys = len(old_codes)
        if keys_out is not None:
            key_dictionary = key_dictionary.take(pa.array(old_codes))
    if keys_out is not None:  # read_views_dir merges sessions (or users) across files by id
        keys_out[:] = [key_name, key_codes, ids_to_numpy(key_dictionary)]
    if key_name == "session_id":
        session_codes = key_codes.astype(np.int64)
        n_sessions = n_keys
    else:
        session_codes, n_sessions = _split_sessions(key_codes, seconds, session_gap_minutes * 60.0)
    return ViewEvents(
        article_ids=ids_to_numpy(article_dictionary),
        article_codes=article_codes,
        session_codes=session_codes,
        timestamps=seconds,
        n_sessions=n_sessions,
        invalid=invalid,
        path=where,
        n_future=0 if future is None else int(future.mask.sum()),
    )


def _counts(
    loaded: Loaded, where: str, max_invalid: int, not_after: int | None = None
) -> ViewCounts:
    article = loaded.columns["article_id"]
    views_text = loaded.columns["views"]
    views_array = (
        views_text.combine_chunks() if isinstance(views_text, pa.ChunkedArray) else views_text
    )
    views_int = cast_lenient(views_array, pa.int64(), [max_invalid + 1])
    views = to_numpy(pc.fill_null(views_int, 0)).astype(np.int64)
    missing_views = missing(views_text)
    bad_views = ~missing_views & (~to_numpy(pc.is_valid(views_int)).astype(bool) | (views < 0))
    checks = [
        Check(missing(article), "article_id", lambda row: "missing article id"),
        Check(missing_views, "views", lambda row: "missing views"),
        Check(
            bad_views,
            "views",
            lambda row: f"must be a non-negative integer, got {views_text[row].as_py()!r}",
        ),
    ]
    date = loaded.columns.get("date")
    seconds: np.ndarray[Any, np.dtype[np.int64]] | None = None
    future: Check | None = None
    if date is not None:
        seconds, bad_date = parse_times(date, max_invalid)
        checks.append(Check(missing(date), "date", lambda row: "missing date"))
        checks.append(
            Check(
                bad_date,
                "date",
                lambda row: (
                    f"cannot parse {date[row].as_py()!r}: expected YYYY-MM-DD or an "
                    "ISO 8601 date-time"
                ),
            )
        )
        future = _future_check(seconds, ~missing(date) & ~bad_date, date, "date", not_after)
        if future is not None:
            checks.append(future)
    invalid, bad = locate_errors(loaded, checks, where, max_invalid)
    article_codes, article_dictionary = encode(article)
    if bad is not None:
        keep = ~bad
        views = views[keep]
        seconds = None if seconds is None else seconds[keep]
        article_codes, old_codes = recode(article_codes, keep)
        article_dictionary = article_dictionary.take(pa.array(old_codes))
    return ViewCounts(
        article_ids=ids_to_numpy(article_dictionary),
        article_codes=article_codes,
        views=views,
        timestamps=seconds,
        invalid=invalid,
        path=where,
        n_future=0 if future is None else int(future.mask.sum()),
    )


def read_views(
    path: ViewPaths,
    *,
    session_gap_minutes: float = 30,
    max_invalid: int = 0,
    not_after: int | None = None,
    mapper: BlockMapper | None = None,
) -> ViewEvents | ViewCounts:
    """Read a view log: raw view events or per-article view counts.

    The shape is detected from the CSV header (or the JSON keys):

    * **events**: ``article_id``, ``session_id`` or ``user_id``, ``timestamp`` (ISO 8601 with
      or without zone -- no zone means UTC -- or integer Unix seconds);
    * **counts**: ``article_id``, ``views`` (non-negative integer), optional ``date``
      (``YYYY-MM-DD``, meaning midnight UTC, or an ISO 8601 date-time).

    Parameters
    ----------
    path : str or Path, or a sequence of them
        CSV with a header row (``.csv``) or JSON Lines (``.jsonl``/``.json``), optionally
        gzip-compressed (``.gz``), or Parquet (``.parquet``). Other columns are ignored. A
        directory is one log (:func:`read_views_dir`), so are several (:func:`read_view_sources`).
    session_gap_minutes : float, default 30
        Only for events with ``user_id`` and no ``session_id``: a user's events are split
        into sessions where consecutive views are more than this many minutes apart. With a
        ``session_id`` column, a session is a session id.
    max_invalid : int, default 0
        How many bad rows may be dropped (listed in ``invalid`` of the result); one more
        raises.
    not_after : int or None, default None
        Unix seconds: a timestamp (or date) after it makes the row bad, as an unparsable one
        does (epoch milliseconds, a year 2099 typo; counted in ``n_future`` when skipped).
        :func:`latest_plausible_time` computes the limit ``newsrec train`` uses. ``None``:
        no limit.
    mapper : BlockMapper, optional
        For a directory: parses its files as partitions elsewhere (a Dask cluster,
        :mod:`recommender.distributed`); the result is the same.

    Returns
    -------
    ViewEvents or ViewCounts
        Arrays in file order, bad rows dropped.

    Raises
    ------
    DataError
        Unsupported extension, unrecognised columns, or more than ``max_invalid`` bad rows:
        rows with the wrong number of CSV columns, invalid JSON, missing ids, unparsable
        timestamps or dates, timestamps or dates after ``not_after``, negative or
        non-integer views.

    Notes
    -----
    Rows are parsed by pyarrow and checked with vectorised operations, and the two id
    columns are dictionary-encoded on two threads; a 10-million-row events CSV loads in
    about 5 to 9 seconds of CPU time on two cores. Only when a file has bad rows is it read
    a second time, row by row, to find their line numbers. JSON Lines files that pyarrow
    cannot parse (malformed lines, a column mixing strings and numbers) are parsed row by
    row, which is slower and uses more memory.

    Timestamps: all-digit values are Unix seconds; other values are ISO 8601 as Arrow reads
    it (``T`` or space, optional fraction, zone ``Z``, ``+hh:mm``, ``+hhmm`` or ``+hh``),
    within the years 1677-2262. Session numbers follow the order of first appearance of the
    session id; with ``user_id`` they follow (user's first appearance, start time).
    """
    if not isinstance(path, str | Path):
        return read_view_sources(
            path,
            session_gap_minutes=session_gap_minutes,
            max_invalid=max_invalid,
            not_after=not_after,
            mapper=mapper,
        )
    if Path(path).is_dir():
        return read_views_dir(
            path,
            session_gap_minutes=session_gap_minutes,
            max_invalid=max_invalid,
            not_after=not_after,
            mapper=mapper,
        )
    return _read_views_file(Path(path), session_gap_minutes, max_invalid, not_after=not_after)


def _read_views_file(
    path: Path,
    session_gap_minutes: float,
    max_invalid: int,
    keys_out: list[Any] | None = None,
    not_after: int | None = None,
) -> ViewEvents | ViewCounts:
    if max_invalid < 0:
        raise ValueError(f"max_invalid must be >= 0, got {max_invalid}")
    where = str(path)
    fmt, gz = file_format(path, parquet=True)
    if not path.is_file():
        raise DataError(where, None, None, "file not found")
    if fmt == "csv":
        loaded = load_views_csv(path, gz)
    elif fmt == "parquet":
        loaded = load_views_parquet(path)
    else:
        loaded = load_views_jsonl_fast(path, gz) or load_views_jsonl_slow(path, gz)
    if loaded.shape.kind == "counts":
        return _counts(loaded, where, max_invalid, not_after)
    return _events(loaded, where, session_gap_minutes, max_invalid, keys_out, not_after)


#: Files :func:`read_views_dir` reads; anything else in the directory is left alone.
VIEW_FILE_SUFFIXES = (".jsonl", ".csv", ".jsonl.gz", ".csv.gz", ".parquet")


def view_partition(
    file: Path, *, session_gap_minutes: float, max_invalid: int, not_after: int | None
) -> tuple[ViewEvents | ViewCounts, list[Any]]:
    """One file of a view log directory, parsed as :func:`read_views_dir` parses it: the
    part and its keys (a partition a cluster worker parses)."""
    keys_out: list[Any] = []
    part = _read_views_file(file, session_gap_minutes, max_invalid, keys_out, not_after)
    return part, keys_out


def _union_codes(
    ids: np.ndarray[Any, np.dtype[np.object_]], index: dict[Any, int]
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Each id's code in ``index``, adding unknown ids in order (first appearance wins)."""
    return np.fromiter(
        (index.setdefault(value, len(index)) for value in ids.tolist()), np.int64, len(ids)
    )


def _ids_array(index: dict[Any, int]) -> np.ndarray[Any, np.dtype[np.object_]]:
    ids = np.empty(len(index), dtype=object)
    ids[:] = list(index)
    return ids


def _view_files(directory: Path) -> list[Path]:
    files = sorted(
        p for p in directory.iterdir() if p.is_file() and p.name.endswith(VIEW_FILE_SUFFIXES)
    )
    if not files:
        raise DataError(
            str(directory), None, None, "no view files (*.jsonl, *.csv, optionally .gz, *.parquet)"
        )
    return files


def read_views_dir(
    path: str | Path,
    *,
    session_gap_minutes: float = 30,
    max_invalid: int = 0,
    not_after: int | None = None,
    mapper: BlockMapper | None = None,
) -> ViewEvents | ViewCounts:
    """Read every view file of a directory as one view log (e.g. the service's event log).

    The files (``*.jsonl``, ``*.csv``, optionally ``.gz``; other files are ignored) are read
    in name order with :func:`read_views` and joined: article ids are merged, and so are
    sessions, by their id, so a session split over two files (two days, two hosts) is one
    session. Files keyed by ``user_id`` are split into sessions after the join. Every file
    must hold the same shape: events (keyed by ``session_id`` or ``user_id``: both may be
    mixed), or counts with or without dates.

    Parameters
    ----------
    path : str or Path
        The directory.
    session_gap_minutes : float, default 30
        As in :func:`read_views`.
    max_invalid : int, default 0
        How many bad rows may be dropped over all files together.
    not_after : int or None, default None
        As in :func:`read_views`.
    mapper : BlockMapper, optional
        Parses the files as partitions elsewhere (each within ``max_invalid``); when they
        hold more bad rows together than allowed, the files are read again here, in order,
        for the error of the first one too many.

    Returns
    -------
    ViewEvents or ViewCounts
        As :func:`read_views` (``path`` is the directory, ``invalid`` names each file).

    Raises
    ------
    DataError
        No view file in the directory, files of different shapes, or a bad row beyond
        ``max_invalid`` (naming its file and line).
    """
    if max_invalid < 0:
        raise ValueError(f"max_invalid must be >= 0, got {max_invalid}")
    directory = Path(path)
    return _read_joined(
        _view_files(directory), str(directory), session_gap_minutes, max_invalid, not_after, mapper
    )


def read_view_sources(
    paths: Sequence[str | Path],
    *,
    session_gap_minutes: float = 30,
    max_invalid: int = 0,
    not_after: int | None = None,
    mapper: BlockMapper | None = None,
) -> ViewEvents | ViewCounts:
    """Read several view files and directories as one view log (``newsrec train --views A
    --views B``): an imported history beside the service's event log, say.

    Each directory stands for its view files in name order (as :func:`read_views_dir`); the
    files are read in the order given and joined as :func:`read_views_dir` joins a
    directory's files: articles and sessions merged by id, any mix of CSV and JSON Lines,
    gzip-compressed or not, events keyed by ``session_id`` or ``user_id``, but not events
    with counts. A file given twice (itself and inside a directory given too) is read once.

    Parameters
    ----------
    paths : sequence of str or Path
        Files and directories, at least one.
    session_gap_minutes, max_invalid, not_after, mapper :
        As in :func:`read_views_dir` (``max_invalid`` counts over all files together).

    Returns
    -------
    ViewEvents or ViewCounts
        ``path`` names every source, joined by ``" + "``; ``invalid`` names each file.

    Raises
    ------
    DataError
        A missing source, a directory without view files, sources of different shapes
        (naming a file of each), or a bad row beyond ``max_invalid`` (naming its file and
        line).
    """
    if max_invalid < 0:
        raise ValueError(f"max_invalid must be >= 0, got {max_invalid}")
    if not paths:
        raise ValueError("read_view_sources needs at least one path")
    files, where = view_files(paths)
    return _read_joined(files, where, session_gap_minutes, max_invalid, not_after, mapper)


def view_files(paths: ViewPaths) -> tuple[list[Path], str]:
    """The files a view log is read from, in order, and the name it is reported under
    (as :func:`read_views` reads ``paths``): a directory stands for its view files in name
    order; a file given twice is read once.

    Raises
    ------
    DataError
        A missing source, or a directory without view files.
    """
    if isinstance(paths, str | Path):
        if Path(paths).is_dir():
            return _view_files(Path(paths)), str(paths)
        return [Path(paths)], str(paths)
    files: list[Path] = []
    seen: set[Path] = set()
    for source in map(Path, paths):
        if not source.exists():
            raise DataError(str(source), None, None, "file or directory not found")
        for file in _view_files(source) if source.is_dir() else [source]:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files, " + ".join(str(p) for p in paths)


def _shape(part: ViewEvents | ViewCounts, key: str | None) -> str:
    if isinstance(part, ViewCounts):
        return "dated view counts" if part.timestamps is not None else "view counts"
    return f"view events keyed by {key}"


def _read_joined(
    files: list[Path],
    where: str,
    session_gap_minutes: float,
    max_invalid: int,
    not_after: int | None,
    mapper: BlockMapper | None = None,
) -> ViewEvents | ViewCounts:
    """The view files ``files``, in that order, joined into one log named ``where`` (with
    ``mapper``, parsed as partitions elsewhere: see :func:`read_views_dir`)."""
    parts: list[ViewEvents | ViewCounts] = []
    keys: list[list[Any]] = []
    invalid: list[DataError] = []
    to_read = files
    if mapper is not None:
        parsed = mapper(
            view_partition,
            files,
            {
                "session_gap_minutes": session_gap_minutes,
                "max_invalid": max_invalid,
                "not_after": not_after,
            },
        )
        if sum(len(part.invalid) for part, _ in parsed) <= max_invalid:
            to_read = []  # parsed: the loop below re-reads them only for the error
            for part, part_keys in parsed:
                invalid.extend(part.invalid)
                parts.append(part)
                keys.append(part_keys)
    for file in to_read:
        keys_out: list[Any] = []
        part = _read_views_file(
            file, session_gap_minutes, max_invalid - len(invalid), keys_out, not_after
        )
        invalid.extend(part.invalid)
        parts.append(part)
        keys.append(keys_out)
    shapes = [_shape(p, k[0] if k else None) for p, k in zip(parts, keys, strict=True)]
    kinds = {"events" if s.startswith("view events") else s for s in shapes}
    if len(kinds) > 1:
        first: dict[str, Path] = {}
        for file, shape in zip(files, shapes, strict=True):
            first.setdefault(shape, file)
        named = ", ".join(f"{file} has {shape}" for shape, file in first.items())
        raise DataError(
            where,
            None,
            None,
            f"mixes view counts with view events, or dated counts with undated ones ({named}): "
            "give sources of one shape (events keyed by session_id and by user_id may be mixed)",
        )
    articles: dict[Any, int] = {}
    article_codes = np.concatenate(
        [_union_codes(p.article_ids, articles)[p.article_codes] for p in parts]
    ).astype(np.int32)
    first_part = parts[0]
    if isinstance(first_part, ViewCounts):
        counts = [p for p in parts if isinstance(p, ViewCounts)]
        return ViewCounts(
            article_ids=_ids_array(articles),
            article_codes=article_codes,
            views=np.concatenate([p.views for p in counts]),
            timestamps=None
            if first_part.timestamps is None
            else np.concatenate([p.timestamps for p in counts if p.timestamps is not None]),
            invalid=invalid,
            path=where,
            n_future=sum(p.n_future for p in counts),
        )
    events = [p for p in parts if isinstance(p, ViewEvents)]
    timestamps = np.concatenate([p.timestamps for p in events])
    by_user = np.concatenate(
        [np.full(p.timestamps.size, k[0] == "user_id") for p, k in zip(events, keys, strict=True)]
    )
    session_codes = np.empty(timestamps.size, dtype=np.int64)
    n_sessions = 0
    # sessions keyed by session_id first (merged by id), then users split at time gaps
    for user_keyed in (False, True):
        key_index: dict[Any, int] = {}
        chosen = [(c, ids) for kind, c, ids in keys if (kind == "user_id") == user_keyed]
        if not chosen:
            continue
        codes = np.concatenate([_union_codes(ids, key_index)[c] for c, ids in chosen])
        mask = by_user == user_keyed
        if user_keyed:
            codes, count = _split_sessions(
                codes.astype(np.int32), timestamps[mask], session_gap_minutes * 60.0
            )
        else:
            count = len(key_index)
        session_codes[mask] = codes + n_sessions
        n_sessions += count
    return ViewEvents(
        article_ids=_ids_array(articles),
        article_codes=article_codes,
        session_codes=session_codes,
        timestamps=timestamps,
        n_sessions=n_sessions,
        invalid=invalid,
        path=where,
        n_future=sum(p.n_future for p in events),
    )
