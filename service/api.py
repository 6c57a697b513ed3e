"""The HTTP routes: the ``/v1`` API blueprint and the unversioned operations blueprint.

Views stay thin: parse the query strictly (:mod:`service.params`), take the model once (so one
request sees one version), answer from the response cache when it can (ready-made JSON bytes,
the fastest path), else compute with :mod:`service.ranking` and cache the bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import NotFound

from service.errors import NoModel, ReloadFailed, Unauthorized
from service.fastpath import SNAPSHOT
from service.params import RelatedParams, parse_most_viewed, parse_none, parse_related
from service.ranking import (
    article_response,
    model_summary,
    most_viewed_response,
    related_response,
)
from service.rules import ActiveRules
from service.store import LoadedModel

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from recommender.bundle import Bundle
    from service.app import Runtime
    from service.live import LiveView

api = Blueprint("api", __name__)
ops = Blueprint("ops", __name__)

JSON_MIMETYPE = "application/json"
EMPTY_ARGS: MultiDict[str, str] = ImmutableMultiDict()
#: Longer keys are hashed (Redis accepts them, but 100 excluded ids make a 20 kB key).
MAX_KEY_LENGTH = 400


def runtime() -> Runtime:
    """The app's runtime objects (settings, store, cache, metrics)."""
    found: Runtime = current_app.extensions["newsrec"]
    return found


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def json_response(value: Any, status: int = 200) -> Response:
    return Response(dumps(value), status=status, mimetype=JSON_MIMETYPE)


def _escape(part: str) -> str:
    # Only the separator (and the escape character) need escaping for keys to be unambiguous,
    # and this runs on every request: test before replacing.
    if ":" in part or "%" in part:
        return part.replace("%", "%25").replace(":", "%3A")
    return part


def _bounded(key: str, version: str, route: str) -> str:
    if len(key) > MAX_KEY_LENGTH:
        digest = hashlib.sha256(key.encode()).hexdigest()
        key = f"nr:v1:{version}:{route}:sha256:{digest}"
    return key


def cache_key(version: str, route: str, *parts: object) -> str:
    """``nr:v1:<model_version>:<route>:<normalised parameters...>``; ``%`` and ``:`` in a part
    are %-escaped, so parts never run into each other; ``None`` is an empty part."""
    texts = ("" if p is None else _escape(str(p)) for p in parts)
    return _bounded(":".join(("nr:v1", version, route, *texts)), version, route)


def related_key(version: str, article_id: str, params: RelatedParams) -> str:
    """:func:`cache_key` of a related request, spelled out (the hottest path)."""
    age = "" if params.max_age_days is None else params.max_age_days
    key = (
        f"nr:v1:{version}:related:{_escape(article_id)}:{params.n}:{params.strategy}:"
        f"{_escape(','.join(params.exclude))}:{_escape(params.category or '')}:{age}:"
        f"{int(params.explain)}"
    )
    return _bounded(key, version, "related")


def _model(rt: Runtime) -> LoadedModel:
    model = rt.store.current()
    if model is None:
        failure = rt.store.last_failure
        raise NoModel(failure.message if failure else rt.store.waiting_for)
    return model


def _rules(rt: Runtime) -> tuple[ActiveRules | None, str]:
    """The editorial rules in force and the version for cache keys: the model's, plus the
    rules' once a rules database exists (so a cached answer never hides a rule change)."""
    if rt.rules is None:
        return None, ""
    active = rt.rules.active()
    return active, (f"+rules.{active.key}" if active.key else "")


def _cached(
    rt: Runtime,
    environ: WSGIEnvironment,
    key: str,
    build: Callable[[], dict[str, Any]],
    ttl: int | None,
    front_version: str,
) -> bytes:
    """The answer under ``key`` from the response cache, else built and cached; also filed in
    the WSGI fast path (:mod:`service.fastpath`) under ``front_version``."""
    cache = rt.cache
    lifetime = rt.settings.cache_ttl if ttl is None else ttl
    body = None if cache is None else cache.get(key)
    if body is None:
        body = dumps(build())
        if cache is not None:
            cache.set(key, body, lifetime)
    if rt.front is not None:
        rt.front.remember(environ, front_version, body, lifetime)
    return body


@dataclass(frozen=True)
class Snapshot:
    """What one request reads: the model, the rules and live layer in force, and the version
    string that names that combination in cache keys."""

    bundle: Bundle
    rules: ActiveRules | None
    live: LiveView | None
    #: the model's (or live layer's) version plus the rules' version
    version: str

    @property
    def data_version(self) -> str:
        """The version of the model and live data alone (answers that ignore rules)."""
        return self.bundle.version if self.live is None else self.live.version


def snapshot(rt: Runtime, environ: WSGIEnvironment | None = None) -> Snapshot:
    """The model, rules and live view a request uses, kept in ``environ`` so that every look
    during one request (fast path, then Flask view) sees the same.

    Raises
    ------
    NoModel
        No model is loaded yet (503).
    """
    if environ is not None:
        found: Snapshot | None = environ.get(SNAPSHOT)
        if found is not None:
            return found
    bundle = _model(rt).bundle
    rules, rules_version = _rules(rt)
    live = _live(rt, bundle)
    version = bundle.version if live is None else live.version
    snap = Snapshot(bundle, rules, live, version + rules_version)
    if environ is not None:
        environ[SNAPSHOT] = snap
    return snap


def _live(rt: Runtime, bundle: Bundle) -> LiveView | None:
    """The live layer's view of ``bundle`` (lifecycle overlay, live counts) for this request."""
    return None if rt.live is None else rt.live.view(bundle)


