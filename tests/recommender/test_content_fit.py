"""The TF-IDF fit of a large catalogue, its terms counted in two processes (``fit_tfidf``)."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp

from recommender import content
from recommender.content import ContentModel, fit_tfidf

WORDS = [
    "grid",
    "wind",
    "solar",
    "storm",
    "budget",
    "vote",
    "court",
    "match",
    "opera",
    "soprano",
    "minister",
    "rail",
    "tariff",
    "harbour",
    "vaccine",
    "drought",
    "league",
    "striker",
    "climate",
    "carbon",
    "senate",
    "ballot",
]


def _docs(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    # a Zipf-like draw: some words in most documents, some in a few; stop words and capitals
    weights = 1.0 / np.arange(1, len(WORDS) + 1) ** 1.1
    weights /= weights.sum()
    return [
        " ".join(rng.choice(WORDS, int(rng.integers(1, 30)), p=weights))
        + (" The and of" if i % 3 else " Ünïcode Straße")
        + f" story{i % 17}"
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("min_df", "max_df", "stop_words"),
    [(2, 0.5, "english"), (1, 1.0, None), (0.01, 0.9, "english"), (3, 40, "file")],
)
def test_fit_tfidf_in_two_processes_equals_the_sequential_fit(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    min_df: float,
    max_df: float,
    stop_words: str | None,
) -> None:
    monkeypatch.setattr(content, "PARALLEL_FIT_MIN_DOCS", 10)
    if stop_words == "file":
        words = tmp_path / "stop.txt"
        words.write_text("grid\nwind  # the two most frequent\n")
        stop_words = str(words)
    model = ContentModel(min_df=min_df, max_df=max_df, stop_words=stop_words)
    docs = _docs(301, seed=len(str(min_df)))
    sequential = model._vectorizer(len(docs))
    want = sp.csr_matrix(sequential.fit_transform(docs))
    fitted, got = fit_tfidf(model._vectorizer(len(docs)), docs, n_jobs=2)
    assert fitted is not sequential
    assert fitted.vocabulary_ == sequential.vocabulary_
    np.testing.assert_array_equal(fitted.idf_, sequential.idf_)
    want.sort_indices()
    got.sort_indices()
    assert got.dtype == want.dtype == np.float32
    assert (got != want).nnz == 0
    later = ["wind storm over the harbour", "a word never seen", "Straße story3"]
    assert (sp.csr_matrix(fitted.transform(later)) != sequential.transform(later)).nnz == 0
    # as a bundle keeps it: the fold-in of new articles reads the loaded vectorizer
    joblib.dump(fitted, tmp_path / "vectorizer.joblib")
    loaded = joblib.load(tmp_path / "vectorizer.joblib")
    assert (sp.csr_matrix(loaded.transform(later)) != sequential.transform(later)).nnz == 0


def test_fit_tfidf_refuses_bounds_that_leave_no_term(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "PARALLEL_FIT_MIN_DOCS", 10)
    # every term is in one document or in all of them
    docs = [f"alpha{i} common" for i in range(50)]
    model = ContentModel(min_df=2, max_df=0.9, stop_words=None)
    with pytest.raises(ValueError, match="no terms remain"):
        model._vectorizer(50).fit_transform(docs)
    with pytest.raises(ValueError, match="no terms remain"):
        fit_tfidf(model._vectorizer(50), docs, n_jobs=2)


def test_content_model_fit_lists_are_the_same_with_the_parallel_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Doc:
        def __init__(self, text: str) -> None:
            self.title, self.body, self.category, self.tags = text[:12], text, "news", ()

    docs = [Doc(text) for text in _docs(120, seed=5)]
    one = ContentModel(n_neighbors=5, n_threads=1).fit(docs)
    monkeypatch.setattr(content, "PARALLEL_FIT_MIN_DOCS", 10)
    two = ContentModel(n_neighbors=5, n_threads=2).fit(docs)
    np.testing.assert_array_equal(one.neighbors_, two.neighbors_)
    np.testing.assert_array_equal(one.scores_, two.scores_)
