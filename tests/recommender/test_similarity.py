"""Content cosine of one row with others, from the bundle's vectors and folded-in ones."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.similarity import RowSimilarity


def _rows(seed: int, n: int, terms: int = 40) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.random((n, terms)) * (rng.random((n, terms)) < 0.2)
    dense[0] = 0.0  # a row without a vector
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return sp.csr_matrix(np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0))


def test_row_similarity_is_the_dot_product_of_base_and_extra_rows() -> None:
    base, extra = _rows(0, 30), _rows(1, 6)
    everything = sp.vstack([base, extra]).toarray()
    similarity = RowSimilarity(base, extra)
    assert len(similarity) == 36
    rows = np.array([35, 0, 3, 31, 29, 7, 40])  # 40 is beyond both: 0
    for query in (2, 5, 33):
        expected = everything[rows[rows < 36]] @ everything[query]
        found = similarity(query, rows)
        assert np.allclose(found[:-1], expected) and found[-1] == 0.0
    assert not similarity(0, rows).any()  # no vector, similar to nothing
    assert similarity(2, np.array([], dtype=np.int64)).size == 0


def test_row_similarity_with_other_extra_rows_keeps_the_base() -> None:
    base = _rows(0, 30)
    first = RowSimilarity(base)
    assert np.allclose(first(4, np.arange(30)), base.toarray() @ base.toarray()[4])
    extra = _rows(2, 3)
    second = first.with_extra(extra)
    assert len(second) == 33 and len(first) == 30
    assert np.allclose(
        second(31, np.arange(33)), np.vstack([base.toarray(), extra.toarray()]) @ extra.toarray()[1]
    )


def test_similarity_among_a_few_rows_is_the_full_one_there_and_zero_elsewhere() -> None:
    base, extra = _rows(3, 30), _rows(4, 5)
    full = RowSimilarity(base, extra)
    subset = full.among(np.array([31, 4, 17, 4, 99]))  # repeats and unknown rows are dropped
    asked = np.array([17, 31, 5, 4])
    for query in (2, 33):
        expected = full(query, asked)
        expected[2] = 0.0  # row 5 is not among them
        assert np.allclose(subset(query, asked), expected)
    assert subset(0, asked).tolist() == [0.0] * 4
    # asking among a few rows never copies the whole matrix by column
    fresh = RowSimilarity(base, extra)
    fresh.among(np.array([1, 2]))(3, np.array([1, 2]))
    assert fresh._base_by_term is None


def test_similarity_among_its_own_rows_is_the_full_one_bit_for_bit() -> None:
    base, extra = _rows(5, 40), _rows(6, 4)
    full = RowSimilarity(base, extra)
    given = np.array([41, 7, 0, 19, 3, 40], dtype=np.int64)  # most read first, not sorted
    subset = full.among(given)
    for query in (2, 7, 42):
        # the array it was made of (positions worked out once) and a copy of it (looked up)
        assert subset(query, given).tolist() == full(query, given).tolist()
        assert subset(query, given.copy()).tolist() == full(query, given).tolist()
