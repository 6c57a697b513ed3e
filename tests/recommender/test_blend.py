"""The hybrid's popularity prior and popular candidates, on a catalogue small enough to check
by hand."""

from __future__ import annotations

import numpy as np
import pytest

from recommender._unique import unique_inverse
from recommender.blend import BlendParams, SignalArrays, popular_from_views, related
from recommender.errors import SettingError
from recommender.windows import DAY

NOW = 100 * DAY


def _signals(views_1d: list[int], support: int = 0) -> SignalArrays:
    """Row 0 is the query; rows 1-3 are equally similar (0.5) and equally old; row 4 is the
    most similar (0.6) and has no views; rows 5 and 6 are in no list."""
    n = 7
    neighbors = np.full((n, 4), -1, dtype=np.int32)
    scores = np.zeros((n, 4), dtype=np.float32)
    neighbors[0] = [4, 1, 2, 3]
    scores[0] = [0.6, 0.5, 0.5, 0.5]
    views = np.zeros((n, 4), dtype=np.int64)
    views[: len(views_1d), 0] = views_1d
    return SignalArrays(
        categories=["news"] * n,
        published_ts=np.full(n, NOW - DAY, dtype=np.int64),
        is_published=np.ones(n, dtype=bool),
        content_neighbors=neighbors,
        content_scores=scores,
        has_coview=True,
        coview_neighbors=np.full((n, 1), -1, dtype=np.int32),
        coview_scores=np.zeros((n, 1), dtype=np.float32),
        coview_counts=np.zeros((n, 1), dtype=np.int32),
        coview_support=np.array([support] + [0] * (n - 1), dtype=np.int32),
        popularity_views=views,
    )


def _rows(signals: SignalArrays, weight: float) -> list[int]:
    params = BlendParams(popularity_weight=weight)
    return [s.row for s in related(signals, 0, 4, now_ts=NOW, params=params)]


def test_related_popularity_weight_zero_ranks_by_content_then_id() -> None:
    signals = _signals([0, 0, 0, 99, 0])
    assert _rows(signals, 0.0) == [4, 1, 2, 3]
    scored = related(signals, 0, 4, now_ts=NOW, params=BlendParams(popularity_weight=0.0))
    assert [s.popularity for s in scored] == [None] * 4
    # one day old, half-life 3, freshness weight 0.75: 0.25 + 0.75 * 0.5 ** (1 / 3)
    assert scored[1].score == pytest.approx(0.5 / 0.6 * (0.25 + 0.75 * 0.5 ** (1 / 3)))


def test_related_popularity_ranks_more_read_above_equally_similar() -> None:
    # factors (1 + v) ** 0.5: row 3 sqrt(100) = 10, row 2 sqrt(4) = 2, rows 1 and 4 1:
    # 0.5 / 0.6 * 2 = 1.67 beats row 4's 1 (more similar, not read)
    signals = _signals([0, 0, 3, 99, 0])
    scored = related(signals, 0, 4, now_ts=NOW, params=BlendParams(popularity_weight=0.5))
    assert [s.row for s in scored] == [3, 2, 4, 1]
    assert [s.popularity for s in scored] == pytest.approx([10.0, 2.0, 1.0, 1.0])
    fresh = 0.25 + 0.75 * 0.5 ** (1 / 3)
    assert scored[0].score == pytest.approx(0.5 / 0.6 * fresh * 10.0)
    assert scored[2].score == pytest.approx(fresh)  # no views: its score is unchanged


def test_related_popularity_weight_is_the_exponent() -> None:
    # weight 0.1: row 2's factor 4 ** 0.1 = 1.15 is too small to beat 0.6 / 0.5 = 1.2; row 3's
    # 100 ** 0.1 = 1.58 is not
    signals = _signals([0, 0, 3, 99, 0])
    scored = related(signals, 0, 4, now_ts=NOW, params=BlendParams(popularity_weight=0.1))
    assert [s.row for s in scored] == [3, 4, 2, 1]
    assert scored[2].popularity == pytest.approx(4**0.1)


def test_related_popularity_unused_by_single_signals() -> None:
    signals = _signals([0, 0, 9, 99, 0])
    params = BlendParams(popularity_weight=2.0)
    scored = related(signals, 0, 4, now_ts=NOW, strategy="content", params=params)
    assert [s.row for s in scored] == [4, 1, 2, 3]
    assert all(s.popularity is None for s in scored)


def _similarity(row: int, rows: np.ndarray) -> np.ndarray:
    # the query (row 0) is 0.55 similar to row 5, 0.1 to row 6 and not at all to row 3
    table = {5: 0.55, 6: 0.1, 3: 0.0}
    assert row == 0
    return np.array([table.get(int(r), 0.5) for r in rows])


def test_related_popular_views_replace_the_bundle_counts() -> None:
    signals = _signals([0, 0, 0, 99, 0])  # the bundle's day: row 3
    popular = popular_from_views(
        np.array([0, 8, 0, 0, 0, 0, 0]), signals.is_published, _similarity, 0
    )
    scored = related(signals, 0, 4, now_ts=NOW, popular=popular)
    assert [s.row for s in scored] == [1, 4, 2, 3]  # read now: row 1 (factor 3)
    assert scored[0].popularity == pytest.approx(3.0)


