"""Content cosine of one article with any others, from the stored TF-IDF vectors.

The trained content lists hold each article's closest neighbours only; the hybrid also scores
the most read articles of the moment against the query (:class:`recommender.blend.Popular`),
and those are usually not in the list. Vectors are L2-normalised, so the cosine is a dot
product. numpy and scipy only: the service imports this without scikit-learn.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class RowSimilarity:
    """Dot products of a row's vector with other rows' vectors (:meth:`among` for a fixed few).

    Rows ``0..N-1`` are ``base``'s (the bundle's content matrix), the next ones ``extra``'s
    (articles folded in since, in the same vocabulary). The base part reads the base matrix
    by column (the query's terms): about ``sum of the query terms' document frequencies``
    multiply-adds, whatever the number of rows asked about, instead of one sparse product per
    call.

    Parameters
    ----------
    base : scipy.sparse matrix
        One L2-normalised vector per row.
    extra : scipy.sparse matrix, optional
        Vectors of the rows after ``base``'s.
    """

    def __init__(self, base: sp.spmatrix | sp.sparray, extra: sp.spmatrix | None = None) -> None:
        self.base = sp.csr_matrix(base)
        self.n_base = self.base.shape[0]
        self.extra = (
            sp.csr_matrix((0, self.base.shape[1]), dtype=np.float32)
            if extra is None
            else sp.csr_matrix(extra)
        )
        self._base_by_term: sp.csc_matrix | None = None
        self._extra_by_term: sp.csc_matrix | None = None

    @property
    def _by_term(self) -> tuple[sp.csc_matrix, sp.csc_matrix]:
        # column-major copies, made on the first full call: the service only asks about a
        # tick's most read rows (:meth:`among`) and never pays for a copy of the whole matrix
        if self._base_by_term is None:
            self._base_by_term = sp.csc_matrix(self.base)
        if self._extra_by_term is None:
            self._extra_by_term = sp.csc_matrix(self.extra)
        return self._base_by_term, self._extra_by_term

    def with_extra(self, extra: sp.spmatrix | None) -> RowSimilarity:
        """The same base with other extra rows (the base's column copy is shared, not redone)."""
        other = RowSimilarity(self.base, extra)
        other._base_by_term = self._base_by_term
        return other

    def __len__(self) -> int:
        return int(self.n_base + self.extra.shape[0])

    def _vector(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        matrix, r = (self.base, row) if row < self.n_base else (self.extra, row - self.n_base)
        lo, hi = matrix.indptr[r], matrix.indptr[r + 1]
        return matrix.indices[lo:hi], matrix.data[lo:hi].astype(np.float64)

    def among(self, rows: np.ndarray) -> SubsetSimilarity:
        """The same cosines, faster, for the other side always among ``rows``."""
        return SubsetSimilarity(self, rows)

    def __call__(self, row: int, rows: np.ndarray) -> np.ndarray:
        """The cosine of ``row`` with each of ``rows`` (0 for a row beyond the matrices)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(rows.size, dtype=np.float64)
        if rows.size == 0 or row >= len(self):
            return out
        terms, weights = self._vector(row)
        if terms.size == 0:
            return out
        in_base = rows < self.n_base
        in_extra = ~in_base & (rows < len(self))
        for part, mask, first in (
            (self._by_term[0], in_base, 0),
            (self._by_term[1], in_extra, self.n_base),
        ):
            if mask.any():
                out[mask] = _dots(part, terms, weights)[rows[mask] - first]
        return out


class SubsetSimilarity:
    """:class:`RowSimilarity` with the other side fixed to a few rows (the most read of a
    refresh tick): their vectors are copied into one small column-major matrix, so a call
    reads only the query terms' entries among those rows.

    The matrix holds the rows in the order given (when they are distinct rows of the
    matrices, as a tick's most read are), so asking about that very array needs no reordering;
    where each term's entries start and how many there are is kept per term, so a call
    gathers them without recomputing either."""

    def __init__(self, full: RowSimilarity, rows: np.ndarray) -> None:
        given = rows
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[(rows >= 0) & (rows < len(full))]
        self.full = full
        self.sorted_rows = np.unique(rows)
        self._given: np.ndarray | None = None
        kept = self.sorted_rows
        if (
            isinstance(given, np.ndarray)
            and given.dtype == np.int64
            and given.ndim == 1
            and given.size == self.sorted_rows.size == rows.size
        ):
            # distinct and all inside: the matrix in the caller's order
            self._given, kept = given, given
        in_base = kept < full.n_base
        stacked = sp.vstack(
            [full.base[kept[in_base]], full.extra[kept[~in_base] - full.n_base]],
            format="csr",
        )
        if not in_base.all():  # vstack put the extra rows last: back to ``kept``'s order
            stacked = stacked[np.argsort(np.argsort(~in_base, kind="stable"), kind="stable")]
        by_term = sp.csc_matrix(stacked)
        indptr = by_term.indptr.astype(np.intp)
        self._by_term = by_term
        self._n = by_term.shape[0]
        self._starts = indptr[:-1]
        self._lengths = np.diff(indptr)
        self._indices = by_term.indices
        self._data = by_term.data.astype(np.float64)  # exact: float32 values, cast once
        #: where each of :attr:`sorted_rows` sits in the matrix
        self._sorted_at = (
            np.arange(kept.size, dtype=np.intp)
            if self._given is None
            else np.argsort(kept, kind="stable").astype(np.intp)
        )

    def _positions(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's position in the matrix, and whether it is there at all."""
        if self.sorted_rows.size == 0:
            return np.zeros(rows.size, dtype=np.intp), np.zeros(rows.size, dtype=bool)
        position = np.minimum(np.searchsorted(self.sorted_rows, rows), self.sorted_rows.size - 1)
        return self._sorted_at[position], self.sorted_rows[position] == rows

    def _dots(self, terms: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Every row's dot product with the vector ``(terms, weights)``: :func:`_dots` with
        the per-term starts and lengths looked up, not computed (the same sums in the same
        order, so the same bits)."""
        starts = self._starts[terms]
        lengths = self._lengths[terms]
        ends = lengths.cumsum()
        positions = (starts - ends + lengths).repeat(lengths)
        positions += np.arange(int(ends[-1]))
        dense: np.ndarray = np.bincount(
            self._indices[positions],
            self._data[positions] * weights.repeat(lengths),
            minlength=self._n,
        )
        return dense

    def __call__(self, row: int, rows: np.ndarray) -> np.ndarray:
        """The cosine of ``row`` with each of ``rows`` (0 for a row outside the subset)."""
        if rows is self._given:
            if row >= len(self.full):
                return np.zeros(rows.size, dtype=np.float64)
            terms, weights = self.full._vector(row)
            if terms.size == 0:
                return np.zeros(rows.size, dtype=np.float64)
            return self._dots(terms, weights)
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0 or row >= len(self.full) or self.sorted_rows.size == 0:
            return np.zeros(rows.size, dtype=np.float64)
        terms, weights = self.full._vector(row)
        if terms.size == 0:
            return np.zeros(rows.size, dtype=np.float64)
        out = np.zeros(rows.size, dtype=np.float64)
        position, inside = self._positions(rows)
        out[inside] = self._dots(terms, weights)[position[inside]]
        return out


def _dots(
    by_term: sp.csc_matrix,
    terms: np.ndarray,
    weights: np.ndarray,
    indptr: np.ndarray | None = None,
) -> np.ndarray:
    """Every row's dot product with the vector ``(terms, weights)``, reading only the
    vector's columns of ``by_term`` (``indptr``: its ``indptr`` as ``intp``, when kept).

    The positions are computed in ``intp``: numpy's indexing, ``repeat`` and ``cumsum`` cast
    ``int32`` operands first, which cost more than the work at these sizes."""
    indptr = by_term.indptr if indptr is None else indptr
    terms = terms.astype(np.intp)
    starts = indptr[terms]
    lengths = indptr[terms + 1] - starts
    ends = lengths.cumsum()
    offsets = np.repeat(starts - ends + lengths, lengths)
    positions = offsets + np.arange(int(ends[-1]) if ends.size else 0)
    dense: np.ndarray = np.bincount(
        by_term.indices[positions],
        by_term.data[positions] * np.repeat(weights, lengths),
        minlength=by_term.shape[0],
    )
    return dense
