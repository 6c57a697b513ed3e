"""One behaviour suite shared by every similarity model (implicit's RecommenderBaseTestMixin):
the content model and the co-view model must both pass every test of
:class:`SimilarityContract`, on fixtures small enough to check by hand, with ties built in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from recommender.content import ContentModel
from recommender.coview import CoviewModel, session_matrix


class SimilarityContract:
    """The contract; a subclass says how to make, fit and query its model.

    Every model keeps ``n_neighbors`` rows per article in ``neighbors_`` (``-1`` pads the end)
    with their ``scores_``, learnt by ``fit``, which returns the model.
    """

    #: Articles in the fixture, and a row whose list holds a tie (two equal scores).
    n_articles = 6
    tied_row = 0

    def make(self, n_neighbors: int) -> Any:
        raise NotImplementedError

    def fit(self, model: Any, candidate_mask: np.ndarray | None = None) -> Any:
        raise NotImplementedError

    def query(self, model: Any) -> object:
        """Call a query method (one that needs a fitted model)."""
        raise NotImplementedError

    def test_fit_returns_self(self) -> None:
        model = self.make(3)
        assert self.fit(model) is model

    def test_never_returns_the_query_article(self) -> None:
        model = self.fit(self.make(self.n_articles))
        for row, neighbors in enumerate(model.neighbors_):
            assert row not in neighbors.tolist()

    def test_lists_sorted_descending_ties_by_article_id(self) -> None:
        model = self.fit(self.make(self.n_articles))
        ties = 0
        for neighbors, scores in zip(model.neighbors_, model.scores_, strict=True):
            listed = neighbors >= 0
            # padding only at the end, with score 0
            assert listed.tolist() == sorted(listed.tolist(), reverse=True)
            assert not scores[~listed].any()
            rows, values = neighbors[listed].tolist(), scores[listed].tolist()
            assert all(v > 0 for v in values)
            for (r1, s1), (r2, s2) in zip(
                zip(rows, values, strict=True), zip(rows[1:], values[1:], strict=True), strict=False
            ):
                assert s1 > s2 or (s1 == s2 and r1 < r2)
                ties += s1 == s2
        assert ties, "the fixture must hold a tie"
        tied = model.scores_[self.tied_row]
        assert tied[0] == tied[1]

    def test_n_is_respected(self) -> None:
        for n in (1, 2):
            model = self.fit(self.make(n))
            assert model.neighbors_.shape == (self.n_articles, n)
            assert model.scores_.shape == (self.n_articles, n)
        full = self.fit(self.make(self.n_articles))
        one = self.fit(self.make(1))
        np.testing.assert_array_equal(one.neighbors_[:, 0], full.neighbors_[:, 0])

    def test_check_is_fitted_before_fit_raises(self) -> None:
        with pytest.raises(NotFittedError):
            self.query(self.make(3))

    def test_deterministic(self) -> None:
        first = self.fit(self.make(4))
        second = self.fit(self.make(4))
        np.testing.assert_array_equal(first.neighbors_, second.neighbors_)
        np.testing.assert_array_equal(first.scores_, second.scores_)

    def test_candidate_mask_leaves_non_candidates_out(self) -> None:
        mask = np.ones(self.n_articles, dtype=bool)
        mask[1] = False
        model = self.fit(self.make(self.n_articles), candidate_mask=mask)
        assert 1 not in model.neighbors_.ravel().tolist()
        assert (model.neighbors_ >= 0).any()

    def test_hyper_parameters_are_stored_as_given(self) -> None:
        model = self.make(3)
        assert model.get_params()["n_neighbors"] == 3


@dataclass(frozen=True)
class Doc:
    title: str
    body: str
    category: str = ""
    tags: tuple[str, ...] = ()


#: Rows 1 and 5 are the same text, so they tie on row 0's list.
DOCS = [
    Doc("Wind turbines power the coast", "offshore wind farm turbines grid power", "energy"),
    Doc("New wind farm opens", "wind turbines blades offshore farm grid", "energy"),
    Doc("Striker scores twice", "football match goal striker league cup", "sports"),
    Doc("Cup final goal drama", "football cup final goal striker penalty", "sports"),
    Doc("Opera season opens", "opera soprano stage season premiere", "culture"),
    Doc("New wind farm opens", "wind turbines blades offshore farm grid", "energy"),
]


class TestContentModel(SimilarityContract):
    def make(self, n_neighbors: int) -> ContentModel:
        return ContentModel(n_neighbors=n_neighbors, n_threads=1)

    def fit(self, model: Any, candidate_mask: np.ndarray | None = None) -> Any:
        return model.fit(DOCS, candidate_mask=candidate_mask)

    def query(self, model: Any) -> object:
        return model.transform(DOCS[:1])


#: Sessions as lists of article rows: rows 1 and 2 are each read with row 0 in two sessions
#: alike, so they tie on row 0's list.
SESSIONS = [[0, 1], [0, 1, 3], [0, 2], [0, 2, 4], [3, 4], [3, 4, 5], [4, 5], [1, 2, 5]]


class TestCoviewModel(SimilarityContract):
    def make(self, n_neighbors: int) -> CoviewModel:
        return CoviewModel(n_neighbors=n_neighbors, min_count=1, n_threads=1)

    def fit(self, model: Any, candidate_mask: np.ndarray | None = None) -> Any:
        session = np.repeat(np.arange(len(SESSIONS)), [len(s) for s in SESSIONS])
        rows = np.concatenate([np.asarray(s) for s in SESSIONS])
        matrix: sp.csr_matrix = session_matrix(session, rows, len(SESSIONS), self.n_articles)
        return model.fit(matrix, candidate_mask=candidate_mask)

    def query(self, model: Any) -> object:
        return model.similar(0)
