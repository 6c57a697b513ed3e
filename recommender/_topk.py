"""Top-n selection helpers shared by the similarity models.

Every function here returns dense ``(rows, n)`` arrays: neighbour rows as ``int32`` padded with
``-1`` and scores as ``float32`` padded with ``0``. Within a row, neighbours are ordered by
descending score and ties are broken by ascending row, which is ascending ``article_id`` because
the training pipeline sorts articles by id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn

PAD = -1
_T = TypeVar("_T")


def order_rows(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Permutation sorting entries by row, then descending score, then ascending column.

    Scores are compared as float32, the precision bundles store. When row and column numbers
    fit beside the 32 bits of a score in one 64-bit key (catalogues up to about 500,000
    articles), one integer sort does it; otherwise a slower three-key ``lexsort``.
    """
    scores32 = np.ascontiguousarray(scores, dtype=np.float32)
    if scores32.size and scores32.min() < 0:
        return np.lexsort((cols, -scores32.astype(np.float64), rows))
    row_bits = int(rows.max(initial=0)).bit_length()
    col_bits = int(cols.max(initial=0)).bit_length()
    if row_bits + 32 + col_bits > 64:
        return np.lexsort((cols, -scores32.astype(np.float64), rows))
    # non-negative float32 bit patterns sort like the numbers; invert for descending order
    descending = np.uint64(0xFFFFFFFF) - scores32.view(np.uint32).astype(np.uint64)
    key = (
        (rows.astype(np.uint64) << np.uint64(32 + col_bits))
        | (descending << np.uint64(col_bits))
        | cols.astype(np.uint64)
    )
    return np.argsort(key)


