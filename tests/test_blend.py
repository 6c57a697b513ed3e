"""The hybrid's popularity prior, on a catalogue small enough to check by hand."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from recommender.blend import DAY, BlendParams, related

NOW = 100 * DAY


@dataclass
class _Signals:
    categories: list[str]
    published_ts: np.ndarray
    is_published: np.ndarray
    content_neighbors: np.ndarray
    content_scores: np.ndarray
    has_coview: bool
    coview_neighbors: np.ndarray | None
    coview_scores: np.ndarray | None
    coview_counts: np.ndarray | None
    coview_support: np.ndarray | None
    popularity_views: np.ndarray


def _signals(views_7d: list[int], support: int = 0) -> _Signals:
    """Row 0 is the query; rows 1-3 are equally similar (0.5) and equally old; row 4 is the
    most similar (0.6) and has no views."""
    n = 5
    neighbors = np.full((n, 4), -1, dtype=np.int32)
    scores = np.zeros((n, 4), dtype=np.float32)
    neighbors[0] = [4, 1, 2, 3]
    scores[0] = [0.6, 0.5, 0.5, 0.5]
    views = np.zeros((n, 4), dtype=np.int64)
    views[:, 1] = views_7d
    return _Signals(
        categories=["news"] * n,
        published_ts=np.full(n, NOW - DAY, dtype=np.int64),
        is_published=np.ones(n, dtype=bool),
        content_neighbors=neighbors,
        content_scores=scores,
        has_coview=True,
        coview_neighbors=np.full((n, 1), -1, dtype=np.int32),
        coview_scores=np.zeros((n, 1), dtype=np.float32),
        coview_counts=np.zeros((n, 1), dtype=np.int32),
        coview_support=np.array([support, 0, 0, 0, 0], dtype=np.int32),
        popularity_views=views,
    )


def _rows(signals: _Signals, weight: float) -> list[int]:
    params = BlendParams(popularity_weight=weight)
    return [s.row for s in related(signals, 0, 4, now_ts=NOW, params=params)]


def test_related_popularity_weight_zero_ranks_by_content_then_id() -> None:
    signals = _signals([0, 0, 0, 99, 0])
    assert _rows(signals, 0.0) == [4, 1, 2, 3]
    scored = related(signals, 0, 4, now_ts=NOW, params=BlendParams(popularity_weight=0.0))
    assert [s.popularity for s in scored] == [None] * 4
    assert scored[1].score == pytest.approx(0.5 / 0.6 * 0.5 ** (1 / 3))


def test_related_popularity_ranks_more_viewed_above_equally_similar() -> None:
    # row 3: log(1 + 99) is the top, factor 1 + 0.5; row 2: log(1 + 9) is half of it, 1.25:
    # 0.5 / 0.6 * 1.25 = 1.04 beats row 4's 1 (more similar, no views)
    signals = _signals([0, 0, 9, 99, 0])
    scored = related(signals, 0, 4, now_ts=NOW, params=BlendParams(popularity_weight=0.5))
    assert [s.row for s in scored] == [3, 2, 4, 1]
    assert [s.popularity for s in scored] == pytest.approx([1.5, 1.25, 1.0, 1.0])
    fresh = 0.5 ** (1 / 3)
    assert scored[0].score == pytest.approx(0.5 / 0.6 * fresh * 1.5)
    assert scored[2].score == pytest.approx(fresh)  # no views: its score is unchanged


def test_related_popularity_fades_with_coview_evidence() -> None:
    # support 30 with coview_evidence 10: w = 0.5 * 10 / 40 = 0.125, too small to beat 0.6/0.5
    signals = _signals([0, 0, 9, 99, 0], support=30)
    scored = related(signals, 0, 4, now_ts=NOW, params=BlendParams(popularity_weight=0.5))
    assert [s.row for s in scored] == [4, 3, 2, 1]
    assert scored[1].popularity == pytest.approx(1.125)
    assert math.isclose(scored[2].popularity or 0, 1 + 0.125 * math.log(10) / math.log(100))


def test_related_popularity_unused_by_single_signals() -> None:
    signals = _signals([0, 0, 9, 99, 0])
    params = BlendParams(popularity_weight=2.0)
    scored = related(signals, 0, 4, now_ts=NOW, strategy="content", params=params)
    assert [s.row for s in scored] == [4, 1, 2, 3]
    assert all(s.popularity is None for s in scored)
