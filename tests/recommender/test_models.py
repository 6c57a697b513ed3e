"""Similarity and popularity models against hand-computed answers and brute-force oracles."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp

from recommender._topk import cosine_topn, csr_topn, entries_topn
from recommender.content import ContentModel, fold_in, shared_terms
from recommender.coview import LIFT_EVIDENCE, CoviewModel, log_likelihood_ratio, session_matrix
from recommender.popularity import PopularityModel, rank, trending_score


def _brute_topn(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense cosine on a small matrix; ties by ascending column."""
    sims = x @ x.T
    np.fill_diagonal(sims, 0)
    neighbors = np.full((x.shape[0], n), -1, dtype=np.int32)
    scores = np.zeros((x.shape[0], n), dtype=np.float32)
    for i, row in enumerate(sims):
        cols = [c for c in np.lexsort((np.arange(row.size), -row)) if row[c] > 0][:n]
        neighbors[i, : len(cols)] = cols
        scores[i, : len(cols)] = row[cols]
    return neighbors, scores


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 1000])
def test_topk_chunked_matches_dense_oracle(chunk_size: int) -> None:
    rng = np.random.default_rng(7)
    dense = rng.random((40, 25)) * (rng.random((40, 25)) < 0.3)
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
    x = sp.csr_matrix(dense.astype(np.float32))
    neighbors, scores = cosine_topn(x, x, 5, self_offset=0, chunk_size=chunk_size)
    want_neighbors, want_scores = _brute_topn(dense.astype(np.float32), 5)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(neighbors, want_neighbors)


def test_topk_breaks_ties_by_row() -> None:
    # rows 1, 2 and 3 are identical: for row 0 all three tie and must come in row order
    x = sp.csr_matrix(np.array([[1, 0], [1, 0], [1, 0], [1, 0]], dtype=np.float32))
    neighbors, _ = cosine_topn(x, x, 3, self_offset=0)
    assert neighbors[0].tolist() == [1, 2, 3]
    assert neighbors[3].tolist() == [0, 1, 2]


