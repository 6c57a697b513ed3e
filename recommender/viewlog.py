"""A view log far larger than memory, read and reduced partition by partition.

``newsrec train --stream-views`` (:func:`recommender.train.train`'s ``stream_views``) does not
hold the log: it reads it one partition (one view file: a day of the service's event log, a
file of an export) at a time and keeps only what co-view and popularity need. Two passes:

1. **Spill** (:func:`spill_partition`, one task per file): the file is parsed and validated
   exactly as :func:`recommender.data.views.read_views` does (the same errors, with the file
   and line; a view dated in the future is one), its article ids are mapped to catalogue rows,
   and its events are written to a spill directory as ``.npy`` arrays grouped by a hash of
   their session (or user) id into ``n_buckets`` buckets, with the file's distinct ids.
2. **Reduce** (:func:`reduce_bucket`, one task per bucket): a bucket holds every view of its
   sessions, from every file, so its sessions are complete however many days or files they
   span: the crawler rule and the time decay see every view of a session, users are split
   into sessions at time gaps, and each (session, article) pair counts once. It returns its
   distinct (session, article) pairs, one record per session (the order the in-memory
   reader would number it in, its last view of a known article, the crawler verdict) and its
   popularity counts per window.

The driver (:func:`reduce_view_log`) numbers the sessions as the in-memory reader does
(sessions keyed by ``session_id`` in order of first appearance, then users' sessions by the
user's first appearance and start time), builds the session x article matrix and sums the
popularity counts, so the bundle is byte for byte the one the in-memory path trains.

Peak memory: one file being parsed (pass 1) or one bucket (pass 2, about the log's size over
``n_buckets``), plus the reduced state: the distinct (session, article) pairs (8 bytes each,
12 in the final matrix) and three numbers per session. The log's text, ids and per-view
arrays are never all in memory. With a :class:`~recommender._topk.BlockMapper` (a Dask
cluster) both passes run on the workers, which must share the spill directory's file system.

Only logs of view events are streamed: a log of per-article counts is already aggregated and
is read whole (:func:`recommender.data.views.read_views`).
"""

from __future__ import annotations

import shutil
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from recommender._topk import BlockMapper
from recommender.crawlers import crawler_sessions
from recommender.data._columns import encode, to_numpy
from recommender.data.views import ViewCounts, ViewEvents, ViewPaths, view_files, view_partition
from recommender.errors import DataError
from recommender.popularity import WINDOWS, window_counts

__all__ = [
    "LogSummary",
    "ReducedLog",
    "reduce_bucket",
    "reduce_view_log",
    "spill_partition",
    "view_rows",
]

#: Bits of a view's position that number it within its file (the rest number the file).
_ROW_BITS = 40
_ARRAYS = ("keys", "rows", "times", "positions")


@dataclass(frozen=True, eq=False)
class Spilled:
    """One file after pass 1: where its arrays are and what it held."""

    directory: str
    index: int
    key_name: str
    #: Events of bucket ``b`` are ``[event_offsets[b], event_offsets[b + 1])``; their ids
    #: are the file's ids ``[key_offsets[b], key_offsets[b + 1])``.
    event_offsets: np.ndarray
    key_offsets: np.ndarray
    n_rows: int
    n_unknown: int
    max_time: int | None
    invalid: list[DataError]
    n_future: int


@dataclass(frozen=True, eq=False)
class LogSummary:
    """What the run reports of a streamed log (the manifest's counts, the thin-log check).

    Parameters
    ----------
    path : str
        The sources, joined by ``" + "`` as :func:`~recommender.data.views.read_views` names
        them.
    n_rows, n_sessions, n_unknown : int
        Views read, sessions, views of articles the catalogue lacks.
    max_time : int or None
        The newest view's Unix seconds.
    invalid : list of DataError
        Rows skipped (``max_invalid``).
    n_future : int
        Skipped rows dated in the future.
    """

    path: str
    n_rows: int
    n_sessions: int
    n_unknown: int
    max_time: int | None
    invalid: list[DataError]
    n_future: int


