"""Freshness re-orders relevant candidates and never erases them, whatever the dates say.

A property-based test over article dates (years old, undated, dated after "now", fresh, and
any mix of them): no hybrid score is 0, a candidate never falls below one that is less than
``1 - freshness_weight`` as relevant, and when the dates treat every candidate alike the list
follows relevance, not article ids. Plus the model's "now" of a bundle trained without views.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.blend import BlendParams, SignalArrays, related
from recommender.bundle import Bundle
from recommender.errors import SettingError
from recommender.freshness import freshness, freshness_factors
from recommender.train import train
from recommender.windows import DAY

NOW = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
YEAR = 365 * DAY

#: Kinds of dates, each drawn as an offset before ``NOW`` (``None``: undated).
OLD = st.integers(1 * YEAR, 60 * YEAR).map(lambda age: NOW - age)
UNDATED = st.just(-1)
FUTURE = st.integers(1, 20 * YEAR).map(lambda ahead: NOW + ahead)
RECENT = st.integers(0, 30 * DAY).map(lambda age: NOW - age)
ANY_DATE = st.one_of(OLD, UNDATED, FUTURE, RECENT)
WEIGHTS = st.floats(0.0, 0.9, allow_nan=False)
HALF_LIVES = st.one_of(st.none(), st.floats(0.01, 3650.0, allow_nan=False))


def _catalogue(dates: list[int], relevance: list[float]) -> SignalArrays:
    """Row 0 is the query (a recent article); rows 1..k are its content neighbours with
    ``relevance`` as cosines, listed in id order (the order a broken ranking would show)."""
    k = len(dates)
    n = k + 1
    neighbors = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    neighbors[0] = np.arange(1, n)
    scores[0] = relevance
    return SignalArrays(
        categories=["news"] * n,
        published_ts=np.array([NOW - DAY, *dates], dtype=np.int64),
        is_published=np.ones(n, dtype=bool),
        content_neighbors=neighbors,
        content_scores=scores,
        has_coview=False,
        coview_neighbors=None,
        coview_scores=None,
        coview_counts=None,
        coview_support=None,
        popularity_views=np.zeros((n, 4), dtype=np.int64),
    )


def _params(half_life: float | None, weight: float) -> BlendParams:
    return BlendParams(
        half_life_days=half_life,
        freshness_weight=weight,
        popularity_weight=0.0,
        popular_candidates=0,
    )


@st.composite
def _cases(draw: st.DrawFn, dates: st.SearchStrategy[int] = ANY_DATE) -> tuple:
    k = draw(st.integers(2, 12))
    when = draw(st.lists(dates, min_size=k, max_size=k))
    # distinct cosines in (0.01, 1]; their order is drawn too, so it is rarely the id order
    cosines = draw(
        st.lists(
            st.floats(0.01, 1.0, allow_nan=False).map(lambda x: round(x, 4)),
            min_size=k,
            max_size=k,
            unique=True,
        )
    )
    return when, cosines, draw(HALF_LIVES), draw(WEIGHTS)


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_no_date_makes_a_hybrid_score_zero_or_beats_much_more_relevance(case: tuple) -> None:
    dates, cosines, half_life, weight = case
    signals = _catalogue(dates, cosines)
    items = related(signals, 0, len(dates), now_ts=NOW, params=_params(half_life, weight))
    assert len(items) == len(dates)
    assert all(item.score > 0 and np.isfinite(item.score) for item in items)
    assert all(1 - weight - 1e-12 <= item.freshness <= 1 + 1e-12 for item in items)
    # freshness is worth at most a factor 1 / (1 - weight): an article more relevant than that
    # comes first whatever its date
    relevance = {row: cosines[row - 1] for row in range(1, len(dates) + 1)}
    shown = [item.row for item in items]
    for i, above in enumerate(shown):
        for below in shown[i + 1 :]:
            assert relevance[below] * (1 - weight) <= relevance[above] * (1 + 1e-9), (
                shown,
                relevance,
            )


#: Dates that give every candidate the same factor: all far past the clipped exponent (with a
#: half-life of at most a day), all undated (one half-life), all after "now" (age 0).
ALIKE = {
    "ancient": (
        st.integers(100 * YEAR, 5000 * YEAR).map(lambda age: NOW - age),
        st.floats(0.01, 0.035, allow_nan=False),
    ),
    "undated": (UNDATED, HALF_LIVES),
    "future": (FUTURE, HALF_LIVES),
}


@pytest.mark.parametrize("kind", sorted(ALIKE))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_dates_that_treat_all_alike_leave_the_relevance_order(
    kind: str, data: st.DataObject
) -> None:
    dates_of, half_lives = ALIKE[kind]
    dates, cosines, _, weight = data.draw(_cases(dates_of))
    half_life = data.draw(half_lives)
    signals = _catalogue(dates, cosines)
    items = related(signals, 0, len(dates), now_ts=NOW, params=_params(half_life, weight))
    by_relevance = sorted(range(1, len(dates) + 1), key=lambda row: -cosines[row - 1])
    assert [item.row for item in items] == by_relevance
    assert all(item.score > 0 for item in items)


def test_years_old_catalogue_keeps_its_scores_and_order() -> None:
    """The issue's reproduction: articles a few years old with the 3-day half-life (the old
    arithmetic underflowed to exactly 0.0 and listed them by id)."""
    dates = [NOW - 3 * YEAR - d * DAY for d in range(5)]
    cosines = [0.1, 0.2, 0.5, 0.3, 0.4]
    items = related(_catalogue(dates, cosines), 0, 5, now_ts=NOW, params=BlendParams())
    assert [item.row for item in items] == [3, 5, 4, 2, 1]
    assert min(item.score for item in items) > 0
    assert min(item.freshness for item in items) == pytest.approx(
        1 - BlendParams().freshness_weight
    )


def test_undated_is_one_half_life_old_and_future_is_new() -> None:
    weight = 0.8
    assert freshness(-1, NOW, 3.0, weight) == pytest.approx(1 - weight + weight * 0.5)
    assert freshness(NOW + 10 * YEAR, NOW, 3.0, weight) == pytest.approx(1.0)
    assert freshness(NOW - 3 * DAY, NOW, 3.0, weight) == pytest.approx(1 - weight + weight * 0.5)
    assert freshness(NOW - 100 * YEAR, NOW, 3.0, 0.0) == 1.0
    assert freshness(NOW - 100 * YEAR, NOW, None, weight) == 1.0
    # a million half-lives old: the factor is the floor, not 0 or NaN
    factors = freshness_factors(np.array([0, 1, -1]), NOW, 0.001, 0.9)
    assert factors[:2].tolist() == pytest.approx([0.1, 0.1])
    assert factors[2] == pytest.approx(0.1 + 0.9 * 0.5)


def test_freshness_weight_has_one_bound() -> None:
    with pytest.raises(SettingError, match=r"freshness_weight must be a number from 0 to 0\.9"):
        BlendParams(freshness_weight=1.0)


def test_bundle_without_views_takes_now_from_its_newest_article(tmp_path: Path) -> None:
    """Never the wall clock: the model's "now" of articles from 2003 is in 2003."""
    articles = tmp_path / "articles.jsonl"
    with articles.open("w") as handle:
        for i, day in enumerate((1, 5, 9)):
            handle.write(
                json.dumps(
                    {
                        "id": f"a{i}",
                        "title": f"Harbour dredging plan {i}",
                        "body": "The harbour dredging plan was approved by the council. " * 3,
                        "category": "local",
                        "published_at": f"2003-05-0{day}T08:00:00Z",
                    }
                )
                + "\n"
            )
    result = train(articles, None, tmp_path / "models")
    assert result.manifest["now"] == "2003-05-09T08:00:00Z"
    bundle = Bundle.load(result.path)
    row = bundle.row("a0")
    items = related(
        bundle, row, 2, now_ts=int(dt.datetime(2003, 5, 9, 8, tzinfo=dt.UTC).timestamp())
    )
    assert all(item.score > 0 for item in items)


@given(
    st.lists(st.integers(-1, 3 * YEAR), min_size=1, max_size=30),
    st.sampled_from([0.001, 0.5, 3.0, 365.0, 1e9]),
    st.sampled_from([0.0, 0.3, 0.75, 0.9]),
)
@settings(max_examples=60, deadline=None)
def test_freshness_of_one_half_life_is_the_per_candidate_arithmetic_bit_for_bit(
    ages: list[int], half_life: float, weight: float
) -> None:
    published = np.array([-1 if a < 0 else NOW - a + YEAR // 2 for a in ages], dtype=np.int64)
    one = freshness_factors(published, NOW, half_life, weight)
    # one half-life per candidate takes the general path: the same bits
    each = freshness_factors(published, NOW, np.full(published.size, half_life), weight)
    assert one.tolist() == each.tolist()
