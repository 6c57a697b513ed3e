"""The promotion gate: refuses a worse model, accepts an equal one, records its verdict."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import shutil
from pathlib import Path

import pytest

from recommender.bundle import MANIFEST, latest_version, list_versions
from recommender.cli import main
from recommender.cli.exits import EXIT_GATE_REFUSED
from recommender.config import TrainConfig
from recommender.data.articles import read_articles
from recommender.evaluation.gate import run_gate, train_with_gate
from recommender.evaluation.split import load_events, write_training_inputs
from recommender.sources.sample import generate_sample
from recommender.train import train
from recommender.windows import DAY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("gate-sample")
    info = generate_sample(out, n_articles=300, days=12, seed=11)
    return info.articles_path, info.views_path


@pytest.fixture(scope="module")
def yesterday(sample: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models dir whose LATEST is yesterday's bundle (copy it before changing it)."""
    models = tmp_path_factory.mktemp("yesterday") / "models"
    _yesterday(sample, models, TrainConfig())
    return models


@pytest.fixture(scope="module")
def broken(sample: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _shuffled_history(sample, tmp_path_factory.mktemp("broken") / "views.csv")


def _copy(models: Path, tmp_path: Path) -> tuple[Path, str]:
    target = tmp_path / "models"
    shutil.copytree(models, target)
    version = latest_version(target)
    assert version is not None
    return target, version


def _cut(views: Path) -> int:
    return int(load_events(views).timestamps.max()) + 1 - DAY


def _yesterday(sample: tuple[Path, Path], models: Path, config: TrainConfig) -> str:
    """Publish what yesterday's run would have built: the inputs as they were at the cut."""
    articles, views = sample
    cut = _cut(views)
    inputs = write_training_inputs(
        read_articles(articles).articles, load_events(views), cut, models.parent / "yesterday"
    )
    result = train(
        inputs.articles_path,
        inputs.views_path,
        models,
        config=config,
        now=dt.datetime.fromtimestamp(cut, dt.UTC),
    )
    return result.version


def _shuffled_history(sample: tuple[Path, Path], out: Path) -> Path:
    """The views with every article id before the replay day replaced at random (a broken
    import): the last day, which the gate replays, is intact."""
    _, views = sample
    cut = _cut(views)
    with open(views, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    ids = sorted({r[1] for r in body})
    rng = random.Random(3)
    events = load_events(views)
    out_rows = []
    for row, ts in zip(body, events.timestamps.tolist(), strict=True):
        out_rows.append([row[0], rng.choice(ids), row[2]] if ts < cut else row)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(out_rows)
    return out


def _manifest(models: Path, version: str) -> dict[str, object]:
    manifest: dict[str, object] = json.loads((models / version / MANIFEST).read_text())
    return manifest


def test_gate_passes_with_no_previous_bundle(sample: tuple[Path, Path], tmp_path: Path) -> None:
    models = tmp_path / "models"
    result, gate = train_with_gate(*sample, models)
    assert gate.passed and gate.reason == "no previous bundle"
    assert latest_version(models) == result.version
    recorded = _manifest(models, result.version)["gate"]
    assert isinstance(recorded, dict)
    assert recorded["passed"] is True and recorded["reason"] == "no previous bundle"


def test_gate_accepts_an_equal_model(
    sample: tuple[Path, Path], yesterday: Path, tmp_path: Path
) -> None:
    models, _ = _copy(yesterday, tmp_path)
    result, gate = train_with_gate(*sample, models, config=TrainConfig())
    assert gate.incumbent_mode == "as-is"
    assert gate.candidate is not None and gate.pairs > 100
    assert gate.candidate == pytest.approx(gate.incumbent)
    assert gate.passed
    assert latest_version(models) == result.version
    recorded = _manifest(models, result.version)["gate"]
    assert isinstance(recorded, dict) and recorded["published"] is True


def test_gate_refuses_a_model_trained_on_shuffled_views(
    sample: tuple[Path, Path],
    yesterday: Path,
    broken: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models, old = _copy(yesterday, tmp_path)
    argv = ["train", "--articles", str(sample[0]), "--views", str(broken), "--out", str(models)]
    code = main([*argv, "--gate", "--no-progress"])
    assert code == EXIT_GATE_REFUSED
    err = capsys.readouterr().err
    assert "gate refused" in err and "dropped by" in err
    assert latest_version(models) == old  # the old bundle stays in use
    (new,) = [v for v in list_versions(models) if v != old]
    recorded = _manifest(models, new)["gate"]
    assert isinstance(recorded, dict)
    assert recorded["passed"] is False and recorded["published"] is False
    assert recorded["difference"] < -0.02
    assert recorded["incumbent_version"] == old


def test_gate_force_publishes_a_refused_model(
    sample: tuple[Path, Path], yesterday: Path, broken: Path, tmp_path: Path
) -> None:
    models, _ = _copy(yesterday, tmp_path)
    result, gate = train_with_gate(sample[0], broken, models, force=True)
    assert not gate.passed and gate.forced
    assert latest_version(models) == result.version
    recorded = _manifest(models, result.version)["gate"]
    assert isinstance(recorded, dict)
    assert recorded["passed"] is False and recorded["forced"] is True
    assert recorded["published"] is True


def test_gate_tolerance_is_absolute(
    sample: tuple[Path, Path], yesterday: Path, broken: Path
) -> None:
    lenient = run_gate(sample[0], broken, yesterday, tolerance=1.0)
    assert lenient.passed and lenient.difference is not None and lenient.difference < 0
    lost = -lenient.difference
    # the same figures against a tolerance just under the loss: refused
    assert lost > 0.02
    strict = run_gate(sample[0], broken, yesterday, tolerance=lost - 1e-6)
    assert not strict.passed
    assert strict.candidate == pytest.approx(lenient.candidate)
    assert f"{lost:.4f}" in strict.reason


def test_gate_retrains_an_incumbent_that_has_seen_the_replay_day(
    sample: tuple[Path, Path], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    train(*sample, models)  # a run on today's data: it has seen the replay day
    gate = run_gate(*sample, models)
    assert gate.incumbent_mode == "retrained"
    assert gate.candidate == pytest.approx(gate.incumbent)
    assert gate.passed


def test_gate_fails_closed_without_view_events(sample: tuple[Path, Path], tmp_path: Path) -> None:
    models = tmp_path / "models"
    train(sample[0], None, models)
    gate = run_gate(sample[0], None, models)
    assert not gate.passed and "cannot evaluate" in gate.reason
