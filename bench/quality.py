"""Quality benchmark for issue 6: offline evaluation on generated data and on the MIND sample.

Run from the repository root (about 12 minutes on 2 cores with ``--tune``; data is cached in
bench/out/):

    .venv/bin/python bench/quality.py [--articles 3000 10000] [--seeds 0 1 2] [--tune]
                                      [--write bench/RESULTS-quality.md]

For every generated sample (``newsrec generate-sample --articles N --days 30 --seed S``) it runs
``newsrec evaluate --test-days 3`` and checks the targets against baselines measured in the
same run:

* hybrid hit rate at 10 >= 1.1 x the best single signal (most viewed, content, co-view);
* on new query articles, content >= 3 x most viewed. Content is reported twice: the raw
  TF-IDF signal (``content``, age-blind) and the hybrid with no co-view weight
  (``content_fresh``: content neighbours and the 24 hours' most read articles, ranked with
  freshness and the 24-hour popularity prior: what the hybrid serves a new article, which has
  no co-views). Most
  viewed is reported twice too: the bundle's ranking (``most_viewed``, frozen at the split)
  and the live service's (``most_viewed_live``: plus the views counted before each pair).

Ratios are given per seed and as the median over seeds. ``--tune`` also runs
``newsrec tune`` (validation = the 3 days before the test period) on the first sample and
evaluates the tuned settings on the test period. The MIND sample (``/work/shared/data`` beside
the repository) is evaluated end to end and its coverage reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "quality"
MIND = ROOT.parent / "shared" / "data" / "mind-sample"
NEWSREC = [sys.executable, "-m", "recommender.cli"]
SINGLE = ("most_viewed", "most_viewed_live", "content", "coview")


def run(args: list[str]) -> float:
    print("$ newsrec " + " ".join(args), flush=True)
    start = time.perf_counter()
    subprocess.run([*NEWSREC, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def sample(n_articles: int, seed: int) -> Path:
    folder = OUT / f"sample-{n_articles}-seed{seed}"
    if not (folder / "views.csv").is_file():
        run(
            [
                "generate-sample",
                "--articles",
                str(n_articles),
                "--days",
                "30",
                "--seed",
                str(seed),
                "--out",
                str(folder),
            ]
        )
    return folder


def evaluate(
    folder: Path, name: str, extra: list[str] | None = None
) -> tuple[dict[str, Any], float]:
    out = OUT / f"{name}.json"
    seconds = run(
        [
            "evaluate",
            "--articles",
            str(folder / "articles.jsonl"),
            "--views",
            str(folder / "views.csv"),
            "--test-days",
            "3",
            "--json",
            str(out),
            "--report",
            str(OUT / f"{name}.html"),
            *(extra or []),
        ]
    )
    summary: dict[str, Any] = json.loads(out.read_text())
    return summary, seconds


def hit10(summary: dict[str, Any], strategy: str, group: str = "all") -> float:
    value = summary["strategies"][strategy][group]["hit_rate@10"]
    return float("nan") if value is None else float(value)


def ratios(summary: dict[str, Any]) -> dict[str, float]:
    best_single = max(hit10(summary, s) for s in SINGLE)
    most_viewed_new = hit10(summary, "most_viewed", "new")
    return {
        "hybrid / best single": hit10(summary, "hybrid") / best_single,
        "new: content_fresh / most_viewed": hit10(summary, "content_fresh", "new")
        / most_viewed_new,
        "new: content / most_viewed": hit10(summary, "content", "new") / most_viewed_new,
        "new: content_fresh / most_viewed_live": hit10(summary, "content_fresh", "new")
        / hit10(summary, "most_viewed_live", "new"),
    }


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def strategy_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for strategy, groups in summary["strategies"].items():
        row = [strategy]
        for group in ("all", "new", "established"):
            row.append(f"{hit10(summary, strategy, group):.3f}")
        metrics = groups["all"]
        row += [
            f"{metrics['mrr@10']:.3f}",
            f"{metrics['ndcg@10']:.3f}",
            f"{metrics['coverage']:.3f}",
            "-" if metrics["mean_age_days"] is None else f"{metrics['mean_age_days']:.1f}",
            f"{metrics['diversity']:.3f}",
        ]
        rows.append(row)
    return rows


STRATEGY_HEADER = [
    "strategy",
    "hit@10",
    "hit@10 new",
    "hit@10 established",
    "mrr@10",
    "ndcg@10",
    "coverage",
    "mean age (d)",
    "diversity",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[3000, 10000])
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="seeds of the first --articles size (larger sizes: the first seed)",
    )
    parser.add_argument("--tune", action="store_true", help="also tune on the first sample")
    parser.add_argument("--tune-budget", type=int, default=30)
    parser.add_argument("--write", type=Path, help="write the markdown section to this file")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    command = "python bench/quality.py " + " ".join(sys.argv[1:])
    md = [
        "## Offline quality (issue 6)",
        "",
        f"Command: `.venv/bin/{command.strip()}` (generated data: `newsrec generate-sample "
        "--articles N --days 30 --seed S`; evaluation: `newsrec evaluate --test-days 3`, "
        "i.e. train on days 1-27, replay days 28-30).",
        "",
    ]
    runs: list[tuple[int, int]] = [(args.articles[0], s) for s in args.seeds]
    runs += [(n, args.seeds[0]) for n in args.articles[1:]]
    all_ratios: dict[int, list[dict[str, float]]] = {}
    first: tuple[Path, str] | None = None
    for n_articles, seed in runs:
        folder = sample(n_articles, seed)
        name = f"eval-{n_articles}-seed{seed}"
        summary, seconds = evaluate(folder, name)
        first = first or (folder, name)
        r = ratios(summary)
        all_ratios.setdefault(n_articles, []).append(r)
        pairs = summary["pairs"]
        md += [
            f"### {n_articles} articles, 30 days, seed {seed}",
            "",
            f"{pairs['pairs']} replayed pairs ({pairs['new_query']} with a new query "
            f"article), {summary['split']['training_views']} training views; evaluation took "
            f"{seconds:.0f} s.",
            "",
            table(strategy_rows(summary), STRATEGY_HEADER),
            "",
            "Ratios: " + "; ".join(f"{k} = {v:.2f}" for k, v in r.items()),
            "",
        ]
        print("\n".join(md[-8:]), flush=True)
    md += ["### Targets (median over seeds)", ""]
    rows = []
    for n_articles, rs in all_ratios.items():
        for key, target in (
            ("hybrid / best single", 1.1),
            ("new: content_fresh / most_viewed", 3.0),
            ("new: content / most_viewed", 3.0),
            ("new: content_fresh / most_viewed_live", 3.0),
        ):
            values = [r[key] for r in rs]
            median = statistics.median(values)
            rows.append(
                [
                    str(n_articles),
                    str(len(values)),
                    key,
                    ", ".join(f"{v:.2f}" for v in values),
                    f"{median:.2f}",
                    f">= {target}",
                    "met" if median >= target else "NOT met",
                ]
            )
    md += [
        table(rows, ["articles", "seeds", "ratio", "per seed", "median", "target", "result"]),
        "",
    ]
    if args.tune and first is not None:
        folder, name = first
        tuned = OUT / "tuned.toml"
        seconds = run(
            [
                "tune",
                "--articles",
                str(folder / "articles.jsonl"),
                "--views",
                str(folder / "views.csv"),
                "--test-days",
                "3",
                "--budget",
                str(args.tune_budget),
                "--out",
                str(tuned),
            ]
        )
        summary, _ = evaluate(folder, f"{name}-tuned", ["--config", str(tuned)])
        base = json.loads((OUT / f"{name}.json").read_text())
        settings = [
            line for line in tuned.read_text().splitlines() if line and not line.startswith("#")
        ]
        md += [
            f"### Tuned on {folder.name} (budget {args.tune_budget}, {seconds:.0f} s)",
            "",
            "Settings found on the validation period (days 25-27):",
            "",
            "```toml",
            *settings,
            "```",
            "",
            "On the test period (days 28-30), defaults vs tuned:",
            "",
            table(
                [
                    [
                        s,
                        f"{hit10(base, s):.3f}",
                        f"{hit10(summary, s):.3f}",
                        f"{hit10(summary, s) / hit10(base, s):.3f}",
                    ]
                    for s in ("coview", "content_fresh", "hybrid")
                ],
                ["strategy", "hit@10 defaults", "hit@10 tuned", "ratio"],
            ),
            "",
        ]
        print("\n".join(md[-12:]), flush=True)
    if (MIND / "behaviors.tsv").is_file():
        out = OUT / "mind.json"
        seconds = run(
            [
                "evaluate",
                "--mind",
                str(MIND),
                "--test-from",
                "2019-11-13",
                "--json",
                str(out),
                "--report",
                str(OUT / "mind.html"),
            ]
        )
        summary = json.loads(out.read_text())
        pairs = summary["pairs"]
        total = max(pairs["pairs"], 1)
        md += [
            "### MIND sample (`newsrec evaluate --mind ../shared/data/mind-sample "
            "--test-from 2019-11-13`)",
            "",
            f"Runs end to end in {seconds:.0f} s. {summary['mind_replay_rule']}.",
            "",
            table(
                [
                    [k, str(pairs[k]), f"{100 * pairs[k] / total:.1f}%"]
                    for k in (
                        "pairs",
                        "evaluated",
                        "query_in_training",
                        "target_in_training",
                        "both_in_training",
                        "new_query",
                    )
                ],
                ["replay pairs", "count", "share"],
            ),
            "",
            f"Training: {summary['split']['training_articles']} articles, "
            f"{summary['split']['training_views']} views before the split. The sample's "
            "news.tsv covers about 3% of the clicked ids (see its SOURCE.md), so almost no "
            "test pair can be evaluated: the figures test the pipeline, not the methods.",
            "",
        ]
        print("\n".join(md[-12:]), flush=True)
    else:
        md += [f"MIND sample not found at {MIND}: skipped.", ""]
    text = "\n".join(md)
    print()
    print(text)
    if args.write:
        args.write.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
