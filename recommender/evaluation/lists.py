"""The list each strategy showed at each replayed pair: what the metrics score.

Strategies
----------
``most_viewed``
    The site's most viewed over the 7 days before the split (the bundle's ranking), minus the
    query article (same filters).
``most_viewed_live``
    What the live service's ``/v1/most-viewed`` (7 days) showed at the pair's time: the
    bundle's 7-day views plus the views counted since the split and before the pair (crawler
    sessions left out, a session's repeats of an article within 30 minutes counted once, as
    ``service.live`` does), ties by article id, minus the query article.
``content``, ``coview``, ``hybrid``
    :func:`recommender.blend.related` with that strategy, including its fallbacks. The single
    signals are raw: ``content`` is TF-IDF cosine only, blind to age.
``content_fresh``
    The hybrid with a co-view weight of 0: content neighbours and popular candidates, times
    the hybrid's freshness decay and popularity prior (the views of the 24 hours before the
    pair). It is what the hybrid serves for an article without co-view evidence (a new
    article), so it is the content signal as readers get it.

"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recommender.blend import BlendParams, Filters, Popular, popular_from_views, related
from recommender.caps import Caps
from recommender.evaluation.metrics import KS
from recommender.evaluation.replay import Replay
from recommender.similarity import RowSimilarity
from recommender.stories import Stories
from recommender.windows import DAY, WINDOWS


@dataclass(frozen=True)
class ReplayLists:
    """The lists one strategy showed in a replay: the distinct ones, and which one each pair
    was shown (``lists[pair_list[i]]`` for pair ``i``)."""

    lists: list[list[int]]
    pair_list: np.ndarray

    def for_pair(self, i: int) -> list[int]:
        return self.lists[int(self.pair_list[i])]


def _ranked_at_pair_time(
    replay: Replay, strategy: str, params: BlendParams, filters: Filters
) -> bool:
    """Whether a list can differ between two times with the same catalogue."""
    if filters.max_age_days is not None:
        return True
    if strategy != "hybrid":
        return False
    if _reads_popular(params):
        return True
    if params.section_half_life_days:
        return True
    return (
        params.half_life_days is not None
        and params.freshness_weight > 0
        and not replay.freshness_is_common_factor
    )


def _reads_popular(params: BlendParams) -> bool:
    return params.popularity_weight > 0 or params.popular_candidates > 0


#: The recent window of the hybrid's popularity prior: the live service's ``24h``.
RECENT_SECONDS = DAY


class RecentViews:
    """The views of the last 24 hours as the live service had them at a time (times must not
    decrease between calls): the views counted since the split and, while the window reaches
    back before the split, the share of the bundle's last day it overlaps (service.live's
    merge rule), rounded to whole views as the service rounds them."""

    def __init__(self, replay: Replay) -> None:
        m = len(replay.signals.categories)
        n = len(replay.bundle)
        self.before = np.zeros(m, dtype=np.float64)
        self.before[:n] = np.asarray(replay.bundle.popularity_views)[:, WINDOWS.index("1d")]
        self.now_ts = replay.now_ts
        self.rows, self.ts = replay.live_rows, replay.live_ts
        self.counts = np.zeros(m, dtype=np.float64)
        self.start = self.end = 0

    def at(self, t: int) -> np.ndarray:
        end = int(np.searchsorted(self.ts, t, side="left"))
        if end > self.end:
            np.add.at(self.counts, self.rows[self.end : end], 1.0)
            self.end = end
        start = int(np.searchsorted(self.ts, t - RECENT_SECONDS, side="left"))
        if start > self.start:
            np.subtract.at(self.counts, self.rows[self.start : start], 1.0)
            self.start = start
        overlap = max(0, self.now_ts - (t - RECENT_SECONDS)) / DAY
        views: np.ndarray = np.rint(self.counts + min(overlap, 1.0) * self.before)
        return views


class _QuerySimilarity:
    """A query row's cosine with every row, kept for the next pairs of the same query (the
    most recent queries, ``budget`` cosines in all, 64 MB: 512 queries of a 3,000-article
    catalogue, 80 of 100,000): a replay meets each query article many times, close in time,
    while its most read rows change at every pair."""

    def __init__(self, similarity: RowSimilarity | None, budget: int = 8_000_000) -> None:
        self.similarity = similarity
        rows = len(similarity) if similarity is not None else 1
        self.size = max(1, min(512, budget // max(rows, 1)))
        self._rows: OrderedDict[int, np.ndarray] = OrderedDict()

    def __call__(self, row: int, rows: np.ndarray) -> np.ndarray:
        if self.similarity is None:
            return np.zeros(rows.size)
        found = self._rows.get(row)
        if found is None:
            every = np.arange(len(self.similarity), dtype=np.int64)
            found = self._rows[row] = self.similarity(row, every)
            if len(self._rows) > self.size:
                self._rows.popitem(last=False)
        else:
            self._rows.move_to_end(row)
        out: np.ndarray = found[rows]
        return out


def popular_at_time(
    replay: Replay,
    recent: RecentViews,
    similarity: Callable[[int, np.ndarray], np.ndarray],
    t: int,
    params: BlendParams,
) -> Popular:
    """What readers were opening at ``t``: the hybrid's :class:`Popular` for a pair."""
    live = np.asarray(replay.signals.is_published, dtype=bool) & (replay.known_ts <= t)
    popular = popular_from_views(recent.at(t), live, similarity, params.popular_candidates)
    if popular.quiet:  # as the service: no view in the 24 hours, the bundle's last day
        popular = popular_from_views(recent.before, live, similarity, params.popular_candidates)
    return popular


