"""Offline evaluation: replay reader sessions after a chronological split, score what each
strategy would have shown, tune the hybrid's settings, and gate a new bundle's promotion.

:mod:`~recommender.evaluation.split` (the split and the training at it),
:mod:`~recommender.evaluation.replay` (pairs on the live catalogue of their time, with the
replay rule), :mod:`~recommender.evaluation.lists` (each strategy's list per pair),
:mod:`~recommender.evaluation.metrics` (hit rate, MRR, NDCG, coverage, diversity),
:mod:`~recommender.evaluation.evaluate` (the whole run and its figures),
:mod:`~recommender.evaluation.report` (the HTML report), :mod:`~recommender.evaluation.tune`
(``newsrec tune``), :mod:`~recommender.evaluation.gate` (``newsrec train --gate``).

This package imports none of them, so the command line can name the strategies without
loading scikit-learn.
"""

from __future__ import annotations

#: The strategies an evaluation replays (not :data:`recommender.blend.STRATEGIES`, the three
#: rankings of :func:`recommender.blend.related`, which ``content``, ``coview`` and ``hybrid``
#: call); :mod:`~recommender.evaluation.lists` says what each shows.
REPLAY_STRATEGIES = (
    "most_viewed",
    "most_viewed_live",
    "content",
    "coview",
    "content_fresh",
    "hybrid",
)
