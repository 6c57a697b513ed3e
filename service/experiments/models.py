"""The model versions variants are served from (a ``related`` variant's ``model``).

Each worker loads a named version once, memory-mapped and checked like the bundle in service
(:meth:`recommender.bundle.Bundle.load` and the smoke query of :class:`service.store.ModelStore`),
and shares it between all requests; it is released when no running experiment names it (the
registry says which, see :meth:`service.experiments.registry.Experiments.running_models`). A
version is pinned: ``LATEST`` moving on does not change what a variant serves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from recommender.bundle import Bundle

log = logging.getLogger("service")


class ModelLoadError(ValueError):
    """A model version that cannot be served (missing, broken or refused by the check)."""


class VariantModels:
    """The bundles of the versions variants name, by version.

    Parameters
    ----------
    models_dir : path
        The models directory (``NEWSREC_MODELS_DIR``): a version is its sub-directory.
    check : callable, optional
        Called with a loaded bundle; raising refuses it (the service's smoke query).
    """

    def __init__(
        self, models_dir: str | Path, check: Callable[[Bundle], None] | None = None
    ) -> None:
        self.models_dir = Path(models_dir)
        self._check = check
        self._lock = threading.Lock()
        self._bundles: dict[str, Bundle] = {}
        #: versions that failed to load since they were last asked to be kept, and why
        self.failures: dict[str, str] = {}

    def load(self, version: str) -> Bundle:
        """The bundle of ``version``, loaded now unless this worker holds it already.

        Raises
        ------
        ModelLoadError
            No such version, or it cannot be loaded or served (the message says why).
        """
        found = self._bundles.get(version)
        if found is not None:
            return found
        with self._lock:
            found = self._bundles.get(version)
            if found is not None:
                return found
            path = self.models_dir / version
            if "/" in version or version.startswith(".") or not path.is_dir():
                raise ModelLoadError(f"there is no model version {version!r} in {self.models_dir}")
            try:
                bundle = Bundle.load(path)
                if bundle.version != version:
                    raise ValueError(f"its manifest names version {bundle.version!r}")
                if self._check is not None:
                    self._check(bundle)
            except Exception as exc:  # whatever the cause, a bundle we cannot serve is refused
                raise ModelLoadError(f"model version {version!r} cannot be served: {exc}") from None
            self._bundles[version] = bundle
            log.info("loaded model %s for an experiment's variants", version)
            return bundle

    def get(self, version: str) -> Bundle | None:
        """The bundle of ``version`` (loaded on first use), or None when it cannot be loaded
        (logged once; the variant is then served by the model in service, and the version is
        tried again only when the experiments change, see :meth:`keep`)."""
        if version in self.failures:
            return None
        try:
            return self.load(version)
        except ModelLoadError as exc:
            if self.failures.get(version) != str(exc):
                self.failures[version] = str(exc)
                log.error("%s; its variants are served by the model in service", exc)
            return None

    def keep(self, versions: Iterable[str], *, retry: bool = False) -> None:
        """Hold ``versions`` (loading those not held yet) and release every other one;
        ``retry`` tries again the versions that failed before."""
        wanted = set(versions)
        with self._lock:
            for version in [v for v in self._bundles if v not in wanted]:
                del self._bundles[version]  # freed when the last request using it ends
                log.info("released model %s: no running experiment names it", version)
        self.failures = {v: m for v, m in self.failures.items() if v in wanted and not retry}
        for version in sorted(wanted):
            self.get(version)

    def held(self) -> list[str]:
        """The versions this worker holds, in order."""
        return sorted(self._bundles)
