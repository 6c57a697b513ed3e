"""Result files of the benchmarks: ``bench/results/<name>.json``, what bench/summary.py reads.

Each full run of a benchmark script writes one file: when (UTC), at which commit (``-dirty``
when the work tree had changes), the exact command, the machine's load and idleness, and its
headline figures, each with the issue, the target and whether it was met. bench/summary.py
rewrites the summary table of bench/RESULTS.md from them, so a figure carries its date and
commit and an old figure looks old.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"


@dataclass
class Figure:
    """One headline figure: ``key`` names it across runs (``serve.related-warm``)."""

    key: str
    issue: str
    figure: str
    target: str
    measured: str
    met: bool | None  # None: a reported figure without a target


def commit() -> str:
    """The short commit of the work tree, ``-dirty`` when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def command_line(script: str, argv: list[str] | None = None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return shlex.join([".venv/bin/python", f"bench/{script}", *args])


def write_result(
    name: str,
    command: str,
    figures: list[Figure],
    *,
    load_before: float,
    load_after: float | None = None,
    idle_before: float | None = None,
    extra: dict[str, Any] | None = None,
    path: Path | None = None,
) -> Path:
    """Write ``bench/results/<name>.json`` (or ``path``) and return where."""
    target = path or RESULTS_DIR / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "name": name,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "command": command,
        "load_1min_before": round(load_before, 2),
        "load_1min_after": round(os.getloadavg()[0] if load_after is None else load_after, 2),
        "idle_before": None if idle_before is None else round(idle_before, 3),
        "figures": [asdict(f) for f in figures],
        **(extra or {}),
    }
    target.write_text(json.dumps(record, indent=1) + "\n")
    return target