def test_related_popular_candidates_join_with_their_similarity() -> None:
    signals = _signals([0, 0, 0, 0, 0])
    views = np.array([50, 0, 0, 0, 0, 24, 99])
    # rows 6 (99), 0 (50, the query), 5 (24); the query is never a candidate
    popular = popular_from_views(views, signals.is_published, _similarity, 3)
    assert popular.rows.tolist() == [6, 0, 5]
    scored = related(signals, 0, 5, now_ts=NOW, popular=popular)
    # row 5: 0.55 / 0.6 content times (1 + 24) ** 0.5 = 5; row 6: 0.1 is under a quarter of
    # the closest neighbour's 0.6, however read
    assert [s.row for s in scored] == [5, 4, 1, 2, 3]
    assert scored[0].content == pytest.approx(0.55 / 0.6)
    assert scored[0].popularity == pytest.approx(5.0)
    # without the floor row 6 joins: 0.1 / 0.6 * 10 = 1.67
    anything = related(
        signals, 0, 6, now_ts=NOW, popular=popular, params=BlendParams(popular_min_similarity=0)
    )
    assert [s.row for s in anything] == [5, 6, 4, 1, 2, 3]
    # off: not a candidate; the single signals never take them
    off = related(
        signals, 0, 5, now_ts=NOW, popular=popular, params=BlendParams(popular_candidates=0)
    )
    assert 5 not in [s.row for s in off]
    content = related(signals, 0, 5, now_ts=NOW, popular=popular, strategy="content")
    assert [s.row for s in content] == [4, 1, 2, 3]


def test_popular_from_views_ranks_published_rows_with_views() -> None:
    views = np.array([5.0, 9.0, 0.0, 5.0, 7.0])
    published = np.array([True, True, True, True, False])
    popular = popular_from_views(views, published, _similarity, 10)
    assert popular.rows.tolist() == [1, 0, 3]  # ties by row; no views, unpublished: out
    assert popular_from_views(views, published, _similarity, 2).rows.tolist() == [1, 0]
    assert popular.views_of(np.array([4, 9])).tolist() == [7.0, 0.0]  # beyond the array: 0


def _uncategorised(category: str) -> SignalArrays:
    """Row 0 (in ``category``) has one content neighbour, row 1; rows 2-5 are the site's."""
    signals = _signals([0] * 7)
    signals.categories = [category, "news", "", "", "sports", "sports", "news"]
    signals.content_neighbors[0] = [1, -1, -1, -1]
    signals.content_scores[0] = [0.4, 0, 0, 0]
    return signals


def test_fillers_show_their_order_below_every_related_item() -> None:
    signals = _uncategorised("news")
    params = BlendParams(popularity_weight=0.0, popular_candidates=0)
    items = related(
        signals,
        0,
        4,
        now_ts=NOW,
        params=params,
        section_popular=[6, 1],
        site_popular=[5, 4, 3],
    )
    assert [(i.row, i.source) for i in items] == [
        (1, "related"),
        (6, "section_popular"),
        (5, "popular"),
        (4, "popular"),
    ]
    scores = [i.score for i in items]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4 and scores[-1] > 0
    # k-th of m fillers: lowest related score * (m - k) / (m + 1)
    assert scores[1:] == pytest.approx([scores[0] * 3 / 4, scores[0] * 2 / 4, scores[0] / 4])


def test_an_uncategorised_article_gets_no_section_fillers() -> None:
    signals = _uncategorised("")
    # the "" section's most viewed (rows 2 and 3) are no section of this article
    items = related(signals, 0, 3, now_ts=NOW, section_popular=[2, 3], site_popular=[5, 2])
    assert [(i.row, i.source) for i in items] == [(1, "related"), (5, "popular"), (2, "popular")]


def test_section_weight_lifts_the_page_sections_candidates() -> None:
    """Rows 1-3 are equally similar; row 2 shares the query's section: with a section weight
    it outranks the more similar row 4 of another section, and explain gives the factor."""
    signals = _signals([0] * 7)
    signals.categories = ["news", "sport", "news", "sport", "sport", "news", "news"]
    off = BlendParams(popularity_weight=0.0)
    assert [s.row for s in related(signals, 0, 4, now_ts=NOW, params=off)] == [4, 1, 2, 3]
    assert all(s.section is None for s in related(signals, 0, 4, now_ts=NOW, params=off))
    on = BlendParams(popularity_weight=0.0, section_weight=0.5)
    scored = related(signals, 0, 4, now_ts=NOW, params=on)
    # 0.5 / 0.6 * 1.5 = 1.25 beats row 4's 1
    assert [s.row for s in scored] == [2, 4, 1, 3]
    assert [s.section for s in scored] == [1.5, 1.0, 1.0, 1.0]
    # an uncategorised page has no section to favour
    signals.categories[0] = ""
    assert [s.row for s in related(signals, 0, 4, now_ts=NOW, params=on)] == [4, 1, 2, 3]


def test_section_weight_is_refused_below_zero() -> None:
    with pytest.raises(SettingError, match="section_weight"):
        BlendParams(section_weight=-0.1)


def test_unique_inverse_is_numpys_unique() -> None:
    rng = np.random.default_rng(3)
    for size in (0, 1, 2, 7, 60, 400):
        listed = rng.integers(0, 50, size).astype(np.int64)
        rows, inverse = unique_inverse(listed)
        expected_rows, expected_inverse = np.unique(listed, return_inverse=True)
        assert rows.tolist() == expected_rows.tolist()
        assert inverse.tolist() == expected_inverse.tolist()
