"""THE one fold-in: an article published after a bundle was trained joins its content lists.

Folding an article in means: vectorise it with the bundle's own TF-IDF vocabulary and title
weight (:func:`article_vectors`), find its content neighbours among the bundle's candidate
articles and the articles folded in before it (:func:`fold_in_articles`), and, since cosine is
symmetric, add it to each neighbour's own list when its score beats that list's weakest
entry (:func:`merge_additions`: the *reverse additions*, bounded by the list length).

Two callers, one implementation:

* the service's CMS route (``PUT /v1/articles/{article_id}``) folds in one article against
  the bundle's published rows and the live articles already folded in, whose vectors it
  stores rounded (:func:`stored_vector`, :func:`vector_from_stored`);
* the offline replay (:mod:`recommender.evaluation.replay`) folds in every article published
  after the split at once, each against those published before it
  (``fold_in_articles(..., order=...)``), and gets the lists the service would have made.

Each folded-in article also joins a story (:meth:`FoldIn.story`, see
:mod:`recommender.stories`): the one of its best neighbour when that is a version of it.

Scores of folded-in articles are compared as the service stores them: the vector of an
article folded in earlier is rounded to :data:`STORED_DECIMALS` decimals, and ranking breaks
ties by ``article_id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import scipy.sparse as sp

from recommender._topk import entries_topn
from recommender.bundle import Bundle
from recommender.stories import joined_story

if TYPE_CHECKING:
    from recommender.content import ArticleText

    class FoldInArticle(ArticleText, Protocol):
        """What the fold-in reads from an article: its text, ``id`` and ``status``."""

        @property
        def id(self) -> str: ...
        @property
        def status(self) -> str: ...


__all__ = [
    "STORED_DECIMALS",
    "FoldIn",
    "article_vectors",
    "fold_in_articles",
    "merge_additions",
    "merge_additions_rows",
    "rounded_vectors",
    "stored_vector",
    "vector_from_stored",
]

#: Decimals of the scores and vector values the service stores with a folded-in article.
STORED_DECIMALS = 6
#: Query rows per sparse product with the earlier articles' vectors.
_CHUNK = 2048

_Key = TypeVar("_Key", int, str)


def article_vectors(bundle: Bundle, articles: Sequence[ArticleText]) -> sp.csr_matrix:
    """TF-IDF vectors of articles under the bundle's vectorizer, one row per article.

    The document is composed with the bundle's ``title_weight`` and ``author_weight`` (its
    manifest's parameters, 3 and 0 when absent), as training composed it; values are
    ``float32`` and the index arrays take the type of the bundle's content matrix (sparse
    products need one type on both sides).

    Raises
    ------
    BundleError
        The bundle has no vectorizer.
    """
    # deferred, as in every caller: scikit-learn takes seconds to import, and the service
    # merges stored vectors and lists (below) long before it folds in its first article
    from recommender.content import compose_document

    parameters = bundle.manifest.get("parameters", {})
    parameters = parameters if isinstance(parameters, dict) else {}
    title_weight = int(parameters.get("title_weight", 3))
    author_weight = int(parameters.get("author_weight", 0) or 0)
    docs = [compose_document(a, title_weight, author_weight) for a in articles]
    vectors = sp.csr_matrix(bundle.vectorizer.transform(docs), dtype=np.float32)
    matrix = bundle.content_matrix
    vectors.indices = vectors.indices.astype(matrix.indices.dtype)
    vectors.indptr = vectors.indptr.astype(matrix.indptr.dtype)
    return vectors


def rounded_vectors(vectors: sp.csr_matrix) -> sp.csr_matrix:
    """A copy of ``vectors`` with each value rounded as the service stores it
    (:data:`STORED_DECIMALS` decimals, Python's ``round``, then ``float32``)."""
    out = sp.csr_matrix(vectors, dtype=np.float32, copy=True)
    out.data = np.array(
        [round(float(x), STORED_DECIMALS) for x in out.data.tolist()], dtype=np.float32
    )
    return out


def stored_vector(vectors: sp.csr_matrix, row: int = 0) -> dict[str, list[Any]]:
    """The JSON form of one vector the service stores with an article's record:
    ``{"indices": [...], "data": [...]}``, values rounded to :data:`STORED_DECIMALS`."""
    one = vectors[row]
    return {
        "indices": one.indices.tolist(),
        "data": [round(float(x), STORED_DECIMALS) for x in one.data],
    }


def vector_from_stored(stored: Mapping[str, Sequence[Any]], n_features: int) -> sp.csr_matrix:
    """A ``(1, n_features)`` vector back from :func:`stored_vector`'s form."""
    indices = np.asarray(stored["indices"], dtype=np.int64)
    data = np.asarray(stored["data"], dtype=np.float32)
    return sp.csr_matrix((data, indices, np.array([0, indices.size])), shape=(1, n_features))


@dataclass(frozen=True)
class FoldIn:
    """What :func:`fold_in_articles` found.

    Attributes
    ----------
    neighbors : list of list of (str, float)
        Per article, its content neighbours as ``(article_id, score)``, best first (ties by
        ``article_id``), at most the list length, scores above 0 (not rounded: the service
        rounds them to :data:`STORED_DECIMALS` when it stores them).
    vectors : scipy.sparse.csr_matrix
        Per article, its TF-IDF vector as computed (:func:`stored_vector` gives the stored
        form).
    """

    neighbors: list[list[tuple[str, float]]]
    vectors: sp.csr_matrix

    def stored(self, i: int) -> dict[str, list[Any]]:
        """Article ``i``'s vector as the service stores it."""
        return stored_vector(self.vectors, i)

    def story(self, i: int) -> str | None:
        """The ``article_id`` whose story article ``i`` joins (its best neighbour at or
        above :data:`recommender.stories.STORY_THRESHOLD`), ``None``: a story of its own."""
        return joined_story(self.neighbors[i])


def fold_in_articles(
    bundle: Bundle,
    articles: Sequence[FoldInArticle],
    *,
    candidate_mask: np.ndarray | None = None,
    live: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    order: np.ndarray | None = None,
    n: int | None = None,
) -> FoldIn:
    """Content neighbours of articles folded into a bundle.

    Each article's candidates are the bundle's rows in ``candidate_mask`` (never the article's
    own row, when the bundle holds it), the ``live`` articles, and, with ``order``, the
    published articles of ``articles`` folded in before it. A candidate's score is the cosine
    of the two TF-IDF vectors, with the candidate's vector as the service stores it (rounded)
    when it is not one of the bundle's rows. A live article that is also a bundle row (its
    text changed since) is scored with its live vector.

    Parameters
    ----------
    bundle : Bundle
        The bundle whose vocabulary and rows the articles join.
    articles : sequence of Article
        The articles to fold in (anything with ``id``, ``status`` and the text fields).
    candidate_mask : ndarray of bool, optional
        Bundle rows that may be listed (default: the bundle's published rows; the service
        passes its catalogue's, which leaves out rows unpublished or deleted since).
    live : mapping of str to stored vector, optional
        Articles already folded in that every article may list: ``article_id`` to the
        :func:`stored_vector` form (the service's published live articles made with this
        bundle).
    order : ndarray of int, optional
        The order the articles are folded in (one rank per article, ties by position): each
        published article (``status == "published"``) is a candidate for the articles of a
        later rank. ``None``: the articles do not list one another.
    n : int, optional
        Neighbours per article (default: the bundle's list length).

    Returns
    -------
    FoldIn

    Raises
    ------
    BundleError
        The bundle has no vectorizer.
    """
    from recommender.content import fold_in  # deferred: see article_vectors

    m = len(articles)
    width = int(bundle.content_neighbors.shape[1]) if n is None else n
    if m == 0:
        empty = sp.csr_matrix((0, bundle.content_matrix.shape[1]), dtype=np.float32)
        return FoldIn([], empty)
    vectors = article_vectors(bundle, articles)
    mask = np.array(bundle.is_published if candidate_mask is None else candidate_mask, dtype=bool)
    ids = [a.id for a in articles]
    live = live or {}
    # a live article the bundle also holds is scored by its live vector only: its old row
    # would take a place in the bundle's top-n and then give it up, leaving a list short
    for article_id in live:
        if bundle.has(article_id):
            mask[bundle.row(article_id)] = False
    # every id a list can hold, sorted: the column order of the top-n, so ties go by id
    bundle_ids = bundle.meta("id")
    names = sorted({*bundle_ids, *live, *ids})
    rank_of = {article_id: i for i, article_id in enumerate(names)}
    queries: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    stored: list[np.ndarray] = []  # 1 where the entry scores a stored (live) vector

    def add(q: np.ndarray, col: np.ndarray, score: np.ndarray, is_stored: int) -> None:
        queries.append(q.astype(np.int64))
        columns.append(col.astype(np.int64))
        scores.append(score.astype(np.float32))
        stored.append(np.full(q.size, is_stored, dtype=np.int8))

    # the bundle's rows: one product for the articles it does not hold, one per article it
    # holds (its own row is no candidate)
    bundle_rank = np.array([rank_of[a] for a in bundle_ids], dtype=np.int64)
    own = [i for i, a in enumerate(ids) if bundle.has(a)]
    groups: list[tuple[list[int], np.ndarray]] = [
        ([i for i in range(m) if not bundle.has(ids[i])], mask)
    ]
    for i in own:
        without = mask.copy()
        without[bundle.row(ids[i])] = False
        groups.append(([i], without))
    for group, allowed in groups:
        if not group or not allowed.any():
            continue
        found, found_scores = fold_in(
            vectors[group], bundle.content_matrix, width, candidate_mask=allowed
        )
        valid = (found >= 0) & (found_scores > 0)
        q = np.asarray(group, dtype=np.int64)[np.nonzero(valid)[0]]
        add(q, bundle_rank[found[valid]], found_scores[valid], 0)

    # the articles folded in before: the live ones, then (with order) the earlier of these
    other_ids = list(live)
    parts = [vector_from_stored(live[a], vectors.shape[1]) for a in other_ids]
    other_rank = [-1] * len(other_ids)
    query_rank = np.zeros(m, dtype=np.int64)
    if order is not None:
        query_rank = np.asarray(order, dtype=np.int64)
        published = [i for i, a in enumerate(articles) if a.status == "published"]
        if published:
            parts.append(rounded_vectors(vectors[published]))
            other_ids += [ids[i] for i in published]
            other_rank += query_rank[published].tolist()
    if parts:
        others = sp.vstack(parts, format="csr")
        before = np.asarray(other_rank, dtype=np.int64)
        other_col = np.array([rank_of[a] for a in other_ids], dtype=np.int64)
        query_col = np.array([rank_of[a] for a in ids], dtype=np.int64)
        for start in range(0, m, _CHUNK):
            stop = min(start + _CHUNK, m)
            product = (others @ vectors[start:stop].T).tocoo()
            query = product.col.astype(np.int64) + start
            keep = (
                (product.data > 0)
                & (before[product.row] < query_rank[query])
                & (other_col[product.row] != query_col[query])
            )
            add(query[keep], other_col[product.row[keep]], product.data[keep], 1)
    if not queries:
        return FoldIn([[] for _ in range(m)], vectors)
    q, col, score, is_stored = (
        np.concatenate(queries),
        np.concatenate(columns),
        np.concatenate(scores),
        np.concatenate(stored),
    )
    # an article scored both as a bundle row and as a live article: the live score wins
    key = q * len(names) + col
    by_key = np.lexsort((-is_stored, key))
    first = np.ones(by_key.size, dtype=bool)
    first[1:] = key[by_key][1:] != key[by_key][:-1]
    keep = by_key[first]
    top, top_scores, _ = entries_topn(q[keep], col[keep], score[keep], m, width)
    neighbors = [
        [
            (names[c], float(s))
            for c, s in zip(top[i].tolist(), top_scores[i].tolist(), strict=True)
            if c >= 0
        ]
        for i in range(m)
    ]
    return FoldIn(neighbors, vectors)


def merge_additions(
    base: Sequence[tuple[_Key, float]], additions: Sequence[tuple[_Key, float]], width: int
) -> list[tuple[_Key, float]]:
    """A content list with reverse additions merged in, best first, at most ``width`` long.

    An addition's score replaces the list's score of the same article (it is fresher); the
    list is ranked by score, ties by key (``article_id``, or a row in article id order), and
    cut to ``width``: an addition stays only when it beats the weakest entry of a full list.
    """
    merged = dict(base)
    merged.update(additions)
    return sorted(merged.items(), key=lambda pair: (-pair[1], pair[0]))[:width]


def merge_additions_rows(
    neighbors: np.ndarray,
    scores: np.ndarray,
    rows: np.ndarray,
    added: np.ndarray,
    added_scores: np.ndarray,
) -> np.ndarray:
    """:func:`merge_additions` on many rows of a bundle's lists at once, in place.

    ``neighbors`` and ``scores`` are ``(rows, width)`` lists (``-1`` padded, keys are rows in
    ``article_id`` order); addition ``i`` offers ``added[i]`` with ``added_scores[i]`` to row
    ``rows[i]``. Each touched row becomes exactly what :func:`merge_additions` makes of its list
    and its additions (the same rule, for the hundreds of thousands of additions of an
    incremental training run, where a Python merge per row would cost seconds).

    Returns a boolean mask of the additions the lists kept.
    """
    width = neighbors.shape[1]
    rows = np.asarray(rows, dtype=np.int64)
    added = np.asarray(added, dtype=np.int64)
    added_scores = np.asarray(added_scores, dtype=np.float32)
    if rows.size == 0:
        return np.zeros(0, dtype=bool)
    touched = np.unique(rows)
    local = np.searchsorted(touched, rows)
    base = neighbors[touched]
    has = base >= 0
    base_rows = np.nonzero(has)[0]
    entry_rows = np.concatenate([base_rows, local])
    entry_cols = np.concatenate([base[has].astype(np.int64), added])
    entry_scores = np.concatenate([scores[touched][has], added_scores])
    is_added = np.concatenate(
        [np.zeros(base_rows.size, dtype=bool), np.ones(rows.size, dtype=bool)]
    )
    # an addition replaces the list's score of the same article; the last addition wins, as
    # dict.update does
    order = np.lexsort((np.arange(entry_rows.size), entry_cols, entry_rows))
    key_rows, key_cols = entry_rows[order], entry_cols[order]
    last = np.ones(order.size, dtype=bool)
    last[:-1] = (key_rows[1:] != key_rows[:-1]) | (key_cols[1:] != key_cols[:-1])
    chosen = order[last]
    top, top_scores, origin = entries_topn(
        entry_rows[chosen],
        entry_cols[chosen],
        entry_scores[chosen],
        touched.size,
        width,
        extra=chosen,
    )
    neighbors[touched] = top
    scores[touched] = top_scores
    assert origin is not None
    kept_entries = origin[top >= 0]
    kept = np.zeros(entry_rows.size, dtype=bool)
    kept[kept_entries] = True
    result: np.ndarray = kept[base_rows.size :] & is_added[base_rows.size :]
    return result
