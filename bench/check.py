"""``make bench-check``: every headline figure re-checked in one run, at a reduced, stated size.

Run from the repository root (under 10 minutes on 2 cores once the data is cached in
``bench/out/``; the first run also generates it)::

    .venv/bin/python bench/check.py [--redis-db 10]

It reuses the benchmark scripts rather than copying them: bench/train.py's functions in this
process, bench/serve.py and bench/ingest.py as commands with small sizes. Each figure is a
ratio to a baseline measured in the same run where the benchmark has one:

* content top-50 of 5,000 rows against all 20,000 articles vs sparse-dot-topn (<= 1.1x);
* co-view of 2,000,000 events over 20,000 articles vs implicit (<= 1.0x), medians of 3;
* ``newsrec train`` end to end on 20,000 generated articles (about 2 million views), with its
  self-calibration: wall against issue 2's 180 s at 100,000 articles scaled linearly (36 s),
  and peak memory (<= 4 GiB);
* serving a 20,000-article bundle, 2 repeats of 5 s: related warm and cold and most-viewed as
  ratios to the bare WSGI app under the same gunicorn (>= 0.6x, 0.3x, 0.6x), start to
  ``/readyz`` (<= 2 s);
* ingestion on a 2,000-article bundle, 1 repeat of 3 s: single-event posts (>= 2,000/s) and
  batches of 100 (>= 20,000 events/s), with their ratio to ``GET /healthz`` of the same run,
  and related's p99 while ingesting on an events pool (<= 2x idle).

Idleness: before the run, the 1-minute load average and the cores' idle share over 5 s
(``/proc/stat``); during each part, the share of the cores that other processes used (all
busy time minus this run's own processes, its children and, for ingestion, redis-server).
A part is *busy* when the machine was busy before the run (load average above 1, or under 85%
idle) or other processes took more than 15% of the cores during it; its figures then say
"busy: rerun" instead of met or missed: a figure measured on a shared machine proves nothing
either way. Prints one table (figure, target, measured, met) and writes it, with the
idleness, to ``bench/results/bench-check.json``; bench/summary.py puts the last one into
bench/RESULTS.md. Exit status 0 when every judged figure is met (busy ones included), 1 when one
is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import train as train_bench
from _harness import idle_fraction, log
from _results import RESULTS_DIR, Figure, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "out" / "check"
PYTHON = sys.executable

#: Busy before the run: 1-minute load average above this, or the cores less idle than this.
MAX_LOAD_BEFORE = 1.0
MIN_IDLE_BEFORE = 0.85
#: Busy during a part: other processes used more than this share of all cores.
MAX_OTHERS_SHARE = 0.15

TRAIN_ARTICLES = 20_000
TRAIN_WALL_TARGET_S = 180.0 * TRAIN_ARTICLES / 100_000
COVIEW_ARTICLES, COVIEW_EVENTS = 20_000, 2_000_000
TOPN_QUERIES = 5_000
SERVE_ARTICLES, SERVE_REPEATS, SERVE_DURATION = 20_000, 2, 5
INGEST_ARTICLES, INGEST_REPEATS, INGEST_DURATION = 2_000, 1, 3


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def _own_cpu_s() -> float:
    """CPU seconds of this process and of its children that have finished."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _redis_cpu_s() -> float:
    """CPU seconds of the local redis-server (work this run causes while ingesting)."""
    pids = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True).stdout
    total = 0.0
    for pid in pids.split():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass
class Part:
    name: str
    figures: list[Figure] = field(default_factory=list)
    others_share: float = 0.0
    load_start: float = 0.0
    seconds: float = 0.0
    error: str | None = None


def measure(name: str, run: Callable[[], list[Figure]], with_redis: bool = False) -> Part:
    """Run one part; the share of the cores other processes used meanwhile."""
    part = Part(name, load_start=os.getloadavg()[0])
    hz = os.sysconf("SC_CLK_TCK")
    busy0, total0 = _cpu_jiffies()
    own0, redis0 = _own_cpu_s(), _redis_cpu_s() if with_redis else 0.0
    start = time.perf_counter()
    try:
        part.figures = run()
    except (subprocess.CalledProcessError, OSError, RuntimeError, KeyError, ValueError) as exc:
        part.error = f"{type(exc).__name__}: {exc}"
    part.seconds = time.perf_counter() - start
    busy1, total1 = _cpu_jiffies()
    own = (_own_cpu_s() - own0) * hz
    if with_redis:
        own += (_redis_cpu_s() - redis0) * hz
    part.others_share = max(0.0, (busy1 - busy0) - own) / max(total1 - total0, 1)
    log(f"{name}: {part.seconds:.0f} s, others used {part.others_share:.0%} of the cores")
    return part


