"""Co-view similarity: "readers of this also read", from a session x article matrix, and
optionally "readers of this read next" (:func:`next_read_counts`) blended into the same lists."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from recommender._topk import BlockMapper, csr_topn
from recommender.windows import DAY

NORMALIZATIONS = ("cosine", "jaccard", "lift", "llr")
#: Sessions read together at which ``lift`` keeps half its value: raw lift ranks a pair of
#: rarely read articles read together twice far above a well-read pair, and scored far below
#: the other normalisations on a real log (MovieLens, bench/RESULTS-quality-real.md); shrunk by
#: ``n / (n + LIFT_EVIDENCE)`` it needs evidence to win.
LIFT_EVIDENCE = 10.0
# Upper bound on a chunk's product entries (views of its articles' sessions). At 2**20 a
# chunk's arrays are a few MB: malloc reuses them from chunk to chunk instead of mapping
# fresh pages (at 10M events: half the page faults of 2**22 and about 15% less CPU).
MAX_CHUNK_WORK = 2**20


def session_matrix(
    session_codes: np.ndarray, article_rows: np.ndarray, n_sessions: int, n_articles: int
) -> sp.csr_matrix:
    """Binary session x article matrix: one count per (session, article), however many views."""
    for name, codes, size in (
        ("session code", session_codes, n_sessions),
        ("article row", article_rows, n_articles),
    ):
        if codes.size and (codes.min() < 0 or codes.max() >= size):
            raise ValueError(f"{name} out of range [0, {size})")
    # one sort of (session, article) keys gives the rows, their sorted columns and the
    # duplicates at once; scipy's COO route converts, sorts every row, then sums duplicates
    key = np.sort(np.asarray(session_codes, dtype=np.int64) * n_articles + article_rows)
    distinct = np.empty(key.size, dtype=bool)
    distinct[:1] = True
    np.not_equal(key[1:], key[:-1], out=distinct[1:])
    sessions, articles = np.divmod(key[distinct], n_articles)
    indptr = np.zeros(n_sessions + 1, dtype=np.int64)
    np.cumsum(np.bincount(sessions, minlength=n_sessions), out=indptr[1:])
    ones = np.ones(articles.size, dtype=np.float32)
    return sp.csr_matrix((ones, articles, indptr), shape=(n_sessions, n_articles))


def first_reads(
    session_codes: np.ndarray, article_rows: np.ndarray, timestamps: np.ndarray, n_articles: int
) -> tuple[np.ndarray, np.ndarray]:
    """The session and the article of each session's first view of an article, in reading
    order: sessions ascending, each one's articles by the time of their first view (ties in the
    given order of the views). Arrays of int64."""
    sessions = np.asarray(session_codes)
    articles = np.asarray(article_rows)
    order = np.lexsort((np.asarray(timestamps), sessions))  # stable: ties keep the given order
    sessions, articles = sessions[order].astype(np.int64), articles[order].astype(np.int64)
    del order
    _, first = np.unique(sessions * n_articles + articles, return_index=True)
    first.sort()
    return sessions[first], articles[first]


def next_read_counts(
    session_codes: np.ndarray,
    article_rows: np.ndarray,
    timestamps: np.ndarray,
    n_articles: int,
    window: int,
    *,
    session_weight: np.ndarray | None = None,
    left_out: np.ndarray | None = None,
    rows: np.ndarray | None = None,
    reads: tuple[np.ndarray, np.ndarray] | None = None,
) -> sp.csr_matrix:
    """Directed "read next" counts: entry ``(a, b)`` is how many sessions first read ``b``
    within ``window`` articles after first reading ``a``.

    Each session's articles are taken in the order of their first view (by time, ties in the
    given order of the views); a later view of an article already read does not move it.

    Parameters
    ----------
    session_codes, article_rows, timestamps : ndarray
        One entry per view.
    n_articles : int
    window : int
        How many following articles count as "read next" (1: only the very next one).
    session_weight : ndarray, optional
        Weight of each session (time decay), indexed by session code.
    left_out : ndarray of bool, optional
        Sessions that count nothing (crawlers), indexed by session code.
    rows : ndarray of int, optional
        Count only the pairs read after these articles (the rows a partial co-view fit
        computes); the other rows stay empty.
    reads : pair of ndarray, optional
        :func:`first_reads` of the same views, when already known (a calibration's trials).

    Returns
    -------
    csr_matrix of float64, shape (n_articles, n_articles)
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    if reads is None:
        reads = first_reads(session_codes, article_rows, timestamps, n_articles)
    sessions, articles = reads
    if left_out is not None and sessions.size:
        kept = ~np.asarray(left_out, dtype=bool)[sessions]
        sessions, articles = sessions[kept], articles[kept]
    wanted = None
    if rows is not None:
        wanted = np.zeros(n_articles, dtype=bool)
        wanted[np.asarray(rows, dtype=np.int64)] = True
    counts = sp.csr_matrix((n_articles, n_articles), dtype=np.float64)
    # one step at a time: a step's pairs are at most one per view, so the memory stays at
    # one step's arrays whatever the window
    for step in range(1, window + 1):
        same = sessions[step:] == sessions[:-step]
        if wanted is not None:
            same &= wanted[articles[:-step]]
        data = (
            np.ones(int(same.sum()))
            if session_weight is None
            else np.asarray(session_weight, dtype=np.float64)[sessions[step:][same]]
        )
        pairs = (articles[:-step][same].astype(np.int32), articles[step:][same].astype(np.int32))
        counts = counts + sp.csr_matrix((data, pairs), shape=(n_articles, n_articles))
    counts.sum_duplicates()
    return sp.csr_matrix(counts)


def decay_weights(last: np.ndarray, now: int, half_life_days: float) -> np.ndarray:
    """Weight of sessions whose last view was at ``last``: ``0.5 ** (age / half-life)``."""
    age_days = np.maximum(now - last, 0) / DAY
    return np.asarray(0.5 ** (age_days / half_life_days), dtype=np.float32)


def _xlogx(x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    positive = x > 0
    out[positive] = x[positive] * np.log(x[positive])
    return out


def log_likelihood_ratio(
    k11: np.ndarray, k12: np.ndarray, k21: np.ndarray, k22: np.ndarray
) -> np.ndarray:
    """Dunning's G² for 2x2 contingency tables, as Mahout's ``LogLikelihood`` computes it.

    ``k11`` sessions read both, ``k12`` only the first, ``k21`` only the second, ``k22``
    neither. Arrays of any shape, computed in float64.
    """
    k11, k12, k21, k22 = (np.asarray(k, dtype=np.float64) for k in (k11, k12, k21, k22))

    def entropy(*counts: np.ndarray) -> np.ndarray:
        whole = _xlogx(np.sum(counts, axis=0))
        parts = np.sum([_xlogx(c) for c in counts], axis=0)
        result: np.ndarray = whole - parts
        return result

    row = entropy(k11 + k12, k21 + k22)
    col = entropy(k11 + k21, k12 + k22)
    mat = entropy(k11, k12, k21, k22)
    result: np.ndarray = np.maximum(0.0, 2.0 * (row + col - mat))
    return result


def _aligned(decayed: sp.csr_matrix, raw: sp.csr_matrix) -> np.ndarray:
    """The entries of ``decayed`` at the positions of ``raw``'s entries, as float64 (0 if absent).

    Both are products of the same rows with matrices of the same pattern, so scipy lays out
    their entries identically, unless sessions of weight 0 left some pairs out of ``decayed``.
    """
    result: np.ndarray
    if np.array_equal(decayed.indptr, raw.indptr) and np.array_equal(decayed.indices, raw.indices):
        result = decayed.data.astype(np.float64)
        return result
    result = np.zeros(raw.nnz)
    if decayed.nnz == 0:
        return result
    decayed = decayed.tocsr(copy=True)
    decayed.sort_indices()
    n_cols = np.int64(raw.shape[1])
    wanted = np.repeat(np.arange(raw.shape[0], dtype=np.int64), np.diff(raw.indptr))
    wanted = wanted * n_cols + raw.indices
    have = np.repeat(np.arange(decayed.shape[0], dtype=np.int64), np.diff(decayed.indptr))
    have = have * n_cols + decayed.indices
    at = np.minimum(np.searchsorted(have, wanted), have.size - 1)
    found = have[at] == wanted
    result[found] = decayed.data[at[found]]
    return result


class CoviewModel(BaseEstimator):  # type: ignore[misc]
    """Item-item co-view model.

    Parameters
    ----------
    n_neighbors : int
        Neighbours kept per article.
    normalization : {"cosine", "jaccard", "lift", "llr"}
        How a co-view count becomes a score. Raw counts favour popular articles; every
        normalisation corrects for that in its own way (``llr`` is Dunning's G²; ``lift`` is
        shrunk by the evidence, :data:`LIFT_EVIDENCE`).
    min_count : int
        Pairs read together in fewer sessions are dropped.
    chunk_size : int
        At most this many articles per sparse product, fewer where articles are popular: chunks
        are cut to about equal work. Bounds the extra memory (one chunk per thread).
    n_threads : int
        Chunks computed at once.
    next_weight : float
        Weight of "read next" (the ``next_counts`` :meth:`fit` is given) against "read
        together". 0: co-views only. Otherwise a pair's score is its normalised co-view score
        over the best of its list plus ``next_weight`` times its "read next" count (over
        ``sqrt(n_a * n_b)``, as a cosine) over the best of its list: on a log where what a
        reader opens next follows from what they just read (MovieLens), the order of a
        session says more than the set (bench/RESULTS-quality-real.md).
    """

    def __init__(
        self,
        n_neighbors: int = 50,
        normalization: str = "cosine",
        min_count: int = 2,
        chunk_size: int = 4096,
        n_threads: int = 2,
        next_weight: float = 0.0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.normalization = normalization
        self.min_count = min_count
        self.chunk_size = chunk_size
        self.n_threads = n_threads
        self.next_weight = next_weight

    def fit(
        self,
        sessions: sp.csr_matrix,
        session_weight: np.ndarray | None = None,
        candidate_mask: np.ndarray | None = None,
        bot_sessions: np.ndarray | None = None,
        *,
        mapper: BlockMapper | None = None,
        rows: np.ndarray | None = None,
        next_counts: sp.csr_matrix | None = None,
        next_sessions: sp.csr_matrix | None = None,
    ) -> CoviewModel:
        """Learn neighbours from a binary session x article matrix.

        Parameters
        ----------
        sessions : csr_matrix of shape (n_sessions, n_articles)
            1 where a session read an article (see :func:`session_matrix`).
        session_weight : ndarray of shape (n_sessions,), optional
            Weight of each session in the scores (time decay); raw counts stay unweighted.
        candidate_mask : ndarray of bool, optional
            Articles that may appear as neighbours (the published ones).
        bot_sessions : ndarray of bool, shape (n_sessions,), optional
            Sessions left out as crawlers (:func:`recommender.crawlers.crawler_sessions`).
        mapper : BlockMapper, optional
            Runs the chunks elsewhere (a Dask cluster: :mod:`recommender.distributed`); the
            lists are the same.
        rows : ndarray of int, optional
            Compute the lists of these article rows only (the others stay empty), each the
            same as a whole fit gives it: what a self-calibration reads of a model it tries.
        next_counts : csr_matrix of shape (n_articles, n_articles), optional
            "Read next" counts of the same sessions (:func:`next_read_counts`, crawlers left
            out); used when ``next_weight`` is above 0, which then requires them.
        next_sessions : csr_matrix of shape (n_articles, n_articles), optional
            The same counts unweighted by any time decay: each listed pair's count is kept as
            ``next_sessions_`` (what an editor is shown: "read next in 3 sessions").
        """
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {', '.join(NORMALIZATIONS)}, "
                f"not {self.normalization!r}"
            )
        if self.next_weight < 0 or not np.isfinite(self.next_weight):
            raise ValueError("next_weight must be a number >= 0")
        if self.next_weight > 0 and next_counts is None:
            raise ValueError("next_weight above 0 needs next_counts")
        sessions = sp.csr_matrix(sessions, dtype=np.float32)
        per_session = np.diff(sessions.indptr)
        bots = (
            np.zeros(per_session.size, dtype=bool)
            if bot_sessions is None
            else np.asarray(bot_sessions, dtype=bool) & (per_session > 0)
        )
        self.n_bot_sessions_ = int(bots.sum())
        keep = ~bots & (per_session > 0)
        binary = sessions if keep.all() else sessions[keep]
        weights = None if session_weight is None else np.asarray(session_weight)[keep]
        self.n_sessions_ = int(binary.shape[0])
        #: sessions that read two articles or more: the only ones a co-view can come from
        self.n_usable_sessions_ = int((per_session[keep] >= 2).sum())
        self.support_ = np.asarray(binary.sum(axis=0), dtype=np.int32).ravel()
        if weights is None:
            weighted, total = binary, float(binary.shape[0])
        else:
            weighted = sp.csr_matrix(sp.diags(weights.astype(np.float32)) @ binary)
            total = float(weights.sum())
        following = None
        if self.next_weight > 0 and next_counts is not None:
            following = sp.csr_matrix(next_counts, dtype=np.float64)
            following.sort_indices()
        self.neighbors_, self.scores_, self.counts_, self.n_pairs_ = self._neighbors(
            binary, weighted, total, candidate_mask, mapper, rows, following
        )
        self.next_sessions_ = (
            None if next_sessions is None else pair_values(next_sessions, self.neighbors_)
        )
        return self

    def _neighbors(
        self,
        binary: sp.csr_matrix,
        weighted: sp.csr_matrix,
        total: float,
        candidate_mask: np.ndarray | None,
        mapper: BlockMapper | None = None,
        only: np.ndarray | None = None,
        following: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        n_articles = binary.shape[1]
        binary_t = binary.T.tocsr()
        ids = None
        if only is not None:  # the chunks run over these rows' transposed rows
            ids = np.unique(np.asarray(only, dtype=np.int32))
            binary_t = binary_t[ids]
        shared = {
            "model": self,
            "binary_t": binary_t,
            "binary": binary,
            "weighted": None if weighted is binary else weighted,
            "item_weight": np.asarray(weighted.sum(axis=0), dtype=np.float64).ravel(),
            "total": total,
            "candidate_mask": candidate_mask,
            "row_ids": ids,
            "following": None
            if following is None
            else (following if ids is None else following[ids]),
        }
        bounds = self._chunk_bounds(binary, binary_t, 1 if mapper is None else mapper.min_blocks)
        if mapper is None:
            # scipy's sparse product and numpy's sorts release the GIL: chunks run on both cores
            with ThreadPoolExecutor(max_workers=max(self.n_threads, 1)) as pool:
                parts = list(pool.map(lambda b: coview_block(b, **shared), bounds))
        else:
            parts = mapper(coview_block, bounds, shared)
        neighbors = np.full((n_articles, self.n_neighbors), -1, dtype=np.int32)
        scores = np.zeros((n_articles, self.n_neighbors), dtype=np.float32)
        counts = np.zeros((n_articles, self.n_neighbors), dtype=np.int32)
        n_pairs = 0
        for (start, stop), (pairs, top_neighbors, top_scores, top_counts) in zip(
            bounds, parts, strict=True
        ):
            at = slice(start, stop) if ids is None else ids[start:stop]
            neighbors[at] = top_neighbors
            scores[at] = top_scores
            counts[at] = top_counts
            n_pairs += pairs
        return neighbors, scores, counts, n_pairs

    def _chunk_bounds(
        self, binary: sp.csr_matrix, binary_t: sp.csr_matrix, min_blocks: int = 1
    ) -> list[tuple[int, int]]:
        """Row ranges of at most ``chunk_size`` articles and about equal work.

        An article's product row has at most as many entries as its sessions have views: a
        popular article's row can hold a thousand times the pairs of a rare one, so chunks of
        equal row counts can be very unequal (one chunk's memory is most of the pairs, and one
        core works on it while the other waits). Chunks are also capped at ``MAX_CHUNK_WORK``.
        """
        n_articles = binary_t.shape[0]
        work = np.cumsum(binary_t @ np.diff(binary.indptr).astype(np.float64))
        size = max(min(self.chunk_size, -(-n_articles // max(min_blocks, 1))), 1)
        budget = work[-1] * size / n_articles if n_articles else 0.0
        budget = min(budget, MAX_CHUNK_WORK)
        bounds = []
        start = 0
        while start < n_articles:
            done = work[start - 1] if start else 0.0
            stop = int(np.searchsorted(work, done + budget, side="right"))
            stop = min(max(stop, start + 1), start + size, n_articles)
            bounds.append((start, stop))
            start = stop
        return bounds

    def _normalise(
        self, together: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, total: float
    ) -> np.ndarray:
        # with time decay, an article read only in sessions of weight 0 gives 0 / 0: such
        # pairs score NaN and are dropped like every score that is not positive
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._formula(together, n_a, n_b, total)

    def _formula(
        self, together: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, total: float
    ) -> np.ndarray:
        result: np.ndarray
        if self.normalization == "cosine":
            # in place: these arrays are as long as the chunk's pairs (millions)
            denominator = n_a * n_b
            result = np.divide(together, np.sqrt(denominator, out=denominator), out=denominator)
        elif self.normalization == "jaccard":
            result = together / (n_a + n_b - together)
        elif self.normalization == "lift":
            result = together * total / (n_a * n_b) * (together / (together + LIFT_EVIDENCE))
        else:
            result = log_likelihood_ratio(
                together, n_a - together, n_b - together, total - n_a - n_b + together
            )
        return result

    def similar(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Neighbour rows, scores and raw co-view counts of one article row."""
        check_is_fitted(self)
        valid = self.neighbors_[row] >= 0
        return self.neighbors_[row][valid], self.scores_[row][valid], self.counts_[row][valid]


def pair_values(matrix: sp.csr_matrix, neighbors: np.ndarray) -> np.ndarray:
    """``matrix[row, neighbors[row, j]]`` for every listed neighbour, as int32 (0 where the
    matrix has no entry or the slot is empty)."""
    listed = neighbors >= 0
    indptr = np.concatenate(([0], np.cumsum(listed.sum(axis=1))))
    # the lists as a pattern of the matrix's shape, read with the co-view chunks' alignment
    pattern = sp.csr_matrix(
        (np.ones(int(indptr[-1])), neighbors[listed], indptr), shape=matrix.shape
    )
    out = np.zeros(neighbors.shape, dtype=np.int32)
    out[listed] = np.rint(_aligned(sp.csr_matrix(matrix), pattern)).astype(np.int32)
    return out


def _over_row_best(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """``values`` divided by the largest of their CSR row (rows whose best is 0 stay 0)."""
    lengths = np.diff(indptr)
    best = np.zeros(lengths.size)
    filled = lengths > 0
    if values.size:
        best[filled] = np.maximum.reduceat(values, indptr[:-1][filled])
    scale = np.repeat(np.where(best > 0, best, 1.0), lengths)
    result: np.ndarray = values / scale
    return result


def coview_block(
    bounds: tuple[int, int],
    *,
    model: CoviewModel,
    binary_t: sp.csr_matrix,
    binary: sp.csr_matrix,
    weighted: sp.csr_matrix | None,
    item_weight: np.ndarray,
    total: float,
    candidate_mask: np.ndarray | None,
    row_ids: np.ndarray | None = None,
    following: sp.csr_matrix | None = None,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """One chunk of the co-view lists: articles ``start:stop`` (``row_ids[start:stop]`` when
    ``binary_t`` holds only the rows ``row_ids``). ``following`` holds the "read next" counts
    of the same rows as ``binary_t`` when the model blends them in.

    Returns ``(pairs kept, neighbours, scores, counts)``. ``weighted`` is ``None`` when the
    sessions are not weighted. Each chunk is independent of the others (a row's list does
    not depend on where or with what the chunk ran).
    """
    start, stop = bounds
    block = binary_t[start:stop]
    # the co-view counts of the chunk's articles, never turned into (row, col) triples:
    # every step below works on the product's own CSR arrays
    raw = block @ binary
    cols, together = raw.indices, raw.data
    ids = np.arange(start, stop, dtype=np.int32) if row_ids is None else row_ids[start:stop]
    rows = np.repeat(ids, np.diff(raw.indptr))
    keep = (cols != rows) & (together >= model.min_count)
    if candidate_mask is not None:
        keep &= candidate_mask[cols]
    if weighted is None:
        weight_together = together.astype(np.float64)
    else:
        weight_together = _aligned(block @ weighted, raw)
    score = model._normalise(weight_together, item_weight[rows], item_weight[cols], total)
    score[~keep] = 0
    if following is not None and model.next_weight > 0:
        # a session that read b after a read both: "read next" lies on the co-view pattern
        after = _aligned(following[start:stop], raw)
        with np.errstate(divide="ignore", invalid="ignore"):
            after /= np.sqrt(item_weight[rows] * item_weight[cols])
        after[~keep | ~np.isfinite(after)] = 0
        score[~np.isfinite(score)] = 0
        score = _over_row_best(score, raw.indptr) + model.next_weight * _over_row_best(
            after, raw.indptr
        )
    top_neighbors, top_scores, top_counts = csr_topn(
        raw.indptr, cols, score, model.n_neighbors, extra=together
    )
    assert top_counts is not None
    return int(np.count_nonzero(keep)), top_neighbors, top_scores, top_counts
