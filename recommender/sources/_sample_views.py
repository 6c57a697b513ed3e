"""The sample generator's readers: sessions, page views and the files they are written to
(private to :mod:`recommender.sources.sample`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recommender.sources._sample_text import (
    _STATUS_NAMES,
    _Catalog,
    _FloatArray,
    _IntArray,
    _put_digits,
    _put_timestamp,
)
from recommender.windows import DAY, HOUR

_HALF_LIFE = 2 * DAY  # freshness half-life of an article's pull, seconds

# Sessions.
_IN_TOPIC = 0.8
_REDRAWS = 3
_BOT_RATE = 0.001
_BOT_MIN_VIEWS, _BOT_MAX_VIEWS = 200, 600
_LENGTH_MU, _LENGTH_SIGMA, _MAX_HUMAN_VIEWS = 0.69, 1.2, 150
_GAP_MEDIAN, _GAP_SIGMA = 60.0, 0.9  # seconds between a reader's page views

# Chunk sizes bound memory; they are constants so the random streams do not depend on them.
_SESSION_CHUNK = 200_000
_WRITE_CHUNK = 1_000_000


# --- views ---------------------------------------------------------------------------------


def _session_starts(
    rng: np.random.Generator, n: int, viewable_pub: _IntArray, start_s: int, now_s: int
) -> _IntArray:
    """Sorted session start times: uniform, except a ramp while the first articles appear.

    The rate follows the freshness-weighted number of live articles, which is flat once a few
    half-lives of articles exist; without the ramp the first articles would soak up every
    early session.
    """
    edges = np.arange(start_s, now_s + HOUR, HOUR, dtype=np.int64)
    edges[-1] = now_s
    edges = np.unique(edges)
    ends = edges[1:]  # rate of a bin taken at its end, so the last bin is never empty
    decay = np.exp2((viewable_pub - now_s) / _HALF_LIFE)
    live = np.concatenate([[0.0], np.cumsum(decay)])[
        np.searchsorted(viewable_pub, ends, side="right")
    ]
    with np.errstate(divide="ignore"):
        log_rate = (now_s - ends) / _HALF_LIFE + np.log2(live)
    rate = np.exp2(log_rate - log_rate.max())
    cdf = np.cumsum(rate)
    cdf /= cdf[-1]
    bins = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), cdf.size - 1)
    width = edges[bins + 1] - edges[bins]
    starts = edges[bins] + np.floor(rng.random(n) * width).astype(np.int64)
    return np.sort(np.maximum(starts, viewable_pub[0]))


class _Picker:
    """Draws articles by popularity x freshness at a given time, never before publication.

    With weights ``w_a = popularity_a * 2**((published_a - now) / half_life)``, the chance of
    article ``a`` at time ``t`` is ``w_a * 2**((now - t) / half_life)`` for articles published
    by ``t``; the second factor is common to all of them, so the draw is a draw from a prefix
    of the cumulative sum of ``w`` (articles sorted by publication time), and per topic from a
    prefix of that topic's segment.
    """

    def __init__(self, catalog: _Catalog, now_s: int) -> None:
        viewable = np.flatnonzero(catalog.status != _STATUS_NAMES.index("draft"))
        self.rows = viewable
        self.pub = catalog.published[viewable]
        weight = catalog.popularity[viewable] * np.exp2((self.pub - now_s) / _HALF_LIFE)
        self.cum = np.concatenate([[0.0], np.cumsum(weight)])
        self.topic_of_row = catalog.topic
        topic = catalog.topic[viewable]
        self.by_topic = np.argsort(topic, kind="stable")  # then by publication time
        sorted_topic = topic[self.by_topic]
        self.base = int(self.pub[0])
        self.stride = now_s - self.base + 2
        self.topic_key = sorted_topic * self.stride + (self.pub[self.by_topic] - self.base)
        self.topic_cum = np.concatenate([[0.0], np.cumsum(weight[self.by_topic])])
        n_topics = len(catalog.topic_names)
        self.topic_start = np.searchsorted(sorted_topic, np.arange(n_topics), side="left")

    def any_article(self, t: _IntArray, u: _FloatArray) -> _IntArray:
        live = np.searchsorted(self.pub, t, side="right")
        j = np.searchsorted(self.cum, u * self.cum[live], side="right") - 1
        rows: _IntArray = self.rows[np.clip(j, 0, live - 1)]
        return rows

    def uniform(self, t: _IntArray, u: _FloatArray) -> _IntArray:
        live = np.searchsorted(self.pub, t, side="right")
        rows: _IntArray = self.rows[np.minimum((u * live).astype(np.int64), live - 1)]
        return rows

    def same_topic(self, topic: _IntArray, t: _IntArray, u: _FloatArray) -> _IntArray:
        end = np.searchsorted(self.topic_key, topic * self.stride + (t - self.base), side="right")
        start = self.topic_start[topic]
        lo = self.topic_cum[start]
        target = lo + u * (self.topic_cum[end] - lo)
        j = np.searchsorted(self.topic_cum, target, side="right") - 1
        rows: _IntArray = self.rows[self.by_topic[np.clip(j, start, end - 1)]]
        return rows


def _session_events(
    rng: np.random.Generator,
    picker: _Picker,
    starts: _IntArray,
    lengths: _IntArray,
    is_bot: NDArray[np.bool_],
) -> tuple[_IntArray, _IntArray, _IntArray]:
    """Events of a block of sessions: (session index in block, article row, unix time)."""
    n_events = int(lengths.sum())
    session = np.repeat(np.arange(lengths.size), lengths)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(n_events) - first[session]
    bot = is_bot[session]
    gaps = np.where(
        bot,
        rng.integers(2, 9, size=n_events),
        np.maximum(5, np.rint(_GAP_MEDIAN * rng.lognormal(0.0, _GAP_SIGMA, size=n_events))),
    ).astype(np.int64)
    gaps[position == 0] = 0
    elapsed = np.cumsum(gaps)
    times = starts[session] + elapsed - elapsed[first][session]

    u_pick = rng.random(n_events)
    u_mode = rng.random(n_events)
    article = np.empty(n_events, dtype=np.int64)
    article[bot] = picker.uniform(times[bot], u_pick[bot])
    opening = (position == 0) & ~bot
    article[opening] = picker.any_article(times[opening], u_pick[opening])
    session_topic = picker.topic_of_row[article[first]]  # only used for human sessions
    follow = (position > 0) & ~bot
    in_topic = follow & (u_mode < _IN_TOPIC)
    elsewhere = follow & ~in_topic
    article[in_topic] = picker.same_topic(
        session_topic[session[in_topic]], times[in_topic], u_pick[in_topic]
    )
    article[elsewhere] = picker.any_article(times[elsewhere], u_pick[elsewhere])
    # Readers rarely open the article they just read: draw again (a few times) when a pick
    # repeats the previous view, so co-views are not swamped by self-pairs.
    for _ in range(_REDRAWS):
        again = np.flatnonzero(follow & (article == np.roll(article, 1)))
        if again.size == 0:
            break
        u = rng.random(again.size)
        topical = in_topic[again]
        a, b = again[topical], again[~topical]
        article[a] = picker.same_topic(session_topic[session[a]], times[a], u[topical])
        article[b] = picker.any_article(times[b], u[~topical])
    return session, article, times


def _write_views(
    path: Path,
    rng: np.random.Generator,
    catalog: _Catalog,
    *,
    n_sessions: int,
    start_s: int,
    now_s: int,
    id_width: int,
    progress: Any,
) -> tuple[int, int]:
    """Generate every session, sort the views by time and write them; return the counts."""
    picker = _Picker(catalog, now_s)
    starts = _session_starts(rng, n_sessions, picker.pub, start_s, now_s)
    is_bot = rng.random(n_sessions) < _BOT_RATE
    human = np.ceil(rng.lognormal(_LENGTH_MU, _LENGTH_SIGMA, size=n_sessions))
    lengths = np.where(
        is_bot,
        rng.integers(_BOT_MIN_VIEWS, _BOT_MAX_VIEWS + 1, size=n_sessions),
        np.clip(human, 1, _MAX_HUMAN_VIEWS),
    ).astype(np.int64)

    sessions: list[NDArray[np.int32]] = []
    articles: list[NDArray[np.int32]] = []
    times: list[_IntArray] = []
    for lo in range(0, n_sessions, _SESSION_CHUNK):
        hi = min(lo + _SESSION_CHUNK, n_sessions)
        s, a, t = _session_events(rng, picker, starts[lo:hi], lengths[lo:hi], is_bot[lo:hi])
        keep = t <= now_s  # the log ends at now
        sessions.append((s[keep] + lo).astype(np.int32))
        articles.append(a[keep].astype(np.int32))
        times.append(t[keep])
        if progress is not None:
            progress.update(hi - lo)
    if progress is not None:
        progress.close()
    session = np.concatenate(sessions) if sessions else np.empty(0, dtype=np.int32)
    article = np.concatenate(articles) if articles else np.empty(0, dtype=np.int32)
    time = np.concatenate(times) if times else np.empty(0, dtype=np.int64)
    del sessions, articles, times
    order = np.argsort(time, kind="stable")  # ties keep session order
    session, article, time = session[order], article[order], time[order]
    del order

    session_width = max(7, len(str(n_sessions)))
    _write_bytes_atomically(path, _view_chunks(session, article, time, session_width, id_width))
    n_active = int(np.count_nonzero(np.bincount(session, minlength=n_sessions)))
    return int(time.size), n_active


def _view_chunks(
    session: NDArray[np.int32],
    article: NDArray[np.int32],
    time: _IntArray,
    session_width: int,
    id_width: int,
) -> Iterator[bytes]:
    """``views.csv`` as fixed-width rows built with numpy, a million at a time."""
    yield b"session_id,article_id,timestamp\n"
    row = np.frombuffer(
        f"s{'0' * session_width},a{'0' * id_width},{'0' * 20}\n".encode("ascii"), dtype=np.uint8
    )
    article_col = 2 + session_width
    time_col = article_col + 2 + id_width
    # One buffer for every chunk, with the constant characters written once.
    full = np.tile(row, (min(_WRITE_CHUNK, max(time.size, 1)), 1))
    for lo in range(0, time.size, _WRITE_CHUNK):
        hi = min(lo + _WRITE_CHUNK, time.size)
        buf = full[: hi - lo]
        _put_digits(buf, 1, session[lo:hi].astype(np.int64) + 1, session_width)
        _put_digits(buf, article_col + 1, article[lo:hi].astype(np.int64) + 1, id_width)
        _put_timestamp(buf, time_col, time[lo:hi])
        yield buf.tobytes()


# --- output --------------------------------------------------------------------------------


def _write_atomically(path: Path, lines: Iterable[str]) -> None:
    """Write text ``lines`` to a temporary file next to ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f, _Buffered(f) as out:
            for line in lines:
                out.write(line)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_bytes_atomically(path: Path, parts: Iterable[bytes]) -> None:
    """Write ``parts`` to a temporary file next to ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            for part in parts:
                f.write(part)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class _Buffered:
    """Joins many small writes into large ones (the text layer is slow per call)."""

    def __init__(self, f: Any, limit: int = 1 << 20) -> None:
        self._f = f
        self._parts: list[str] = []
        self._size = 0
        self._limit = limit

    def __enter__(self) -> _Buffered:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def write(self, part: str) -> None:
        self._parts.append(part)
        self._size += len(part)
        if self._size >= self._limit:
            self.flush()

    def flush(self) -> None:
        self._f.write("".join(self._parts))
        self._parts.clear()
        self._size = 0


def _progress(enabled: bool, total: int, unit: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit=f" {unit}", desc=unit, leave=False)
