"""Rewrite bench/RESULTS.md's summary table (and its last bench-check) from bench/results/.

Run from the repository root after a benchmark run::

    .venv/bin/python bench/summary.py          # rewrites the parts between the markers
    .venv/bin/python bench/summary.py --check  # exit 1 when RESULTS.md is not up to date

Sources, newest first for each figure's ``key``:

* the result files the benchmark scripts write on a full run (``train.json``,
  ``train-coview.json``, ``train-end-to-end.json``, ``serve.json``, ``ingest.json``): each
  figure with the run's date and commit;
* ``recorded.json``: the figures typed in by hand before the scripts wrote result files,
  with the date and commit of the edit that last changed them (a script's result of the same
  key replaces one).

``bench-check.json`` (``make bench-check``, reduced sizes) never enters the summary table: it
goes, with its idleness, into the "Last bench-check" section.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from _results import RESULTS_DIR

ROOT = Path(__file__).resolve().parent.parent
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
SUMMARY = ("<!-- summary: written by bench/summary.py -->", "<!-- summary: end -->")
CHECK = ("<!-- bench-check: written by bench/summary.py -->", "<!-- bench-check: end -->")
CHECK_FILE = "bench-check.json"


def _met(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "**no**"
    if value is None:
        return "-"
    return str(value)


def rows(results: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every figure's newest row, in the recorded order (new keys after their issue's)."""
    recorded = json.loads((results / "recorded.json").read_text())["rows"]
    best: dict[str, dict[str, Any]] = {r["key"]: {**r, "source": "recorded"} for r in recorded}
    order = [r["key"] for r in recorded]
    for path in sorted(results.glob("*.json")):
        if path.name in ("recorded.json", CHECK_FILE):
            continue
        record = json.loads(path.read_text())
        for figure in record["figures"]:
            row = {
                **figure,
                "met": _met(figure["met"]),
                "date": record["date"],
                "commit": record["commit"],
                "source": f"`{record['command']}`, 1-minute load {record['load_1min_before']}",
            }
            old = best.get(figure["key"])
            if old is None or old["date"] <= row["date"]:
                best[figure["key"]] = row
            if figure["key"] not in order:
                same_issue = [i for i, k in enumerate(order) if best[k]["issue"] == row["issue"]]
                order.insert(same_issue[-1] + 1 if same_issue else len(order), figure["key"])
    return [best[k] for k in order]


def summary_table(results: Path = RESULTS_DIR) -> str:
    lines = [
        "| issue | figure | target | measured | met | date, commit |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows(results):
        when = f"{r['date']}, {r['commit']}"
        if r["source"] == "recorded":
            when += " (recorded by hand)"
        lines.append(
            f"| {r['issue']} | {r['figure']} | {r['target']} | {r['measured']} | "
            f"{_met(r['met'])} | {when} |"
        )
    return "\n".join(lines)


def check_section(results: Path = RESULTS_DIR) -> str:
    path = results / CHECK_FILE
    if not path.is_file():
        return "No `make bench-check` recorded yet."
    record = json.loads(path.read_text())
    return (
        f"`make bench-check` (`{record['command']}`), {record['date']}, commit "
        f"{record['commit']}, {record['minutes']} minutes.\n\n" + record["table"].rstrip()
    )


def replace_between(text: str, markers: tuple[str, str], body: str) -> str:
    start, end = markers
    if start not in text or end not in text:
        raise SystemExit(f"bench/RESULTS.md lacks the markers {start} ... {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def render(text: str, results: Path = RESULTS_DIR) -> str:
    text = replace_between(text, SUMMARY, summary_table(results))
    return replace_between(text, CHECK, check_section(results))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args()
    text = RESULTS_MD.read_text()
    new = render(text)
    if args.check:
        if new != text:
            print("bench/RESULTS.md is not up to date: run bench/summary.py", file=sys.stderr)
            return 1
        return 0
    RESULTS_MD.write_text(new)
    print(f"wrote {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
