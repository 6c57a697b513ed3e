"""The experiments in force: those of ``NEWSREC_EXPERIMENTS`` (a file) and those added through
``/v1/experiments`` (kept in ``experiments.json`` of ``NEWSREC_STATE_DIR``, which every worker
of the host reads again when it changes; several hosts need the file, or a shared state dir).

At most one experiment per surface runs at a time. The model versions the running ones name
are held by :class:`service.experiments.models.VariantModels`: a version that cannot be served
is refused when an experiment names it (start-up for the file, the API's ``PUT``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.blend import STRATEGIES
from service.experiments.config import (
    SURFACES,
    Experiment,
    ExperimentError,
    Variant,
    check_no_overlap,
    list_id,
    parse_experiment,
    read_experiments,
    variant_code,
)
from service.experiments.models import ModelLoadError, VariantModels
from service.settings import Settings, SettingsError

if TYPE_CHECKING:
    from recommender.bundle import Bundle

log = logging.getLogger("service")

#: Seconds between two looks at the API's file by one worker.
LOOK_SECONDS = 1.0


def baseline_variants() -> list[str]:
    """The variant names of lists outside any experiment (experiment ``""``)."""
    return [f"related.{s}" for s in STRATEGIES] + [s for s in SURFACES if s != "related"]


@dataclass(frozen=True)
class Assignment:
    """A reader's variant in the experiment running now."""

    experiment: Experiment
    variant: Variant

    @property
    def tag(self) -> str:
        """What cache keys carry of the reader's arm: the experiment and the variant (the
        definitions' digest is in the snapshot's version, :meth:`Experiments.version`)."""
        return f"{self.experiment.name}.{self.variant.name}"


