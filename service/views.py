"""The HTTP routes: the ``/v1`` API blueprint and the unversioned operations blueprint.

Views stay thin: parse the query strictly (:mod:`service.params`) and send what
:mod:`service.answers` gives (one snapshot of model, rules and live view per request; the
response cache first). A repeated page read never gets here: :mod:`service.fastpath` answers it
before Flask, from the same answer functions.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from service.answers import (
    JSON_MIMETYPE,
    answer_article,
    answer_latest,
    answer_most_viewed,
    answer_related,
    current_model,
    json_response,
)
from service.editorial.auth import bearer_ok
from service.errors import NoModel, ReloadFailed, Unauthorized
from service.params import parse_none
from service.ranking import model_summary
from service.runtime import Runtime, runtime

api = Blueprint("api", __name__)
ops = Blueprint("ops", __name__)


def _args() -> MultiDict[str, str] | None:
    return request.args if request.environ.get("QUERY_STRING") else None


@api.get("/v1/articles/<article_id>/related")
def related(article_id: str) -> Response:
    """Related articles for one article page."""
    answer = answer_related(runtime(), request.environ, article_id, _args())
    return Response(answer.body, mimetype=JSON_MIMETYPE)


@api.get("/v1/most-viewed")
def most_viewed() -> Response:
    """The most viewed articles of a window, optionally of one section."""
    answer = answer_most_viewed(runtime(), request.environ, _args())
    return Response(answer.body, mimetype=JSON_MIMETYPE)


@api.get("/v1/latest")
def latest() -> Response:
    """The newest published articles, optionally of one section."""
    answer = answer_latest(runtime(), request.environ, _args())
    return Response(answer.body, mimetype=JSON_MIMETYPE)


@api.get("/v1/articles/<article_id>")
def article(article_id: str) -> Response:
    """One article's metadata and view counts."""
    answer = answer_article(runtime(), request.environ, article_id, _args())
    return Response(answer.body, mimetype=JSON_MIMETYPE)


@api.get("/v1/model")
def model() -> Response:
    """A summary of the model this worker serves."""
    parse_none(request.args)
    rt = runtime()
    loaded = current_model(rt)
    options = rt.options_for(loaded.bundle)
    summary = model_summary(loaded.bundle, loaded.loaded_at, options)
    registry = rt.experiments
    # which model version serves each variant of the experiments running
    summary["experiments"] = (
        []
        if registry is None
        else [
            {
                "name": e.name,
                "surface": e.surface,
                "variants": registry.serving(e, loaded.bundle.version),
            }
            for e in registry.running_all()
        ]
    )
    return json_response(summary)


@api.post("/v1/admin/reload")
def admin_reload() -> Response:
    """Make this worker look for a new model now (bearer token)."""
    rt = runtime()
    token = rt.settings.admin_token
    if not token:
        raise NotFound()
    if not bearer_ok(request.headers.get("Authorization"), token):
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