@pytest.mark.parametrize("n_cols", [40, 2**30])
def test_topk_csr_matches_entries_topn(n_cols: int) -> None:
    # scores with exact ties, zeros, NaN, negatives and float64 values that round to float32 0
    # (kept: positive before the rounding); 2**30 columns leave no room for 64-bit keys
    rng = np.random.default_rng(5)
    per_row = rng.integers(0, 12, 60)
    per_row[3] = 0
    indptr = np.concatenate(([0], np.cumsum(per_row)))
    rows = np.repeat(np.arange(60), per_row)
    cols = np.concatenate([rng.choice(40, k, replace=False) for k in per_row]) * (n_cols // 40)
    scores = rng.choice(np.array([0.5, 0.25, 1.0, 0.0, -0.5, np.nan, 1e-50, 2e-50, 0.3]), rows.size)
    extra = rng.integers(1, 100, rows.size)
    got = csr_topn(indptr, cols, scores, 4, extra=extra)
    positive = scores > 0
    want = entries_topn(rows[positive], cols[positive], scores[positive], 60, 4, extra[positive])
    for got_array, want_array in zip(got, want, strict=True):
        assert got_array is not None and want_array is not None
        np.testing.assert_array_equal(got_array, want_array)
    assert (got[0][:, 3] >= 0).any() and (got[0][:, 0] == -1).any()


@dataclass(frozen=True)
class Doc:
    title: str
    body: str
    category: str = ""
    tags: tuple[str, ...] = ()


DOCS = [
    Doc("Wind turbines power the coast", "offshore wind farm turbines grid power", "energy"),
    Doc("New wind farm opens", "wind turbines blades offshore farm grid", "energy"),
    Doc("Striker scores twice", "football match goal striker league cup", "sports"),
    Doc("Cup final goal drama", "football cup final goal striker penalty", "sports"),
    Doc("Opera season opens", "opera soprano stage season premiere", "culture"),
]


def test_content_neighbours_share_the_topic() -> None:
    model = ContentModel(n_neighbors=2).fit(DOCS)
    assert model.neighbors_[0, 0] == 1
    assert model.neighbors_[2, 0] == 3
    assert model.neighbors_[3, 0] == 2
    assert model.matrix_.dtype == np.float32


def test_content_never_lists_self_or_non_candidates() -> None:
    mask = np.array([True, False, True, True, True])
    model = ContentModel(n_neighbors=4).fit(DOCS, candidate_mask=mask)
    for row, neighbors in enumerate(model.neighbors_):
        assert row not in neighbors.tolist()
        assert 1 not in neighbors.tolist()


def test_content_title_weight_counts() -> None:
    docs = [Doc("alpha", "beta"), Doc("alpha", "gamma"), Doc("delta", "beta")]
    heavy = ContentModel(n_neighbors=1, title_weight=5, stop_words=None).fit(docs)
    light = ContentModel(n_neighbors=1, title_weight=1, stop_words=None).fit(docs)
    assert heavy.neighbors_[0, 0] == 1  # shared title wins when titles weigh more
    assert light.scores_[0, 0] < heavy.scores_[0, 0]


def test_content_fold_in_finds_the_topic_and_shared_terms() -> None:
    model = ContentModel(n_neighbors=2).fit(DOCS)
    new = model.transform([Doc("Penalty drama in the cup", "striker goal football penalty")])
    neighbors, _ = fold_in(new, model.matrix_, 2)
    assert set(neighbors[0].tolist()) == {2, 3}
    terms = [t for t, _ in shared_terms(model.vectorizer_, new, model.matrix_[3])]
    assert "penalty" in terms


def test_coview_counts_match_the_oracle() -> None:
    rng = np.random.default_rng(3)
    sessions = rng.integers(0, 30, 400)
    articles = rng.integers(0, 12, 400)
    x = session_matrix(sessions, articles, 30, 12)
    model = CoviewModel(n_neighbors=11, min_count=1, normalization="cosine").fit(x)
    dense = x.toarray()
    together = dense.T @ dense
    for a in range(12):
        for b, count in zip(model.neighbors_[a], model.counts_[a], strict=True):
            if b >= 0:
                assert count == together[a, b]
        listed = {int(b) for b in model.neighbors_[a] if b >= 0}
        assert listed == {b for b in range(12) if b != a and together[a, b] >= 1}


@pytest.mark.parametrize("normalization", ["cosine", "llr", "lift"])
def test_coview_fit_of_some_rows_gives_those_rows_the_whole_fit_lists(normalization: str) -> None:
    """A self-calibration fits co-views for its query rows only: each of their lists is the
    whole fit's, every other row has none."""
    rng = np.random.default_rng(7)
    x = session_matrix(rng.integers(0, 300, 4000), rng.integers(0, 200, 4000), 300, 200)
    weights = rng.random(300).astype(np.float32)
    mask = rng.random(200) > 0.1
    kwargs = {"session_weight": weights, "candidate_mask": mask}
    whole = CoviewModel(n_neighbors=8, normalization=normalization, chunk_size=16).fit(x, **kwargs)
    rows = np.array([150, 3, 77, 3, 199, 0])
    some = CoviewModel(n_neighbors=8, normalization=normalization, chunk_size=16).fit(
        x, **kwargs, rows=rows
    )
    for attribute in ("neighbors_", "scores_", "counts_"):
        np.testing.assert_array_equal(
            getattr(some, attribute)[rows], getattr(whole, attribute)[rows]
        )
    others = np.setdiff1d(np.arange(200), rows)
    assert (some.neighbors_[others] == -1).all()
    assert (whole.neighbors_[others] >= 0).any()
    np.testing.assert_array_equal(some.support_, whole.support_)


def test_coview_session_matrix_counts_each_pair_once() -> None:
    rng = np.random.default_rng(2)
    sessions, articles = rng.integers(0, 40, 500), rng.integers(0, 9, 500)
    x = session_matrix(sessions, articles, 45, 9)
    dense = np.zeros((45, 9), dtype=np.float32)
    dense[sessions, articles] = 1
    np.testing.assert_array_equal(x.toarray(), dense)
    assert x.has_canonical_format and x.dtype == np.float32
    with pytest.raises(ValueError, match="article row"):
        session_matrix(np.array([0]), np.array([9]), 45, 9)
    with pytest.raises(ValueError, match="session code"):
        session_matrix(np.array([-1]), np.array([0]), 45, 9)


# Sessions by hand: s0 reads A,B ; s1 reads A,B ; s2 reads A,C ; s3 reads B ; s4 reads C
HAND_SESSIONS = np.array([0, 0, 1, 1, 2, 2, 3, 4])
HAND_ARTICLES = np.array([0, 1, 0, 1, 0, 2, 1, 2])


def _hand_model(normalization: str) -> CoviewModel:
    x = session_matrix(HAND_SESSIONS, HAND_ARTICLES, 5, 3)
    return CoviewModel(n_neighbors=2, min_count=1, normalization=normalization).fit(x)


@pytest.mark.parametrize(
    ("normalization", "ab", "ac"),
    [
        # A read in 3 sessions, B in 3, C in 2; A&B together 2, A&C 1; 5 sessions
        ("cosine", 2 / math.sqrt(3 * 3), 1 / math.sqrt(3 * 2)),
        ("jaccard", 2 / (3 + 3 - 2), 1 / (3 + 2 - 1)),
        # lift shrunk by its evidence n / (n + 10)
        ("lift", 2 * 5 / (3 * 3) * 2 / 12, 1 * 5 / (3 * 2) * 1 / 11),
    ],
)
def test_coview_normalisations_by_hand(normalization: str, ab: float, ac: float) -> None:
    model = _hand_model(normalization)
    scores = dict(zip(model.neighbors_[0].tolist(), model.scores_[0].tolist(), strict=True))
    assert scores[1] == pytest.approx(ab, rel=1e-6)
    assert scores[2] == pytest.approx(ac, rel=1e-6)
    assert model.counts_[0].tolist() == [2, 1]


def test_coview_llr_by_hand() -> None:
    # A&B: k11=2 (both), k12=1 (A not B), k21=1 (B not A), k22=1 (neither)
    # G² = 2 * sum(observed * ln(observed / expected)), expected = row total * column total / n
    observed = {(0, 0): 2, (0, 1): 1, (1, 0): 1, (1, 1): 1}
    rows = {0: 3, 1: 2}
    cols = {0: 3, 1: 2}
    expected = 2 * sum(o * math.log(o / (rows[i] * cols[j] / 5)) for (i, j), o in observed.items())
    got = log_likelihood_ratio(np.array([2]), np.array([1]), np.array([1]), np.array([1]))
    assert got[0] == pytest.approx(expected, rel=1e-9)
    model = _hand_model("llr")
    assert model.scores_[0, model.neighbors_[0].tolist().index(1)] == pytest.approx(
        expected, rel=1e-5
    )
    # independent events score zero
    assert log_likelihood_ratio(np.array([1]), np.array([1]), np.array([1]), np.array([1]))[0] == 0


def test_coview_min_count_and_bot_sessions_are_dropped() -> None:
    x = session_matrix(HAND_SESSIONS, HAND_ARTICLES, 5, 3)
    model = CoviewModel(n_neighbors=2, min_count=2).fit(x)
    assert model.neighbors_[0].tolist() == [1, -1]
    bots = session_matrix(np.array([0, 0, 0, 1, 1]), np.array([0, 1, 2, 0, 2]), 2, 3)
    crawler = np.array([True, False])
    model = CoviewModel(n_neighbors=2, min_count=1).fit(bots, bot_sessions=crawler)
    assert model.n_bot_sessions_ == 1
    assert model.neighbors_[0].tolist() == [2, -1]


def test_coview_time_decay_keeps_raw_counts() -> None:
    x = session_matrix(HAND_SESSIONS, HAND_ARTICLES, 5, 3)
    weights = np.array([1.0, 1.0, 0.01, 1.0, 1.0], dtype=np.float32)
    model = CoviewModel(n_neighbors=2, min_count=1).fit(x, session_weight=weights)
    plain = CoviewModel(n_neighbors=2, min_count=1).fit(x)
    row = model.neighbors_[0].tolist()
    assert model.counts_[0, row.index(2)] == 1  # raw count unchanged
    assert model.scores_[0, row.index(2)] < plain.scores_[0, plain.neighbors_[0].tolist().index(2)]


def _brute_coview(
    dense: np.ndarray,
    n: int,
    normalization: str,
    min_count: int,
    weights: np.ndarray,
    mask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense ``X.T @ X``, normalised, then every row's list by a plain Python sort."""
    together = dense.T @ dense
    weighted = dense.T @ (weights[:, None] * dense)
    item = weighted.diagonal()
    total = float(weights.sum())
    n_a, n_b = item[:, None], item[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        if normalization == "cosine":
            score = weighted / np.sqrt(n_a * n_b)
        elif normalization == "jaccard":
            score = weighted / (n_a + n_b - weighted)
        elif normalization == "lift":
            score = weighted * total / (n_a * n_b) * (weighted / (weighted + LIFT_EVIDENCE))
        else:
            score = log_likelihood_ratio(
                weighted, n_a - weighted, n_b - weighted, total - n_a - n_b + weighted
            )
    size = dense.shape[1]
    neighbors = np.full((size, n), -1, dtype=np.int32)
    scores = np.zeros((size, n), dtype=np.float32)
    counts = np.zeros((size, n), dtype=np.int32)
    for a in range(size):
        kept = [
            b
            for b in range(size)
            if b != a and mask[b] and together[a, b] >= max(min_count, 1) and score[a, b] > 0
        ]
        kept.sort(key=lambda b: (-np.float32(score[a, b]), b))
        for place, b in enumerate(kept[:n]):
            neighbors[a, place], scores[a, place], counts[a, place] = b, score[a, b], together[a, b]
    return neighbors, scores, counts


@pytest.mark.parametrize("normalization", ["cosine", "jaccard", "lift", "llr"])
@pytest.mark.parametrize(("chunk_size", "decay"), [(1, False), (7, True), (1000, False)])
def test_coview_lists_match_the_brute_force_oracle(
    normalization: str, chunk_size: int, decay: bool
) -> None:
    # few articles and popular ones first, as in real logs: many exact ties, rows with more
    # pairs than neighbours kept, and chunks of unequal work
    rng = np.random.default_rng(11)
    popularity = 1.0 / np.arange(1, 31) ** 0.8
    articles = rng.choice(30, 600, p=popularity / popularity.sum())
    sessions = rng.integers(0, 150, 600)
    x = session_matrix(sessions, articles, 150, 30)
    # powers of two (and 0: sessions whose weight underflowed) add up exactly in float32
    weights = rng.choice(np.array([0.0, 0.25, 0.5, 1.0], dtype=np.float32), 150)
    weights = weights if decay else np.ones(150, dtype=np.float32)
    mask = rng.random(30) < 0.85
    model = CoviewModel(
        n_neighbors=6,
        normalization=normalization,
        min_count=2 if chunk_size == 7 else 1,
        chunk_size=chunk_size,
    ).fit(x, session_weight=weights if decay else None, candidate_mask=mask)
    want_neighbors, want_scores, want_counts = _brute_coview(
        x.toarray().astype(np.float64), 6, normalization, model.min_count, weights, mask
    )
    for row in range(30):
        assert model.neighbors_[row].tolist() == want_neighbors[row].tolist(), row
        assert model.counts_[row].tolist() == want_counts[row].tolist(), row
    np.testing.assert_array_equal(model.scores_, want_scores)
    assert (model.neighbors_[:, -1] >= 0).any()  # some rows had more pairs than were kept


def test_popularity_windows_by_hand() -> None:
    now = 100 * 86_400
    rows = np.array([0, 0, 1, 1, 1, 2])
    ages_days = np.array([0.5, 10, 0.1, 3, 40, 6])
    stamps = (now - ages_days * 86_400).astype(np.int64)
    model = PopularityModel().fit(rows, stamps, 4, now)
    # columns 1d, 7d, 30d, all
    assert model.counts_.tolist() == [[1, 1, 2, 2], [1, 2, 2, 3], [0, 1, 1, 1], [0, 0, 0, 0]]
    assert rank(model.counts_[:, 3]).tolist() == [1, 0, 2, 3]
    assert model.ranking("7d", ["x", "y", "x", "y"], "x").tolist() == [0, 2]  # tie: by id


def test_popularity_future_views_are_ignored() -> None:
    model = PopularityModel().fit(np.array([0, 0]), np.array([10, 1000]), 1, 500)
    assert model.counts_[0, 3] == 1


def test_trending_needs_volume() -> None:
    recent = np.array([1, 40, 40])
    baseline = np.array([0, 7 * 40, 0])
    score = trending_score(recent, baseline, 7, min_views=5)
    assert score[0] == 0  # one view of an old article cannot trend
    assert score[2] > score[1] == 0  # a rise against its own baseline beats steady traffic
