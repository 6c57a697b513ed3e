"""Crawler sessions by behaviour: crawlers are fast, not long.

A session (see :func:`recommender.data.views.read_views`) looks like a crawler when it reads
faster than a person can:

* a **burst**: more than ``burst_views`` views within one minute (any 60 seconds), or
* a **sustained rate**: more than ``burst_views`` views in all, at an average pace above
  ``views_per_minute`` (views after the first per minute between its first and last view;
  a span under a minute counts as a minute).

How many views a session holds in all says nothing: one reader's history over two years (one
``session_id`` per user, as many sites and public datasets log it) of 300 views is a reader.
Training leaves crawler sessions out of the co-view model, the offline replay out of its pairs
(the same rule, :func:`crawler_sessions`). Either setting ``None`` turns its rule off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BURST_SECONDS", "SessionPace", "bot_settings", "crawler_sessions"]

#: The window of the burst rule, in seconds.
BURST_SECONDS = 60


def bot_settings(config: Any) -> dict[str, Any]:
    """The crawler rule's settings of a :class:`~recommender.config.TrainConfig`, as
    :func:`recommender.evaluation.replay.replay_pairs` takes them."""
    return {
        "bot_views_per_minute": config.bot_views_per_minute,
        "bot_burst_views": config.bot_burst_views,
    }


def crawler_sessions(
    session_codes: np.ndarray,
    timestamps: np.ndarray,
    n_sessions: int,
    *,
    views_per_minute: float | None,
    burst_views: int | None,
) -> np.ndarray:
    """Which sessions look like crawlers (see the module's rule).

    Parameters
    ----------
    session_codes : ndarray of int
        The session of every view (``0 .. n_sessions - 1``).
    timestamps : ndarray of int
        Unix seconds of every view.
    n_sessions : int
    views_per_minute : float or None
        The sustained pace above which a session of more than ``burst_views`` views is a
        crawler (``None``: no pace rule).
    burst_views : int or None
        Most views a person reads within one minute (``None``: no burst rule, and the pace rule
        applies to sessions of any length above one view).

    Returns
    -------
    ndarray of bool, shape (n_sessions,)
    """
    if np.asarray(session_codes).size == 0 or (views_per_minute is None and burst_views is None):
        return np.zeros(n_sessions, dtype=bool)
    pace = SessionPace.of(session_codes, timestamps, n_sessions)
    return pace.crawlers(views_per_minute=views_per_minute, burst_views=burst_views)


@dataclass(frozen=True)
class SessionPace:
    """What the crawler rule reads of each session, whatever its thresholds: views, first and
    last view, and the most views within any :data:`BURST_SECONDS`. Built once, it answers any
    rule in a few vectorised comparisons (a self-calibration tries several)."""

    views: np.ndarray
    first: np.ndarray
    last: np.ndarray
    most_in_burst: np.ndarray

    @classmethod
    def of(cls, session_codes: np.ndarray, timestamps: np.ndarray, n_sessions: int) -> SessionPace:
        """The pace of every session of these views (see :func:`crawler_sessions`)."""
        sessions = np.asarray(session_codes, dtype=np.int64)
        first = np.full(n_sessions, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(n_sessions, np.iinfo(np.int64).min, dtype=np.int64)
        most = np.zeros(n_sessions, dtype=np.int64)
        if sessions.size == 0:
            return cls(np.zeros(n_sessions, dtype=np.int64), first, last, most)
        times = np.asarray(timestamps, dtype=np.int64)
        order = np.lexsort((times, sessions))
        s, t = sessions[order], times[order] - int(times.min())
        del order
        # views of the same session in [t, t + 60 s) of each view, with one sorted key
        key = s * (int(t.max()) + 2 * BURST_SECONDS) + t
        within = np.searchsorted(key, key + BURST_SECONDS, side="left") - np.arange(key.size)
        np.maximum.at(most, s, within)
        np.minimum.at(first, s, t)
        np.maximum.at(last, s, t)
        return cls(np.bincount(s, minlength=n_sessions), first, last, most)

    def crawlers(self, *, views_per_minute: float | None, burst_views: int | None) -> np.ndarray:
        """The sessions the rule of these settings calls crawlers (:func:`crawler_sessions`)."""
        bots = np.zeros(self.views.size, dtype=bool)
        if burst_views is not None:
            bots |= self.most_in_burst > burst_views
        if views_per_minute is not None:
            long_enough = self.views > (burst_views if burst_views is not None else 1)
            minutes = np.maximum(
                (self.last - self.first) / 60.0, 1.0, where=long_enough, out=np.ones(bots.size)
            )
            pace = np.where(long_enough, (self.views - 1) / minutes, 0.0)
            bots |= long_enough & (pace > views_per_minute)
        return bots
