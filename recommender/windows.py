"""Time windows: ``HOUR`` and ``DAY`` (defined here once), the popularity windows, rankings and
the trending score: plain numpy, shared by the offline popularity model and the service
(which must start without importing scikit-learn)."""

from __future__ import annotations

import numpy as np

#: Seconds in an hour and in a day: the one definition every module uses.
HOUR = 3_600
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
