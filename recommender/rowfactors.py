"""Per-row factors of the hybrid computed once for a whole catalogue, for many queries.

Every uncached answer multiplies its ~50-100 candidates' blended scores by their freshness and
popularity factors. Neither depends on the query: only on the catalogue's dates and views, "now"
and the blend settings. A service ranks thousands of queries at one "now" and one tick of the
live counts, so it computes each factor once for every row (about a millisecond at 100,000
rows) and a query reads its candidates' with one fancy index instead of ~10 numpy calls.

The values are the very ones the per-candidate arithmetic gives (the same elementwise
operations on the same inputs, so the same bits): :mod:`recommender.blend` uses a
:class:`RowFactors` only when its caller shares one (:attr:`recommender.blend.Popular.factors`,
set by the service per tick), never for one-off queries such as the offline replay's, where a
whole catalogue's factors per query would cost more than they save.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from recommender.freshness import freshness_factors


class BlendParams(Protocol):
    """The freshness settings of :class:`recommender.blend.BlendParams` (which imports this
    module, so it is named here by what is read of it)."""

    @property
    def half_life_days(self) -> float | None: ...

    @property
    def section_half_life_days(self) -> Mapping[str, float]: ...

    @property
    def freshness_weight(self) -> float: ...

    def half_life(self, category: str) -> float | None: ...


#: Entries kept per kind: "now" from the clock moves every second, and a few
#: (catalogue, settings) pairs may be served at once (an experiment's variant blend).
KEEP = 4
#: Keys remembered as asked once (see :meth:`RowFactors._worth`).
ASKED = 64


def half_lives(params: BlendParams, categories: Sequence[str], rows: np.ndarray) -> Any:
    """The half-life of each of ``rows`` as the freshness arithmetic takes it: one float for
    every row without per-section half-lives, else an array (``inf``: no decay); ``None``:
    freshness off."""
    if not params.section_half_life_days:
        return params.half_life_days
    return np.array([params.half_life(categories[r]) or np.inf for r in rows], dtype=np.float64)


class RowFactors:
    """Memoised whole-catalogue factors; the cache of one tick (or one bundle) of a service.

    Entries are found by the identity of their arrays (never hashed; the catalogue's arrays are
    not changed in place once built) and the values of the settings, and hold those arrays, so
    an identity is never reused for other data while its entry lives. A whole catalogue's
    factors are computed when a second query asks for the same ones: the first gets ``None``
    and computes its candidates' itself, so a quiet site (or "now" from the clock, which moves
    every second, at a request a second) never pays a catalogue's worth for one answer.
    """

    def __init__(self) -> None:
        self._freshness: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._popularity: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}
        self._asked: set[tuple[Any, ...]] = set()

    def _worth(self, key: tuple[Any, ...]) -> bool:
        """Whether to compute the factors of ``key`` for the whole catalogue now: not on
        the first query that asks for them."""
        if key in self._asked:
            return True
        if len(self._asked) >= ASKED:
            self._asked.clear()
        self._asked.add(key)
        return False

    def freshness(
        self, published_ts: np.ndarray, params: BlendParams, now_ts: int
    ) -> np.ndarray | None:
        """Each row's freshness factor at ``now_ts``
        (:func:`recommender.freshness.freshness_factors`), or ``None``: the first query to
        ask, or per-section half-lives (whose arithmetic depends on the candidates together:
        when none of them decays, every factor is exactly 1)."""
        if params.section_half_life_days:
            return None
        key = (id(published_ts), now_ts, params.half_life_days, params.freshness_weight)
        found = self._freshness.get(key)
        if found is not None and found[0] is published_ts:
            factors: np.ndarray = found[1]
            return factors
        if not self._worth(("freshness", *key)):
            return None
        published = np.asarray(published_ts, dtype=np.int64)
        factors = freshness_factors(
            published, now_ts, params.half_life_days, params.freshness_weight
        )
        _keep(self._freshness, key, (published_ts, factors))
        return factors

    def popularity(self, views: np.ndarray, weight: float) -> np.ndarray | None:
        """``(1 + v) ** weight`` of each row's views ``v`` (negative counted as 0), or
        ``None`` (the first query to ask)."""
        key = (id(views), weight)
        found = self._popularity.get(key)
        if found is not None and found[0] is views:
            return found[1]
        if not self._worth(("popularity", *key)):
            return None
        factors: np.ndarray = np.power(
            1.0 + np.maximum(np.asarray(views, dtype=np.float64), 0.0), weight
        )
        _keep(self._popularity, key, (views, factors))
        return factors


def _keep(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= KEEP:
        del memo[next(iter(memo))]  # the oldest
    memo[key] = value
