"""The promotion gate of ``newsrec train --gate``: publish a new bundle only if it is not worse.

How it decides
--------------
* The replay day is the last 24 hours of the views file (ending at its last view). Its
  sessions are replayed as :mod:`recommender.evaluation.evaluate` replays a test period, and
  both models are scored on exactly the same pairs: hit rate at 10 of the hybrid ranking, called
  as the service calls it.
* The new bundle itself has been trained on the replay day: its co-views contain the very
  pairs being replayed, which would flatter it. So the gate trains a *gate copy*: the new
  configuration on the same inputs cut at the start of the replay day (articles first seen and
  views before it), exactly as an evaluation split. The gate copy is evaluated; the bundle
  that gets published is the one trained on everything.
* The incumbent is the bundle ``LATEST`` names, as it is, when it has not seen the replay day
  (its manifest's ``now`` is not after the cut: the usual daily cadence). When it has (a rerun on
  the same data), comparing it with a gate copy that has not would be unfair to the new model,
  so its recorded parameters are retrained on the same cut inputs instead; that comparison is
  between configurations and cannot catch a problem in the data both see. The record says
  which was done.
* It passes when ``new >= old - tolerance``: the tolerance is **absolute**, in hit-rate
  points (default 0.02). With no ``LATEST`` it passes ("no previous bundle"), and also when
  ``LATEST`` cannot be loaded or evaluated (replacing a broken bundle is the point). When the
  new model cannot be evaluated (no view events, no replay pairs) it refuses: a gate fails
  closed (``--force`` publishes anyway).
* Each model is replayed with the blend settings it will serve with: the new one with those
  its manifest records (``blend``: the config file's, the calibration's or the defaults), the
  incumbent with those of its own manifest (the defaults when it records none). So the gate
  runs once the new bundle's settings are final, after its self-calibration; it cannot see a
  ``NEWSREC_*`` variable the service sets (an explicit variable wins over a bundle's setting
  in the service, for both bundles alike).
* Cost: the gate trains the gate copy (and, for a rerun, the incumbent's copy) besides the
  bundle itself, so ``train --gate`` takes two to three times as long as ``train``.

Before any of that, and also without ``--gate``, ``newsrec train`` refuses a view log far
thinner than the one ``LATEST`` was trained on (:func:`log_volume`: fewer than half its
sessions or view rows), unless ``--force``: a hit-rate comparison on the last day cannot see
that months of history are missing when both models are rated on that same day.

The result goes into the new bundle's ``manifest.json`` under ``gate`` before the bundle is
written (train's ``before_publish`` hook), whether it is published or not.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from recommender import bundle as bundle_mod
from recommender.blend import BlendParams, manifest_params
from recommender.bundle import Bundle
from recommender.config import TrainConfig
from recommender.data.views import ViewCounts, ViewEvents, ViewPaths
from recommender.errors import BundleError, DataError
from recommender.evaluation.evaluate import evaluate_replay
from recommender.evaluation.replay import ReplayPairs, prepare_replay
from recommender.evaluation.split import (
    Prepared,
    SplitSpec,
    load_events,
    prepare_split,
    train_at_split,
)
from recommender.train import Calibrator, TrainResult, train
from recommender.viewlog import LogSummary, view_rows
from recommender.windows import DAY

METRIC = "hit_rate@10"
DEFAULT_TOLERANCE = 0.02


@dataclass
class GateResult:
    """What the gate measured and decided.

    Attributes
    ----------
    passed : bool
        The new model is within ``tolerance`` of the incumbent (or there is none).
    reason : str
        One sentence a person can act on.
    tolerance : float
        Absolute drop of hit rate at 10 allowed.
    candidate, incumbent : float or None
        Hit rate at 10 of the gate copy and of the incumbent on the replay pairs.
    incumbent_version : str or None
    incumbent_mode : str
        ``"as-is"``, ``"retrained"`` (it had seen the replay day) or ``"none"``.
    replay_from, replay_until : str or None
        The replay day (ISO 8601).
    pairs : int
        Replay pairs both models were scored on.
    forced : bool
        ``--force`` publishes whatever the outcome.
    """

    passed: bool
    reason: str
    tolerance: float
    candidate: float | None = None
    incumbent: float | None = None
    incumbent_version: str | None = None
    incumbent_mode: str = "none"
    replay_from: str | None = None
    replay_until: str | None = None
    pairs: int = 0
    forced: bool = False
    metric: str = METRIC
    #: The blend settings each model was replayed with (what each serves).
    candidate_blend: dict[str, Any] | None = None
    incumbent_blend: dict[str, Any] | None = None

    @property
    def published(self) -> bool:
        return self.passed or self.forced

    @property
    def difference(self) -> float | None:
        """New minus old (negative: the new model lost)."""
        if self.candidate is None or self.incumbent is None:
            return None
        return self.candidate - self.incumbent

    def record(self) -> dict[str, Any]:
        """The manifest entry."""
        out = asdict(self)
        out["difference"] = self.difference
        out["published"] = self.published
        return out

    def message(self) -> str:
        """A line for the terminal."""
        if self.candidate is None or self.incumbent is None:
            return f"gate {'passed' if self.passed else 'refused'}: {self.reason}"
        diff = self.difference
        assert diff is not None
        verdict = "passed" if self.passed else "refused"
        return (
            f"gate {verdict}: {self.metric} {self.candidate:.4f} (new) vs "
            f"{self.incumbent:.4f} ({self.incumbent_version}, {self.incumbent_mode}) on "
            f"{self.pairs} pairs of {self.replay_from} .. {self.replay_until}: "
            f"{'+' if diff >= 0 else ''}{diff:.4f} (tolerance {self.tolerance:.4f} absolute)"
        )


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def _config_from_manifest(manifest: dict[str, Any]) -> TrainConfig | None:
    recorded = manifest.get("parameters")
    if not isinstance(recorded, dict):
        return None
    known = {f.name for f in fields(TrainConfig)}
    try:
        return TrainConfig(**{k: v for k, v in recorded.items() if k in known})
    except TypeError:
        return None


def _hit_rate(
    bundle: Bundle, pairs: ReplayPairs, prepared: Prepared, now_ts: int, params: BlendParams
) -> tuple[float | None, int]:
    replay = prepare_replay(bundle, pairs, prepared.articles, now_ts=now_ts)
    if replay.n_pairs == 0:
        return None, 0
    evaluation = evaluate_replay(replay, strategies=("hybrid",), params=params)
    return evaluation.metric("hybrid", METRIC), replay.n_pairs


def run_gate(
    articles_path: str | Path,
    views_path: ViewPaths | None,
    models_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    params: BlendParams | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    workdir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> GateResult:
    """Compare the configuration about to be published with the bundle in ``LATEST``.

    Parameters
    ----------
    articles_path, views_path : path
        The inputs of the training run.
    models_dir : path
        Where ``LATEST`` is.
    config : TrainConfig
        The new run's configuration (the gate copy is trained with it).
    params : BlendParams
        The new model's blend settings (the incumbent is replayed with its manifest's).
    tolerance : float
        Absolute drop of hit rate at 10 allowed.
    workdir : path, optional
        Where the gate copy goes (default: a temporary directory, removed).

    Returns
    -------
    GateResult
    """
    config = config or TrainConfig()
    params = params or BlendParams()
    say = log or (lambda _msg: None)
    if tolerance < 0:
        raise ValueError(f"tolerance must be 0 or more, got {tolerance}")
    version = bundle_mod.latest_version(models_dir)
    if version is None:
        return GateResult(True, "no previous bundle", tolerance)
    try:
        incumbent = Bundle.load(Path(models_dir) / version, mmap=False)
    except BundleError as exc:
        return GateResult(
            True,
            f"previous bundle {version} does not load ({exc})",
            tolerance,
            incumbent_version=version,
        )
    if views_path is None:
        return GateResult(
            False, "cannot evaluate: no view events to replay", tolerance, incumbent_version=version
        )
    try:
        events = load_events(
            views_path,
            session_gap_minutes=config.session_gap_minutes,
            max_invalid=config.max_invalid,
        )
    except DataError as exc:
        return GateResult(
            False, f"cannot evaluate: {exc.message}", tolerance, incumbent_version=version
        )
    until = int(events.timestamps.max()) + 1
    cut = until - DAY
    base = GateResult(
        False,
        "",
        tolerance,
        incumbent_version=version,
        replay_from=_iso(cut),
        replay_until=_iso(until),
    )
    if int(events.timestamps.min()) >= cut:
        base.reason = "cannot evaluate: the views cover less than a day before the replay day"
        return base
    with tempfile.TemporaryDirectory(prefix="newsrec-gate-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        prepared = prepare_split(
            articles_path, views_path, SplitSpec(cut, until), work, config=config, events=events
        )
        # both models see exactly the same pairs: those whose query article has metadata
        keep = [i for i, q in enumerate(prepared.pairs.query_ids) if q in prepared.articles]
        pairs = ReplayPairs(
            [prepared.pairs.query_ids[i] for i in keep],
            [prepared.pairs.target_ids[i] for i in keep],
            prepared.pairs.timestamps[keep],
            prepared.pairs.n_sessions,
            prepared.pairs.n_bot_sessions,
        )
        if not len(pairs):
            base.reason = "cannot evaluate: no replay pairs in the last day"
            return base
        say(f"gate: training a copy without the replay day ({_iso(cut)} .. {_iso(until)})")
        candidate = train_at_split(prepared.inputs, work / "candidate", config)
        mode = "as-is"
        seen_until = _manifest_now(incumbent.manifest)
        if seen_until is None or seen_until > cut:
            old_config = _config_from_manifest(incumbent.manifest)
            if old_config is not None:
                say(
                    f"gate: {version} has seen the replay day; retraining its parameters without it"
                )
                incumbent = train_at_split(prepared.inputs, work / "incumbent", old_config)
                mode = "retrained"
        new_rate, n_pairs = _hit_rate(candidate, pairs, prepared, cut, params)
        try:
            old_params = manifest_params(incumbent.manifest) or BlendParams()
        except DataError:  # settings this version refuses: it would not serve them
            old_params = BlendParams()
        base.candidate_blend, base.incumbent_blend = params.to_dict(), old_params.to_dict()
        try:
            old_rate, _ = _hit_rate(incumbent, pairs, prepared, cut, old_params)
        except BundleError as exc:  # e.g. its vectorizer is gone: it cannot serve new articles
            return GateResult(
                True,
                f"previous bundle {version} cannot be evaluated ({exc})",
                tolerance,
                candidate=new_rate,
                incumbent_version=version,
            )
    base.candidate, base.incumbent, base.pairs, base.incumbent_mode = (
        new_rate,
        old_rate,
        n_pairs,
        mode,
    )
    if new_rate is None or old_rate is None:
        base.reason = "cannot evaluate: no replay pairs"
        return base
    base.passed = new_rate >= old_rate - tolerance
    drop = old_rate - new_rate
    if base.passed:
        base.reason = (
            f"{METRIC} {new_rate:.4f} vs {old_rate:.4f}: within the tolerance"
            if drop > 0
            else f"{METRIC} {new_rate:.4f} vs {old_rate:.4f}: not worse"
        )
    else:
        base.reason = (
            f"{METRIC} dropped by {drop:.4f} ({old_rate:.4f} -> {new_rate:.4f}, "
            f"{100 * drop / old_rate:.1f}% relative), more than the tolerance "
            f"{tolerance:.4f}"
        )
    return base


def _manifest_now(manifest: dict[str, Any]) -> int | None:
    value = manifest.get("now")
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.timestamp())


def train_with_gate(
    articles_path: str | Path,
    views_path: ViewPaths | None,
    models_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    params: BlendParams | None = None,
    fixed: Collection[str] = (),
    calibrator: Calibrator | None = None,
    now: dt.datetime | None = None,
    progress: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    force: bool = False,
    check_views: Callable[[ViewEvents | ViewCounts | LogSummary | None], None] | None = None,
    log: Callable[[str], None] | None = None,
    gate_log: Callable[[str], None] | None = None,
    **options: Any,
) -> tuple[TrainResult, GateResult]:
    """Train a bundle, and make it ``LATEST`` only if it passes the gate (or ``force``).

    The gate runs when the bundle's settings are final (after its self-calibration, with
    a ``calibrator``), on the training and blend settings its manifest records: what will serve.
    The bundle is written either way, with the gate's result in its manifest; a refused bundle
    stays in ``models_dir`` unpublished (``newsrec models rollback`` can still promote it).

    Parameters
    ----------
    config, params, fixed, calibrator, now, progress, check_views, log :
        As :func:`recommender.train.train`.
    tolerance, force :
        The gate's (see :func:`run_gate`).
    gate_log : callable, optional
        Receives the gate's progress lines.
    **options
        Passed to :func:`recommender.train.train` (``mapper``, ``content_fitter``).

    Returns
    -------
    (TrainResult, GateResult)
    """
    config = config or TrainConfig()
    found: list[GateResult] = []

    def gate(contents: bundle_mod.BundleContents) -> None:
        serving = _config_from_manifest(contents.manifest) or config
        result = run_gate(
            articles_path,
            views_path,
            models_dir,
            config=serving,
            params=manifest_params(contents.manifest) or params,
            tolerance=tolerance,
            log=gate_log,
        )
        result.forced = force
        contents.manifest["gate"] = result.record()
        found.append(result)

    result = train(
        articles_path,
        views_path,
        models_dir,
        config=config,
        params=params,
        fixed=fixed,
        calibrator=calibrator,
        now=now,
        progress=progress,
        publish=False,
        before_publish=gate,
        check_views=check_views,
        log=log,
        **options,
    )
    (verdict,) = found
    if verdict.published:
        bundle_mod.set_latest_version(models_dir, result.version)
        bundle_mod.prune(models_dir, config.keep)
    return result, verdict


#: A view log is far thinner than the one ``LATEST`` was trained on when it has fewer than
#: this share of its sessions, or of its view rows.
THIN_LOG_SHARE = 0.5


class ThinLogError(Exception):
    """``newsrec train`` refused a view log far thinner than ``LATEST``'s (see
    :func:`log_volume`); nothing was written."""


def log_volume(
    models_dir: str | Path, views: ViewEvents | ViewCounts | LogSummary | None
) -> tuple[str, str] | None:
    """Whether ``views`` is far thinner than the log the bundle ``LATEST`` names was trained on.

    The gate's first check, and the only one without ``--gate``: it needs no training and
    catches the mistake the hit-rate comparison cannot see when both models are rated on the
    same thin day (a run given the service's event log alone, a day old, replacing a model
    of months of imported history). It compares the run's views with the counts in
    ``LATEST``'s manifest: thinner means fewer than :data:`THIN_LOG_SHARE` (half) of its
    sessions, or of its view rows (no views at all, when it had some, is thinner too). No
    ``LATEST``, or one whose manifest cannot be read (replacing it is the point), passes.

    Returns
    -------
    (str, str) or None
        ``None`` when the log is not thinner; else the reason (one sentence naming both
        figures and the limit) and the incumbent's version.
    """
    version = bundle_mod.latest_version(models_dir)
    if version is None:
        return None
    try:
        counts = json.loads((Path(models_dir) / version / bundle_mod.MANIFEST).read_text())[
            "counts"
        ]
        old_sessions, old_rows = counts.get("sessions"), counts.get("view_rows")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    new_rows = 0 if views is None else view_rows(views)
    new_sessions = views.n_sessions if isinstance(views, ViewEvents | LogSummary) else 0
    thinner = []
    if isinstance(old_sessions, int) and new_sessions < THIN_LOG_SHARE * old_sessions:
        thinner.append(f"{new_sessions:,} sessions against its {old_sessions:,}")
    if isinstance(old_rows, int) and new_rows < THIN_LOG_SHARE * old_rows:
        thinner.append(f"{new_rows:,} view rows against its {old_rows:,}")
    if not thinner:
        return None
    return (
        f"the view log is far thinner than the one LATEST ({version}) was trained on: "
        f"{' and '.join(thinner)} (the limit: at least {THIN_LOG_SHARE:.0%} of each)",
        version,
    )
