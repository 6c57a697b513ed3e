"""Bundle housekeeping: stale staging folders, permissions, and ``newsrec models``."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender import bundle as bundle_mod
from recommender.bundle import STAGING_MAX_AGE, latest_version, list_versions
from recommender.cli import main
from recommender.config import TrainConfig
from recommender.train import train
from tests.recommender.test_train import ARTICLES, VIEWS


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    views = tmp_path / "views.csv"
    views.write_text(VIEWS)
    return articles, views


def _train(inputs: tuple[Path, Path], models: Path, **changes: object) -> str:
    config = TrainConfig(coview_min_count=1, **changes)  # type: ignore[arg-type]
    return train(*inputs, models, config=config).version


def _staging(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if p.name.startswith(".tmp-") and p.is_dir())


def _backdate(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


# A real training process that stops inside the bundle writer after its first array, holding
# its staging folder (and lock) until it is killed.
_PAUSED_TRAIN = """
import sys, time, numpy as np
original = np.save
def paused_save(*args, **kwargs):
    original(*args, **kwargs)
    print("wrote", flush=True)
    time.sleep(600)
np.save = paused_save
from recommender.config import TrainConfig
from recommender.train import train
train(sys.argv[1], sys.argv[2], sys.argv[3], config=TrainConfig(coview_min_count=1))
"""


@pytest.fixture
def paused_trains() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _start_paused(
    procs: list[subprocess.Popen[str]], inputs: tuple[Path, Path], models: Path
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_TRAIN, str(inputs[0]), str(inputs[1]), str(models)],
        stdout=subprocess.PIPE,
        text=True,
    )
    procs.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("wrote")
    return proc


def test_stale_staging_removed_by_next_publish_and_prune_never_a_running_one(
    inputs: tuple[Path, Path],
    tmp_path: Path,
    paused_trains: list[subprocess.Popen[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = tmp_path / "models"
    first = _train(inputs, models)
    running = _start_paused(paused_trains, inputs, models)
    (held,) = _staging(models)
    _backdate(models / held, 2 * STAGING_MAX_AGE)  # old, but its train is still writing
    second = _train(inputs, models)
    assert _staging(models) == [held], "a running train's staging folder was removed"

    running.send_signal(signal.SIGKILL)
    running.wait()
    # now stale: old, and its train is dead
    assert main(["models", "prune", "--models", str(models)]) == 0
    assert held in capsys.readouterr().out
    assert [p.name for p in models.iterdir() if p.name.startswith(".")] == []  # lock too

    killed = _start_paused(paused_trains, inputs, models)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    (young,) = _staging(models)
    third = _train(inputs, models)
    assert _staging(models) == [young]  # left a moment ago: kept for now
    _backdate(models / young, STAGING_MAX_AGE + 60)
    fourth = _train(inputs, models)
    assert [p.name for p in models.iterdir() if p.name.startswith(".")] == []
    assert list_versions(models) == [first, second, third, fourth]
    assert latest_version(models) == fourth


def test_prune_keeps_the_newest_and_latest(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    models = tmp_path / "models"
    versions = [_train(inputs, models, keep=10) for _ in range(3)]
    assert main(["models", "rollback", versions[0], "--models", str(models)]) == 0
    assert main(["models", "prune", "--keep", "1", "--models", str(models)]) == 0
    assert list_versions(models) == [versions[0], versions[2]]  # LATEST is never removed


@pytest.mark.parametrize(
    ("umask", "folder", "file"), [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)]
)
def test_bundle_permissions_follow_the_umask(
    inputs: tuple[Path, Path], tmp_path: Path, umask: int, folder: int, file: int
) -> None:
    previous = os.umask(umask)
    try:
        version = _train(inputs, tmp_path / "models")
    finally:
        os.umask(previous)
    path = tmp_path / "models" / version
    assert stat.S_IMODE(path.stat().st_mode) == folder
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()}
    assert modes and set(modes.values()) == {file}, modes
    assert stat.S_IMODE((tmp_path / "models" / "LATEST").stat().st_mode) == file


def test_models_options_after_the_subcommand(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    one, two = _train(inputs, models), _train(inputs, models)
    assert main(["models", "list", "--models", str(models)]) == 0
    assert f"* {two}" in " ".join(capsys.readouterr().out.split())
    assert main(["models", "list", "--json", "--models", str(models)]) == 0
    assert [r["version"] for r in json.loads(capsys.readouterr().out)] == [one, two]
    assert main(["models", "--models", str(models), "list"]) == 0  # the old order still works
    assert two in capsys.readouterr().out
    assert main(["models", "rollback", one, "--models", str(models)]) == 0
    assert latest_version(models) == one


def test_models_list_shows_a_broken_latest_and_fails(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    one, two = _train(inputs, models), _train(inputs, models)
    data = (models / two / "content_scores.npy").read_bytes()
    (models / two / "content_scores.npy").write_bytes(data[: len(data) // 2])
    assert main(["models", "list", "--models", str(models)]) == 2
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if two in line)
    assert row.startswith("*") and "broken" in row and "content_scores" in row
    assert "broken" not in next(line for line in out.splitlines() if one in line)
    assert main(["models", "list", "--json", "--models", str(models)]) == 2
    rows = {r["version"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[two]["latest"] and "content_scores" in rows[two]["error"]
    assert rows[one]["error"] is None
    # a broken bundle that LATEST does not name is shown, but the service is fine: exit 0
    assert main(["models", "rollback", one, "--models", str(models)]) == 0
    assert main(["models", "list", "--models", str(models)]) == 0
    assert "broken" in capsys.readouterr().out
    # LATEST naming a bundle that is not there at all
    bundle_mod.set_latest_version(models, one)
    (models / "LATEST").write_text("20000101T000000Z\n")
    assert main(["models", "list", "--models", str(models)]) == 2
    assert "20000101T000000Z" in capsys.readouterr().out


def test_vectorizer_of_a_bundle_written_by_joblib_still_loads(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    # bundles now hold a plain pickle; one written before (joblib.dump) must fold in the same
    import joblib

    models = tmp_path / "models"
    version = _train(inputs, models)
    bundle = bundle_mod.Bundle.load(models / version)
    text = ["storm grid outage winter power"]
    plain = bundle.vectorizer.transform(text)
    joblib.dump(bundle.vectorizer, models / version / bundle_mod.VECTORIZER)
    older = bundle_mod.Bundle.load(models / version).vectorizer.transform(text)
    assert plain.nnz > 0
    assert (plain != older).nnz == 0
