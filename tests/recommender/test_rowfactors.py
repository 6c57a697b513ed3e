"""Whole-catalogue factors: the same bits as the per-candidate arithmetic, computed only once a
second query asks for them."""

from __future__ import annotations

import numpy as np

from recommender.blend import BlendParams
from recommender.freshness import freshness_factors
from recommender.rowfactors import RowFactors
from recommender.windows import DAY

NOW = 400 * DAY


def _published(n: int = 500) -> np.ndarray:
    rng = np.random.default_rng(3)
    published = NOW - (rng.random(n) * 60 * DAY).astype(np.int64)
    published[::17] = -1  # undated
    published[::23] = NOW + DAY  # dated after "now"
    return published


def test_freshness_is_the_per_candidate_arithmetic_from_the_second_query() -> None:
    published = _published()
    params = BlendParams(half_life_days=2.5, freshness_weight=0.8)
    factors = RowFactors()
    assert factors.freshness(published, params, NOW) is None  # one query: its own candidates
    table = factors.freshness(published, params, NOW)
    assert table is not None
    rows = np.array([0, 17, 23, 250, 499])
    expected = freshness_factors(published[rows], NOW, 2.5, 0.8)
    assert table[rows].tobytes() == expected.tobytes()
    assert factors.freshness(published, params, NOW) is table  # kept
    assert factors.freshness(published, params, NOW + 1) is None  # another "now": asked once


def test_per_section_half_lives_are_left_to_the_candidates() -> None:
    params = BlendParams(section_half_life_days={"sports": 1.0})
    factors = RowFactors()
    for _ in range(3):
        assert factors.freshness(_published(), params, NOW) is None


def test_popularity_is_the_per_candidate_arithmetic_from_the_second_query() -> None:
    views = np.array([0.0, 3.0, -2.0, 250.0, 1e6])
    factors = RowFactors()
    assert factors.popularity(views, 0.5) is None
    table = factors.popularity(views, 0.5)
    assert table is not None
    expected = np.power(1.0 + np.maximum(views, 0.0), 0.5)
    assert table.tobytes() == expected.tobytes()
    assert factors.popularity(views.copy(), 0.5) is None  # another array: asked once
