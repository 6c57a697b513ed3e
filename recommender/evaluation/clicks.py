"""Counterfactual evaluation on logged clicks: how often would a strategy have placed the item
a reader clicked in its top ``k``?

The service logs every counted impression and click of its lists
(``NEWSREC_EVENT_LOG_DIR/clicks/*.jsonl``, docs/experiments.md). A click on a related list names
the page it was shown on (``page_id``) and the article opened (``article_id``). For each such
click this module ranks the page's related list with each strategy of a bundle and records the
clicked article's rank. A strategy that ranks what readers actually opened higher is one to try
on real traffic; the served list's own position is the baseline.

This is an estimate with a known bias: readers could only click what they were shown, so the
served strategy is favoured (a strategy that would have shown something better gets no credit
for clicks that never happened). Read it as "does a new setting keep what readers chose near
the top", before giving it traffic in an A/B test.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.blend import BlendParams, related
from recommender.bundle import Bundle
from recommender.errors import DataError

#: The cut-offs reported.
CUTOFFS = (1, 3, 5, 10)
CLICK_STRATEGIES = ("hybrid", "content", "coview")


@dataclass(frozen=True)
class LoggedClick:
    """One logged click on a related list."""

    page_id: str
    article_id: str
    position: int
    timestamp: int
    variant: str


def _lines(path: Path) -> Iterable[tuple[Path, int, str]]:
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
    else:
        files = []
    if not files:
        raise DataError(str(path), None, None, "no click log files (*.jsonl)")
    for file in files:
        opener: Any = gzip.open if file.name.endswith(".gz") else open
        with opener(file, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield file, number, line


def read_clicks(path: str | Path) -> list[LoggedClick]:
    """The clicks on related lists of a click log file or directory (impressions, clicks on
    other lists and clicks without ``page_id`` are skipped).

    Raises
    ------
    DataError
        No log file, or a line that is not a JSON object (file and line named).
    """
    out = []
    for file, number, line in _lines(Path(path)):
        try:
            record = json.loads(line)
        except ValueError:
            raise DataError(str(file), number, None, "not JSON") from None
        if not isinstance(record, dict):
            raise DataError(str(file), number, None, "not a JSON object")
        variant = str(record.get("variant", ""))
        page = record.get("page_id")
        if record.get("type") != "click" or not isinstance(page, str):
            continue
        if not record.get("experiment") and not variant.startswith("related"):
            continue
        out.append(
            LoggedClick(
                page,
                str(record.get("article_id")),
                int(record.get("position", 0)),
                int(record.get("timestamp", 0)),
                variant,
            )
        )
    return out


def click_hit_rates(
    bundle: Bundle,
    clicks: Sequence[LoggedClick],
    *,
    strategies: Sequence[str] = CLICK_STRATEGIES,
    params: BlendParams | None = None,
    cutoffs: Sequence[int] = CUTOFFS,
    now_from_clock: bool = False,
) -> dict[str, Any]:
    """Per strategy, the share of clicks whose article it ranks in the top ``k`` of the page's
    related list (``hit_rate_at_k``), and the same for the served lists (``served``).

    Clicks on pages or of articles the bundle does not know are counted in ``skipped``. Ages
    are measured from the bundle's ``now``, as the service does by default, or with
    ``now_from_clock`` (``NEWSREC_NOW_FROM_CLOCK``) at each click's time.
    """
    try:
        bundle_now = int(dt.datetime.fromisoformat(str(bundle.manifest["now"])).timestamp())
    except (KeyError, ValueError):
        bundle_now = None
    usable = [c for c in clicks if bundle.has(c.page_id) and bundle.has(c.article_id)]
    deepest = max(cutoffs)
    figures: dict[str, Any] = {
        "clicks": len(clicks),
        "evaluated": len(usable),
        "skipped": len(clicks) - len(usable),
        "served": {
            f"hit_rate_at_{k}": _share(sum(c.position <= k for c in usable), len(usable))
            for k in cutoffs
        },
        "strategies": {},
    }
    site = bundle.popular_rows("7d")
    for strategy in strategies:
        ranks = []
        for click in usable:
            row = bundle.row(click.page_id)
            items = related(
                bundle,
                row,
                deepest,
                now_ts=click.timestamp if now_from_clock or bundle_now is None else bundle_now,
                strategy=strategy,
                params=params,
                section_popular=bundle.popular_rows("7d", bundle.categories[row]),
                site_popular=site,
            )
            target = bundle.row(click.article_id)
            listed = [item.row for item in items]
            ranks.append(listed.index(target) + 1 if target in listed else None)
        figures["strategies"][strategy] = {
            f"hit_rate_at_{k}": _share(sum(r is not None and r <= k for r in ranks), len(ranks))
            for k in cutoffs
        }
    return figures


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def format_clicks(figures: dict[str, Any]) -> str:
    """The figures as a table."""
    cutoffs = list(figures["served"])
    head = "strategy".ljust(12) + "".join(
        c.replace("hit_rate_at_", "hit@").rjust(9) for c in cutoffs
    )
    rows = [("served", figures["served"]), *figures["strategies"].items()]
    lines = [
        f"{figures['evaluated']} clicks evaluated ({figures['skipped']} skipped: unknown pages "
        "or articles)",
        head,
    ]
    for name, values in rows:
        cells = "".join(
            ("-" if values[c] is None else f"{values[c]:.3f}").rjust(9) for c in cutoffs
        )
        lines.append(name.ljust(12) + cells)
    return "\n".join(lines)
