"""``newsrec tune``: search the hybrid's settings on a validation split, write them as TOML.

The validation period is the stretch just *before* the test period (which tuning never looks
at): models are trained on what came before the validation period and its sessions are
replayed as :mod:`recommender.evaluation.evaluate` replays a test period. The objective is
the hybrid's hit rate at 10 over every validation pair; a change is kept only when it gains at least
``min_gain`` (0.001) over the best so far, so replay noise does not steer the search.

The search is a budgeted coordinate descent, cheap moves first:

1. train once with the base settings;
2. ranking settings (:class:`~recommender.blend.BlendParams`: co-view weight, co-view
   evidence, freshness half-life) only re-rank the same bundle, so each value costs one
   replay (about a second on 3,000 articles);
3. training settings (neighbours kept per article; co-view normalisation, minimum count and
   time decay; TF-IDF title weight, ``min_df``, ``max_df``) need a new bundle each, so only a
   few values are tried, one setting at a time, keeping whatever improves;
4. if the bundle changed, one more pass over the ranking settings on it.

Every evaluation is a trial; ``budget`` bounds their number. ``content_weight`` stays 1: the
blend is normalised by the sum of weights, so only the ratio of the weights matters.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.blend import BlendParams
from recommender.config import BLEND_BOUNDS, TrainConfig, check_blend_settings
from recommender.errors import DataError
from recommender.evaluation.evaluate import evaluate_replay
from recommender.evaluation.replay import Replay, prepare_replay
from recommender.evaluation.split import (
    SplitSpec,
    load_events,
    prepare_split,
    resolve_split,
    train_at_split,
)
from recommender.windows import DAY

OBJECTIVE = "hit_rate@10"
#: Ranking settings tried (no retraining), in search order.
BLEND_SPACE: dict[str, tuple[Any, ...]] = {
    "half_life_days": (1.0, 2.0, 3.0, 5.0, 8.0, None),
    "freshness_weight": (0.0, 0.25, 0.5, 0.75, 0.9),
    "coview_weight": (0.5, 1.0, 1.5, 3.0, 6.0),
    "coview_evidence": (2.0, 5.0, 10.0, 25.0, 50.0),
    "popularity_weight": (0.0, 0.25, 0.5, 1.0),
    "popular_candidates": (0, 100, 300, 1000),
    "popular_min_similarity": (0.0, 0.25, 0.5),
}
#: Training settings tried (one bundle each), in search order.
TRAIN_SPACE: dict[str, tuple[Any, ...]] = {
    # the hybrid re-ranks (by freshness) only the neighbours a bundle keeps: a deeper list
    # finds the fresh articles of a large topic
    "n_neighbors": (50, 100, 150),
    "coview_normalization": ("cosine", "llr", "jaccard"),
    "coview_min_count": (1, 2, 3),
    "coview_next_weight": (0.0, 0.5, 1.0),
    "title_weight": (1, 3, 5),
    "max_df": (0.05, 0.1, 0.3, 0.5),
    "min_df": (1, 2, 5),
    "coview_half_life_days": (None, 14.0),
}


@dataclass
class Trial:
    """One evaluated setting: what was tried and how it scored on the validation pairs."""

    number: int
    changed: str
    train: dict[str, Any]
    blend: dict[str, Any]
    hit_rate_at_10: float
    mrr_at_10: float
    hit_rate_at_10_new: float | None
    hit_rate_at_10_established: float | None
    retrained: bool
    seconds: float
    best: bool = False

    @property
    def key(self) -> tuple[float, float]:
        return (self.hit_rate_at_10, self.mrr_at_10)


@dataclass
class TuneResult:
    """The best settings found, and every trial."""

    config: TrainConfig
    params: BlendParams
    trials: list[Trial]
    validation: SplitSpec
    n_pairs: int
    baseline: Trial
    best: Trial
    notes: list[str] = field(default_factory=list)


def _settings_key(config: TrainConfig, params: BlendParams) -> tuple[Any, ...]:
    return (*_train_dict(config).values(), *_blend_dict(params).values())


def _blend_dict(params: BlendParams) -> dict[str, Any]:
    return {name: getattr(params, name) for name in BLEND_SPACE}


def _train_dict(config: TrainConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in TRAIN_SPACE}


def tune(
    articles_path: str | Path,
    views_path: str | Path,
    *,
    test_from: dt.datetime | None = None,
    test_days: float | None = None,
    validation_days: float | None = None,
    budget: int = 30,
    config: TrainConfig | None = None,
    params: BlendParams | None = None,
    min_gain: float = 0.001,
    workdir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> TuneResult:
    """Search the hybrid's settings on the validation period before the test period.

    Parameters
    ----------
    articles_path, views_path : path
        Inputs as ``newsrec train`` reads them (views must be events).
    test_from, test_days :
        The test period, as :func:`recommender.evaluation.evaluate.evaluate` takes it; tuning stops
        before it.
    validation_days : float, optional
        Length of the validation period (default: as long as the test period).
    budget : int
        Trials at most (each is one replay; training-setting trials also train a bundle).
    config, params :
        Starting settings (default: the defaults).
    min_gain : float
        Hit-rate gain a change needs to be kept (smaller differences are replay noise).

    Returns
    -------
    TuneResult
    """
    if budget < 1:
        raise ValueError(f"budget must be at least 1, got {budget}")
    say = log or (lambda _msg: None)
    config = config or TrainConfig()
    params = params or BlendParams()
    # the settings written at the end must read back (BlendParams.from_toml checks them so)
    check_blend_settings({name: getattr(params, name) for name in BLEND_BOUNDS})
    events = load_events(
        views_path,
        session_gap_minutes=config.session_gap_minutes,
        max_invalid=config.max_invalid,
    )
    test = resolve_split(events, test_from=test_from, test_days=test_days)
    length = validation_days * DAY if validation_days else test.test_until - test.test_from
    validation = SplitSpec(int(test.test_from - length), test.test_from)
    if validation.test_from <= int(events.timestamps.min()):
        raise DataError(
            str(views_path),
            None,
            None,
            "no views before the validation period: use a shorter test or validation period",
        )
    trials: list[Trial] = []
    tried: set[tuple[Any, ...]] = set()
    with tempfile.TemporaryDirectory(prefix="newsrec-tune-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        prepared = prepare_split(
            articles_path, views_path, validation, work, config=config, events=events
        )
        say(
            f"validation period {_iso(validation.test_from)} .. {_iso(validation.test_until)}: "
            f"{len(prepared.pairs)} pairs"
        )
        models = work / "models"

        def run(
            cfg: TrainConfig,
            prm: BlendParams,
            replay: Replay | None,
            changed: str,
        ) -> tuple[Trial, Replay]:
            start = time.perf_counter()
            retrained = replay is None
            if replay is None:
                bundle = train_at_split(prepared.inputs, models, cfg)
                replay = prepare_replay(
                    bundle, prepared.pairs, prepared.articles, now_ts=validation.test_from
                )
            ev = evaluate_replay(replay, strategies=("hybrid",), params=prm)
            trial = Trial(
                number=len(trials) + 1,
                changed=changed,
                train=_train_dict(cfg),
                blend=_blend_dict(prm),
                hit_rate_at_10=ev.metric("hybrid", OBJECTIVE) or 0.0,
                mrr_at_10=ev.metric("hybrid", "mrr@10") or 0.0,
                hit_rate_at_10_new=ev.metric("hybrid", OBJECTIVE, "new"),
                hit_rate_at_10_established=ev.metric("hybrid", OBJECTIVE, "established"),
                retrained=retrained,
                seconds=round(time.perf_counter() - start, 2),
            )
            trials.append(trial)
            tried.add(_settings_key(cfg, prm))
            say(_trial_line(trial))
            return trial, replay

        def better(trial: Trial, than: Trial) -> bool:
            # a change must win by min_gain: differences below it are replay noise
            if min_gain > 0:
                return trial.hit_rate_at_10 - than.hit_rate_at_10 >= min_gain
            return trial.key > than.key

        best, replay = run(config, params, None, "baseline")
        n_pairs = len(prepared.pairs)
        baseline = best
        best_config, best_params = config, params

        def blend_pass(replay: Replay) -> None:
            nonlocal best, best_params
            for name, values in BLEND_SPACE.items():
                for value in values:
                    if len(trials) >= budget:
                        return
                    candidate = dataclasses.replace(best_params, **{name: value})
                    if _settings_key(best_config, candidate) in tried:
                        continue
                    trial, _ = run(best_config, candidate, replay, f"{name}={_fmt(value)}")
                    if better(trial, best):
                        best, best_params = trial, candidate

        blend_pass(replay)
        best_replay = replay
        for name, values in TRAIN_SPACE.items():
            for value in values:
                if len(trials) >= budget:
                    break
                candidate_config = best_config.replace(**{name: value})
                if _settings_key(candidate_config, best_params) in tried:
                    continue
                trial, new_replay = run(
                    candidate_config, best_params, None, f"{name}={_fmt(value)}"
                )
                if better(trial, best):
                    best, best_config, best_replay = trial, candidate_config, new_replay
        if best_replay is not replay:
            blend_pass(best_replay)
    best.best = True
    notes = []
    if len(trials) >= budget:
        notes.append(f"stopped at the budget of {budget} trials")
    return TuneResult(best_config, best_params, trials, validation, n_pairs, baseline, best, notes)


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def _fmt(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _trial_line(trial: Trial) -> str:
    return (
        f"trial {trial.number:>3}  {trial.changed:<28}  {OBJECTIVE} "
        f"{trial.hit_rate_at_10:.4f}  mrr@10 {trial.mrr_at_10:.4f}  "
        f"{'retrained' if trial.retrained else 're-ranked'}  {trial.seconds:.1f}s"
    )


def trial_columns() -> tuple[str, ...]:
    """Columns of the trials table (the searched settings, then the scores)."""
    return (
        "trial",
        "changed",
        *TRAIN_SPACE,
        *BLEND_SPACE,
        "hit_rate@10",
        "mrr@10",
        "hit_rate@10_new",
        "hit_rate@10_established",
        "retrained",
        "seconds",
        "best",
    )


def trial_rows(trials: Sequence[Trial]) -> list[list[str]]:
    """One row of :func:`trial_columns` per trial, as text."""
    rows = []
    for t in trials:
        rows.append(
            [
                str(t.number),
                t.changed,
                *[_fmt(t.train[k]) for k in TRAIN_SPACE],
                *[_fmt(t.blend[k]) for k in BLEND_SPACE],
                f"{t.hit_rate_at_10:.4f}",
                f"{t.mrr_at_10:.4f}",
                "-" if t.hit_rate_at_10_new is None else f"{t.hit_rate_at_10_new:.4f}",
                "-"
                if t.hit_rate_at_10_established is None
                else f"{t.hit_rate_at_10_established:.4f}",
                "yes" if t.retrained else "no",
                f"{t.seconds:.1f}",
                "*" if t.best else "",
            ]
        )
    return rows


def format_trials(trials: Sequence[Trial]) -> str:
    """The table of what was tried, for the terminal."""
    header = [c.replace("coview_", "cv_").replace("_days", "") for c in trial_columns()]
    cells = [header, *trial_rows(trials)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(str(value))
    return json.dumps(str(value))


def config_toml(result: TuneResult) -> str:
    """The TOML ``newsrec train --config`` and ``BlendParams.from_toml`` read, with the trials as
    comments."""
    out = io.StringIO()
    best, base = result.best, result.baseline
    out.write(f"# written by newsrec tune on {_iso(int(time.time()))}\n")
    out.write(
        f"# validation period {_iso(result.validation.test_from)} .. "
        f"{_iso(result.validation.test_until)}, {result.n_pairs} replay pairs; objective: "
        f"{OBJECTIVE} of the hybrid\n"
    )
    out.write(
        f"# best trial {best.number}: {OBJECTIVE} {best.hit_rate_at_10:.4f} "
        f"(starting settings: {base.hit_rate_at_10:.4f}), {len(result.trials)} trials\n"
    )
    for note in result.notes:
        out.write(f"# {note}\n")
    # every training setting, searched or not: train --config reads the whole run back
    out.write("\n[train]\n")
    for item in dataclasses.fields(TrainConfig):
        value = getattr(result.config, item.name)
        out.write(f"{item.name} = {_toml_value('off' if value is None else value)}\n")
    out.write("\n[blend]\n")
    params = result.params
    for name in (
        "content_weight",
        "coview_weight",
        "coview_evidence",
        "popularity_weight",
        "half_life_days",
        "freshness_weight",
        "section_weight",
    ):
        value = getattr(params, name)
        out.write(f"{name} = {_toml_value('off' if value is None else float(value))}\n")
    out.write(f"popular_candidates = {int(params.popular_candidates)}\n")
    out.write(f"popular_min_similarity = {_toml_value(float(params.popular_min_similarity))}\n")
    if params.section_half_life_days:
        out.write("\n[blend.section_half_life_days]\n")
        for section, days in sorted(params.section_half_life_days.items()):
            out.write(f"{json.dumps(section)} = {_toml_value(float(days))}\n")
    out.write("\n# trials:\n")
    for line in format_trials(result.trials).splitlines():
        out.write(f"# {line}\n")
    return out.getvalue()


def write_config(
    result: TuneResult,
    path: str | Path,
    trials_csv: str | Path | None = None,
) -> tuple[Path, Path]:
    """Write the TOML and the trials as CSV (default: ``<path stem>.trials.csv`` beside it)."""
    path = Path(path)
    csv_path = Path(trials_csv) if trials_csv else path.with_name(f"{path.stem}.trials.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_toml(result), encoding="utf-8")
    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(trial_columns())
        writer.writerows(trial_rows(result.trials))
    return path, csv_path
