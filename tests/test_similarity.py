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
