"""Issue 16's done-when: bench/train.py and bench/serve.py before and after the restructuring.

Run from the repository root, with two work trees that each have their own ``.venv``::

    git worktree add --detach /work/wt-before 20beb3c && (cd /work/wt-before && make venv)
    git worktree add --detach /work/wt-after main && (cd /work/wt-after && make venv)
    .venv/bin/python bench/before_after.py --before /work/wt-before --after /work/wt-after

Each tree measures itself with its own bench scripts' functions (``bench/train.py``'s
``train_end_to_end``, ``bench_coview``, ``bench_content_topn``; ``bench/serve.py`` as a
command), in rounds interleaved before, after, before, after, ... so that both see the same
load. Both trees train on the same generated sample (made once by the after tree's generator
and copied into the before tree's ``bench/out``); each serves a bundle it trained itself (the
bundle format changed). ``newsrec train`` runs with ``--no-calibrate`` where the tree has it:
self-calibration is a feature added after the restructuring began, not part of it. Prints a
Markdown section with each figure's median per tree, the after/before ratio and the 1-minute
load averages.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _harness import idle_fraction, log

#: What one tree measures of itself in one round, run with that tree's interpreter.
_SNIPPET = """
import json, sys, time
sys.path.insert(0, "bench")
import train as t
n, events, queries = {n}, {events}, {queries}
folder = t.ensure_sample(n)
models = t.OUT / f"models-{{n}}"
extra = {extra!r}
e2e = t.train_end_to_end(folder, models, *extra) if extra else t.train_end_to_end(folder, models)
topn = t.bench_content_topn(folder, 1, queries)
cv = t.bench_coview(n, events, 1)
print(json.dumps({{
    "train_s": e2e["wall"],
    "train_peak_gib": e2e["peak_gib"],
    "topn_ours_s": topn["ours"],
    "topn_ratio": topn["ratio"],
    "coview_ours_s": cv["ours"],
    "coview_ratio": cv["ratio"],
}}))
"""

SERVE_SCENARIOS = ("related-cold", "related-warm", "most-viewed")


def has_flag(tree: Path, flag: str) -> bool:
    help_text = subprocess.run(
        [str(tree / ".venv" / "bin" / "newsrec"), "train", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return flag in help_text


def train_round(tree: Path, n: int, events: int, queries: int) -> dict[str, float]:
    extra = ("--no-calibrate",) if has_flag(tree, "--no-calibrate") else ()
    code = _SNIPPET.format(n=n, events=events, queries=queries, extra=extra)
    proc = subprocess.run(
        [str(tree / ".venv" / "bin" / "python"), "-c", code],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{tree}: {proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def serve_round(tree: Path, n: int, duration: int, out: Path) -> dict[str, float]:
    """One ``bench/serve.py --repeats 1`` of the tree: req/s ratio to the bare app per scenario."""
    subprocess.run(
        [
            str(tree / ".venv" / "bin" / "python"),
            "bench/serve.py",
            "--repeats",
            "1",
            "--duration",
            str(duration),
            "--articles",
            str(n),
            "--results",
            str(out),
        ],
        cwd=tree,
        capture_output=True,
        text=True,
    )  # exit 1 only says a target was missed
    ratios: dict[str, float] = {}
    for line in out.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] in (*SERVE_SCENARIOS, "baseline"):
            ratios[f"serve_{cells[0]}_rps"] = float(cells[1].replace(",", ""))
            if cells[0] != "baseline":
                ratios[f"serve_{cells[0]}_ratio"] = float(cells[2])
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--articles", type=int, default=20_000, help="train sample size")
    parser.add_argument("--coview-events", type=int, default=2_000_000)
    parser.add_argument("--topn-queries", type=int, default=5_000)
    parser.add_argument("--serve-articles", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    args = parser.parse_args()

    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    sample = f"sample-{args.articles}"
    made = trees["after"] / "bench" / "out" / sample
    if not (made / "views.csv").is_file():
        log(f"generating the sample in {made}")
        subprocess.run(
            [
                str(trees["after"] / ".venv" / "bin" / "python"),
                "-c",
                f"import sys; sys.path.insert(0, 'bench'); import train; "
                f"train.ensure_sample({args.articles})",
            ],
            cwd=trees["after"],
            check=True,
        )
    copy = trees["before"] / "bench" / "out" / sample
    if not (copy / "views.csv").is_file():
        shutil.copytree(made, copy, dirs_exist_ok=True)

    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    started = time.time()
    idle = idle_fraction(5)
    load_start = os.getloadavg()[0]
    for round_no in range(1, args.rounds + 1):
        for name, tree in trees.items():
            log(f"round {round_no}/{args.rounds}: {name} ({tree})")
            load = os.getloadavg()[0]
            figures = train_round(tree, args.articles, args.coview_events, args.topn_queries)
            figures.update(
                serve_round(tree, args.serve_articles, args.duration, Path(f"/tmp/serve-{name}.md"))
            )
            figures["load_1min"] = load
            figures["load_1min_after"] = os.getloadavg()[0]
            log(json.dumps(figures))
            runs[name].append(figures)
    minutes = (time.time() - started) / 60
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    print(render(args, trees, runs, idle, load_start, minutes))
    return 0


LABELS = {
    "train_s": ("newsrec train end to end, s", "lower"),
    "train_peak_gib": ("newsrec train peak RSS, GiB", "lower"),
    "topn_ours_s": ("content top-n (ours), s", "lower"),
    "topn_ratio": ("content top-n / sparse_dot_topn", "lower"),
    "coview_ours_s": ("co-view fit (ours), s", "lower"),
    "coview_ratio": ("co-view / implicit", "lower"),
    "serve_baseline_rps": ("bare app, req/s", "higher"),
    "serve_related-cold_ratio": ("related cold / bare app", "higher"),
    "serve_related-warm_ratio": ("related warm / bare app", "higher"),
    "serve_most-viewed_ratio": ("most-viewed / bare app", "higher"),
}


def render(
    args: argparse.Namespace,
    trees: dict[str, Path],
    runs: dict[str, list[dict[str, float]]],
    idle: float,
    load_start: float,
    minutes: float,
) -> str:
    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name] if key in r)

    lines = [
        f"Command: `python bench/before_after.py --before {trees['before']} --after "
        f"{trees['after']} --rounds {args.rounds} --articles {args.articles} --coview-events "
        f"{args.coview_events} --topn-queries {args.topn_queries} --serve-articles "
        f"{args.serve_articles} --duration {args.duration}` ({time.strftime('%Y-%m-%d %H:%M')} "
        f"UTC, {minutes:.0f} minutes; cores {idle:.0%} idle just before, 1-minute load average "
        f"{load_start:.2f} at the start). Rounds interleaved before, after, ...; medians of "
        f"{args.rounds}.",
        "",
        "| figure | better | before | after | after / before |",
        "|---|---|---|---|---|",
    ]
    for key, (label, better) in LABELS.items():
        if not all(key in r for rs in runs.values() for r in rs):
            continue
        b, a = med("before", key), med("after", key)
        lines.append(f"| {label} | {better} | {b:.3g} | {a:.3g} | {a / b:.2f} |")
    lines += ["", "1-minute load average at the start of each tree's round, in run order:", ""]
    lines.append(
        ", ".join(
            f"before {b['load_1min']:.2f}, after {a['load_1min']:.2f}"
            for b, a in zip(runs["before"], runs["after"], strict=True)
        )
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