class Experiments:
    """The experiments of one app (see the module docstring).

    Parameters
    ----------
    config_path : path or None
        ``NEWSREC_EXPERIMENTS``; read now (a bad file fails start-up).
    api_path : path or None
        Where experiments added through the API are kept; None: the API cannot add any.
    hasher : callable
        The keyed session hash of the events route (assignment uses the same identity).
    clock : callable
        Unix seconds.
    models : VariantModels or None
        Loads the model versions variants name; None refuses every ``model``.
    """

    def __init__(
        self,
        config_path: str | Path | None,
        api_path: str | Path | None,
        hasher: Callable[[str], str],
        clock: Callable[[], float] = time.time,
        models: VariantModels | None = None,
    ) -> None:
        self.clock = clock
        self.hasher = hasher
        self.models = models
        self.config_path = None if config_path is None else Path(config_path)
        self.api_path = None if api_path is None else Path(api_path)
        self.configured = (
            [] if self.config_path is None else read_experiments(self.config_path, now=clock())
        )
        for experiment in self.configured:
            if experiment.end is None or experiment.end > clock():  # an ended one serves nothing
                self.check_models(experiment)
        self._lock = threading.Lock()
        self._added: list[Experiment] = []
        self._stamp: tuple[int, int] | None = None
        self._next_look = 0.0
        self._codes: dict[str, tuple[str, str]] = {}
        self._digest = ""
        self._load()

    # --- reading ------------------------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int] | None:
        if self.api_path is None:
            return None
        try:
            found = self.api_path.stat()
        except FileNotFoundError:
            return None
        return (found.st_mtime_ns, found.st_size)

    def _load(self, *, hold: bool = True) -> None:
        stamp = self._file_stamp()
        added: list[Experiment] = []
        if stamp is not None and self.api_path is not None:
            try:
                items = json.loads(self.api_path.read_text(encoding="utf-8"))
                added = [parse_experiment(item, now=self.clock()) for item in items]
            except (OSError, ValueError) as exc:
                log.error("cannot read the experiments of %s: %s", self.api_path, exc)
        self._added, self._stamp = added, stamp
        codes = {variant_code("", v): ("", v) for v in baseline_variants()}
        for experiment in self.all(look=False):
            for variant in experiment.variants:
                codes[variant_code(experiment.name, variant.name)] = (experiment.name, variant.name)
        self._codes = codes
        text = json.dumps([e.as_json() for e in self.all(look=False)], sort_keys=True)
        self._digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        if hold:
            self._hold_models(retry=True)

    def check_models(self, experiment: Experiment) -> None:
        """Load the model versions ``experiment``'s variants name; raises
        :class:`ExperimentError` naming the field, the experiment, the variant and the
        version of the first that cannot be served."""
        for index, variant in enumerate(experiment.variants):
            if variant.model is None:
                continue
            where = (
                f"variants[{index}].model: experiment {experiment.name!r}, variant {variant.name!r}"
            )
            if self.models is None:
                raise ExperimentError(f"{where}: this service serves no other model versions")
            try:
                self.models.load(variant.model)
            except ModelLoadError as exc:
                raise ExperimentError(f"{where}: {exc}") from None

    def running_models(self, now: float | None = None, *, look: bool = True) -> set[str]:
        """The model versions the experiments running now name."""
        return {m for e in self.running_all(now, look=look) for m in e.models()}

    def _hold_models(self, *, retry: bool = False) -> None:
        if self.models is not None:
            self.models.keep(self.running_models(look=False), retry=retry)

    def _look(self) -> None:
        now = time.monotonic()
        if now < self._next_look:
            return
        with self._lock:
            if now < self._next_look:
                return
            self._next_look = now + LOOK_SECONDS
            if self._file_stamp() != self._stamp:
                self._load()
            else:  # an experiment may have started or ended
                self._hold_models()

    def all(self, *, look: bool = True) -> list[Experiment]:
        """Every experiment, configured ones first."""
        if look:
            self._look()
        return [*self.configured, *self._added]

    def get(self, name: str) -> Experiment | None:
        """The experiment called ``name``."""
        return next((e for e in self.all() if e.name == name), None)

    def running(self, now: float | None = None, surface: str = "related") -> Experiment | None:
        """The experiment of ``surface`` readers are assigned to now, if any."""
        at = self.clock() if now is None else now
        return next((e for e in self.all() if e.surface == surface and e.active(at)), None)

    def running_all(self, now: float | None = None, *, look: bool = True) -> list[Experiment]:
        """The experiments running now (at most one per surface)."""
        at = self.clock() if now is None else now
        return [e for e in self.all(look=look) if e.active(at)]

    def version(self, now: float | None = None) -> str:
        """What cache keys carry about experiments: empty without one running."""
        names = [e.name for e in self.running_all(now)]
        return f"+x.{self._digest}.{','.join(names)}" if names else ""

    def assign(
        self, session_id: str | None, now: float | None = None, surface: str = "related"
    ) -> Assignment | None:
        """The variant of the reader with ``session_id`` in the experiment of ``surface``
        running now."""
        if not session_id:
            return None
        found = self.running(now, surface)
        if found is None:
            return None
        return Assignment(found, found.assign(self.hasher(session_id)))

    def bundle(self, version: str) -> Bundle | None:
        """The bundle of a variant's model version, None when it cannot be served (its
        readers get the model in service; logged)."""
        return None if self.models is None else self.models.get(version)

    def serving(self, experiment: Experiment, current: str | None) -> dict[str, str | None]:
        """The model version serving each variant (``current``: the one in service; None for
        a holdout): a variant's own model while the experiment runs and it can be served,
        else the one in service (before the start: the version it will serve)."""
        out: dict[str, str | None] = {}
        running = experiment.active(self.clock())
        for variant in experiment.variants:
            if variant.holdout:
                out[variant.name] = None
            elif variant.model is None or (running and self.bundle(variant.model) is None):
                out[variant.name] = current
            else:
                out[variant.name] = variant.model
        return out

    def resolve(self, given: str) -> tuple[str, str] | None:
        """``(experiment, variant)`` of a list id, None when it names none known."""
        self._look()
        return self._codes.get(given[:6]) if len(given) == 16 else None

    @staticmethod
    def list_id(experiment: str, variant: str, list_key: str) -> str:
        """See :func:`service.experiments.config.list_id`."""
        return list_id(experiment, variant, list_key)

    # --- the API's changes --------------------------------------------------------------------

    def add(self, raw: Any) -> Experiment:
        """Add (or replace, by name) an experiment of the API; raises :class:`ExperimentError`
        (or :class:`PermissionError` for a configured one)."""
        experiment = parse_experiment(raw, now=self.clock())
        if any(e.name == experiment.name for e in self.configured):
            raise PermissionError(f"{experiment.name!r} is defined in NEWSREC_EXPERIMENTS")
        self.check_models(experiment)
        with self._lock:
            self._load(hold=False)  # the file's latest state; _write holds the models
            kept = [e for e in self._added if e.name != experiment.name]
            check_no_overlap([*self.configured, *kept, experiment])
            self._write([*kept, experiment])
        return experiment

    def remove(self, name: str) -> bool:
        """Delete an experiment of the API (its tallies stay); False when there is none."""
        if any(e.name == name for e in self.configured):
            raise PermissionError(f"{name!r} is defined in NEWSREC_EXPERIMENTS")
        with self._lock:
            self._load(hold=False)
            kept = [e for e in self._added if e.name != name]
            if len(kept) == len(self._added):
                return False
            self._write(kept)
        return True

    def _write(self, experiments: list[Experiment]) -> None:
        if self.api_path is None:
            raise ExperimentError("no NEWSREC_STATE_DIR to keep experiments in")
        self.api_path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.api_path.with_name(f".{self.api_path.name}.{os.getpid()}")
        staging.write_text(json.dumps([e.as_json() for e in experiments], indent=1))
        os.replace(staging, self.api_path)
        self._load()
        self._next_look = 0.0


def build_experiments(
    settings: Settings, hasher: Callable[[str], str], check: Callable[[Bundle], None] | None = None
) -> Experiments:
    """The experiments of ``settings``; a bad ``NEWSREC_EXPERIMENTS`` file (or a model version
    it names that cannot be served) stops start-up. ``check`` is the model store's smoke
    query, run on every variant's model too."""
    models = VariantModels(settings.models_dir, check)
    try:
        return Experiments(settings.experiments, settings.experiments_db, hasher, models=models)
    except ExperimentError as exc:
        raise SettingsError("NEWSREC_EXPERIMENTS", str(settings.experiments), str(exc)) from None
