"""Every replayed pair's hybrid candidates in one table, scored for many blend settings at once.

A self-calibration scores dozens of blend settings on the same replay. Ranking each pair's
list with :func:`recommender.blend.related` costs a few milliseconds a pair, so a search of a
few thousand pairs could try only a handful of settings inside the training budget. The
candidates of a pair, their signals (content cosine, co-view score, date, recent views) and
its fillers do not depend on the blend settings, only their scores do. :class:`CandidateTable`
collects them once, then :meth:`CandidateTable.ranks` scores every candidate of every pair
with numpy (the same arithmetic as :func:`recommender.blend.related`, in the same order, so the
same floating-point scores) and counts where each pair's target lands.

What it reproduces
------------------
:func:`recommender.evaluation.lists.replay_lists` for the ``hybrid`` strategy with the default
:class:`~recommender.blend.Filters` (published rows, never the query), no caps, no same-story
collapsing, what readers open now read at ticks (``popular_tick``), lists of ``n`` items: the
rank of each pair's target in the first ``n`` (0: not there), as
:func:`recommender.evaluation.evaluate.score_lists` gives it. A test holds the two to the same
ranks, pair by pair, over random settings.

The table is built for one ``popular_min_similarity`` and at most ``max_popular`` popular
candidates (the largest value a search tries); any other blend setting may vary between calls.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.blend import BlendParams, Filters, _listed
from recommender.evaluation.lists import RecentViews, _ranked_at_pair_time, popular_at_time
from recommender.evaluation.replay import Replay
from recommender.freshness import freshness_factors
from recommender.similarity import RowSimilarity

#: A popular rank no setting reaches: the candidate is not a popular extra.
_NOT_POPULAR = np.iinfo(np.int64).max


class CandidateTable:
    """The hybrid candidates of every pair of ``replay`` with the signals that score them.

    Parameters
    ----------
    replay : Replay
    params : BlendParams
        The settings fixed for the table: ``popular_min_similarity`` (and whether popular
        candidates are read at all, when ``max_popular`` is 0 and the popularity weight too).
    max_popular : int
        The most popular candidates any setting scored with this table asks for.
    similarity : callable
        ``similarity(row, rows)``: the content cosine of a query row with popular rows (as
        :func:`~recommender.evaluation.lists.replay_lists` takes it).
    popular_tick : int
        Seconds: what readers open now is read at the start of each pair's tick (0: at the
        pair).
    n : int
        The length of a list.
    """

    def __init__(
        self,
        replay: Replay,
        params: BlendParams,
        max_popular: int,
        similarity: Callable[[int, np.ndarray], np.ndarray],
        popular_tick: int,
        n: int = 10,
    ) -> None:
        self.n = n
        self.min_similarity = params.popular_min_similarity
        self.max_popular = max_popular
        self.reads_popular = max_popular > 0 or params.popularity_weight > 0
        P = replay.n_pairs
        self.pairs = P
        self.size = len(replay.signals.categories)
        self.query = np.asarray(replay.query_rows, dtype=np.int64)[replay.pair_query]
        self.now = np.asarray(replay.pair_ts, dtype=np.int64)
        self._content(replay)
        self._popular(replay, similarity, popular_tick)
        # a list that cannot change with the time is ranked once, at its first pair's time
        if P:
            keys = np.stack([replay.pair_query, replay.pair_state], axis=1)
            _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            self.group_now = self.now[first][np.asarray(inverse).reshape(-1)]
        else:
            self.group_now = self.now
        self.sections = [replay.query_categories[q] for q in replay.pair_query.tolist()]
        self._take(replay)

    def _content(self, replay: Replay) -> None:
        """Each pair's content list as flat (pair, row, cosine) entries."""
        pairs, rows, scores = [], [], []
        signals = replay.signals
        for i in range(self.pairs):
            row, state = int(self.query[i]), int(replay.pair_state[i])
            if state < 0:
                neighbors, values = signals.content_neighbors[row], signals.content_scores[row]
            else:
                neighbors, values = replay.state_lists[state]
            r, v = _listed(neighbors, values)
            pairs.append(np.full(r.size, i, dtype=np.int64))
            rows.append(r)
            scores.append(v)
        self.c_pair, self.c_row, c_score = _flat(pairs, rows, scores)
        self.c_score = c_score.astype(np.float64)
        self.closest = np.zeros(self.pairs, dtype=np.float64)
        np.maximum.at(self.closest, self.c_pair, self.c_score)

    def _popular(
        self,
        replay: Replay,
        similarity: Callable[[int, np.ndarray], np.ndarray],
        popular_tick: int,
    ) -> None:
        """The popular extras of each pair (flat: pair, row, rank among the most read,
        cosine), and the recent views at each pair's tick (sparse: tick, row, views)."""
        self.pair_tick = np.zeros(self.pairs, dtype=np.int64)
        pairs: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        ranks: list[np.ndarray] = []
        cosines: list[np.ndarray] = []
        view_keys: list[np.ndarray] = []
        view_values: list[np.ndarray] = []
        if not self.reads_popular or not self.pairs:
            self.p_pair = self.p_row = self.p_rank = np.zeros(0, np.int64)
            self.p_cos = np.zeros(0)
            self.view_keys, self.view_values = np.zeros(0, np.int64), np.zeros(0)
            return
        recent = RecentViews(replay)
        wanted = BlendParams(
            popular_candidates=self.max_popular, popular_min_similarity=self.min_similarity
        )
        order = np.argsort(self.now, kind="stable")
        ticks = self.now - self.now % popular_tick if popular_tick > 0 else self.now
        # every (pair, row) of the content lists, sorted for the lookups below
        listed_sorted = np.sort(self.c_pair * self.size + self.c_row)
        k = -1
        previous = None
        top = np.zeros(0, np.int64)
        for i in order.tolist():
            tick = int(ticks[i])
            if tick != previous:
                previous, k = tick, k + 1
                found = popular_at_time(replay, recent, similarity, tick, wanted)
                top = found.rows[: self.max_popular]
                nz = np.flatnonzero(found.views)
                view_keys.append(k * self.size + nz)
                view_values.append(np.asarray(found.views[nz], dtype=np.float64))
            self.pair_tick[i] = k
            row = int(self.query[i])
            keys = i * self.size + top
            at = np.searchsorted(listed_sorted, keys)
            at = np.minimum(at, max(listed_sorted.size - 1, 0))
            fresh = (top != row) & (
                listed_sorted[at] != keys if listed_sorted.size else np.ones(top.size, bool)
            )
            extra, rank = top[fresh], np.flatnonzero(fresh)
            if extra.size:
                cos = np.asarray(similarity(row, extra), dtype=np.float64)
                ok = cos > max(self.min_similarity * float(self.closest[i]), 0.0)
                pairs.append(np.full(int(ok.sum()), i, dtype=np.int64))
                rows.append(extra[ok])
                ranks.append(rank[ok])
                cosines.append(cos[ok])
        if rows:
            self.p_pair, self.p_row, self.p_rank = _flat(pairs, rows, ranks)
            self.p_cos = np.concatenate(cosines)
        else:
            self.p_pair = self.p_row = self.p_rank = np.zeros(0, np.int64)
            self.p_cos = np.zeros(0)
        self.view_keys = np.concatenate(view_keys)
        self.view_values = np.concatenate(view_values)

    def with_replay(self, replay: Replay) -> CandidateTable:
        """This table with the co-view lists of ``replay``: a replay of the same pairs whose
        co-view model changed (the content lists and what readers open now are kept)."""
        table = copy.copy(self)
        table._take(replay)
        return table

    def _take(self, replay: Replay) -> None:
        """The candidates: the content and popular entries with ``replay``'s co-view lists."""
        self.replay = replay
        signals = replay.signals
        self.has_support = signals.has_coview and signals.coview_support is not None
        self.support = np.zeros(self.pairs, dtype=np.float64)
        v_pair, v_row, v_score = (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
        self.coview_top = np.ones(self.pairs, dtype=np.float64)
        if signals.has_coview and signals.coview_neighbors is not None:
            assert signals.coview_scores is not None
            if self.has_support:
                assert signals.coview_support is not None
                self.support = np.asarray(signals.coview_support, dtype=np.float64)[self.query]
            neighbors = np.asarray(signals.coview_neighbors)[self.query]
            values = np.asarray(signals.coview_scores)[self.query]
            valid = neighbors >= 0
            v_pair = np.nonzero(valid)[0].astype(np.int64)
            v_row = neighbors[valid].astype(np.int64)
            v_score = values[valid].astype(np.float64)
            top = np.zeros(self.pairs, dtype=np.float64)
            np.maximum.at(top, v_pair, v_score)
            self.coview_top = np.where(top > 0, top, 1.0)
        size = self.size
        keys = np.concatenate(
            [
                self.c_pair * size + self.c_row,
                self.p_pair * size + self.p_row,
                v_pair * size + v_row,
            ]
        )
        unique, inverse = np.unique(keys, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        nc, npop = self.c_pair.size, self.p_pair.size
        m = unique.size
        self.pair_of, self.rows = unique // size, unique % size
        self.listed = np.full(m, np.nan)
        self.listed[inverse[:nc]] = self.c_score
        self.pop_rank = np.full(m, _NOT_POPULAR, dtype=np.int64)
        self.pop_cosine = np.zeros(m)
        self.pop_rank[inverse[nc : nc + npop]] = self.p_rank
        self.pop_cosine[inverse[nc : nc + npop]] = self.p_cos
        self.coview = np.full(m, np.nan)
        self.coview[inverse[nc + npop :]] = v_score
        is_published = np.asarray(signals.is_published, dtype=bool)
        self.is_published = is_published
        self.target = np.asarray(replay.pair_target, dtype=np.int64)
        # a pair whose target is no candidate and whose list is full without the popular
        # extras scores 0 under every setting: its candidates are left out
        allowed = is_published[self.rows] & (self.rows != self.query[self.pair_of])
        present = np.zeros(self.pairs, dtype=bool)
        present[self.pair_of[self.rows == self.target[self.pair_of]]] = True
        base = np.bincount(
            self.pair_of[allowed & ~(np.isnan(self.listed) & np.isnan(self.coview))],
            minlength=self.pairs,
        )
        self.scored = present | (base < self.n)
        keep = self.scored[self.pair_of]
        self.pair_of, self.rows, self.listed, self.coview = (
            a[keep] for a in (self.pair_of, self.rows, self.listed, self.coview)
        )
        self.pop_rank, self.pop_cosine, allowed = (
            a[keep] for a in (self.pop_rank, self.pop_cosine, allowed)
        )
        self.allowed = allowed
        self.views = np.zeros(self.rows.size)
        if self.view_keys.size:
            wanted = self.pair_tick[self.pair_of] * size + self.rows
            at = np.minimum(np.searchsorted(self.view_keys, wanted), self.view_keys.size - 1)
            found = self.view_keys[at] == wanted
            self.views[found] = self.view_values[at[found]]
        self.in_listed = ~np.isnan(self.listed)
        self.in_coview = ~np.isnan(self.coview)
        self.coview_norm = (
            np.where(self.in_coview, self.coview, 0.0) / self.coview_top[self.pair_of]
        )
        self.published = np.asarray(signals.published_ts, dtype=np.int64)[self.rows]
        self._cache: dict[tuple[Any, ...], Any] = {}
        self.categories = [signals.categories[r] for r in self.query.tolist()]
        sections = np.asarray(signals.categories, dtype=object)
        own = sections[self.query][self.pair_of]
        self.same_section = (sections[self.rows] == own) & (own != "")
        self._target_at = self._target_positions()

    def _target_positions(self) -> np.ndarray:
        """Where each pair's target is in the table (-1: not a candidate)."""
        out = np.full(self.pairs, -1, dtype=np.int64)
        hit = self.rows == self.target[self.pair_of]
        out[self.pair_of[hit]] = np.flatnonzero(hit)
        return out

    def check(self, params: BlendParams) -> None:
        """Refuse settings the table was not built for."""
        if params.popular_min_similarity != self.min_similarity:
            raise ValueError("the table was built for another popular_min_similarity")
        if params.popular_candidates > self.max_popular:
            raise ValueError("the table holds fewer popular candidates than asked")
        if not self.reads_popular and params.popularity_weight > 0:
            raise ValueError("the table was built without the recent views")

    def scores(self, params: BlendParams) -> tuple[np.ndarray, np.ndarray]:
        """Every candidate's hybrid score under ``params``, and whether it is a candidate at
        all (a popular extra only within ``popular_candidates``)."""
        self.check(params)
        included, _ = self._cached(("content", params.popular_candidates), params)
        blended = self._cached(
            (
                "blend",
                params.popular_candidates,
                params.content_weight,
                params.coview_weight,
                params.coview_evidence,
            ),
            params,
        )
        by_time = _ranked_at_pair_time(self.replay, "hybrid", params, Filters())
        fresh = self._cached(
            (
                "fresh",
                by_time,
                params.half_life_days,
                params.freshness_weight,
                tuple(sorted(params.section_half_life_days.items())),
            ),
            params,
        )
        # the order of ranking's own products (equal scores must stay equal)
        score = blended * fresh
        if params.popularity_weight > 0:
            score = score * self._cached(("popularity", params.popularity_weight), params)
        if params.section_weight > 0:
            score = score * np.where(self.same_section, 1.0 + params.section_weight, 1.0)
        return score, included

    def _cached(self, key: tuple[Any, ...], params: BlendParams) -> Any:
        """One part of the scores, kept for the next settings that share its key (a search
        changes one setting at a time)."""
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 32:
                self._cache.clear()
            found = self._cache[key] = self._part(key[0], params)
        return found

    def _part(self, name: str, params: BlendParams) -> Any:
        if name == "content":
            extra = self.pop_rank < params.popular_candidates
            included = self.in_listed | extra | self.in_coview
            content = np.where(self.in_listed, self.listed, np.where(extra, self.pop_cosine, 0.0))
            with_content = self.in_listed | extra
            top = np.zeros(self.pairs, dtype=np.float64)
            np.maximum.at(top, self.pair_of[with_content], content[with_content])
            top[top == 0] = 1.0
            return included, content / top[self.pair_of]
        if name == "blend":
            _, content_norm = self._cached(("content", params.popular_candidates), params)
            if self.has_support:
                s = self.support
                weight = params.coview_weight * s / (s + params.coview_evidence)
            else:
                weight = np.zeros(self.pairs)
            total = params.content_weight + weight
            w = weight[self.pair_of]
            weighted = params.content_weight * content_norm + w * self.coview_norm
            t = total[self.pair_of]
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(t > 0, weighted / np.where(t > 0, t, 1.0), 0.0)
        if name == "fresh":
            if params.section_half_life_days:
                categories = self.replay.signals.categories
                half_lives: np.ndarray | float | None = np.array(
                    [params.half_life(categories[r]) or np.inf for r in self.rows.tolist()],
                    dtype=np.float64,
                )
            else:
                half_lives = params.half_life_days
            by_time = _ranked_at_pair_time(self.replay, "hybrid", params, Filters())
            now = self.now if by_time else self.group_now
            return freshness_factors(
                self.published, now[self.pair_of], half_lives, params.freshness_weight
            )
        assert name == "popularity"
        return np.power(1.0 + np.maximum(self.views, 0.0), params.popularity_weight)

    def ranks(self, params: BlendParams) -> np.ndarray:
        """Each pair's target position in its list of ``n`` (1-based; 0: not in it)."""
        score, included = self.scores(params)
        shown = included & self.allowed
        counted = np.bincount(self.pair_of[shown], minlength=self.pairs)
        ranks = np.zeros(self.pairs, dtype=np.int64)
        at = self._target_at
        has = at >= 0
        has[has] = shown[at[has]]
        if has.any():
            t_score = np.full(self.pairs, np.nan)
            t_row = np.full(self.pairs, -1, dtype=np.int64)
            t_score[has] = score[at[has]]
            t_row[has] = self.rows[at[has]]
            ts, tr = t_score[self.pair_of], t_row[self.pair_of]
            ahead = shown & ((score > ts) | ((score == ts) & (self.rows < tr)))
            before = np.bincount(self.pair_of[ahead], minlength=self.pairs)
            place = before + 1
            ranks[has] = np.where(place[has] <= self.n, place[has], 0)
        short = np.flatnonzero(~has & (counted < self.n) & (self.target >= 0) & self.scored)
        for i in short.tolist():
            ranks[i] = self._filler_rank(i, shown, int(counted[i]))
        return ranks

    def _filler_rank(self, i: int, shown: np.ndarray, taken: int) -> int:
        """The target's position among a short list's fillers (0: not listed)."""
        bundle = self.replay.bundle
        row, target = int(self.query[i]), int(self.target[i])
        segment = self.pair_of == i
        seen = set(self.rows[segment & shown].tolist())
        seen.add(row)
        sources = [bundle.popular_rows("7d", self.sections[i])] if self.categories[i] else []
        sources.append(bundle.popular_rows("7d"))
        for ranking in sources:
            for candidate in ranking.tolist():
                if taken == self.n:
                    return 0
                if candidate not in seen and self.is_published[candidate]:
                    seen.add(candidate)
                    taken += 1
                    if candidate == target:
                        return taken
        return 0


def _flat(*columns: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Each column's arrays end to end (an empty column: no integers)."""
    return tuple(np.concatenate(c) if c else np.zeros(0, dtype=np.int64) for c in columns)


class PopularCosines:
    """The content cosine of every query of a replay with every row that can be one of its
    popular candidates, computed once (one sparse product) for all of a search's replays.

    A popular candidate is one of the ``limit`` most read rows at a tick of the replay, so the
    rows are the union of those over the ticks; a row outside them (none, when the replays ask
    for at most ``limit`` candidates) is asked of the replay's :class:`RowSimilarity`.
    """

    def __init__(self, replay: Replay, limit: int, tick: int) -> None:
        self.similarity = replay.similarity
        recent = RecentViews(replay)
        params = BlendParams(popular_candidates=limit)
        pool: set[int] = set()
        for tick_ts in np.unique(replay.pair_ts - replay.pair_ts % tick).tolist():
            popular = popular_at_time(replay, recent, self._fallback, int(tick_ts), params)
            pool.update(popular.rows.tolist())
        self.queries = np.unique(replay.query_rows)
        self.rows = np.array(sorted(pool), dtype=np.int64)
        if self.similarity is None or not self.rows.size or not self.queries.size:
            self.cosines = np.zeros((self.queries.size, self.rows.size), dtype=np.float32)
        else:
            product = (
                _vectors(self.similarity, self.queries) @ _vectors(self.similarity, self.rows).T
            )
            self.cosines = np.asarray(product.toarray(), dtype=np.float32)

    def _fallback(self, row: int, rows: np.ndarray) -> np.ndarray:
        if self.similarity is None:
            return np.zeros(rows.size)
        return self.similarity(row, rows)

    def __call__(self, row: int, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        q = int(np.searchsorted(self.queries, row))
        if q >= self.queries.size or self.queries[q] != row or not self.rows.size:
            return self._fallback(row, rows)
        position = np.minimum(np.searchsorted(self.rows, rows), self.rows.size - 1)
        inside = self.rows[position] == rows
        if not inside.all():
            return self._fallback(row, rows)
        out: np.ndarray = self.cosines[q, position].astype(np.float64)
        return out


def _vectors(similarity: RowSimilarity, rows: np.ndarray) -> sp.csr_matrix:
    """The vectors of sorted ``rows`` (the base's come before the folded-in ones)."""
    in_base = rows < similarity.n_base
    return sp.csr_matrix(
        sp.vstack(
            [similarity.base[rows[in_base]], similarity.extra[rows[~in_base] - similarity.n_base]],
            format="csr",
        )
    )
