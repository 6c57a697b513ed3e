"""``newsrec tune``: a small budgeted search whose output ``train --config`` reads back."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

import recommender.evaluation.tune as tune_mod
from recommender.blend import BlendParams, manifest_params
from recommender.bundle import Bundle
from recommender.cli import main
from recommender.config import TrainConfig, read_config
from recommender.errors import DataError
from recommender.evaluation.tune import BLEND_SPACE, TRAIN_SPACE, TuneResult, tune, write_config
from recommender.sources.sample import generate_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("tune-sample")
    info = generate_sample(out, n_articles=300, days=12, seed=7)
    return info.articles_path, info.views_path


@pytest.fixture(scope="module")
def tuned(sample: tuple[Path, Path]) -> TuneResult:
    return tune(*sample, test_days=2, budget=5)


def test_load_blend_params_reads_the_blend_table(tmp_path: Path) -> None:
    path = tmp_path / "newsrec.toml"
    path.write_text(
        "[train]\ntitle_weight = 2\n\n"
        "[blend]\ncoview_weight = 3.0\ncoview_evidence = 5\nhalf_life_days = 'off'\n"
        "popular_candidates = 100\npopular_min_similarity = 0.5\n\n"
        "[blend.section_half_life_days]\nsports = 0.5\n"
    )
    params = BlendParams.from_toml(path)
    assert params == BlendParams(
        coview_weight=3.0,
        coview_evidence=5.0,
        half_life_days=None,
        section_half_life_days={"sports": 0.5},
        popular_candidates=100,
        popular_min_similarity=0.5,
    )
    assert params.half_life("sports") == 0.5
    assert TrainConfig.from_toml(path).title_weight == 2


def test_load_blend_params_defaults_without_a_blend_table(tmp_path: Path) -> None:
    path = tmp_path / "newsrec.toml"
    path.write_text("[train]\ntitle_weight = 2\n")
    assert BlendParams.from_toml(path) == BlendParams()


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"coview_wieght": 1.0}, "coview_wieght"),
        ({"coview_weight": "high"}, "coview_weight"),
        ({"half_life_days": 0}, "half_life_days"),
        ({"content_weight": 0}, "content_weight"),
        ({"section_half_life_days": 3}, "section_half_life_days"),
        ({"popular_candidates": 2.5}, "popular_candidates"),
        ({"popular_candidates": -1}, "popular_candidates"),
    ],
)
def test_blend_params_from_table_names_the_bad_setting(
    table: dict[str, object], field: str
) -> None:
    with pytest.raises(DataError) as caught:
        BlendParams.from_table(table, "newsrec.toml")
    assert caught.value.field == field


def test_tune_respects_the_budget_and_reranks_without_retraining(tuned: TuneResult) -> None:
    result = tuned
    assert len(result.trials) == 5
    # the baseline trains once; the next trials only re-rank its bundle
    assert [t.retrained for t in result.trials] == [True, False, False, False, False]
    assert result.trials[1].changed.startswith(next(iter(BLEND_SPACE)))
    assert result.best.hit_rate_at_10 >= result.baseline.hit_rate_at_10
    assert sum(t.best for t in result.trials) == 1
    # validation ends where the test period starts, and is as long
    assert result.validation.test_until - result.validation.test_from == 2 * 86_400
    assert any("budget" in note for note in result.notes)


def test_tune_output_is_read_by_train_and_evaluate(tuned: TuneResult, tmp_path: Path) -> None:
    result = tuned
    toml_path, csv_path = write_config(result, tmp_path / "tuned.toml")
    config = TrainConfig.from_toml(toml_path)
    assert config == result.config
    assert BlendParams.from_toml(toml_path) == result.params
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 and rows[0]["changed"] == "baseline"
    assert set(TRAIN_SPACE) <= set(rows[0])
    assert "# trials:" in toml_path.read_text()


@pytest.mark.slow
def test_cli_tune_tries_training_settings_after_ranking_settings(
    sample: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # one ranking value to try, so the third trial is the first training setting
    monkeypatch.setattr(tune_mod, "BLEND_SPACE", {"half_life_days": (3.0, 5.0)})
    out = tmp_path / "tuned.toml"
    argv = ["tune", "--articles", str(sample[0]), "--views", str(sample[1]), "--test-days", "2"]
    code = main([*argv, "--budget", "3", "--out", str(out)])
    assert code == 0
    assert "best: trial" in capsys.readouterr().out
    with open(tmp_path / "tuned.trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["changed"] for r in rows] == [
        "baseline",
        "half_life_days=5",
        f"{next(iter(TRAIN_SPACE))}={TRAIN_SPACE[next(iter(TRAIN_SPACE))][1]}",
    ]
    assert [r["retrained"] for r in rows] == ["yes", "no", "yes"]
    assert TrainConfig.from_toml(out) is not None


def test_tune_out_is_read_completely_by_train_config(
    sample: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a setting tune does not search, and one of [blend] it does not write by itself, must
    # survive tune -> file -> train --config -> the bundle's manifest
    start = TrainConfig(trending_min_views=9, coview_min_count=3)
    params = BlendParams(section_half_life_days={"sports": 0.5}, coview_weight=2.0)
    result = tune(*sample, test_days=2, budget=2, config=start, params=params)
    toml_path, _ = write_config(result, tmp_path / "tuned.toml")
    run = read_config(toml_path)
    assert run.train == result.config and run.train.trending_min_views == 9
    assert BlendParams(**run.blend) == result.params
    assert run.blend["section_half_life_days"] == {"sports": 0.5}
    argv = ["train", "--articles", str(sample[0]), "--views", str(sample[1])]
    assert main([*argv, "--out", str(tmp_path / "models"), "--config", str(toml_path)]) == 0
    # every searched setting is set by the file: nothing is left to calibrate
    assert "sets every setting the calibration searches" in capsys.readouterr().out
    manifest = Bundle.load_latest(tmp_path / "models").manifest
    assert manifest["parameters"] == dataclasses.asdict(result.config)
    assert manifest_params(manifest) == result.params
    assert manifest["settings_origin"]["trending_min_views"] == "config"
    assert manifest["settings_origin"]["coview_weight"] == "config"
