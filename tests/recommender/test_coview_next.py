""" "Read next": directed co-views blended into the co-view lists (``coview_next_weight``)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.config import TrainConfig
from recommender.coview import CoviewModel, next_read_counts, session_matrix
from recommender.errors import DataError


def _counts(window: int, **kwargs: object) -> dict[tuple[int, int], float]:
    # session 0 reads 0, 1, 2, then 0 again; session 1 reads 1 then 0; session 2 is a crawler
    sessions = np.array([0, 0, 1, 0, 0, 1, 2, 2])
    articles = np.array([0, 1, 1, 2, 0, 0, 2, 1])
    times = np.array([10, 20, 5, 30, 40, 6, 1, 2])
    matrix = next_read_counts(sessions, articles, times, 3, window, **kwargs)  # type: ignore[arg-type]
    coo = matrix.tocoo()
    return {(int(a), int(b)): float(v) for a, b, v in zip(coo.row, coo.col, coo.data, strict=True)}


def test_next_read_counts_follow_the_order_of_first_views() -> None:
    assert _counts(1, left_out=np.array([False, False, True])) == {
        (0, 1): 1.0,
        (1, 2): 1.0,
        (1, 0): 1.0,
    }
    # two steps: session 0 also read 2 two articles after 0; a later view of 0 counts nothing
    assert _counts(2, left_out=np.array([False, False, True])) == {
        (0, 1): 1.0,
        (1, 2): 1.0,
        (1, 0): 1.0,
        (0, 2): 1.0,
    }


def test_next_read_counts_weigh_sessions_and_leave_crawlers_out() -> None:
    weighted = _counts(1, session_weight=np.array([0.5, 2.0, 1.0]))
    assert weighted == {(0, 1): 0.5, (1, 2): 0.5, (1, 0): 2.0, (2, 1): 1.0}


def _log(rng: np.random.Generator, n_sessions: int, n_articles: int) -> tuple[np.ndarray, ...]:
    sessions = rng.integers(0, n_sessions, 1500)
    articles = rng.integers(0, n_articles, 1500)
    times = rng.integers(0, 10_000, 1500)
    return sessions, articles, times


def _brute(
    sessions: np.ndarray,
    articles: np.ndarray,
    times: np.ndarray,
    n_sessions: int,
    n_articles: int,
    window: int,
    weight: float,
    n: int,
) -> list[list[int]]:
    """Cosine co-views and "read next" from plain Python loops, each over its list's best."""
    read: dict[int, list[int]] = {}
    for s, _, _, a in sorted(zip(sessions, times, range(sessions.size), articles, strict=True)):
        seen = read.setdefault(int(s), [])
        if int(a) not in seen:
            seen.append(int(a))
    together = np.zeros((n_articles, n_articles))
    after = np.zeros((n_articles, n_articles))
    support = np.zeros(n_articles)
    for seen in read.values():
        for i, a in enumerate(seen):
            support[a] += 1
            for b in seen:
                if b != a:
                    together[a, b] += 1
            for b in seen[i + 1 : i + 1 + window]:
                after[a, b] += 1
    lists = []
    for a in range(n_articles):
        kept = [b for b in range(n_articles) if b != a and together[a, b] >= 1]
        cosine = {b: together[a, b] / np.sqrt(support[a] * support[b]) for b in kept}
        nxt = {b: after[a, b] / np.sqrt(support[a] * support[b]) for b in kept}
        top_c = max(cosine.values(), default=0.0) or 1.0
        top_n = max(nxt.values(), default=0.0) or 1.0
        score = {b: np.float32(cosine[b] / top_c + weight * nxt[b] / top_n) for b in kept}
        lists.append(sorted(kept, key=lambda b: (-score[b], b))[:n])
    return lists


@pytest.mark.parametrize(
    ("window", "weight", "chunk_size"), [(1, 0.5, 1), (2, 1.0, 5), (3, 2.0, 100)]
)
def test_coview_with_next_read_matches_the_brute_force_oracle(
    window: int, weight: float, chunk_size: int
) -> None:
    rng = np.random.default_rng(window)
    n_sessions, n_articles = 120, 25
    sessions, articles, times = _log(rng, n_sessions, n_articles)
    x = session_matrix(sessions, articles, n_sessions, n_articles)
    following = next_read_counts(sessions, articles, times, n_articles, window)
    model = CoviewModel(n_neighbors=6, min_count=1, chunk_size=chunk_size, next_weight=weight)
    model.fit(x, next_counts=following)
    want = _brute(sessions, articles, times, n_sessions, n_articles, window, weight, 6)
    for row in range(n_articles):
        assert [int(b) for b in model.neighbors_[row] if b >= 0] == want[row], row
    # the fit of some rows, with the "read next" counts of those rows only, gives them the
    # whole fit's lists
    rows = np.array([3, 17, 0])
    partial = next_read_counts(sessions, articles, times, n_articles, window, rows=rows)
    assert partial[rows].nnz == following[rows].nnz > 0
    assert partial.nnz == following[rows].nnz
    some = CoviewModel(n_neighbors=6, min_count=1, chunk_size=chunk_size, next_weight=weight)
    some.fit(x, next_counts=partial, rows=rows)
    np.testing.assert_array_equal(some.neighbors_[rows], model.neighbors_[rows])
    np.testing.assert_array_equal(some.scores_[rows], model.scores_[rows])


def test_coview_next_read_puts_what_readers_open_next_first() -> None:
    """Article 1 is read before article 0 as often as article 2 is read after it: co-views
    alone tie them (the lower id first); "read next" puts article 2, opened after 0, first."""
    sessions = np.repeat(np.arange(20), 2)
    articles = np.array([1, 0] * 10 + [0, 2] * 10)
    times = np.tile([1, 2], 20)
    x = session_matrix(sessions, articles, 20, 3)
    plain = CoviewModel(n_neighbors=2, min_count=1).fit(x)
    assert plain.neighbors_[0].tolist() == [1, 2]
    assert plain.scores_[0][0] == plain.scores_[0][1]
    following = next_read_counts(sessions, articles, times, 3, 1)
    ordered = CoviewModel(n_neighbors=2, min_count=1, next_weight=0.5).fit(x, next_counts=following)
    assert ordered.neighbors_[0].tolist() == [2, 1]
    assert ordered.counts_[0].tolist() == [10, 10]  # the raw co-view counts stay as they are


def test_coview_next_weight_needs_counts_and_a_valid_weight() -> None:
    x = session_matrix(np.array([0, 0]), np.array([0, 1]), 1, 2)
    with pytest.raises(ValueError, match="next_counts"):
        CoviewModel(next_weight=1.0).fit(x)
    with pytest.raises(ValueError, match="next_weight"):
        CoviewModel(next_weight=-1.0).fit(x)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("coview_next_weight", -0.5),
        ("coview_next_weight", 11.0),
        ("coview_next_weight", True),
        ("coview_next_window", 0),
        ("coview_next_window", 2.5),
    ],
)
def test_train_config_refuses_a_bad_next_read_setting(setting: str, value: object) -> None:
    with pytest.raises(DataError, match=setting):
        TrainConfig(**{setting: value})  # type: ignore[arg-type]