@dataclass(frozen=True, eq=False)
class ReducedLog:
    """A view log reduced to what co-view and popularity train on.

    Parameters
    ----------
    summary : LogSummary
    sessions : scipy.sparse.csr_matrix
        Binary session x article matrix of the views of known articles
        (:func:`recommender.coview.session_matrix` of the whole log).
    last_seen : numpy.ndarray
        ``int64`` per session: its last view of a known article (the time decay's age).
    crawlers : numpy.ndarray
        ``bool`` per session: the crawler rule's verdict over all its views.
    window_views : numpy.ndarray
        ``int64`` (n_articles, 4): views per popularity window before ``now``.
    baseline_views : numpy.ndarray
        ``float64`` per article: views in the trending baseline.
    now : int
        The end of the windows.
    """

    summary: LogSummary
    sessions: sp.csr_matrix
    last_seen: np.ndarray
    crawlers: np.ndarray
    window_views: np.ndarray
    baseline_views: np.ndarray
    now: int


def view_rows(views: ViewEvents | ViewCounts | LogSummary) -> int:
    """How many view rows a log held (bad rows dropped)."""
    return views.n_rows if isinstance(views, LogSummary) else int(views.article_codes.size)


def _bucket_of(ids: np.ndarray, n_buckets: int) -> np.ndarray:
    """A bucket per id, the same on every machine (Python's ``hash`` of a str is not)."""
    return np.fromiter(
        (zlib.crc32(value.encode()) % n_buckets for value in ids.tolist()), np.int64, len(ids)
    )


def spill_partition(
    block: tuple[int, str],
    *,
    catalogue: pa.Array,
    spill_dir: str,
    n_buckets: int,
    session_gap_minutes: float,
    max_invalid: int,
    not_after: int | None,
) -> Spilled | str:
    """Pass 1 of one file (``block`` is its number in the log and its path): parse it,
    validate it, and write its events grouped by session bucket under ``spill_dir``.

    Returns the :class:`Spilled` record, or the file's shape when it holds view counts.
    """
    index, file = block
    part, keys = view_partition(
        Path(file),
        session_gap_minutes=session_gap_minutes,
        max_invalid=max_invalid,
        not_after=not_after,
    )
    if isinstance(part, ViewCounts):
        return "dated view counts" if part.timestamps is not None else "view counts"
    key_name, key_codes, key_ids = keys
    lookup = pc.fill_null(pc.index_in(pa.array(part.article_ids, pa.string()), catalogue), -1)
    known = to_numpy(lookup).astype(np.int32)
    rows = known[part.article_codes] if known.size else np.zeros(0, np.int32)
    # the file's ids ordered by bucket, and its events by their id's bucket (stable: each
    # bucket keeps the file's order)
    key_bucket = _bucket_of(key_ids, n_buckets)
    key_order = np.argsort(key_bucket, kind="stable")
    new_code = np.empty(key_order.size, dtype=np.int32)
    new_code[key_order] = np.arange(key_order.size, dtype=np.int32)
    event_bucket = key_bucket[key_codes]
    order = np.argsort(event_bucket, kind="stable")
    directory = Path(spill_dir) / f"part-{index:06d}"
    directory.mkdir(parents=True, exist_ok=True)
    ids = pa.array(key_ids[key_order].tolist(), pa.string())
    with (
        pa.OSFile(str(directory / "ids.arrow"), "wb") as sink,
        pa.ipc.new_file(sink, pa.schema([("id", ids.type)])) as writer,
    ):
        writer.write_table(pa.table({"id": ids}))
    arrays = {
        "keys": new_code[key_codes][order],
        "rows": rows[order],
        "times": part.timestamps[order],
        "positions": order.astype(np.int64),
    }
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", array)
    return Spilled(
        directory=str(directory),
        index=index,
        key_name=key_name,
        event_offsets=np.searchsorted(event_bucket[order], np.arange(n_buckets + 1)),
        key_offsets=np.searchsorted(key_bucket[key_order], np.arange(n_buckets + 1)),
        n_rows=int(rows.size),
        n_unknown=int((rows < 0).sum()),
        max_time=int(part.timestamps.max()) if part.timestamps.size else None,
        invalid=part.invalid,
        n_future=part.n_future,
    )


