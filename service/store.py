"""The model store: which bundle a worker serves, and the hot swap to a newer one.

Each worker polls ``models/LATEST`` at most once per ``reload_interval`` seconds, on the request
path (a monotonic timestamp check, so gunicorn's sync workers need no thread and nothing is
started before the fork). A new bundle is loaded beside the old one, checked (``Bundle.load``
refuses broken files; a smoke query runs the API's own queries on it) and then published by
replacing one attribute, which is atomic in CPython: a request that took the model at its start
uses that one version throughout, and the old bundle is freed when its last request ends.
A bundle that fails the check is refused, logged and reported; the old one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recommender.bundle import Bundle, latest_version

log = logging.getLogger("service")


@dataclass(frozen=True)
class LoadedModel:
    """A bundle in service and when this process loaded it (unix seconds)."""

    bundle: Bundle
    loaded_at: float


@dataclass(frozen=True)
class ReloadFailure:
    """Why the last refused bundle was refused."""

    version: str | None
    message: str
    at: float


@dataclass(frozen=True)
class ReloadResult:
    """What a reload check did."""

    version: str | None
    previous_version: str | None
    changed: bool
    error: str | None = None


class ModelStore:
    """Holds the current :class:`LoadedModel` and swaps in newer bundles.

    Parameters
    ----------
    models_dir : path
        The directory with the bundles and ``LATEST``.
    reload_interval : float
        Seconds between two looks at ``LATEST``.
    check : callable, optional
        Called with a freshly loaded bundle; raising refuses it (the smoke query).
    on_swap, on_failure : callable, optional
        Told about each bundle put in service (new and previous model) and each refused one
        (version, message); the metrics hook in here.
    clock : callable
        Monotonic seconds (replaceable in tests).
    """

    def __init__(
        self,
        models_dir: str | Path,
        *,
        reload_interval: float = 5.0,
        check: Callable[[Bundle], None] | None = None,
        on_swap: Callable[[LoadedModel, LoadedModel | None], None] | None = None,
        on_failure: Callable[[str | None, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.reload_interval = reload_interval
        self._check = check
        self._on_swap = on_swap
        self._on_failure = on_failure
        self._clock = clock
        self._lock = threading.Lock()
        self._model: LoadedModel | None = None
        self._next_check = float("-inf")
        self._refused: str | None = None
        self.reloads = 0
        self.failures = 0
        self.last_failure: ReloadFailure | None = None
        self.waiting_for: str | None = None

    @property
    def model(self) -> LoadedModel | None:
        """The model in service, without looking for a newer one."""
        return self._model

    def current(self) -> LoadedModel | None:
        """The model in service, after a look at ``LATEST`` when one is due (request path)."""
        if self._clock() >= self._next_check and self._lock.acquire(blocking=False):
            # Only one thread checks; the others keep serving the model they have.
            try:
                self._next_check = self._clock() + self.reload_interval
                self._reload(force=False)
            finally:
                self._lock.release()
        return self._model

    def reload(self, *, force: bool = True) -> ReloadResult:
        """Look at ``LATEST`` now; ``force`` retries a version that was refused before."""
        with self._lock:
            self._next_check = self._clock() + self.reload_interval
            return self._reload(force=force)

    def _reload(self, *, force: bool) -> ReloadResult:
        previous = self._model
        current = previous.bundle.version if previous else None
        try:
            version = latest_version(self.models_dir)
        except OSError as exc:
            return self._refuse(None, current, f"cannot read {self.models_dir}/LATEST: {exc}")
        if version is None:
            self.waiting_for = f"{self.models_dir}: no LATEST file yet (train a model first)"
            return ReloadResult(current, current, changed=False)
        self.waiting_for = None
        if version == current:
            return ReloadResult(current, current, changed=False)
        if version == self._refused and not force:
            message = self.last_failure.message if self.last_failure else "refused before"
            return ReloadResult(current, current, changed=False, error=message)
        started = time.perf_counter()
        try:
            bundle = Bundle.load(self.models_dir / version)
            if bundle.version != version:
                raise ValueError(f"manifest version {bundle.version!r} is not {version!r}")
            if self._check is not None:
                self._check(bundle)
        except Exception as exc:  # a bundle we cannot serve, whatever the cause, is refused
            return self._refuse(version, current, f"bundle {version!r} refused: {exc}")
        model = LoadedModel(bundle, time.time())
        self._model = model  # the swap: one reference, atomic
        self._refused = None
        self.reloads += 1
        log.info(
            "serving model %s (was %s; loaded and checked in %.0f ms)",
            version,
            current,
            1000 * (time.perf_counter() - started),
        )
        if self._on_swap is not None:
            self._on_swap(model, previous)
        return ReloadResult(version, current, changed=True)

    def _refuse(self, version: str | None, current: str | None, message: str) -> ReloadResult:
        self._refused = version
        self.failures += 1
        self.last_failure = ReloadFailure(version, message, time.time())
        log.error("%s; still serving %s", message, current or "no model")
        if self._on_failure is not None:
            self._on_failure(version, message)
        return ReloadResult(current, current, changed=False, error=message)
