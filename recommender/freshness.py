"""THE freshness arithmetic of the hybrid: one function for the ranking
(:mod:`recommender.blend`), hence for the fold-in, the live catalogue and the offline replay,
which all rank through it, and for the editors' explanations.

Freshness is bounded: it re-orders relevant candidates, it never erases them. A candidate's
score is multiplied by ``(1 - w) + w * decay`` (``w``: ``freshness_weight``, at most 0.9), the
decay computed without underflow, an undated article neutral and one dated after "now" new.
"""

from __future__ import annotations

import math

import numpy as np

from recommender.windows import DAY

__all__ = ["MAX_HALF_LIVES", "UNDATED_HALF_LIVES", "freshness", "freshness_factors"]

#: Largest exponent of the decay, in half-lives: ``0.5 ** 1000`` is about 1e-301, far from
#: float64's underflow, so an article of any age keeps a decay above 0 (and an order).
MAX_HALF_LIVES = 1000.0
#: The age of an article without a date, in half-lives: it is treated as neither fresh nor
#: stale (decay 0.5). An article dated after "now" has age 0 (decay 1, not more).
UNDATED_HALF_LIVES = 1.0


def freshness_factors(
    published_ts: np.ndarray,
    now_ts: int,
    half_life_days: np.ndarray | float | None,
    weight: float,
) -> np.ndarray:
    """THE freshness arithmetic (ranking, fold-in, live catalogue, replay, explain).

    ``(1 - weight) + weight * decay`` with ``decay = 0.5 ** (age / half_life)``, the exponent
    clipped at :data:`MAX_HALF_LIVES` (no underflow to 0); an undated article
    (``published_ts < 0``) has the age of :data:`UNDATED_HALF_LIVES` half-lives, one dated
    after ``now_ts`` the age 0. The factor lies in ``[1 - weight, 1]``: with ``weight`` at most
    0.9 no candidate's score is multiplied by less than 0.1. ``half_life_days`` ``None`` (or
    infinite) or ``weight`` 0: every factor is 1.

    Parameters
    ----------
    published_ts : ndarray of int
        Unix seconds of each candidate's publication, ``-1`` when unknown.
    now_ts : int
    half_life_days : float, ndarray of float or None
        One half-life, or one per candidate (``inf``: no decay for that candidate).
    weight : float
        ``freshness_weight``.
    """
    published = np.asarray(published_ts, dtype=np.int64)
    if half_life_days is None or weight <= 0:
        return np.ones(published.shape, dtype=np.float64)
    if isinstance(half_life_days, float | int) and 0 < half_life_days < math.inf:
        return _one_half_life(published, now_ts, float(half_life_days), weight)
    if not np.isfinite(half_life_days).any():
        return np.ones(published.shape, dtype=np.float64)
    age_days = np.maximum(now_ts - published, 0) / DAY
    with np.errstate(divide="ignore", invalid="ignore"):
        half_lives = np.asarray(age_days / half_life_days, dtype=np.float64)
    half_lives = np.where(published < 0, UNDATED_HALF_LIVES, half_lives)
    # an infinite half-life (a section without freshness) gives 0 half-lives: decay 1
    half_lives = np.clip(np.nan_to_num(half_lives, nan=0.0), 0.0, MAX_HALF_LIVES)
    if np.ndim(half_life_days):
        half_lives = np.where(np.isinf(half_life_days), 0.0, half_lives)
    factor: np.ndarray = (1.0 - weight) + weight * np.power(0.5, half_lives)
    return factor


def _one_half_life(
    published: np.ndarray, now_ts: int, half_life_days: float, weight: float
) -> np.ndarray:
    """:func:`freshness_factors` with one finite, positive half-life, in fewer numpy calls
    (it runs on every uncached answer): the same operations on the same values, so the same
    bits. Ages are at least 0 and the half-life positive, so there is no NaN to replace and
    nothing below 0 to clip."""
    half_lives = np.maximum(now_ts - published, 0) / DAY
    half_lives /= half_life_days
    half_lives[published < 0] = UNDATED_HALF_LIVES
    np.minimum(half_lives, MAX_HALF_LIVES, out=half_lives)
    factor: np.ndarray = np.power(0.5, half_lives)
    factor *= weight
    factor += 1.0 - weight
    return factor


def freshness(published_ts: int, now_ts: int, half_life_days: float | None, weight: float) -> float:
    """:func:`freshness_factors` of one article (``weight``: ``freshness_weight``)."""
    factors = freshness_factors(np.array([published_ts]), now_ts, half_life_days, weight)
    return float(factors[0])