def _sessions_of_users(
    users: np.ndarray, times: np.ndarray, gap_seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """Users' views split into sessions at time gaps (as the in-memory reader splits them):
    the session of each view and the start time of each session. Views are in log order."""
    order = np.lexsort((times, users))  # stable: equal times keep the log's order
    sorted_users, sorted_times = users[order], times[order]
    starts = np.ones(order.size, dtype=bool)
    starts[1:] = (sorted_users[1:] != sorted_users[:-1]) | (np.diff(sorted_times) > gap_seconds)
    sessions = np.empty(order.size, dtype=np.int64)
    sessions[order] = np.cumsum(starts) - 1
    return sessions, sorted_times[starts]


def reduce_bucket(
    bucket: int,
    *,
    parts: list[Spilled],
    n_articles: int,
    now: int,
    session_gap_minutes: float,
    bot_views_per_minute: float | None,
    bot_burst_views: int | None,
    trending_baseline_days: float,
) -> dict[str, np.ndarray]:
    """Pass 2 of one bucket: every view of its sessions, from every file, reduced.

    Returns the bucket's sessions (``order``: the keys the in-memory reader numbers them by;
    ``last_seen``, ``crawlers``), its distinct (session, article) pairs (``pair_sessions``
    local to the bucket, ``pair_rows``) and its popularity counts (``window_views``,
    ``baseline_views``).
    """
    pieces: dict[bool, list[tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {
        False: [],
        True: [],
    }
    for part in parts:
        e0, e1 = int(part.event_offsets[bucket]), int(part.event_offsets[bucket + 1])
        k0, k1 = int(part.key_offsets[bucket]), int(part.key_offsets[bucket + 1])
        if e1 == e0:
            continue
        arrays = {
            name: np.load(Path(part.directory) / f"{name}.npy", mmap_mode="r") for name in _ARRAYS
        }
        with pa.memory_map(str(Path(part.directory) / "ids.arrow")) as source:
            ids = pa.ipc.open_file(source).read_all().column("id").slice(k0, k1 - k0)
            ids = pa.concat_arrays(ids.chunks) if ids.num_chunks else pa.array([], pa.string())
        pieces[part.key_name == "user_id"].append(
            (
                ids,
                np.asarray(arrays["keys"][e0:e1], dtype=np.int64) - k0,
                np.asarray(arrays["rows"][e0:e1]),
                np.asarray(arrays["times"][e0:e1]),
                np.asarray(arrays["positions"][e0:e1]) + (np.int64(part.index) << _ROW_BITS),
            )
        )
    orders, lasts, bots, pair_sessions, pair_rows = [], [], [], [], []
    window_views = np.zeros((n_articles, len(WINDOWS)), dtype=np.int64)
    baseline_views = np.zeros(n_articles, dtype=np.float64)
    n_local = 0
    for by_user in (False, True):
        if not pieces[by_user]:
            continue
        # one id space for the bucket's files: the ids merged by value
        codes, ids = encode(pa.chunked_array([p[0] for p in pieces[by_user]], pa.string()))
        at = np.cumsum([0] + [len(p[0]) for p in pieces[by_user]])
        # int64: a key times the number of articles is a pair's sort key below
        keys = np.concatenate([codes[at[i] + p[1]] for i, p in enumerate(pieces[by_user])])
        keys = keys.astype(np.int64)
        rows, times, positions = (
            np.concatenate([p[j] for p in pieces[by_user]]) for j in (2, 3, 4)
        )
        first = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, keys, positions)
        if by_user:
            sessions, starts = _sessions_of_users(keys, times, session_gap_minutes * 60.0)
            owner = np.empty(starts.size, dtype=np.int64)
            owner[sessions] = keys
            order = np.stack([np.ones(starts.size, np.int64), first[owner], starts], axis=1)
        else:
            sessions = keys
            order = np.stack([np.zeros(len(ids), np.int64), first, np.zeros(len(ids), np.int64)], 1)
        n = order.shape[0]
        orders.append(order)
        bots.append(
            crawler_sessions(
                sessions,
                times,
                n,
                views_per_minute=bot_views_per_minute,
                burst_views=bot_burst_views,
            )
        )
        known = rows >= 0
        last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, sessions[known], times[known])
        lasts.append(last)
        # sorted by (session, article): each session's articles in order, as the matrix wants
        pair_key = np.unique(sessions[known] * n_articles + rows[known])
        pair_sessions.append((pair_key // n_articles + n_local).astype(np.int32))
        pair_rows.append((pair_key % n_articles).astype(np.int32))
        counts, baseline = window_counts(
            rows[known], times[known], n_articles, now, trending_baseline_days
        )
        window_views += counts
        baseline_views += baseline
        n_local += n
    read = np.flatnonzero(window_views.any(axis=1) | (baseline_views > 0)).astype(np.int32)
    return {
        "order": np.concatenate(orders) if orders else np.zeros((0, 3), np.int64),
        "last_seen": np.concatenate(lasts) if lasts else np.zeros(0, np.int64),
        "crawlers": np.concatenate(bots) if bots else np.zeros(0, bool),
        "pair_sessions": np.concatenate(pair_sessions) if pair_sessions else np.zeros(0, np.int32),
        "pair_rows": np.concatenate(pair_rows) if pair_rows else np.zeros(0, np.int32),
        # only the articles the bucket's views name: a catalogue of millions stays on the driver
        "read": read,
        "window_views": window_views[read],
        "baseline_views": baseline_views[read],
    }


def _run(mapper: BlockMapper | None, fn: Any, blocks: Sequence[Any], shared: dict[str, Any]) -> Any:
    if mapper is not None:
        return mapper(fn, blocks, shared)
    return [fn(block, **shared) for block in blocks]


def _spill(
    files: list[Path],
    catalogue: pa.Array,
    spill_dir: str,
    n_buckets: int,
    session_gap_minutes: float,
    max_invalid: int,
    not_after: int | None,
    mapper: BlockMapper | None,
) -> list[Spilled | str]:
    """Pass 1 of every file; ``max_invalid`` counts over all files together, and the error
    of the first bad row too many names its file and line, as the in-memory reader's does."""
    shared = {
        "catalogue": catalogue,
        "spill_dir": spill_dir,
        "n_buckets": n_buckets,
        "session_gap_minutes": session_gap_minutes,
        "not_after": not_after,
    }
    blocks = [(i, str(file)) for i, file in enumerate(files)]
    if mapper is not None:
        parsed = mapper(spill_partition, blocks, {**shared, "max_invalid": max_invalid})
        if sum(len(p.invalid) for p in parsed if isinstance(p, Spilled)) <= max_invalid:
            return list(parsed)
        # too many together: read again in order here for the error of the first one too many
    done: list[Spilled | str] = []
    allowance = max_invalid
    for block in blocks:
        part = spill_partition(block, **shared, max_invalid=allowance)
        if isinstance(part, Spilled):
            allowance -= len(part.invalid)
        done.append(part)
    return done


def reduce_view_log(
    paths: ViewPaths,
    article_ids: Sequence[str],
    *,
    session_gap_minutes: float = 30,
    max_invalid: int = 0,
    not_after: int | None = None,
    now: int | None = None,
    bot_views_per_minute: float | None = None,
    bot_burst_views: int | None = None,
    trending_baseline_days: float = 7,
    n_buckets: int | None = None,
    spill_dir: str | Path | None = None,
    mapper: BlockMapper | None = None,
) -> ReducedLog | None:
    """Read a view log of events in bounded memory and reduce it (see the module).

    Parameters
    ----------
    paths : str or Path, or a sequence of them
        View files and directories, as :func:`~recommender.data.views.read_views` takes them;
        each file is one partition.
    article_ids : sequence of str
        The catalogue: row ``i`` is ``article_ids[i]``.
    session_gap_minutes, max_invalid, not_after :
        As in :func:`~recommender.data.views.read_views`.
    now : int, optional
        The end of the popularity windows; default: the newest view.
    bot_views_per_minute, bot_burst_views :
        The crawler rule (:func:`recommender.crawlers.crawler_sessions`).
    trending_baseline_days : float
        As :class:`~recommender.popularity.PopularityModel`'s.
    n_buckets : int, optional
        Session buckets of pass 2; default: as many as files (or the mapper's
        ``min_blocks``, if more), so that a bucket holds about a file's views.
    spill_dir : path, optional
        Where pass 1 writes (a temporary directory inside it is removed at the end); on a
        cluster, a directory every worker reads and writes at the same path. Default: the
        system's temporary directory.
    mapper : BlockMapper, optional
        Runs both passes' tasks elsewhere (a Dask cluster).

    Returns
    -------
    ReducedLog or None
        ``None`` when the log holds view counts, not events: read it whole.

    Raises
    ------
    DataError
        As :func:`~recommender.data.views.read_views`: a missing source, a directory without
        view files, events mixed with counts, a bad row beyond ``max_invalid``.
    """
    if max_invalid < 0:
        raise ValueError(f"max_invalid must be >= 0, got {max_invalid}")
    files, where = view_files(paths)
    buckets = n_buckets or max(len(files), mapper.min_blocks if mapper is not None else 1)
    catalogue = pa.array(list(article_ids), pa.string())
    if spill_dir is not None:
        Path(spill_dir).mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".views-", dir=None if spill_dir is None else str(spill_dir))
    try:
        parts = _spill(
            files,
            catalogue,
            scratch,
            buckets,
            session_gap_minutes,
            max_invalid,
            not_after,
            mapper,
        )
        spilled = [p for p in parts if isinstance(p, Spilled)]
        if len(spilled) < len(parts):
            if spilled:
                counts = next(p for p in parts if isinstance(p, str))
                raise DataError(
                    where,
                    None,
                    None,
                    "mixes view counts with view events "
                    f"({files[spilled[0].index]} has view events keyed by "
                    f"{spilled[0].key_name}, a file has {counts}): give sources of one shape",
                )
            return None
        times = [p.max_time for p in spilled if p.max_time is not None]
        max_time = max(times) if times else None
        end = now if now is not None else (max_time if max_time is not None else 0)
        reduced = _run(
            mapper,
            reduce_bucket,
            list(range(buckets)),
            {
                "parts": spilled,
                "n_articles": len(article_ids),
                "now": end,
                "session_gap_minutes": session_gap_minutes,
                "bot_views_per_minute": bot_views_per_minute,
                "bot_burst_views": bot_burst_views,
                "trending_baseline_days": trending_baseline_days,
            },
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _assemble(reduced, spilled, where, len(article_ids), end, max_time)


def _assemble(
    reduced: list[dict[str, np.ndarray]],
    spilled: list[Spilled],
    where: str,
    n_articles: int,
    now: int,
    max_time: int | None,
) -> ReducedLog:
    """The buckets' sessions numbered as the in-memory reader numbers them, joined."""
    order = np.concatenate([r["order"] for r in reduced])
    n_sessions = order.shape[0]
    code = np.empty(n_sessions, dtype=np.int64)
    code[np.lexsort((order[:, 2], order[:, 1], order[:, 0]))] = np.arange(n_sessions)
    del order
    last_seen = np.empty(n_sessions, dtype=np.int64)
    crawlers = np.empty(n_sessions, dtype=bool)
    per_session = np.zeros(n_sessions, dtype=np.int64)
    at = 0
    for r in reduced:
        mine = code[at : at + r["last_seen"].size]
        last_seen[mine] = r["last_seen"]
        crawlers[mine] = r["crawlers"]
        per_session[mine] = np.bincount(r["pair_sessions"], minlength=mine.size)
        at += mine.size
    # the session x article matrix in place, bucket by bucket (each bucket's pairs are let go
    # of once placed): a bucket's pairs are distinct and sorted by session and article, as
    # session_matrix() sorts the whole log's; the same arrays, without sorting them again
    indptr = np.zeros(n_sessions + 1, dtype=np.int64)
    np.cumsum(per_session, out=indptr[1:])
    articles = np.empty(int(indptr[-1]), dtype=np.int64)
    at = 0
    for r in reduced:
        mine = code[at : at + r["last_seen"].size]
        local = r.pop("pair_sessions")
        starts = np.zeros(mine.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(local, minlength=mine.size), out=starts[1:])
        rank = np.arange(local.size, dtype=np.int64) - starts[local]
        articles[indptr[mine[local]] + rank] = r.pop("pair_rows")
        at += mine.size
    ones = np.ones(articles.size, dtype=np.float32)
    # as session_matrix() builds it: the same dtypes go in, so scipy keeps the same ones
    sessions = sp.csr_matrix((ones, articles, indptr), shape=(n_sessions, n_articles))
    summary = LogSummary(
        path=where,
        n_rows=sum(p.n_rows for p in spilled),
        n_sessions=n_sessions,
        n_unknown=sum(p.n_unknown for p in spilled),
        max_time=max_time,
        invalid=[error for p in spilled for error in p.invalid],
        n_future=sum(p.n_future for p in spilled),
    )
    window_views = np.zeros((n_articles, len(WINDOWS)), dtype=np.int64)
    baseline_views = np.zeros(n_articles, dtype=np.float64)
    for r in reduced:  # integers: the sums are exact in any order
        window_views[r["read"]] += r["window_views"]
        baseline_views[r["read"]] += r["baseline_views"]
    return ReducedLog(
        summary=summary,
        sessions=sessions,
        last_seen=last_seen,
        crawlers=crawlers,
        window_views=window_views,
        baseline_views=baseline_views,
        now=now,
    )
