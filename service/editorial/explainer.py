"""Why an item is in an editor's list: its score parts, the terms it shares with the page
and the rule that placed it (the preview's item descriptions)."""

from __future__ import annotations

import math
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recommender.blend import BlendParams
from recommender.bundle import Bundle
from recommender.errors import BundleError
from recommender.freshness import freshness
from recommender.windows import DAY
from service.editorial.rules import (
    Rule,
)

if TYPE_CHECKING:
    from service.live.view import LiveView

SHARED_TERMS = 5

# --- describing items ---------------------------------------------------------------------------


class _FeatureNames:
    """Stands in for the vectorizer in :func:`shared_terms`: the vocabulary, computed once per
    bundle (scikit-learn sorts the whole vocabulary on every ``get_feature_names_out``)."""

    def __init__(self, names: np.ndarray) -> None:
        self._names = names

    def get_feature_names_out(self) -> np.ndarray:
        return self._names


#: Per-bundle memos (like ``ranking.known_categories``): freed with their bundle.
_feature_names: weakref.WeakKeyDictionary[Bundle, _FeatureNames | None] = (
    weakref.WeakKeyDictionary()
)
_memo_lock = threading.Lock()


def _names(bundle: Bundle) -> _FeatureNames | None:
    with _memo_lock:
        if bundle not in _feature_names:
            try:
                names = np.asarray(bundle.vectorizer.get_feature_names_out())
                _feature_names[bundle] = _FeatureNames(names)
            except (BundleError, AttributeError, OSError, ValueError):
                # Hand-made or damaged bundles have no usable vectorizer: no shared terms.
                _feature_names[bundle] = None
        return _feature_names[bundle]


def rounded(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


class Explainer:
    """Score parts of any article next to one query article, as the page shows them."""

    def __init__(
        self, bundle: Bundle, row: int, now: int, blend: BlendParams, rules: dict[int, Rule]
    ) -> None:
        self.bundle = bundle
        self.row = row
        self.now = now
        self.blend = blend
        self.rules = rules
        self.content = {
            int(r): float(s)
            for r, s in zip(bundle.content_neighbors[row], bundle.content_scores[row], strict=True)
            if r >= 0
        }
        self.coview: dict[int, tuple[float, int, int | None]] = {}
        if bundle.has_coview and bundle.coview_neighbors is not None:
            assert bundle.coview_scores is not None and bundle.coview_counts is not None
            following = bundle.coview_next_sessions
            nexts = (
                [None] * bundle.coview_neighbors.shape[1] if following is None else following[row]
            )
            for r, s, c, f in zip(
                bundle.coview_neighbors[row],
                bundle.coview_scores[row],
                bundle.coview_counts[row],
                nexts,
                strict=True,
            ):
                if r >= 0:
                    self.coview[int(r)] = (float(s), int(c), None if f is None else int(f))
        self._matrix: sp.csr_matrix | None = None
        self._names = _names(bundle)

    def _vectors(self, other: int) -> tuple[sp.csr_matrix, sp.csr_matrix] | None:
        try:
            if self._matrix is None:
                self._matrix = self.bundle.content_matrix
            return self._matrix[self.row], self._matrix[other]
        except (KeyError, ValueError, IndexError):
            return None

    def rule(self, ref: dict[str, Any] | None) -> dict[str, Any] | None:
        if ref is None:
            return None
        found = self.rules.get(int(ref["id"]))
        return found.to_json() if found is not None else dict(ref)

    def describe(self, article_id: str, live: LiveView | None, **extra: Any) -> dict[str, Any]:
        """:meth:`item` by id; an article the live layer added since the model has no score
        parts (it is not in the model's arrays)."""
        if self.bundle.has(article_id) or live is None:
            return self.item(self.bundle.row(article_id), **extra)
        row = live.row(article_id)
        return {
            **live.article(row),
            "status": live.status(row),
            "age_days": None,
            "content": {"cosine": None, "terms": []},
            "coview": {"score": None, "sessions": None, "next_sessions": None},
            "freshness": None,
            "popularity": None,
            "score": None,
            "source": None,
            "rule": None,
            "blocked_by": None,
            **extra,
        }

    def item(self, row: int, **extra: Any) -> dict[str, Any]:
        bundle = self.bundle
        published = int(bundle.published_ts[row])
        cosine = self.content.get(row)
        terms: list[dict[str, Any]] = []
        vectors = self._vectors(row)
        if vectors is not None:
            if cosine is None:
                cosine = float(vectors[0].multiply(vectors[1]).sum())
            if self._names is not None:
                # scikit-learn comes with this module: imported on first use, not at start-up
                from recommender.content import shared_terms

                terms = [
                    {"term": term, "weight": rounded(weight)}
                    for term, weight in shared_terms(
                        self._names, vectors[0], vectors[1], SHARED_TERMS
                    )
                ]
        coview = self.coview.get(row)
        half_life = self.blend.half_life(bundle.categories[row])
        fresh = freshness(published, self.now, half_life, self.blend.freshness_weight)
        return {
            **bundle.article(row),
            "status": bundle.status(row),
            "age_days": None if published < 0 else rounded(max(self.now - published, 0) / DAY, 2),
            "content": {"cosine": rounded(cosine), "terms": terms},
            "coview": {
                "score": None if coview is None else rounded(coview[0]),
                "sessions": None if coview is None else coview[1],
                # sessions that read it next (a bundle trained with coview_next_weight)
                "next_sessions": None if coview is None else coview[2],
            },
            "freshness": rounded(fresh),
            "popularity": None,
            "score": None,
            "source": None,
            "rule": None,
            "blocked_by": None,
            **extra,
        }
