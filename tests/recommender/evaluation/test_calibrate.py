"""Self-calibration at train time: thin logs keep the defaults, a log whose answer is known gets
it, the manifest records it, ``--no-calibrate`` turns it off."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.blend import BlendParams, manifest_params
from recommender.bundle import Bundle
from recommender.cli import main
from recommender.config import BLEND_BOUNDS, TrainConfig, check_blend_value
from recommender.data.articles import read_articles
from recommender.data.views import ViewEvents, read_views
from recommender.evaluation.at_cut import model_at_cut
from recommender.evaluation.calibrate import (
    BLEND_GRID,
    MIN_PAIRS,
    MIN_TRAINING_VIEWS,
    TRAIN_GRID,
    blend_names,
    calibrate,
    train_names,
)
from recommender.train import content_model, fit_coview, map_view_rows, train

END = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
N_PAIRS = 200


def _iso(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def write_log(
    folder: Path,
    *,
    shared_words: bool,
    partners: int,
    days_before: tuple[int, ...],
    held_out_sessions: int = 2,
    seed: int = 0,
    n_pairs: int = N_PAIRS,
) -> tuple[Path, Path]:
    """Articles ``a<i>`` and ``b<i>``; on the held-out last day readers go from ``a<i>`` to
    ``b<i>``.

    Before it, on ``days_before`` (days before the last), each ``a<i>`` is read with
    ``partners`` articles ``b<j>``: ``partners=1`` is ``b<i>`` itself (co-view predicts the
    held-out day perfectly), more are random others (co-view is noise). ``shared_words``: ``a<i>``
    and ``b<i>`` share words of their own (content predicts perfectly); otherwise every text is
    random words (content is noise).
    """
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{k:04d}" for k in range(3000)]
    published = _iso(END - dt.timedelta(days=60))
    folder.mkdir(parents=True, exist_ok=True)
    articles = folder / "articles.jsonl"
    with open(articles, "w", encoding="utf-8") as handle:
        for side in "ab":
            for i in range(N_PAIRS):
                words = list(rng.choice(vocabulary, 40))
                if shared_words:
                    words += [f"pair{i:03d}x{k}" for k in range(5)]
                record = {
                    "id": f"{side}{i:03d}",
                    "title": " ".join(words[:5]),
                    "body": " ".join(words[5:]),
                    "category": "news",
                    "published_at": published,
                    "url": f"https://news.example/{side}{i:03d}",
                }
                handle.write(json.dumps(record) + "\n")
    views = folder / "views.csv"
    rows: list[tuple[str, str, str]] = []
    choices = [
        [i] if partners == 1 else list(rng.choice(N_PAIRS, partners, replace=False))
        for i in range(N_PAIRS)
    ]
    for day in days_before:
        start = END - dt.timedelta(days=day, hours=12)
        for i in range(n_pairs):
            for k, j in enumerate(choices[i]):
                at = start + dt.timedelta(seconds=60 * i + k)
                session = f"d{day}-{i}-{k}"
                rows.append((session, f"a{i:03d}", _iso(at)))
                rows.append((session, f"b{j:03d}", _iso(at + dt.timedelta(seconds=30))))
    for s in range(held_out_sessions):
        start = END - dt.timedelta(hours=10 - s)
        for i in range(n_pairs):
            at = start + dt.timedelta(seconds=10 * i)
            session = f"held-{s}-{i}"
            rows.append((session, f"a{i:03d}", _iso(at)))
            rows.append((session, f"b{i:03d}", _iso(at + dt.timedelta(seconds=5))))
    with open(views, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("session_id", "article_id", "timestamp"))
        writer.writerows(sorted(rows, key=lambda r: r[2]))
    return articles, views


def effective_coview_weight(params: BlendParams, support: float) -> float:
    """The co-view signal's share of the hybrid score for a query read in ``support``
    sessions (what the blend gives co-views against content)."""
    weight = params.coview_weight * support / (support + params.coview_evidence)
    return weight / (params.content_weight + weight)


@pytest.fixture(scope="module")
def coview_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    # co-view predicts the held-out day perfectly, content is noise; 3 sessions of evidence
    return write_log(
        tmp_path_factory.mktemp("coview-log"),
        shared_words=False,
        partners=1,
        days_before=(2, 3, 5),
    )


@pytest.fixture(scope="module")
def coview_run(
    coview_log: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Bundle, list[str]]:
    lines: list[str] = []
    result = train(
        *coview_log,
        tmp_path_factory.mktemp("coview-models"),
        calibrator=calibrate,
        log=lines.append,
    )
    return Bundle.load(result.path), lines


def test_calibration_grid_values_are_within_the_bounds() -> None:
    for name in blend_names():
        for value in BLEND_GRID[name]:
            check_blend_value(name, value)
    # a setting joins the search with one line of the grid, once BLEND_BOUNDS has it
    assert set(blend_names()) == set(BLEND_GRID) & set(BLEND_BOUNDS)
    assert {"coview_weight", "coview_evidence", "half_life_days"} <= set(blend_names())
    assert set(train_names()) <= set(TRAIN_GRID)
    for name in train_names():
        for value in TRAIN_GRID[name]:
            TrainConfig().replace(**{name: value})


def test_calibration_picks_coview_when_it_predicts_and_content_is_noise(
    coview_run: tuple[Bundle, list[str]],
) -> None:
    bundle, lines = coview_run
    record = bundle.manifest["calibration"]
    assert record["status"] == "calibrated"
    tried = record["tried"]
    baseline, best = tried[0], [t for t in tried if t["kept"]][-1]
    # at the defaults 3 sessions of evidence weigh little against random text: the pair's next
    # article is mostly missed; leaning on co-view finds it
    assert baseline["objective"] < 0.5
    assert best["objective"] >= 0.95
    chosen = manifest_params(bundle.manifest)
    assert chosen is not None
    assert effective_coview_weight(chosen, 3) > 2 * effective_coview_weight(BlendParams(), 3)
    assert bundle.manifest["settings_origin"]["coview_weight"] == "calibration"
    # every setting tried is printed with its figure, and the choice with why
    assert any(line.startswith("chose:") for line in lines)
    assert sum("objective" in line for line in lines) >= len(tried)


def test_calibration_does_not_lean_on_coview_that_is_noise(tmp_path: Path) -> None:
    # content predicts perfectly; each article was read beside 12 random others
    log = write_log(tmp_path / "log", shared_words=True, partners=12, days_before=(2, 3))
    result = train(*log, tmp_path / "models", calibrator=calibrate)
    calibration = result.calibration
    assert calibration is not None and calibration.status == "calibrated"
    # the last day's 200 pairs are under TARGET_PAIRS, so the held-out part reaches back into
    # the days of random co-reads, whose pairs nothing predicts
    assert calibration.held_out["period"] == "the last 10% of the views"
    assert calibration.best.objective >= 0.85
    assert effective_coview_weight(calibration.params, 24) <= effective_coview_weight(
        BlendParams(), 24
    )


@pytest.mark.parametrize(
    ("shape", "reason"),
    [
        # 200 pairs held out, but only 400 views before them
        (
            {"days_before": (2,), "held_out_sessions": 1},
            f"{2 * N_PAIRS} views before the last day, {MIN_TRAINING_VIEWS} needed",
        ),
        # plenty of views before, 100 pairs on the last day (and the last 10% is shorter)
        (
            {"days_before": (2, 3, 4, 5, 6, 7), "n_pairs": 50},
            f"100 replay pairs in the last day, {MIN_PAIRS} needed",
        ),
    ],
)
def test_calibration_keeps_the_defaults_on_a_thin_log_and_says_so(
    tmp_path: Path, shape: dict[str, Any], reason: str
) -> None:
    log = write_log(tmp_path / "log", shared_words=False, partners=1, **shape)
    lines: list[str] = []
    result = train(*log, tmp_path / "models", calibrator=calibrate, log=lines.append)
    record = result.manifest["calibration"]
    assert record["status"] == "defaults"
    assert record["reason"] == f"log too thin: {reason}"
    assert manifest_params(result.manifest) == BlendParams()
    assert result.manifest["parameters"] == dataclasses.asdict(TrainConfig())
    assert any("log too thin" in line and "defaults" in line for line in lines)
    assert set(result.manifest["settings_origin"].values()) == {"default"}


def test_calibration_leaves_the_settings_a_config_file_sets(
    coview_log: tuple[Path, Path], tmp_path: Path
) -> None:
    result = train(
        *coview_log,
        tmp_path / "models",
        params=BlendParams(coview_weight=0.5),
        fixed={"coview_weight"},
        calibrator=calibrate,
    )
    assert result.calibration is not None
    assert "coview_weight" not in result.calibration.searched
    assert not any(t.changed.startswith("coview_weight=") for t in result.calibration.trials)
    params = manifest_params(result.manifest)
    assert params is not None and params.coview_weight == 0.5
    assert result.manifest["settings_origin"]["coview_weight"] == "config"
    assert result.manifest["settings_origin"]["coview_evidence"] == "calibration"


def test_cli_train_calibrates_by_default_and_no_calibrate_turns_it_off(
    coview_log: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    articles, views = coview_log
    base = ["train", "--articles", str(articles), "--views", str(views), "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "on")]) == 0
    on = capsys.readouterr().out
    assert "calibration: the last day held out" in on and "chose:" in on
    bundle = Bundle.load_latest(tmp_path / "on")
    assert bundle.manifest["calibration"]["status"] == "calibrated"
    assert manifest_params(bundle.manifest) != BlendParams()

    assert main([*base, "--out", str(tmp_path / "off"), "--no-calibrate"]) == 0
    off = capsys.readouterr().out
    assert "calibration: off (--no-calibrate)" in off and "chose:" not in off
    bundle = Bundle.load_latest(tmp_path / "off")
    assert bundle.manifest["calibration"] == {"status": "off"}
    assert manifest_params(bundle.manifest) == BlendParams()


def test_calibration_trials_share_one_session_matrix_and_get_the_same_coview(
    coview_log: tuple[Path, Path],
) -> None:
    # every training-setting trial rebuilds the co-view model at the cut from one shared session
    # matrix: the lists must be those of a model built from the views themselves
    articles = read_articles(coview_log[0]).articles
    views = read_views(coview_log[1])
    rows = map_view_rows(views, [a.id for a in articles])
    assert isinstance(views, ViewEvents)
    config = TrainConfig()
    content = content_model(config).fit(articles)
    cut = int(views.timestamps.max()) + 1 - 86_400
    at_cut = model_at_cut(articles, views, rows, content, config, cut)
    changes: list[dict[str, Any]] = [
        {},
        {"coview_normalization": "llr"},
        {"coview_min_count": 1},
        {"bot_burst_views": 2},
        {"coview_next_weight": 1.0, "coview_half_life_days": 7.0},
    ]
    for change in changes:
        trial = config.replace(**change)
        n = len(at_cut.bundle)
        shared = fit_coview(
            views,
            at_cut.rows,
            n,
            at_cut.published,
            trial,
            cut,
            keep=at_cut.before,
            matrix=at_cut.matrix,
            crawlers=at_cut.crawlers(trial),
            reads=at_cut.first_reads(views),
        )
        own = fit_coview(views, at_cut.rows, n, at_cut.published, trial, cut, keep=at_cut.before)
        for name in ("neighbors_", "scores_", "counts_", "support_"):
            np.testing.assert_array_equal(getattr(shared, name), getattr(own, name))
        if trial.coview_next_weight:
            np.testing.assert_array_equal(shared.next_sessions_, own.next_sessions_)
        assert shared.neighbors_[:, 0].max() >= 0  # the log gives co-views at all


def test_calibration_does_not_try_a_read_next_window_without_read_next_counts(
    coview_run: tuple[Bundle, list[str]],
) -> None:
    bundle, _ = coview_run
    record = bundle.manifest["calibration"]
    windows = [t for t in record["tried"] if t["changed"].startswith("coview_next_window=")]
    if record["chosen"]["coview_next_weight"] == 0:
        kept_next = [
            t
            for t in record["tried"]
            if t["changed"].startswith("coview_next_weight") and t["kept"]
        ]
        assert not kept_next and windows == []
    else:
        assert windows
