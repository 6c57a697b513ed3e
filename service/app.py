"""The application factory: ``create_app(settings)`` assembles a ready Flask app.

Nothing happens at import time. The app's runtime objects (settings, model store, response
cache, metrics, rules, live layer) live in ``app.extensions["newsrec"]``, a
:class:`service.runtime.Runtime`; the blueprints come from their areas (:mod:`service.views`,
the live layer, the editorial tools, the OpenAPI document).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, request

from service.cache import CacheFactory, LocalCache, build_cache, local_level
from service.cache import redis_ping as ping_redis
from service.cors import init_cors
from service.demo import demo
from service.editorial.api import rules_api
from service.editorial.auth import auth, configure_auth
from service.editorial.preview import preview
from service.editorial.stores import build_rules
from service.errors import REQUEST_ID, log_unexpected, register_error_handlers
from service.experiments.api import experiments_api
from service.experiments.registry import build_experiments
from service.fastpath import FastPath
from service.fragments import fragments
from service.live.articles import lifecycle
from service.live.events import build_ingest, events
from service.live.view import build_live
from service.metrics import Metrics
from service.openapi.docs import docs
from service.openapi.document import build_openapi
from service.params import RelatedParams
from service.ranking import ServedOptions, smoke_check
from service.runtime import EXTENSION, Runtime
from service.settings import Settings
from service.store import ModelStore
from service.views import api, ops
from service.widget import widget

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
ROUTE = "newsrec.route"
#: On every answer: browsers must take the declared type (JSON, script) as it is, never sniff.
NOSNIFF = ("X-Content-Type-Options", "nosniff")


class RequestIds:
    """Unique request ids, cheaply: a random per-process prefix and a counter (32 hex digits).

    ``secrets.token_hex`` per request costs a system call; the prefix is drawn again in a
    forked child, so workers never share ids.
    """

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count()

    def __call__(self) -> str:
        pid = os.getpid()
        if pid != self._pid:
            self._pid, self._prefix, self._counter = pid, secrets.token_hex(8), itertools.count()
        return f"{self._prefix}{next(self._counter):016x}"


class NewsrecFlask(Flask):
    """Flask with the service's per-request bookkeeping.

    Request ids, the ``X-Request-ID`` and ``X-Content-Type-Options`` headers and the request
    metrics sit in :meth:`wsgi_app`,
    around Flask, instead of ``before_request``/``after_request`` hooks: every request pays for
    them, cached answers included, and at this level they cost a fraction of the hooks. A
    repeated page read is answered there too, from :mod:`service.fastpath`, without Flask.
    Unexpected errors are logged once, with the request id, on the service's logger.
    """

    metrics: Metrics

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self.request_ids = RequestIds()
        self.front: FastPath | None = None

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID")
        # Honour a caller's id only when it is safe to echo into headers and logs.
        if given is not None and _REQUEST_ID_RE.fullmatch(given):
            request_id = given
        else:
            request_id = self.request_ids()
        environ[REQUEST_ID] = request_id
        front = self.front
        if front is not None:
            try:
                found = front.answer(environ)
            except Exception:  # let Flask answer it, with its error handling
                log.exception(
                    "fast path failed on %s (request id %s)", environ.get("PATH_INFO"), request_id
                )
                found = None
            if found is not None:
                route, status, body, headers = found
                headers += (("X-Request-ID", request_id), NOSNIFF)
                start_response(status, headers)
                self.metrics.observe_request(
                    "GET", route, int(status[:3]), time.perf_counter() - started
                )
                return [body]
        status_line = "500"

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal status_line
            status_line = status
            headers += (("X-Request-ID", request_id), NOSNIFF)
            return start_response(status, headers, exc_info)

        try:
            return super().wsgi_app(environ, start)
        finally:
            self.metrics.observe_request(
                environ.get("REQUEST_METHOD", "GET"),
                environ.get(ROUTE, "unmatched"),
                int(status_line[:3]),
                time.perf_counter() - started,
            )

    def dispatch_request(self) -> Any:
        # The route template labels the metrics (404 and 405 have none: "unmatched").
        current = request._get_current_object()  # type: ignore[attr-defined]
        rule = current.url_rule
        if rule is not None:
            current.environ[ROUTE] = rule.rule
        return super().dispatch_request()

    def log_exception(self, exc_info: Any) -> None:
        log_unexpected(exc_info)


def create_app(
    settings: Settings,
    *,
    cache_factory: CacheFactory | None = None,
    redis_ping: Callable[[], bool] | None = None,
) -> Flask:
    """Build the service for ``settings``.

    Parameters
    ----------
    settings : Settings
    cache_factory : callable, optional
        ``(settings, on_event) -> cache`` (:data:`service.cache.CacheFactory`); default
        :func:`service.cache.build_cache`. Not called when ``settings.cache_ttl`` is 0
        (caching off).
    redis_ping : callable, optional
        ``() -> bool`` for ``/readyz``; default :func:`service.cache.redis_ping`.

    The first model is loaded here, so a gunicorn worker is ready before its first request;
    without one the app starts anyway, answers 503 and keeps looking.
    """
    app = NewsrecFlask(__name__)
    logging.getLogger("service").setLevel(settings.log_level)
    metrics = app.metrics = Metrics()
    served = ServedOptions(settings)
    store = ModelStore(
        settings.models_dir,
        reload_interval=settings.reload_interval,
        # a bundle whose blend settings cannot be served is refused like a broken one
        check=lambda bundle: smoke_check(bundle, served(bundle)),
        on_swap=metrics.model_swapped,
        on_failure=metrics.reload_failed,
    )
    cache = None
    if settings.cache_ttl > 0:
        cache = (cache_factory or build_cache)(settings, metrics.cache_event)
    live = build_live(settings)
    rt = Runtime(
        settings=settings,
        store=store,
        metrics=metrics,
        options=served.base,
        cache=cache,
        redis_ping=redis_ping or (lambda: ping_redis(settings)),
        openapi=build_openapi(settings),
        default_related=RelatedParams(n=settings.default_n),
        rules=build_rules(settings),
        live=live,
        served=served,
    )
    app.extensions[EXTENSION] = rt
    ingest = app.extensions["newsrec.events"] = build_ingest(settings)
    rt.experiments = ingest.experiments = build_experiments(
        settings, ingest.hasher, check=lambda bundle: smoke_check(bundle, served(bundle))
    )
    register_error_handlers(app)
    cors = init_cors(app, settings)  # first: its preflight answer must come before other hooks
    if cache is not None and settings.local_cache_size > 0:
        # the fast path keeps its entries in the response cache's own in-process level: one
        # LRU per worker (a cache without one, e.g. a test's, gets an LRU for the fast path)
        entries = local_level(cache)
        if entries is None:
            entries = LocalCache(settings.local_cache_size)
        app.front = FastPath(rt, entries, cors=cors, ingest=ingest, on_event=metrics.cache_event)
    app.register_blueprint(api)
    app.register_blueprint(fragments)
    app.register_blueprint(ops)
    app.register_blueprint(events)
    app.register_blueprint(lifecycle)
    app.register_blueprint(docs)
    app.register_blueprint(widget)
    app.register_blueprint(demo)
    configure_auth(app, settings)
    app.register_blueprint(auth)
    app.register_blueprint(preview)
    app.register_blueprint(rules_api)
    app.register_blueprint(experiments_api)

    store.current()
    return app