def replay_lists(
    replay: Replay,
    strategy: str,
    *,
    params: BlendParams | None = None,
    filters: Filters | None = None,
    n: int = max(KS),
    per_pair: bool = False,
    caps: Caps | None = None,
    similarity: Callable[[int, np.ndarray], np.ndarray] | None = None,
    popular_tick: int = 0,
    per_story: int = 0,
) -> ReplayLists:
    """The list each pair's query article was shown at the pair's time, for one strategy.

    Ranked with :func:`recommender.blend.related` at the pair's time. A list is computed once
    for pairs that provably get the same one: same query, same content list (``content`` and
    the hybrids) and, unless nothing in the ranking depends on the time, same time. Freshness
    multiplies every candidate by one factor at a given time when all are dated and published
    before any pair that can list them (or none is dated), so it leaves their order alone (up
    to rounding); the hybrid's popularity prior reads the views of the 24 hours before the
    pair (:class:`RecentViews`), so it is ranked at each pair's time. ``per_pair`` ranks every
    pair on its own (the reference the grouping is tested against).

    ``similarity``: the content cosine of a query with the popular candidates, to share one
    cache between calls (default: :class:`_QuerySimilarity` of the replay, for this call).
    ``caps``: the service's diversity caps (:class:`recommender.blend.Caps`,
    authors taken from the replay), for the strategies ranked by
    :func:`recommender.blend.related`. ``popular_tick`` (seconds, 0: off): what readers open
    now is read at the start of the
    pair's tick instead of at the pair (as a live service refreshes it at ticks): cheaper for
    a self-calibration's many replays, and never a view after the pair. ``per_story`` (0: off):
    same-story collapsing (:class:`recommender.stories.Stories` over the replay's stories) for
    the strategies ranked by :func:`recommender.blend.related`.
    """
    bundle = replay.bundle
    filters = filters or Filters()
    params = params or BlendParams()
    if strategy == "content_fresh":
        strategy = "hybrid"
        params = dataclasses.replace(params, coview_weight=0.0)
    if strategy == "most_viewed_live":
        return _live_most_viewed(replay, filters, n)
    if caps is not None:
        caps = dataclasses.replace(caps, authors=replay.authors)
    stories = (
        Stories(replay.stories, per_story) if per_story > 0 and replay.stories is not None else None
    )
    site = bundle.popular_rows("7d")
    by_state = strategy in ("content", "hybrid")
    by_time = per_pair or _ranked_at_pair_time(replay, strategy, params, filters)
    recent = RecentViews(replay) if strategy == "hybrid" and _reads_popular(params) else None
    cosines = similarity or _QuerySimilarity(replay.similarity)
    populars: dict[int, Popular] = {}

    def popular_at(t: int) -> Popular:
        assert recent is not None
        if popular_tick <= 0:
            return popular_at_time(replay, recent, cosines, t, params)
        tick = t - t % popular_tick
        found = populars.get(tick)
        if found is None:
            populars.clear()  # ticks only move forward
            found = populars[tick] = popular_at_time(replay, recent, cosines, tick, params)
        return found

    if replay.n_pairs == 0:
        return ReplayLists([], np.zeros(0, dtype=np.int64))
    zeros = np.zeros(replay.n_pairs, dtype=np.int64)
    keys = np.stack(
        [
            replay.pair_query,
            replay.pair_state if by_state else zeros,
            replay.pair_ts if by_time else zeros,
        ],
        axis=1,
    )
    _, first, pair_list = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    lists: list[list[int]] = [[] for _ in range(first.size)]
    # in time order: the recent views only move forward
    for j in np.argsort(replay.pair_ts[first], kind="stable").tolist():
        i = int(first[j])
        position = int(replay.pair_query[i])
        row = int(replay.query_rows[position])
        now = int(replay.pair_ts[i])
        if strategy == "most_viewed":
            signals = replay.signals
            chosen: list[int] = []
            for candidate in site.tolist():
                if len(chosen) == n:
                    break
                if candidate != row and filters.allows(signals, candidate, now):
                    chosen.append(candidate)
            lists[j] = chosen
            continue
        items = related(
            replay.state_signals(int(replay.pair_state[i]) if by_state else -1),
            row,
            n,
            now_ts=now,
            strategy=strategy,
            params=params,
            filters=filters,
            section_popular=bundle.popular_rows("7d", replay.query_categories[position]),
            site_popular=site,
            popular=None if recent is None else popular_at(now),
            caps=caps,
            stories=stories,
        )
        lists[j] = [item.row for item in items]
    return ReplayLists(lists, np.asarray(pair_list, dtype=np.int64).reshape(-1))