def _live_ttl(rt: Runtime) -> int:
    """Lifetime of answers showing live counts: at most one refresh tick."""
    refresh = rt.live.refresh_seconds if rt.live is not None else rt.settings.cache_ttl
    return max(1, min(rt.settings.cache_ttl, math.ceil(refresh)))


# The three page routes, as functions of the runtime, the WSGI environ and the parsed query
# (None when the query string is empty): the Flask views below and the fast path of
# service.fastpath both call them. Each returns the JSON body of a 200 or raises an ApiError.


def answer_related(
    rt: Runtime, environ: WSGIEnvironment, article_id: str, args: MultiDict[str, str] | None
) -> bytes:
    """Related articles for one article page."""
    settings = rt.settings
    if args:
        params = parse_related(args, default_n=settings.default_n, max_n=settings.max_n)
    else:  # the common request: skip parsing an empty query
        params = rt.default_related
    snap = snapshot(rt, environ)
    key = related_key(snap.version, article_id, params)
    return _cached(
        rt,
        environ,
        key,
        lambda: related_response(
            snap.bundle, article_id, params, rt.options, snap.rules, snap.live
        ),
        None,
        snap.version,
    )


def answer_most_viewed(
    rt: Runtime, environ: WSGIEnvironment, args: MultiDict[str, str] | None
) -> bytes:
    """The most viewed articles of a window, optionally of one section."""
    params = parse_most_viewed(
        args or EMPTY_ARGS, default_n=rt.settings.default_n, max_n=rt.settings.max_n
    )
    snap = snapshot(rt, environ)
    key = cache_key(
        snap.version,
        "most-viewed",
        params.window,
        params.category,
        params.n,
        params.published_within_days,
    )
    return _cached(
        rt,
        environ,
        key,
        lambda: most_viewed_response(snap.bundle, params, rt.options, snap.rules, snap.live),
        None if snap.live is None else _live_ttl(rt),
        snap.version,
    )


def answer_article(
    rt: Runtime, environ: WSGIEnvironment, article_id: str, args: MultiDict[str, str] | None
) -> bytes:
    """One article's metadata and view counts."""
    parse_none(args or EMPTY_ARGS)
    snap = snapshot(rt, environ)
    key = cache_key(snap.data_version, "article", article_id)
    return _cached(
        rt,
        environ,
        key,
        lambda: article_response(snap.bundle, article_id, snap.live),
        None if snap.live is None else _live_ttl(rt),
        snap.version,
    )


def _args() -> MultiDict[str, str] | None:
    return request.args if request.environ.get("QUERY_STRING") else None


@api.get("/v1/articles/<article_id>/related")
def related(article_id: str) -> Response:
    """Related articles for one article page."""
    body = answer_related(runtime(), request.environ, article_id, _args())
    return Response(body, mimetype=JSON_MIMETYPE)


@api.get("/v1/most-viewed")
def most_viewed() -> Response:
    """The most viewed articles of a window, optionally of one section."""
    body = answer_most_viewed(runtime(), request.environ, _args())
    return Response(body, mimetype=JSON_MIMETYPE)


@api.get("/v1/articles/<article_id>")
def article(article_id: str) -> Response:
    """One article's metadata and view counts."""
    body = answer_article(runtime(), request.environ, article_id, _args())
    return Response(body, mimetype=JSON_MIMETYPE)


@api.get("/v1/model")
def model() -> Response:
    """A summary of the model this worker serves."""
    parse_none(request.args)
    loaded = _model(runtime())
    return json_response(model_summary(loaded.bundle, loaded.loaded_at))


@api.post("/v1/admin/reload")
def admin_reload() -> Response:
    """Make this worker look for a new model now (bearer token)."""
    rt = runtime()
    token = rt.settings.admin_token
    if not token:
        raise NotFound()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise Unauthorized()
    parse_none(request.args)
    result = rt.store.reload(force=True)
    if result.error is not None:
        raise ReloadFailed(result.error, result.version)
    if result.version is None:
        raise NoModel(rt.store.waiting_for)
    return json_response(
        {
            "model_version": result.version,
            "previous_version": result.previous_version,
            "changed": result.changed,
        }
    )


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")


@ops.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


def _rules_state(rt: Runtime) -> str:
    if rt.rules is None:
        return "not configured"
    rt.rules.book()  # the first read of a worker starts its PostgreSQL listener
    return "ok" if rt.rules.reachable else "unreachable"


@ops.get("/readyz")
def readyz() -> Response:
    """Readiness: 200 with a model loaded, 503 without; Redis and reload problems reported."""
    rt = runtime()
    loaded = rt.store.current()
    failure = rt.store.last_failure
    if rt.settings.redis_url is None:
        redis = "not configured"
    else:
        redis = "ok" if rt.redis_ping() else "unreachable"
    body = {
        "status": "ready" if loaded else "no_model",
        "model_version": loaded.bundle.version if loaded else None,
        "loaded_at": _iso(loaded.loaded_at) if loaded else None,
        "redis": redis,
        "detail": None if loaded else rt.store.waiting_for,
        "last_reload_error": None
        if failure is None
        else {
            "version": failure.version,
            "message": failure.message,
            "at": _iso(failure.at),
        },
        "reloads": rt.store.reloads,
        "failed_reloads": rt.store.failures,
        "rules": _rules_state(rt),
    }
    return json_response(body, 200 if loaded else 503)


@ops.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics in the text format."""
    body, content_type = runtime().metrics.render()
    return Response(body, content_type=content_type)
