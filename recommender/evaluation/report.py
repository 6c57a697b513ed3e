"""The HTML report of ``newsrec evaluate --report``: one self-contained file.

Plots are drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no
global state) and embedded as base64 PNG ``data:`` URIs; styles are inline. The page loads
nothing from the network, so it opens anywhere, offline.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_COLOURS = ("#7f7f7f", "#1f77b4", "#17becf", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #888; }
td.best { font-weight: bold; }
img { max-width: 100%; }
.note { color: #555; font-size: .92em; }
code { font-size: .95em; }
"""
_METRICS = (
    "hit_rate@5",
    "hit_rate@10",
    "mrr@5",
    "mrr@10",
    "ndcg@5",
    "ndcg@10",
    "coverage",
    "mean_age_days",
    "diversity",
    "top_section_share",
    "distinct_sections",
    "distinct_authors",
    "same_story_share",
)
_GROUP_TITLES = {
    "all": "All query articles",
    "new": "New query articles (published in the test period: folded in by content)",
    "established": "Established query articles (in the training bundle)",
}


def _png(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{encoded}">'


def _value(value: Any) -> float:
    return math.nan if value is None else float(value)


def plot_metrics(summary: Mapping[str, Any]) -> str:
    """Grouped bars: ranking metrics per strategy (all pairs), and hit rate at 10 by group."""
    strategies = list(summary["strategies"])
    figure = Figure(figsize=(11, 4))
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    metrics = ("hit_rate@5", "hit_rate@10", "mrr@10", "ndcg@10")
    width = 0.8 / max(len(strategies), 1)
    for i, strategy in enumerate(strategies):
        values = [_value(summary["strategies"][strategy]["all"][m]) for m in metrics]
        xs = [j + (i - (len(strategies) - 1) / 2) * width for j in range(len(metrics))]
        left.bar(xs, values, width, label=strategy, color=_COLOURS[i % len(_COLOURS)])
    left.set_xticks(range(len(metrics)), metrics)
    left.set_title("Metrics per strategy (all pairs)")
    left.legend(fontsize=8)
    left.grid(axis="y", alpha=0.3)
    groups = ("new", "established")
    for i, strategy in enumerate(strategies):
        values = [_value(summary["strategies"][strategy][g]["hit_rate@10"]) for g in groups]
        xs = [j + (i - (len(strategies) - 1) / 2) * width for j in range(len(groups))]
        right.bar(xs, values, width, label=strategy, color=_COLOURS[i % len(_COLOURS)])
    right.set_xticks(range(len(groups)), [f"{g} query" for g in groups])
    right.set_title("Hit rate at 10: new vs established query articles")
    right.grid(axis="y", alpha=0.3)
    return _png(figure)


def plot_hit_rate_by_age(summary: Mapping[str, Any]) -> str:
    """Hit rate at 10 per query-article age bucket, one line per strategy."""
    table = summary["hit_rate@10_by_query_age"]
    counts = summary.get("pairs_by_query_age")
    labels = list(table["buckets"])
    if counts:
        labels = [f"{b}\n({c} pairs)" for b, c in zip(labels, counts, strict=True)]
    figure = Figure(figsize=(11, 4))
    axes = figure.subplots()
    for i, strategy in enumerate(summary["strategies"]):
        values = [_value(v) for v in table[strategy]]
        axes.plot(
            range(len(values)),
            values,
            marker="o",
            label=strategy,
            color=_COLOURS[i % len(_COLOURS)],
        )
    axes.set_xticks(range(len(labels)), labels, fontsize=8)
    axes.set_xlabel("age of the query article when it was read")
    axes.set_ylabel("hit rate at 10")
    axes.set_title("Hit rate at 10 by query-article age")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)


def plot_recommended_age(summary: Mapping[str, Any]) -> str:
    """Distribution of the age of recommended articles (share of items per age bin)."""
    histogram = summary["recommended_age_histogram"]
    edges = histogram["edges_days"]
    labels = [
        f"{lo:g}-{hi:g}d" if hi is not None else f">{lo:g}d" for lo, hi in itertools.pairwise(edges)
    ]
    strategies = [s for s in summary["strategies"] if s in histogram]
    figure = Figure(figsize=(11, 4))
    axes = figure.subplots()
    width = 0.8 / max(len(strategies), 1)
    for i, strategy in enumerate(strategies):
        counts = histogram[strategy]
        total = sum(counts) or 1
        xs = [j + (i - (len(strategies) - 1) / 2) * width for j in range(len(counts))]
        axes.bar(
            xs,
            [c / total for c in counts],
            width,
            label=strategy,
            color=_COLOURS[i % len(_COLOURS)],
        )
    axes.set_xticks(range(len(labels)), labels, fontsize=8)
    axes.set_xlabel("age of the recommended article at the time of the query view")
    axes.set_ylabel("share of recommended items")
    axes.set_title("Distribution of recommended-article age")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)


def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _metrics_table(summary: Mapping[str, Any], group: str) -> str:
    strategies = summary["strategies"]
    best: dict[str, float] = {}
    for metric in _METRICS:
        if metric == "mean_age_days":
            continue
        values = [strategies[s][group][metric] for s in strategies]
        values = [v for v in values if v is not None]
        if values:
            best[metric] = max(values)
    head = "".join(f"<th>{html.escape(m)}</th>" for m in ("strategy", "pairs", *_METRICS))
    rows = []
    for strategy, groups in strategies.items():
        metrics = groups[group]
        cells = [f"<td>{html.escape(strategy)}</td>", f"<td>{int(metrics['pairs'])}</td>"]
        for metric in _METRICS:
            value = metrics[metric]
            mark = ' class="best"' if value is not None and best.get(metric) == value else ""
            cells.append(f"<td{mark}>{_cell(value, 1 if metric == 'mean_age_days' else 3)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _key_values(items: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_cell(v)}</td></tr>" for k, v in items)
    return f"<table><tbody>{rows}</tbody></table>"


