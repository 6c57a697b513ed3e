"""Content similarity: TF-IDF over title, body, section and tags, then top-n cosine neighbours."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from recommender._topk import BlockMapper, cosine_topn
from recommender.errors import DataError

_TOKEN_SAFE = re.compile(r"[^0-9a-z]+")


class ArticleText(Protocol):
    """What the content model reads from an article."""

    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


def _label_token(prefix: str, value: str) -> str:
    slug = _TOKEN_SAFE.sub("_", value.lower()).strip("_")
    return f"{prefix}_{slug}" if slug else ""


def compose_document(article: ArticleText, title_weight: int, author_weight: int = 0) -> str:
    """The text the vectorizer sees: the title repeated ``title_weight`` times, the body, then
    one token for the section and one per tag (``section_energy``, ``tag_wind_power``), and the
    author's token (``author_jane_doe``: a brand, a columnist) ``author_weight`` times (0: the
    author is not part of the text)."""
    labels = [_label_token("section", article.category)]
    labels += [_label_token("tag", tag) for tag in article.tags]
    author = str(getattr(article, "author", "") or "")
    if author_weight > 0 and author:
        labels += [_label_token("author", author)] * author_weight
    parts = [article.title] * title_weight + [article.body, " ".join(t for t in labels if t)]
    return "\n".join(parts)


#: What scikit-learn's tokenizer keeps (its default ``token_pattern``).
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def read_stop_words(path: str | Path) -> list[str]:
    """The stop words of a file: one word a line (``#`` starts a comment), lowercased and cut
    into the tokens the vectorizer makes of text (``don't`` gives ``don``), sorted.

    Raises
    ------
    DataError
        The file cannot be read or holds no word.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(
            str(path), None, "stop_words", f"cannot read the stop words: {exc}"
        ) from None
    words = {
        token
        for line in text.splitlines()
        for token in _TOKEN.findall(line.split("#", 1)[0].lower())
    }
    if not words:
        raise DataError(str(path), None, "stop_words", "the file holds no word")
    return sorted(words)


def resolve_stop_words(value: str | None) -> str | list[str] | None:
    """``stop_words`` as scikit-learn takes it: ``"english"``, ``None``, or a file's words."""
    if value is None or value == "english":
        return value
    return read_stop_words(value)


def document_digests(docs: Sequence[str]) -> np.ndarray:
    """A 64-bit digest of each composed document (``uint64``): bundles keep them, so that an
    incremental run (:mod:`recommender.incremental`) knows which articles' text changed."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(doc.encode(), digest_size=8).digest(), "little")
            for doc in docs
        ),
        dtype=np.uint64,
        count=len(docs),
    )


class ContentModel(BaseEstimator):  # type: ignore[misc]
    """TF-IDF content model with exact top-n cosine neighbours.

    Parameters
    ----------
    n_neighbors : int
        Neighbours kept per article.
    title_weight : int
        How many times the title counts against the body once.
    min_df, max_df : int or float
        Document-frequency bounds of the vocabulary (as in ``TfidfVectorizer``). Catalogues too
        small for them (fewer than 20 articles) use every term. Terms in more than half of
        the articles (the default ``max_df``) are treated as stop words. A lower bound (0.1)
        makes the neighbour search cheaper, which touches every pair of articles sharing a
        term, but on real prose it costs agreement with human judgments of similarity
        (bench/RESULTS-quality-real.md).
    max_features : int or None
        Vocabulary cap, most frequent terms first.
    stop_words : str or None
        ``"english"`` (scikit-learn's list), ``None`` (no stop words) or the path of a file of
        words, one a line (:func:`read_stop_words`).
    author_weight : int
        How many times the author's token joins the text (0: not at all).
    chunk_size : int
        Query rows per sparse product; bounds the extra memory of the neighbour search.
    n_threads : int
        Threads for the neighbour search.
    """

    def __init__(
        self,
        n_neighbors: int = 50,
        title_weight: int = 3,
        min_df: int | float = 2,
        max_df: int | float = 0.5,
        max_features: int | None = None,
        stop_words: str | None = "english",
        author_weight: int = 0,
        chunk_size: int = 2048,
        n_threads: int = 2,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.title_weight = title_weight
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.stop_words = stop_words
        self.author_weight = author_weight
        self.chunk_size = chunk_size
        self.n_threads = n_threads

    def _vectorizer(self, n_docs: int) -> TfidfVectorizer:
        small = n_docs < 20
        return TfidfVectorizer(
            sublinear_tf=True,
            stop_words=resolve_stop_words(self.stop_words),
            min_df=1 if small else self.min_df,
            max_df=1.0 if small else self.max_df,
            max_features=self.max_features,
            dtype=np.float32,
            norm="l2",
        )

    def fit(
        self,
        articles: Sequence[ArticleText],
        candidate_mask: np.ndarray | None = None,
        *,
        mapper: BlockMapper | None = None,
    ) -> ContentModel:
        """Fit the vocabulary and find every article's neighbours.

        Parameters
        ----------
        articles : sequence of Article
            Sorted by ``article_id``; row ``i`` of every learned array is ``articles[i]``.
        candidate_mask : ndarray of bool, optional
            Articles that may appear as neighbours (the published ones). Default: all.
        mapper : BlockMapper, optional
            Runs the neighbour search's row chunks elsewhere (a Dask cluster:
            :mod:`recommender.distributed`); the lists are the same.
        """
        if len(articles) == 0:
            raise ValueError("no articles to fit")
        if self.title_weight < 1 or self.n_neighbors < 1:
            raise ValueError("title_weight and n_neighbors must be at least 1")
        docs = [compose_document(a, self.title_weight, self.author_weight) for a in articles]
        self.digests_ = document_digests(docs)
        self.vectorizer_ = self._vectorizer(len(docs))
        matrix = self.vectorizer_.fit_transform(docs)
        del docs
        self.matrix_ = sp.csr_matrix(matrix, dtype=np.float32)
        self.matrix_.sort_indices()
        self.neighbors_, self.scores_ = self._neighbors(self.matrix_, candidate_mask, mapper)
        return self

    def _neighbors(
        self,
        matrix: sp.csr_matrix,
        candidate_mask: np.ndarray | None,
        mapper: BlockMapper | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        if candidate_mask is None:
            candidate_mask = np.ones(matrix.shape[0], dtype=bool)
        candidate_rows = np.flatnonzero(candidate_mask)
        candidates = matrix[candidate_rows]
        return cosine_topn(
            matrix,
            candidates,
            self.n_neighbors,
            candidate_rows=candidate_rows,
            self_offset=0,
            chunk_size=self.chunk_size,
            n_threads=self.n_threads,
            mapper=mapper,
        )

    @property
    def vocabulary_size_(self) -> int:
        check_is_fitted(self)
        return len(self.vectorizer_.vocabulary_)

    def transform(self, articles: Sequence[ArticleText]) -> sp.csr_matrix:
        """Vectorise articles against the fitted vocabulary (the fold-in of new articles)."""
        check_is_fitted(self)
        docs = [compose_document(a, self.title_weight, self.author_weight) for a in articles]
        return sp.csr_matrix(self.vectorizer_.transform(docs), dtype=np.float32)


def fold_in(
    vectors: sp.csr_matrix,
    matrix: sp.csr_matrix,
    n: int,
    candidate_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of new article vectors among the rows of a fitted document matrix.

    Returns ``(neighbors, scores)`` shaped ``(len(vectors), n)``, as the fitted model's arrays.
    """
    rows = np.arange(matrix.shape[0]) if candidate_mask is None else np.flatnonzero(candidate_mask)
    return cosine_topn(vectors, matrix[rows], n, candidate_rows=rows, n_threads=1)


def shared_terms(
    vectorizer: Any, a: sp.csr_matrix, b: sp.csr_matrix, limit: int = 5
) -> list[tuple[str, float]]:
    """The terms that contribute most to the cosine of two document rows, largest first."""
    product = a.multiply(b).tocoo()
    if product.nnz == 0:
        return []
    names = vectorizer.get_feature_names_out()
    order = np.lexsort((product.col, -product.data))[:limit]
    return [(str(names[product.col[i]]), float(product.data[i])) for i in order]