def entries_topn(
    rows: np.ndarray,
    cols: np.ndarray,
    scores: np.ndarray,
    n_rows: int,
    n: int,
    extra: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Keep the ``n`` best (row, col, score) entries of every row.

    ``extra`` is a value carried along with each entry (the co-view model's raw counts).
    Returns ``(neighbors, scores, extra)`` as ``(n_rows, n)`` arrays (``extra`` as int32).
    """
    order = order_rows(rows, cols, scores)
    rows, cols, scores = rows[order], cols[order], scores[order]
    starts = np.searchsorted(rows, np.arange(n_rows))
    rank = np.arange(rows.size) - starts[rows]
    take = rank < n
    rows, rank = rows[take], rank[take]
    neighbors = np.full((n_rows, n), PAD, dtype=np.int32)
    top_scores = np.zeros((n_rows, n), dtype=np.float32)
    neighbors[rows, rank] = cols[take]
    top_scores[rows, rank] = scores[take]
    top_extra = None
    if extra is not None:
        top_extra = np.zeros((n_rows, n), dtype=np.int32)
        top_extra[rows, rank] = extra[order][take]
    return neighbors, top_scores, top_extra


def sparse_rows_topn(
    matrix: sp.csr_matrix,
    n: int,
    *,
    exclude_diagonal_offset: int | None = None,
    exclude_columns: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the ``n`` largest entries of every row of a sparse matrix.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        Scores, one row per query; entries that are not positive are dropped.
    n : int
        How many neighbours to keep per row.
    exclude_diagonal_offset : int or None
        When given, entry ``(i, i + offset)`` is dropped (a query is never its own neighbour).
    exclude_columns : ndarray of int, optional
        When given, entry ``(i, exclude_columns[i])`` is dropped (the same, for queries that
        are not consecutive rows; ``-1``: nothing to drop).

    Returns
    -------
    neighbors : ndarray of int32, shape (rows, n)
    scores : ndarray of float32, shape (rows, n)
    """
    coo = matrix.tocoo()
    rows, cols, data = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    keep = data > 0
    if exclude_diagonal_offset is not None:
        keep &= cols != rows + exclude_diagonal_offset
    if exclude_columns is not None:
        keep &= cols != np.asarray(exclude_columns, dtype=np.int64)[rows]
    neighbors, scores, _ = entries_topn(rows[keep], cols[keep], data[keep], matrix.shape[0], n)
    return neighbors, scores


class BlockMapper(Protocol):
    """Runs a function over blocks of work and returns the results in block order.

    ``shared`` is handed to every call as keyword arguments; an engine that runs the blocks
    elsewhere (:class:`recommender.distributed.DaskMapper`) ships it once, not per block.
    ``n_threads`` is how many threads one block may use where it runs; ``min_blocks`` how
    many blocks at least keep every worker busy (smaller blocks, same results).
    """

    n_threads: int

    @property
    def min_blocks(self) -> int: ...

    def __call__(
        self, fn: Callable[..., _T], blocks: Sequence[Any], shared: dict[str, Any]
    ) -> list[_T]: ...


def cosine_topn(
    queries: sp.csr_matrix,
    candidates: sp.csr_matrix,
    n: int,
    *,
    candidate_rows: np.ndarray | None = None,
    self_offset: int | None = None,
    self_rows: np.ndarray | None = None,
    chunk_size: int = 2048,
    n_threads: int = 2,
    mapper: BlockMapper | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-n dot products (cosine on L2-normalised rows), in row chunks.

    The product is computed by ``sparse_dot_topn`` one chunk of query rows at a time, so the
    extra memory is bounded by ``chunk_size * n`` whatever the catalogue size. Each chunk is
    independent of the others: a row's list does not depend on the chunking, the threads or
    where the chunk ran.

    Parameters
    ----------
    queries : csr_matrix, shape (q, features)
    candidates : csr_matrix, shape (c, features)
    n : int
        Neighbours per query row.
    candidate_rows : ndarray of int, optional
        Maps a candidate's position to the row id reported back (default: its position).
    self_offset : int or None
        When the queries are rows of the candidates, query ``i`` is candidate ``i + self_offset``
        (in reported row ids) and is removed from its own list.
    self_rows : ndarray of int, optional
        The same for queries that are not consecutive rows: query ``i`` is row
        ``self_rows[i]`` (``-1``: none) and is removed from its own list.
    chunk_size : int
        Query rows per product.
    n_threads : int
        Threads for the product (pass 2 on a 2-core machine; ``-1`` would mean one).
    mapper : BlockMapper, optional
        Runs the chunks (default: one after the other here); its ``n_threads`` replaces
        ``n_threads``.
    """
    if candidate_rows is None:
        candidate_rows = np.arange(candidates.shape[0], dtype=np.int64)
    n_queries = queries.shape[0]
    if self_rows is None and self_offset is not None:
        self_rows = np.arange(n_queries, dtype=np.int64) + self_offset
    if mapper is not None:
        chunk_size = min(chunk_size, max(1, -(-n_queries // mapper.min_blocks)))
    shared = {
        "queries": queries,
        "candidates_t": candidates.T.tocsr(),
        "candidate_rows": candidate_rows,
        "self_rows": self_rows,
        "n": n,
    }
    blocks = [
        (start, min(start + chunk_size, n_queries)) for start in range(0, n_queries, chunk_size)
    ]
    if mapper is None:
        parts = [topn_block(block, n_threads=n_threads, **shared) for block in blocks]
    else:
        parts = mapper(topn_block, blocks, {**shared, "n_threads": mapper.n_threads})
    neighbors = np.full((n_queries, n), PAD, dtype=np.int32)
    scores = np.zeros((n_queries, n), dtype=np.float32)
    for (start, stop), (chunk_neighbors, chunk_scores) in zip(blocks, parts, strict=True):
        neighbors[start:stop] = chunk_neighbors
        scores[start:stop] = chunk_scores
    return neighbors, scores


def topn_block(
    block: tuple[int, int],
    *,
    queries: sp.csr_matrix,
    candidates_t: sp.csr_matrix,
    candidate_rows: np.ndarray,
    self_rows: np.ndarray | None,
    n: int,
    n_threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One chunk of :func:`cosine_topn`: the lists of query rows ``start:stop``."""
    start, stop = block
    # one spare slot per row for the query itself, and one for a tie at the boundary
    keep = min(n + 2, max(candidates_t.shape[1], 1))
    product = sp_matmul_topn(
        queries[start:stop],
        candidates_t,
        top_n=keep,
        threshold=0.0,
        n_threads=n_threads if n_threads > 1 else None,
    ).tocoo()
    mapped = sp.csr_matrix(
        (product.data, (product.row, candidate_rows[product.col])),
        shape=(stop - start, int(candidate_rows.max(initial=0)) + 1),
    )
    exclude = None if self_rows is None else self_rows[start:stop]
    return sparse_rows_topn(mapped, n, exclude_columns=exclude)


def csr_topn(
    indptr: np.ndarray,
    cols: np.ndarray,
    scores: np.ndarray,
    n: int,
    extra: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Keep the ``n`` best entries of every row of CSR-ordered arrays.

    Same answer as :func:`entries_topn` on the positive entries (scores compared as float32,
    ties by ascending column), without sorting every entry's position: entries are packed
    into 64-bit keys (row, descending score, column), the keys themselves are sorted (a
    vectorised sort, several times faster than ``argsort``) to read each row's ``n``-th best
    key, and the entries at or before it are selected in their original order. Only the
    selection, at most ``n`` per row, is then ordered with its ``extra`` values.

    Parameters
    ----------
    indptr : ndarray of int, shape (rows + 1,)
        Row ``r`` owns entries ``indptr[r]:indptr[r + 1]``.
    cols : ndarray of int, shape (entries,)
    scores : ndarray of float, shape (entries,)
        Entries whose score is not positive (or NaN) are dropped.
    n : int
        How many to keep per row.
    extra : ndarray, optional
        A value carried along with each entry (the co-view model's raw counts).
    """
    n_rows = indptr.size - 1
    neighbors = np.full((n_rows, n), PAD, dtype=np.int32)
    top_scores = np.zeros((n_rows, n), dtype=np.float32)
    top_extra = None if extra is None else np.zeros((n_rows, n), dtype=np.int32)
    # kept when positive before the rounding to float32, like entries_topn's callers do
    positive = np.asarray(scores) > 0
    scores32 = np.asarray(scores, dtype=np.float32)
    if not positive.any():
        return neighbors, top_scores, top_extra
    rows = np.repeat(np.arange(n_rows, dtype=np.intp), np.diff(indptr))
    row_bits = max(n_rows - 1, 0).bit_length()
    col_bits = int(cols.max(initial=0)).bit_length()
    if row_bits + 31 + col_bits > 64:
        keep = np.flatnonzero(positive)
        return entries_topn(
            rows[keep],
            cols[keep],
            scores32[keep],
            n_rows,
            n,
            extra=None if extra is None else extra[keep],
        )
    # non-negative float32 bit patterns sort like the numbers and are at most 0x7F800000
    # (infinity); dropped entries get a larger pattern, so they sort after the kept ones
    dropped = np.uint32(0x7FFFFFFF)
    descending = np.where(positive, np.uint32(0x7F800000) - scores32.view(np.uint32), dropped)
    row_shift, col_shift = np.uint64(31 + col_bits), np.uint64(col_bits)
    key = descending.astype(np.uint64)
    key <<= col_shift
    key |= cols.astype(np.uint64)
    key |= rows.astype(np.uint64) << row_shift
    ordered = np.sort(key)
    # in the sorted keys, each row's segment starts at indptr[row] with its kept entries
    row_keys = np.arange(n_rows, dtype=np.uint64) << row_shift
    first_dropped = np.searchsorted(ordered, row_keys | (np.uint64(dropped) << col_shift))
    n_kept = np.minimum(first_dropped - indptr[:-1], n)
    # a row with nothing kept gets threshold 0, below all of its keys
    last = np.maximum(indptr[:-1] + n_kept - 1, 0)
    threshold = np.where(n_kept > 0, ordered[last], np.uint64(0))
    chosen = np.flatnonzero(key <= threshold[rows])
    chosen = chosen[np.argsort(key[chosen])]
    chosen_rows = rows[chosen]
    starts = np.concatenate(([0], np.cumsum(n_kept)[:-1]))
    rank = np.arange(chosen.size) - starts[chosen_rows]
    neighbors[chosen_rows, rank] = cols[chosen]
    top_scores[chosen_rows, rank] = scores32[chosen]
    if top_extra is not None and extra is not None:
        top_extra[chosen_rows, rank] = extra[chosen]
    return neighbors, top_scores, top_extra