def render_report(
    summary: Mapping[str, Any],
    *,
    title: str = "newsrec offline evaluation",
) -> str:
    """The whole HTML page for an evaluation summary (the JSON ``newsrec evaluate`` writes)."""
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    split = summary.get("split")
    if split:
        parts.append(
            f"<p>Test period <code>{html.escape(split['test_from'])}</code> .. "
            f"<code>{html.escape(split['test_until'])}</code>; models trained on "
            f"{split['training_articles']} articles and {split['training_views']} views "
            f"before it (at <code>{html.escape(split['now'])}</code>); every list is ranked "
            "at its pair's time.</p>"
        )
        parts.append(f"<p class='note'>{html.escape(split['note'])}.</p>")
    pairs = summary["pairs"]
    total = max(int(pairs["pairs"]), 1)

    def share(key: str) -> str:
        return f"{pairs[key]} ({100 * pairs[key] / total:.1f}%)"

    parts.append(
        "<h2>Replay pairs and coverage</h2><p class='note'>Shares of every replayed pair.</p>"
    )
    rows: list[tuple[str, Any]] = [
        ("pairs replayed", pairs["pairs"]),
        ("pairs evaluated", share("evaluated")),
        ("skipped: query article has no metadata", pairs["skipped_unknown_query"]),
        ("query article in training", share("query_in_training")),
        ("next article in training", share("target_in_training")),
    ]
    if "target_available" in pairs:
        rows.append(
            (
                "next article a candidate at the pair's time (could be hit): in training or "
                "published at or before the pair",
                share("target_available"),
            )
        )
    rows += [
        ("both in training", share("both_in_training")),
        ("new query articles (folded in)", share("new_query")),
        ("distinct query articles", pairs["unique_queries"]),
    ]
    if "published_since_training" in pairs:
        rows.append(
            ("articles published since training (folded in)", pairs["published_since_training"])
        )
    rows += [
        ("sessions with pairs", pairs["sessions"]),
        ("crawler sessions left out", pairs["bot_sessions"]),
    ]
    parts.append(_key_values(rows))
    rules = [summary.get("replay_rule", "")]
    if "mind_replay_rule" in summary:
        rules.append(summary["mind_replay_rule"])
    parts.append("".join(f"<p class='note'>Replay rule: {html.escape(r)}.</p>" for r in rules if r))
    parts.append("<h2>Metrics per strategy</h2>")
    parts.append(plot_metrics(summary))
    for group in ("all", "new", "established"):
        parts.append(f"<h3>{html.escape(_GROUP_TITLES[group])}</h3>")
        parts.append(_metrics_table(summary, group))
    parts.append(
        "<p class='note'>hit_rate@k: share of pairs whose next article is in the first k; "
        "mrr@k: mean 1/rank (0 beyond k); ndcg@k: 1/log2(rank+1) with one relevant item; "
        "coverage: distinct recommended articles / published articles in the live catalogue "
        "(the training articles and those published since, by the last pair); mean_age_days: "
        "mean age of the recommended articles at the query view; diversity: distinct sections "
        "in a list / its length; top_section_share: share of a list's most frequent section; "
        "distinct_sections, distinct_authors: per list (authors: named ones). A strategy "
        "named <code>…+caps</code> is replayed with the diversity caps (max_per_section, "
        "max_per_author): its hit rate against the strategy's own is what the caps cost. "
        "same_story_share: share of a list's items repeating a story (same-story cluster) the "
        "page or an earlier item shows; a strategy named <code>…+stories</code> is replayed "
        "with same-story collapsing (per_story): its hit rate and same_story_share against "
        "the strategy's own are before and after. "
        "Bold: best value of the column.</p>"
    )
    parts.append("<h2>Hit rate by query-article age</h2>")
    if summary.get("dated", True):
        parts.append(plot_hit_rate_by_age(summary))
    else:
        parts.append("<p>The articles have no publish dates: no ages.</p>")
    parts.append("<h2>Age of recommended articles</h2>")
    if summary.get("dated", True):
        parts.append(plot_recommended_age(summary))
    else:
        parts.append("<p>The articles have no publish dates: freshness is neutral.</p>")
    parts.append("<h2>Settings</h2>")
    parts.append("<h3>Ranking (BlendParams)</h3>")
    parts.append(_key_values(sorted((k, str(v)) for k, v in summary["blend_params"].items())))
    if "train_parameters" in summary:
        parts.append("<h3>Training (TrainConfig)</h3>")
        parts.append(
            _key_values(sorted((k, str(v)) for k, v in summary["train_parameters"].items()))
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(
    summary: Mapping[str, Any], path: str | Path, *, title: str = "newsrec offline evaluation"
) -> Path:
    """Write :func:`render_report` to ``path``.

    Parameters
    ----------
    summary : mapping
        The evaluation summary (``Evaluation.summary``, or the JSON written by
        ``newsrec evaluate --json``).
    path : path
    title : str

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(summary, title=title), encoding="utf-8")
    return path
