"""Popularity: views per article over time windows, a trending score, and rankings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from recommender.windows import DAY, WINDOW_DAYS, WINDOWS, rank, trending_score

__all__ = [
    "DAY",
    "WINDOWS",
    "WINDOW_DAYS",
    "PopularityModel",
    "rank",
    "trending_score",
    "window_counts",
]


def window_counts(
    article_rows: np.ndarray,
    timestamps: np.ndarray,
    n_articles: int,
    now: int,
    baseline_days: float,
    views: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dated views counted per article: ``int64`` (n_articles, len(WINDOWS)) views in each
    window before ``now``, and ``float64`` views in the trending baseline (the
    ``baseline_days`` before the last day). Counts of disjoint parts of a log add up to the
    counts of the log.

    ``views`` are views per row for aggregated counts (default: one per row).
    """
    weight = np.ones(article_rows.size, dtype=np.int64) if views is None else views
    counts = np.zeros((n_articles, len(WINDOWS)), dtype=np.int64)
    past = timestamps <= now
    age = now - timestamps
    for column, window in enumerate(WINDOWS):
        days = WINDOW_DAYS[window]
        inside = past if days is None else past & (age < days * DAY)
        counts[:, column] = np.bincount(
            article_rows[inside], weights=weight[inside], minlength=n_articles
        ).astype(np.int64)
    before = past & (age >= DAY) & (age < (1 + baseline_days) * DAY)
    baseline = np.bincount(article_rows[before], weights=weight[before], minlength=n_articles)
    return counts, baseline


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
        if timestamps is None:
            weight = np.ones(article_rows.size, dtype=np.int64) if views is None else views
            total = np.bincount(article_rows, weights=weight, minlength=n_articles)
            counts = np.zeros((n_articles, len(WINDOWS)), dtype=np.int64)
            counts[:] = total.astype(np.int64)[:, None]
            self.dated_ = False
            self.trending_ = np.zeros(n_articles, dtype=np.float32)
            self.counts_ = counts
            self.now_ = int(now)
            return self
        counts, baseline = window_counts(
            article_rows, timestamps, n_articles, now, self.trending_baseline_days, views
        )
        return self.fit_counts(counts, baseline, now)

    def fit_counts(self, counts: np.ndarray, baseline: np.ndarray, now: int) -> PopularityModel:
        """Take dated views already counted by :func:`window_counts` (summed over parts of a
        log: :mod:`recommender.viewlog`); the same model as :meth:`fit` of the views."""
        self.dated_ = True
        self.trending_ = trending_score(
            counts[:, 0], baseline, self.trending_baseline_days, self.trending_min_views
        )
        self.counts_ = np.asarray(counts, dtype=np.int64)
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
