"""Ranking metrics of the offline evaluation: plain functions of 1-based target ranks.

Metrics (lists of ``n = 10``, cut-offs ``k`` in 5 and 10)
----------------------------------------------------------
``hit_rate@k``
    Share of pairs whose target is in the first ``k``.
``mrr@k``
    Mean of ``1 / rank`` of the target (0 when below ``k``).
``ndcg@k``
    One relevant item per pair, so ``1 / log2(rank + 1)`` (0 when below ``k``).
``coverage``
    Distinct articles recommended (in any list of ``n``) / published articles in the live
    catalogue by the last pair (the bundle's and those published since).
``mean_age_days``
    Mean over pairs of the mean age (at the query view) of the recommended articles with a
    known publish date; ``None`` without dates.
``diversity``
    Distinct sections in a list / its length, mean over pairs: 1 when every item is from a
    different section, ``1 / n`` when all share one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

#: Metric cut-offs; lists are ``max(KS)`` long.
KS = (5, 10)


def hit_rate_at_k(ranks: np.ndarray, k: int) -> float:
    """Share of pairs whose target is ranked within the first ``k``.

    Parameters
    ----------
    ranks : ndarray of int
        1-based rank of each pair's target in its list; 0 when absent.
    k : int

    Returns
    -------
    float
        NaN when there are no pairs.
    """
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return math.nan
    return float(np.mean((ranks >= 1) & (ranks <= k)))


def mrr_at_k(ranks: np.ndarray, k: int) -> float:
    """Mean reciprocal rank, counting ranks beyond ``k`` (and misses) as 0."""
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return math.nan
    hit = (ranks >= 1) & (ranks <= k)
    return float(np.where(hit, 1.0 / np.maximum(ranks, 1), 0.0).mean())


def ndcg_at_k(ranks: np.ndarray, k: int) -> float:
    """NDCG at ``k`` with one relevant item per pair: ``1 / log2(rank + 1)``, 0 beyond ``k``."""
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return math.nan
    hit = (ranks >= 1) & (ranks <= k)
    return float(np.where(hit, 1.0 / np.log2(np.maximum(ranks, 1) + 1.0), 0.0).mean())


def catalogue_coverage(lists: Iterable[Sequence[int]], n_catalogue: int) -> float:
    """Distinct rows recommended in any list / the number of recommendable rows."""
    if n_catalogue <= 0:
        return math.nan
    seen: set[int] = set()
    for rows in lists:
        seen.update(int(r) for r in rows)
    return len(seen) / n_catalogue


def section_diversity(sections: Sequence[str]) -> float:
    """Distinct sections in one list / its length (NaN for an empty list)."""
    if not sections:
        return math.nan
    return len(set(sections)) / len(sections)
