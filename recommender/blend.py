"""Ranking for a page: hybrid blend of content and co-view scores, filters and fallbacks.

The service and the offline evaluation both call :func:`related`, so what is evaluated is what
readers get.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

DAY = 86_400
STRATEGIES = ("hybrid", "content", "coview")
#: Where an item came from, in the order the fallback chain tries them.
SOURCES = ("related", "section_popular", "popular")


@dataclass(frozen=True)
class BlendParams:
    """Settings of the hybrid ranking.

    Attributes
    ----------
    content_weight : float
        Weight of the (max-normalised) content score.
    coview_weight : float
        Weight of the (max-normalised) co-view score once the query article has plenty of
        co-view evidence.
    coview_evidence : float
        Sessions that read the query article at which the co-view weight reaches half of
        ``coview_weight``; the weight is ``coview_weight * s / (s + coview_evidence)``, so a new
        article leans on content and a well-read one on co-views.
    half_life_days : float or None
        Freshness half-life of a candidate's age; ``None`` turns freshness off.
    section_half_life_days : mapping of str to float
        Per-section half-lives overriding ``half_life_days`` (sport results age faster than
        long reads).
    """

    content_weight: float = 1.0
    coview_weight: float = 1.5
    coview_evidence: float = 10.0
    half_life_days: float | None = 3.0
    section_half_life_days: Mapping[str, float] = field(default_factory=dict)

    def half_life(self, category: str) -> float | None:
        return self.section_half_life_days.get(category, self.half_life_days)


@dataclass(frozen=True)
class Scored:
    """One recommended article row with its score parts (``None`` where a part is unused)."""

    row: int
    score: float
    source: str
    content: float | None = None
    coview: float | None = None
    coview_count: int | None = None
    freshness: float | None = None
    coview_weight: float | None = None


class Signals(Protocol):
    """What ranking reads from a model bundle (see :class:`recommender.bundle.Bundle`)."""

    categories: list[str]
    published_ts: np.ndarray
    is_published: np.ndarray
    content_neighbors: np.ndarray
    content_scores: np.ndarray
    has_coview: bool
    coview_neighbors: np.ndarray | None
    coview_scores: np.ndarray | None
    coview_counts: np.ndarray | None
    coview_support: np.ndarray | None


def freshness(published_ts: int, now_ts: int, half_life_days: float | None) -> float:
    """``0.5 ** (age / half_life)``; 1 when the date is unknown or freshness is off."""
    if half_life_days is None or published_ts < 0:
        return 1.0
    age_days = max(now_ts - published_ts, 0) / DAY
    return float(0.5 ** (age_days / half_life_days))


def _normalised(neighbors: np.ndarray, scores: np.ndarray) -> dict[int, float]:
    valid = neighbors >= 0
    rows, values = neighbors[valid], scores[valid].astype(np.float64)
    top = float(values.max()) if values.size else 0.0
    if top <= 0:
        return {}
    return {int(r): float(v) / top for r, v in zip(rows, values, strict=True)}


def coview_weight(signals: Signals, row: int, params: BlendParams) -> float:
    """The co-view weight for a query row, growing with its co-view evidence."""
    if not signals.has_coview or signals.coview_support is None:
        return 0.0
    support = float(signals.coview_support[row])
    return params.coview_weight * support / (support + params.coview_evidence)


def score_candidates(
    signals: Signals, row: int, strategy: str, params: BlendParams, now_ts: int
) -> list[Scored]:
    """Every related candidate of ``row`` with its score parts, best first (unfiltered)."""
    content = _normalised(signals.content_neighbors[row], signals.content_scores[row])
    raw_content = {
        int(r): float(s)
        for r, s in zip(signals.content_neighbors[row], signals.content_scores[row], strict=True)
        if r >= 0
    }
    coview: dict[int, float] = {}
    raw_coview: dict[int, float] = {}
    counts: dict[int, int] = {}
    if signals.has_coview and signals.coview_neighbors is not None:
        assert signals.coview_scores is not None and signals.coview_counts is not None
        neighbors = signals.coview_neighbors[row]
        coview = _normalised(neighbors, signals.coview_scores[row])
        for r, s, c in zip(
            neighbors, signals.coview_scores[row], signals.coview_counts[row], strict=True
        ):
            if r >= 0:
                raw_coview[int(r)] = float(s)
                counts[int(r)] = int(c)
    out: list[Scored] = []
    if strategy == "content":
        for r, s in raw_content.items():
            out.append(
                Scored(
                    r, s, "related", content=s, coview=raw_coview.get(r), coview_count=counts.get(r)
                )
            )
    elif strategy == "coview":
        for r, s in raw_coview.items():
            out.append(
                Scored(
                    r,
                    s,
                    "related",
                    content=raw_content.get(r),
                    coview=s,
                    coview_count=counts.get(r),
                )
            )
    elif strategy == "hybrid":
        w_coview = coview_weight(signals, row, params)
        w_content = params.content_weight
        total = w_content + w_coview
        for r in sorted(set(content) | set(coview)):
            weighted = w_content * content.get(r, 0.0) + w_coview * coview.get(r, 0.0)
            blended = weighted / total if total > 0 else 0.0
            fresh = freshness(
                int(signals.published_ts[r]), now_ts, params.half_life(signals.categories[r])
            )
            out.append(
                Scored(
                    r,
                    blended * fresh,
                    "related",
                    content=content.get(r, 0.0),
                    coview=coview.get(r, 0.0),
                    coview_count=counts.get(r, 0),
                    freshness=fresh,
                    coview_weight=w_coview,
                )
            )
    else:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    out.sort(key=lambda s: (-s.score, s.row))
    return out


@dataclass(frozen=True)
class Filters:
    """What a page allows: rows to leave out, one section, a maximum age."""

    exclude: Collection[int] = ()
    category: str | None = None
    max_age_days: float | None = None

    def allows(self, signals: Signals, row: int, now_ts: int) -> bool:
        if row in self.exclude or not signals.is_published[row]:
            return False
        if self.category is not None and signals.categories[row] != self.category:
            return False
        if self.max_age_days is not None:
            published = int(signals.published_ts[row])
            if published < 0 or now_ts - published > self.max_age_days * DAY:
                return False
        return True


def related(
    signals: Signals,
    row: int,
    n: int,
    *,
    now_ts: int,
    strategy: str = "hybrid",
    params: BlendParams | None = None,
    filters: Filters | None = None,
    section_popular: Iterable[int] = (),
    site_popular: Iterable[int] = (),
) -> list[Scored]:
    """The ``n`` items a page shows for article ``row``.

    Related candidates that pass the filters come first; when they run out the list is filled
    from ``section_popular`` then ``site_popular`` (rows in ranking order), so it holds ``n``
    items whenever the catalogue allows. The query row is never returned.
    """
    params = params or BlendParams()
    filters = filters or Filters()
    chosen: list[Scored] = []
    seen = {row}
    for item in score_candidates(signals, row, strategy, params, now_ts):
        if len(chosen) == n:
            return chosen
        if item.row not in seen and filters.allows(signals, item.row, now_ts):
            chosen.append(item)
            seen.add(item.row)
    for source, ranking in (("section_popular", section_popular), ("popular", site_popular)):
        for candidate in ranking:
            if len(chosen) == n:
                return chosen
            candidate = int(candidate)
            if candidate not in seen and filters.allows(signals, candidate, now_ts):
                chosen.append(Scored(candidate, 0.0, source))
                seen.add(candidate)
    return chosen
