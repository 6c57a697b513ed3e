"""Content similarity: TF-IDF over title, body, section and tags, then top-n cosine neighbours."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from recommender._topk import BlockMapper, cosine_topn
from recommender.errors import DataError

_TOKEN_SAFE = re.compile(r"[^0-9a-z]+")
#: Catalogues from this size on count their terms in two processes (:func:`fit_tfidf`): below
#: it, starting a process costs more than it saves.
PARALLEL_FIT_MIN_DOCS = 20_000


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


def _count_terms(params: dict[str, Any], docs: Sequence[str]) -> tuple[np.ndarray, sp.csr_matrix]:
    """One share of :func:`fit_tfidf`: the share's sorted terms and its term counts."""
    counter = CountVectorizer(**params)
    counts = counter.fit_transform(docs)
    return counter.get_feature_names_out(), sp.csr_matrix(counts)


def fit_tfidf(
    vectorizer: TfidfVectorizer, docs: Sequence[str], n_jobs: int = 1
) -> tuple[TfidfVectorizer, sp.csr_matrix]:
    """``vectorizer.fit_transform(docs)``, with the terms counted in ``n_jobs`` processes.

    Counting the terms (scikit-learn's tokenizer, in Python) is most of a fit. Each process
    counts a share of the documents with a ``CountVectorizer`` of the same analysis; the shares'
    vocabularies are merged, the ``min_df``/``max_df`` bounds applied to the whole, and a
    ``TfidfTransformer`` of the same settings weighs the counts, as ``fit_transform`` does. The
    vectorizer returned is a ``TfidfVectorizer`` given that vocabulary and ``idf_``: its
    vocabulary, idf, matrix and later ``transform`` equal a sequential fit's (tested).

    With one job, fewer than :data:`PARALLEL_FIT_MIN_DOCS` documents or a ``max_features``
    cap, it is the sequential ``fit_transform``.
    """
    params = vectorizer.get_params()
    if n_jobs < 2 or len(docs) < PARALLEL_FIT_MIN_DOCS or params["max_features"] is not None:
        return vectorizer, vectorizer.fit_transform(docs)
    analysis = {
        name: params[name]
        for name in (
            "input",
            "encoding",
            "decode_error",
            "strip_accents",
            "lowercase",
            "preprocessor",
            "tokenizer",
            "stop_words",
            "token_pattern",
            "ngram_range",
            "analyzer",
            "dtype",
        )
    }
    edges = np.linspace(0, len(docs), n_jobs + 1).astype(int)
    shares = Parallel(n_jobs=n_jobs)(
        delayed(_count_terms)(analysis, docs[start:stop])
        for start, stop in itertools.pairwise(edges)
    )
    terms = np.unique(np.concatenate([share_terms for share_terms, _ in shares]))
    parts = []
    for share_terms, counts in shares:
        # both sorted, so the mapping keeps each row's column order
        columns = np.searchsorted(terms, share_terms)
        parts.append(
            sp.csr_matrix(
                (counts.data, columns[counts.indices], counts.indptr),
                shape=(counts.shape[0], terms.size),
            )
        )
    counts = sp.csr_matrix(sp.vstack(parts, format="csr"), dtype=params["dtype"])
    n_docs = counts.shape[0]
    max_df, min_df = params["max_df"], params["min_df"]
    max_count = float(max_df if isinstance(max_df, Integral) else max_df * n_docs)
    min_count = float(min_df if isinstance(min_df, Integral) else min_df * n_docs)
    if max_count < min_count:
        raise ValueError("max_df corresponds to < documents than min_df")
    df = np.bincount(counts.indices, minlength=terms.size)
    kept = np.flatnonzero((df <= max_count) & (df >= min_count))
    if kept.size == 0:
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    counts = counts[:, kept]
    transformer = TfidfTransformer(
        norm=params["norm"],
        use_idf=params["use_idf"],
        smooth_idf=params["smooth_idf"],
        sublinear_tf=params["sublinear_tf"],
    )
    matrix = transformer.fit_transform(counts)
    fitted = TfidfVectorizer(
        **{**params, "vocabulary": {str(term): i for i, term in enumerate(terms[kept])}}
    )
    fitted.idf_ = transformer.idf_
    return fitted, sp.csr_matrix(matrix)


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
        Threads for the neighbour search, and processes counting the terms of a large
        catalogue (:func:`fit_tfidf`).
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
        self.vectorizer_, matrix = fit_tfidf(
            self._vectorizer(len(docs)), docs, n_jobs=self.n_threads
        )
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