def train_part() -> list[Figure]:
    e2e = train_bench.bench_end_to_end(TRAIN_ARTICLES, 1)
    folder = train_bench.ensure_sample(TRAIN_ARTICLES)
    topn = train_bench.bench_content_topn(folder, 3, TOPN_QUERIES)
    coview = train_bench.bench_coview(COVIEW_ARTICLES, COVIEW_EVENTS, 3)
    return [
        train_bench.topn_figure(topn),
        train_bench.coview_figure(coview),
        *train_bench.end_to_end_figures(e2e, TRAIN_WALL_TARGET_S),
    ]


def _script_figures(script: str, args: list[str]) -> list[Figure]:
    """Run a benchmark script with ``--json`` into the work folder; its figures."""
    out = WORK / f"{Path(script).stem}.json"
    out.unlink(missing_ok=True)
    report = WORK / f"{Path(script).stem}.md"
    proc = subprocess.run(
        [PYTHON, f"bench/{script}", *args, "--json", str(out), "--results", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # exit 1 only says that a target was missed
    if not out.is_file():
        raise RuntimeError(f"bench/{script} wrote no figures: {proc.stderr.strip()[-500:]}")
    record: dict[str, Any] = json.loads(out.read_text())
    return [Figure(**f) for f in record["figures"]]


def serve_part() -> list[Figure]:
    return _script_figures(
        "serve.py",
        [
            "--articles",
            str(SERVE_ARTICLES),
            "--repeats",
            str(SERVE_REPEATS),
            "--duration",
            str(SERVE_DURATION),
        ],
    )


def ingest_part(redis_db: int) -> Callable[[], list[Figure]]:
    def run() -> list[Figure]:
        if shutil.which("wrk") is None:
            raise RuntimeError("wrk is missing: apt-get install -y wrk")
        return _script_figures(
            "ingest.py",
            [
                "--articles",
                str(INGEST_ARTICLES),
                "--repeats",
                str(INGEST_REPEATS),
                "--duration",
                str(INGEST_DURATION),
                "--wait",
                "0",
                "--redis-db",
                str(redis_db),
            ],
        )

    return run


def verdict(figure: Figure, busy: bool) -> str:
    if figure.met is None:
        return "-"
    if busy:
        return "busy: rerun"
    return "yes" if figure.met else "**no**"


def render(parts: list[Part], load_before: float, idle_before: float, busy_before: bool) -> str:
    lines = [
        f"Before the run: 1-minute load average {load_before:.2f}, cores {idle_before:.0%} idle "
        f"over 5 s{' (busy)' if busy_before else ''}. During each part, the share of the cores "
        "other processes used: "
        + "; ".join(
            f"{p.name} {p.others_share:.0%} ({p.seconds:.0f} s, load {p.load_start:.2f} at its "
            "start)"
            for p in parts
        )
        + f". Busy: load above {MAX_LOAD_BEFORE:g} or under {MIN_IDLE_BEFORE:.0%} idle before, "
        f"or others above {MAX_OTHERS_SHARE:.0%} during a part.",
        "",
        "| figure | target | measured | met |",
        "|---|---|---|---|",
    ]
    for part in parts:
        busy = busy_before or part.others_share > MAX_OTHERS_SHARE
        if part.error is not None:
            lines.append(f"| {part.name} | - | not run: {part.error} | **no** |")
        for f in part.figures:
            lines.append(
                f"| {f.figure} (issue {f.issue}) | {f.target} | {f.measured} | {verdict(f, busy)} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis-db", type=int, default=10, help="Redis DB the ingestion part flushes"
    )
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench-check.json")
    args = parser.parse_args()
    os.chdir(ROOT)
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    idle_before = idle_fraction(5)
    busy_before = load_before > MAX_LOAD_BEFORE or idle_before < MIN_IDLE_BEFORE
    parts = [
        measure("train", train_part),
        measure("serve", serve_part),
        measure("ingest", ingest_part(args.redis_db), with_redis=True),
    ]
    table = render(parts, load_before, idle_before, busy_before)
    minutes = (time.perf_counter() - started) / 60
    print(table)
    print(f"({minutes:.1f} minutes)")
    figures = [f for p in parts for f in p.figures]
    busy = {
        f.key: busy_before or p.others_share > MAX_OTHERS_SHARE for p in parts for f in p.figures
    }
    write_result(
        "bench-check",
        command_line("check.py"),
        figures,
        load_before=load_before,
        idle_before=idle_before,
        path=args.json,
        extra={
            "minutes": round(minutes, 1),
            "busy_before": busy_before,
            "parts": [
                {
                    "name": p.name,
                    "others_share": round(p.others_share, 3),
                    "seconds": round(p.seconds, 1),
                    "load_start": round(p.load_start, 2),
                    "error": p.error,
                }
                for p in parts
            ],
            "busy": busy,
            "table": table,
        },
    )
    missed = any(p.error for p in parts) or any(f.met is False and not busy[f.key] for f in figures)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
