"""The runtime of one app: everything a request needs besides the request itself.

:func:`service.app.create_app` builds one :class:`Runtime` and keeps it in
``app.extensions["newsrec"]``; views reach it with :func:`runtime`, the fast path is handed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app

from service.ranking import options_digest

if TYPE_CHECKING:
    from recommender.bundle import Bundle
    from service.cache import Cache
    from service.editorial.rules import RulesBackend
    from service.experiments.registry import Experiments
    from service.live.view import Live
    from service.metrics import Metrics
    from service.params import RelatedParams
    from service.ranking import RankingOptions, ServedOptions
    from service.settings import Settings
    from service.store import ModelStore

#: ``app.extensions`` key of the :class:`Runtime`.
EXTENSION = "newsrec"


@dataclass
class Runtime:
    """Everything a request needs besides the request itself."""

    settings: Settings
    store: ModelStore
    metrics: Metrics
    options: RankingOptions
    cache: Cache | None
    redis_ping: Callable[[], bool]
    openapi: dict[str, Any]
    default_related: RelatedParams
    rules: RulesBackend | None = None
    live: Live | None = None
    served: ServedOptions | None = None
    experiments: Experiments | None = None
    #: ``id(options) -> (options, digest)`` (:meth:`options_digest`)
    _digests: dict[int, tuple[RankingOptions, str]] = field(default_factory=dict, repr=False)
    #: the last bundle asked about and its digest
    _digest: tuple[Bundle, str] | None = field(default=None, repr=False)

    def options_for(self, bundle: Bundle) -> RankingOptions:
        """The ranking options ``bundle`` is served with (its blend settings under the
        environment's, see :func:`service.settings.served_blend`)."""
        return self.options if self.served is None else self.served(bundle)

    def options_digest(self, bundle: Bundle) -> str:
        """:func:`service.ranking.options_digest` of :meth:`options_for` (worked out once per
        bundle: a bundle's options never change; this runs on every request, cached answers
        included, so the bundle in service is looked up by identity first)."""
        last = self._digest
        if last is not None and last[0] is bundle:
            return last[1]
        options = self.options_for(bundle)
        found = self._digests.get(id(options))
        if found is None or found[0] is not options:
            if len(self._digests) > 8:  # one entry per bundle served: old ones go
                self._digests.clear()
            found = self._digests[id(options)] = (options, options_digest(options))
        self._digest = (bundle, found[1])
        return found[1]


def runtime() -> Runtime:
    """The current app's runtime (settings, store, cache, metrics, rules, live layer)."""
    found: Runtime = current_app.extensions[EXTENSION]
    return found