def _live_most_viewed(replay: Replay, filters: Filters, n: int) -> ReplayLists:
    """``GET /v1/most-viewed`` (7 days) as the live service answered it at each pair: the
    bundle's 7-day views plus every view counted since its ``now`` and before the pair, ties
    by row (article id order), minus the query article (same filters)."""
    signals = replay.signals
    m = len(signals.categories)
    counts = np.zeros(m, dtype=np.float64)
    counts[: len(replay.bundle)] = replay.bundle.popularity_views[:, WINDOWS.index("7d")]
    rows = np.arange(m)
    lists: list[list[int]] = []
    pair_list = np.zeros(replay.n_pairs, dtype=np.int64)
    seen: dict[tuple[int, int], int] = {}
    done = 0
    for i in np.argsort(replay.pair_ts, kind="stable").tolist():
        now = int(replay.pair_ts[i])
        upto = int(np.searchsorted(replay.live_ts, now, side="left"))  # views before the pair
        if upto > done:
            np.add.at(counts, replay.live_rows[done:upto], 1.0)
            done = upto
            seen.clear()
        row = int(replay.query_rows[replay.pair_query[i]])
        key = (row, now)
        found = seen.get(key)
        if found is None:

            def listed(r: int, now: int = now) -> bool:
                return bool(replay.known_ts[r] <= now) and filters.allows(signals, r, now)

            # the best rows by count (all those tied with the last one), then the filters
            k = min(m, n + 1 + 4 * n)
            threshold = np.partition(counts, m - k)[m - k] if k < m else -np.inf
            pool = rows[counts >= threshold]
            chosen: list[int] = []
            for candidate in pool[np.lexsort((pool, -counts[pool]))].tolist():
                if candidate != row and listed(candidate):
                    chosen.append(candidate)
                    if len(chosen) == n:
                        break
            if len(chosen) < n and pool.size < m:  # the filters left too few: every row
                chosen = []
                for candidate in np.lexsort((rows, -counts)).tolist():
                    if candidate != row and listed(candidate):
                        chosen.append(candidate)
                        if len(chosen) == n:
                            break
            found = seen[key] = len(lists)
            lists.append(chosen)
        pair_list[i] = found
    return ReplayLists(lists, pair_list)
