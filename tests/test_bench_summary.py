"""bench/RESULTS.md's summary comes from the result files, and bench-check says when it was busy.

No timing here: only what the scripts write from figures they are given.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(autouse=True)
def _bench_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))


def _figure(key: str, measured: str, met: bool | None, issue: str = "2") -> dict[str, object]:
    return {
        "key": key,
        "issue": issue,
        "figure": f"the {key} figure",
        "target": "<= 1.0x",
        "measured": measured,
        "met": met,
    }


def test_summary_newest_figure_wins_and_carries_date_and_commit(tmp_path: Path) -> None:
    import summary

    recorded = [
        {
            **_figure("train.coview", "0.97x", True),
            "met": "yes",
            "date": "2026-11-27",
            "commit": "aaa1111",
        },
        {
            **_figure("serve.warm", "0.93x", True, "3"),
            "met": "yes",
            "date": "2026-11-28",
            "commit": "bbb2222",
        },
    ]
    (tmp_path / "recorded.json").write_text(json.dumps({"rows": recorded}))
    (tmp_path / "train-coview.json").write_text(
        json.dumps(
            {
                "date": "2026-12-03 14:10 UTC",
                "commit": "ccc3333-dirty",
                "command": ".venv/bin/python bench/train.py --coview-only",
                "load_1min_before": 3.5,
                "figures": [
                    _figure("train.coview", "1.31x", False),
                    _figure("train.new", "12 s", None),
                ],
            }
        )
    )
    # a bench-check's reduced figures never replace a full run's
    (tmp_path / "bench-check.json").write_text(
        json.dumps(
            {
                "date": "2026-12-04 10:00 UTC",
                "commit": "ddd4444",
                "command": "bench/check.py",
                "load_1min_before": 0.2,
                "minutes": 7.5,
                "table": "| figure | target | measured | met |\n| x | y | 0.5x | busy: rerun |\n",
                "figures": [_figure("train.coview", "0.50x", True)],
            }
        )
    )
    text = (
        "intro\n<!-- summary: written by bench/summary.py -->\nold table\n<!-- summary: end -->\n"
    )
    text += "mid\n<!-- bench-check: written by bench/summary.py -->\n<!-- bench-check: end -->\n"
    out = summary.render(text, tmp_path)
    lines = out.splitlines()
    assert "old table" not in out and lines[0] == "intro" and "mid" in lines
    coview = next(line for line in lines if "the train.coview figure" in line)
    assert (
        "1.31x" in coview and "**no**" in coview and "2026-12-03 14:10 UTC, ccc3333-dirty" in coview
    )
    warm = next(line for line in lines if "the serve.warm figure" in line)
    assert "2026-11-28, bbb2222 (recorded by hand)" in warm
    # a new figure sits with its issue's, before the next issue's
    keys = [line for line in lines if "figure |" in line and line.startswith("| 2")]
    assert [k.split("|")[2].strip() for k in keys] == [
        "the train.coview figure",
        "the train.new figure",
    ]
    assert lines.index(keys[-1]) < lines.index(warm)
    assert "2026-12-04 10:00 UTC, commit ddd4444" in out and "busy: rerun" in out
    assert summary.render(out, tmp_path) == out  # idempotent


def test_summary_refuses_a_file_without_markers(tmp_path: Path) -> None:
    import summary

    (tmp_path / "recorded.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(SystemExit, match="markers"):
        summary.render("no markers here", tmp_path)


def test_bench_check_says_busy_rather_than_met_or_missed() -> None:
    import check
    from _results import Figure

    missed = Figure("train.coview", "2, 19", "co-view", "<= 1.0x", "1.30x", False)
    met = Figure("train.topn", "2", "top-n", "<= 1.1x", "1.02x", True)
    report = Figure("train.scaling", "2", "growth", "report", "N^1.3", None)
    quiet = check.Part("train", [missed, met, report], others_share=0.05)
    busy = check.Part("serve", [missed, met], others_share=0.40)
    table = check.render([quiet, busy], load_before=0.3, idle_before=0.97, busy_before=False)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "issue" in line]
    assert [row.rsplit("|", 2)[1].strip() for row in rows] == [
        "**no**",
        "yes",
        "-",
        "busy: rerun",
        "busy: rerun",
    ]
    assert "serve 40%" in table and "train 5%" in table
    before = check.render([quiet], load_before=3.2, idle_before=0.4, busy_before=True)
    assert "(busy)" in before and "**no**" not in before and "busy: rerun" in before
    failed = check.Part("ingest", error="RuntimeError: wrk is missing")
    assert "not run: RuntimeError: wrk is missing" in check.render(
        [failed], load_before=0.3, idle_before=0.97, busy_before=False
    )
