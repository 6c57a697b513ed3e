"""An experiment's report from the live store's tally: per variant and per position, with the
statistics of :mod:`recommender.abtest` (the test and why it is that one are said there)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from recommender.abtest import ALPHA, compare, verdict, wilson_interval
from service.experiments.config import Experiment, iso
from service.live.counts import Tally


def _days(experiment: Experiment, tally: Tally, now: float) -> list[str]:
    first = dt.datetime.fromtimestamp(experiment.start, dt.UTC).date()
    end = now if experiment.end is None else min(now, experiment.end)
    last = dt.datetime.fromtimestamp(max(end, experiment.start), dt.UTC).date()
    seen = sorted({day for (_, _, _, day) in tally})
    if seen:  # from the first day with data: an experiment defined long before starts there
        first = max(first, dt.date.fromisoformat(seen[0]))
    days = [str(first + dt.timedelta(days=i)) for i in range((last - first).days + 1)]
    return sorted(set(days) | {d for d in seen if days and days[0] <= d <= days[-1]})


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def build_report(experiment: Experiment, tally: Tally, now: float) -> dict[str, Any]:
    """The JSON of ``GET /v1/experiments/{name}/report``.

    A variant's list impressions are the impressions of position 1 (each list seen shows its
    first item); its CTR is its clicks (every position) over them.
    """
    days = _days(experiment, tally, now)
    daily: dict[str, list[tuple[int, int]]] = {}
    variants: list[dict[str, Any]] = []
    for variant in experiment.variants:
        rows = {
            (position, day): counts
            for (name, arm, position, day), counts in tally.items()
            if name == experiment.name and arm == variant.name
        }
        per_day = []
        for day in days:
            shown = rows.get((1, day), {}).get("impression", 0)
            clicks = sum(c.get("click", 0) for (p, d), c in rows.items() if d == day and p > 0)
            per_day.append((clicks, shown))
        daily[variant.name] = per_day
        clicks = sum(c for c, _ in per_day)
        shown = sum(n for _, n in per_day)
        totals: dict[str, int] = {}
        for (position, _), counts in rows.items():
            if position == 0:
                for kind, count in counts.items():
                    totals[kind] = totals.get(kind, 0) + count
        positions = sorted({p for (p, _) in rows if p > 0})
        by_position = []
        for position in positions:
            seen = sum(c.get("impression", 0) for (p, _), c in rows.items() if p == position)
            hits = sum(c.get("click", 0) for (p, _), c in rows.items() if p == position)
            low, high = wilson_interval(hits, seen)
            by_position.append(
                {
                    "position": position,
                    "impressions": seen,
                    "clicks": hits,
                    "ctr": _ratio(hits, seen),
                    "ctr_interval": [round(low, 6), round(high, 6)],
                }
            )
        low, high = wilson_interval(clicks, shown)
        variants.append(
            {
                **variant.as_json(),
                "impressions": shown,
                "clicks": clicks,
                "ctr": _ratio(clicks, shown),
                "ctr_interval": [round(low, 6), round(high, 6)],
                "sessions": totals.get("session", 0),
                "pages_per_session": _ratio(totals.get("view", 0), totals.get("session", 0)),
                "clicking_sessions": totals.get("click_session", 0),
                "pages_after_click": _ratio(
                    totals.get("after_click", 0), totals.get("click_session", 0)
                ),
                "daily": [
                    {"day": day, "impressions": n, "clicks": c, "ctr": _ratio(c, n)}
                    for day, (c, n) in zip(days, per_day, strict=True)
                ],
                "positions": by_position,
            }
        )
    control = experiment.control.name
    others = [v for v in experiment.variants[1:] if not v.holdout]
    alpha = ALPHA / max(len(others), 1)
    comparisons = [compare(v.name, daily[control], daily[v.name], alpha=alpha) for v in others]
    winner, text = verdict(control, comparisons)
    return {
        "experiment": experiment.name,
        "surface": experiment.surface,
        "description": experiment.description,
        "start": iso(experiment.start),
        "end": None if experiment.end is None else iso(experiment.end),
        "running": experiment.active(now),
        "control": control,
        "variants": variants,
        "comparisons": [
            {
                "variant": c.variant,
                "lift": None if c.lift is None else round(c.lift, 6),
                "probability_better": round(c.probability_better, 6),
                "p_value": round(c.p_value, 6),
                "alpha": round(c.alpha, 6),
                "significant": c.significant,
                "impressions_needed": c.impressions_needed,
                "days_needed": None if c.days_needed is None else round(c.days_needed, 1),
            }
            for c in comparisons
        ],
        "test": (
            "mSPRT (mixture sequential probability ratio test) on the difference of CTRs, "
            "looked at daily: always-valid p-values, so reading the report every day keeps "
            f"the chance of a false winner at most {ALPHA:g} (Bonferroni over the variants)."
        ),
        "winner": winner,
        "verdict": text,
    }
