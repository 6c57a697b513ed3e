"""``newsrec train`` with several ``--views`` sources, and its refusal of a thin view log."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from recommender.bundle import MANIFEST, latest_version, list_versions
from recommender.cli import main
from recommender.cli.exits import EXIT_GATE_REFUSED, EXIT_OK, EXIT_USAGE
from recommender.data.views import ViewEvents, read_views
from recommender.sources.sample import generate_sample
from recommender.windows import DAY


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A site's imported history (a CSV up to the last day) and its live event log (the last
    day, as the service writes it: daily JSON Lines files)."""
    out = tmp_path_factory.mktemp("site")
    info = generate_sample(out / "sample", n_articles=120, days=6, seed=5)
    with open(info.views_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    events = read_views(info.views_path)
    assert isinstance(events, ViewEvents)
    cut = int(events.timestamps.max()) + 1 - DAY
    history = out / "history.csv"
    live = out / "live-events"
    live.mkdir()
    with open(history, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["session_id", "article_id", "timestamp"])
        for row, ts in zip(rows, events.timestamps.tolist(), strict=True):
            if ts < cut:
                writer.writerow([row["session_id"], row["article_id"], row["timestamp"]])
    with open(live / "events-2026-11-30-web-1.jsonl", "w") as handle:
        for row, ts in zip(rows, events.timestamps.tolist(), strict=True):
            if ts >= cut:
                record = {"session_id": row["session_id"], "article_id": row["article_id"]}
                handle.write(json.dumps({**record, "timestamp": ts}) + "\n")
    return {
        "articles": info.articles_path,
        "views": info.views_path,
        "history": history,
        "live": live,
    }


def _train(site: dict[str, Path], models: Path, *views: Path, extra: tuple[str, ...] = ()) -> int:
    sources = [arg for path in views for arg in ("--views", str(path))]
    return main(
        [
            "train",
            "--articles",
            str(site["articles"]),
            *sources,
            "--out",
            str(models),
            "--no-calibrate",
            "--no-progress",
            *extra,
        ]
    )


def _manifest(models: Path) -> dict[str, object]:
    version = latest_version(models)
    assert version is not None
    manifest: dict[str, object] = json.loads((models / version / MANIFEST).read_text())
    return manifest


def test_cli_train_history_and_live_log_make_the_whole_log(
    site: dict[str, Path], tmp_path: Path
) -> None:
    whole, joined = tmp_path / "whole", tmp_path / "joined"
    assert _train(site, whole, site["views"]) == EXIT_OK
    assert _train(site, joined, site["history"], site["live"]) == EXIT_OK
    expected, got = _manifest(whole), _manifest(joined)
    counts, got_counts = expected["counts"], got["counts"]
    assert isinstance(counts, dict) and isinstance(got_counts, dict)
    # a session that spans the cut is in both sources and still counts once
    for name in ("sessions", "view_rows", "coview_pairs"):
        assert got_counts[name] == counts[name], name
    inputs = got["inputs"]
    assert isinstance(inputs, list)
    assert [(i["role"], i["path"]) for i in inputs] == [
        ("articles", str(site["articles"])),
        ("views", str(site["history"])),
        ("views", str(site["live"])),
    ]


def test_cli_train_refuses_a_log_far_thinner_than_latest(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    assert _train(site, models, site["history"], site["live"]) == EXIT_OK
    before = latest_version(models)
    sessions = _manifest(models)["counts"]["sessions"]  # type: ignore[index]
    capsys.readouterr()

    # the live log alone (the last day of six) would replace a model of the whole history
    assert _train(site, models, site["live"]) == EXIT_GATE_REFUSED
    err = capsys.readouterr().err
    assert "gate refused" in err and "far thinner" in err
    assert f"against its {sessions:,}" in err and "50%" in err
    assert "--force" in err and f"LATEST still names {before}" in err
    assert latest_version(models) == before and list_versions(models) == [before]

    # content only, where LATEST had views: thinner too
    assert _train(site, models) == EXIT_GATE_REFUSED
    assert "0 view rows" in capsys.readouterr().err

    assert _train(site, models, site["live"], extra=("--force",)) == EXIT_OK
    assert "publishing anyway (--force)" in capsys.readouterr().err
    assert latest_version(models) != before


def test_cli_train_accepts_a_log_as_rich_as_latest(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    assert _train(site, models, site["views"]) == EXIT_OK
    # history alone is five days of six: not far thinner
    assert _train(site, models, site["history"]) == EXIT_OK
    assert "thinner" not in capsys.readouterr().err
    assert len(list_versions(models)) == 2


def test_cli_train_bad_row_names_its_source_file_and_line(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live"
    live.mkdir()
    good = (site["live"] / "events-2026-11-30-web-1.jsonl").read_text()
    broken = live / "events-2026-12-01-web-1.jsonl"
    broken.write_text(
        '{"session_id":"x","article_id":"a000001","timestamp":1790000000}\n'
        '{"session_id":"x","article_id":"a000002","timestamp":"soon"}\n'
    )
    (live / "events-2026-11-30-web-1.jsonl").write_text(good)
    models = tmp_path / "models"
    assert _train(site, models, site["history"], live) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{broken}:2" in err and "soon" in err
    assert latest_version(models) is None
    assert _train(site, models, site["history"], live, extra=("--max-invalid", "1")) == EXIT_OK
    assert _manifest(models)["counts"]["invalid_view_rows"] == 1  # type: ignore[index]


def test_cli_train_mixed_formats_and_keys_join_but_counts_do_not(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an analytics export keyed by user, gzip-free CSV, beside session-keyed JSON Lines
    users = tmp_path / "users.csv"
    users.write_text(
        "user_id,article_id,timestamp\n"
        "u1,a000001,2026-11-01T10:00:00Z\nu1,a000002,2026-11-01T10:05:00Z\n"
        "u1,a000003,2026-11-03T10:00:00Z\n"
    )
    sessions = tmp_path / "sessions.jsonl"
    sessions.write_text('{"session_id":"u1","article_id":"a000004","timestamp":1793534400}\n')
    models = tmp_path / "models"
    assert _train(site, models, users, sessions) == EXIT_OK
    # u1's two visits are two sessions; the session id "u1" is a third (ids of two kinds)
    assert _manifest(models)["counts"]["sessions"] == 3  # type: ignore[index]

    counts = tmp_path / "counts.csv"
    counts.write_text("article_id,views\na000001,12\n")
    assert _train(site, tmp_path / "m2", counts, site["live"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "mixes view counts with view events" in err
    assert f"{counts} has view counts" in err and "has view events keyed by session_id" in err

    assert _train(site, tmp_path / "m3", site["history"], tmp_path / "missing") == EXIT_USAGE
    assert "not found" in capsys.readouterr().err
