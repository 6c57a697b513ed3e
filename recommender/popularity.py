"""Popularity: views per article over time windows, a trending score, and rankings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

DAY = 86_400
#: Column order of ``PopularityModel.counts_`` and of the bundle's ``popularity_views.npy``.
WINDOWS = ("1d", "7d", "30d", "all")
WINDOW_DAYS: dict[str, float | None] = {"1d": 1, "7d": 7, "30d": 30, "all": None}


def trending_score(
    recent: np.ndarray, baseline: np.ndarray, baseline_days: float, min_views: int
) -> np.ndarray:
    """How fast views rise against the article's own baseline.

    ``recent`` are views in the last day, ``baseline`` views in the ``baseline_days`` before it.
    The score is ``(recent - expected) / sqrt(expected + 1)`` where ``expected`` is the baseline
    daily rate: a z-score-like ratio that needs volume to be large. Articles with fewer than
    ``min_views`` recent views score 0, so one view of an old article cannot top the list.
    """
    expected = baseline.astype(np.float64) / baseline_days
    score = (recent - expected) / np.sqrt(expected + 1.0)
    score[recent < min_views] = 0.0
    return np.maximum(score, 0.0).astype(np.float32)


def rank(counts: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Rows ordered by descending count, ties by ascending row (``article_id``); zero counts
    are kept at the end so a list can always be filled. ``mask`` limits the rows."""
    rows = np.arange(counts.size) if mask is None else np.flatnonzero(mask)
    order = np.lexsort((rows, -counts[rows].astype(np.float64)))
    return rows[order].astype(np.int32)


class PopularityModel(BaseEstimator):  # type: ignore[misc]
    """View counts per window relative to ``now`` plus a trending score.

    Parameters
    ----------
    trending_baseline_days : float
        Days before the last one that make an article's own baseline rate.
    trending_min_views : int
        Views in the last day an article needs before it can trend.
    """

    def __init__(self, trending_baseline_days: float = 7, trending_min_views: int = 5) -> None:
        self.trending_baseline_days = trending_baseline_days
        self.trending_min_views = trending_min_views

    def fit(
        self,
        article_rows: np.ndarray,
        timestamps: np.ndarray | None,
        n_articles: int,
        now: int,
        views: np.ndarray | None = None,
    ) -> PopularityModel:
        """Count views.

        Parameters
        ----------
        article_rows : ndarray of int
            The article row of every view (or of every count row).
        timestamps : ndarray of int64 or None
            Unix seconds of each view; ``None`` for undated counts, which then count in every
            window (the bundle's manifest says so).
        n_articles : int
        now : int
            Unix seconds the windows end at; later views are ignored.
        views : ndarray of int, optional
            Views per row for aggregated counts (default: one per row).
        """
        weight = np.ones(article_rows.size, dtype=np.int64) if views is None else views
        counts = np.zeros((n_articles, len(WINDOWS)), dtype=np.int64)
        if timestamps is None:
            total = np.bincount(article_rows, weights=weight, minlength=n_articles)
            counts[:] = total.astype(np.int64)[:, None]
            self.dated_ = False
            self.trending_ = np.zeros(n_articles, dtype=np.float32)
        else:
            self.dated_ = True
            past = timestamps <= now
            age = now - timestamps
            for column, window in enumerate(WINDOWS):
                days = WINDOW_DAYS[window]
                inside = past if days is None else past & (age < days * DAY)
                counts[:, column] = np.bincount(
                    article_rows[inside], weights=weight[inside], minlength=n_articles
                ).astype(np.int64)
            before = past & (age >= DAY) & (age < (1 + self.trending_baseline_days) * DAY)
            baseline = np.bincount(
                article_rows[before], weights=weight[before], minlength=n_articles
            )
            self.trending_ = trending_score(
                counts[:, 0], baseline, self.trending_baseline_days, self.trending_min_views
            )
        self.counts_ = counts
        self.now_ = int(now)
        return self

    def ranking(
        self,
        window: str,
        categories: Sequence[str] | None = None,
        category: str | None = None,
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Article rows by views in ``window`` (one of :data:`WINDOWS`), optionally one section."""
        check_is_fitted(self)
        counts = self.counts_[:, WINDOWS.index(window)]
        if category is not None:
            if categories is None:
                raise ValueError("category needs the categories of every row")
            in_section = np.asarray(categories, dtype=object) == category
            mask = in_section if mask is None else mask & in_section
        return rank(counts, mask)
