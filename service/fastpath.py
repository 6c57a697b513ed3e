"""The page routes answered before Flask: from ready-made bytes by raw request, or
worked out by the views' own functions.

Most of a cached answer's cost was Flask itself (request context, URL routing, response
object: measured at about three quarters of a warm ``related`` request), not the cache; under
gunicorn a Flask route costs several times a bare WSGI function. So
:meth:`service.app.NewsrecFlask.wsgi_app` hands every ``GET`` of ``related``, ``most-viewed``,
``latest`` and one article to :class:`FastPath` first. It keeps, per worker, the bytes of
every ``200`` answer under ``<version>\\0<path>\\0<query string>`` and answers a repeated
read from them; a new read is worked out by the same functions the Flask views call
(:func:`service.answers.answer_related` and the others), and filed here by the fast path
itself, under the version and for the lifetime the answer carries.

The entries live in the worker's one in-process LRU, the local level of the response cache
(:class:`service.cache.LocalCache`), beside the answers' own entries: one bound
(``NEWSREC_LOCAL_CACHE_SIZE``) for both.

``POST /v1/events`` with a body of stated length (what ``sendBeacon`` and ``fetch`` send) is
answered here too, by :func:`service.live.events.record_events`, the view's own function.

The API's own errors (a bad parameter, an unknown article, no model yet) get the status,
headers and JSON body Flask's error handlers give them (:mod:`service.errors`). Everything
else goes through Flask as before: other routes, ``HEAD``, long queries, and an unexpected
exception, which propagates to ``wsgi_app``: it logs it and lets Flask answer the request.

Correctness rests on the version, the same string the views put in their cache keys: the
model's version (or the live layer's, which also moves on every publish, unpublish and count
refresh) plus the editorial rules' version. It is worked out for every request, exactly as
the views do (:func:`service.answers.snapshot`, which also looks at ``LATEST`` when a check is
due), so a new model, a rule change or an unpublished article is never answered from here;
entries expire with the lifetime the view gave them. The query string is not normalised:
``?n=6`` and ``?n=06`` are two entries with the same answer, and a long query (over
:data:`MAX_QUERY` characters, e.g. many excluded ids) always goes through Flask.

:func:`service.app.create_app` builds it when response caching is on (``NEWSREC_CACHE_TTL``
and ``NEWSREC_LOCAL_CACHE_SIZE`` above 0); with caching off every request goes through Flask.

The answer is the one Flask would send: the same body, ``Content-Type`` and CORS headers
(:class:`service.cors.CorsPolicy`); ``X-Request-ID`` and the request metrics are added by
``wsgi_app`` either way. Lookups are counted in ``newsrec_cache_events`` at level ``front``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus

from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.http import HTTP_STATUS_CODES

from recommender.errors import UnknownArticleError
from service.answers import (
    Answer,
    answer_article,
    answer_latest,
    answer_most_viewed,
    answer_related,
    assignment,
    snapshot,
    variant_snapshot,
)
from service.errors import INTERNAL_ERROR, REQUEST_ID, ApiError, as_api_error, error_body
from service.live.events import body_limit, record_events

if TYPE_CHECKING:
    from service.cache import LocalCache
    from service.cors import CorsPolicy
    from service.live.events import EventIngest
    from service.runtime import Runtime

__all__ = ["MAX_QUERY", "FastPath", "route_of"]

log = logging.getLogger("service")

#: Longest query string answered here (longer ones are rare and would make long keys).
MAX_QUERY = 512

_ARTICLES = "/v1/articles/"
_RELATED = "/related"
RELATED_ROUTE = "/v1/articles/<article_id>/related"
ARTICLE_ROUTE = "/v1/articles/<article_id>"
MOST_VIEWED_ROUTE = "/v1/most-viewed"
LATEST_ROUTE = "/v1/latest"
EVENTS_ROUTE = "/v1/events"

#: The experiment surface of each route taking ``session_id``.
_SURFACES = {
    RELATED_ROUTE: "related",
    MOST_VIEWED_ROUTE: "most-viewed",
    LATEST_ROUTE: "latest",
}
#: ``session_id`` in a query: answers differ by the reader's variant, not by the session, so
#: entries are filed under the query without it plus the variant.
_SESSION_RE = re.compile(r"(?:^|&)session_id=([^&]*)")
_SESSION_VALUE_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,200}")

#: ``(route template, status line, body, headers)``
Reply = tuple[str, str, bytes, list[tuple[str, str]]]


def route_of(path: str) -> str | None:
    """The route template of ``path`` when it is one of the page routes, else None.

    Matches exactly what Flask's ``<article_id>`` converter does: one non-empty segment.
    """
    if path.startswith(_ARTICLES):
        rest = path[len(_ARTICLES) :]
        if rest.endswith(_RELATED):
            article_id = rest[: -len(_RELATED)]
            return RELATED_ROUTE if article_id and "/" not in article_id else None
        return ARTICLE_ROUTE if rest and "/" not in rest else None
    if path == MOST_VIEWED_ROUTE:
        return MOST_VIEWED_ROUTE
    return LATEST_ROUTE if path == LATEST_ROUTE else None


class FastPath:
    """This worker's answers of the page routes by raw request (see the module docstring).

    Parameters
    ----------
    runtime : Runtime
        The app's runtime, for :mod:`service.answers`.
    entries : LocalCache
        The worker's in-process LRU (the response cache's local level, when it has one): the
        answers are kept there by raw request, and looked up without counting a ``local``
        cache event (this level counts its own, ``front``).
    cors : CorsPolicy or None
        The app's CORS policy, applied to answers given here.
    ingest : EventIngest or None
        The events route's collaborators; None leaves ``POST /v1/events`` to Flask.
    on_event : callable, optional
        ``on_event("front", "hit" | "miss")`` per lookup (the cache metrics).
    """

    def __init__(
        self,
        runtime: Runtime,
        entries: LocalCache,
        *,
        cors: CorsPolicy | None = None,
        ingest: EventIngest | None = None,
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.cors = cors
        self.ingest = ingest
        self._entries = entries
        self._on_event = on_event

    @staticmethod
    def _key(version: str, environ: dict[str, Any], query: str) -> str:
        return f"{version}\0{environ.get('PATH_INFO', '')}\0{query}"

    def _reader_query(self, route: str, query: str, environ: dict[str, Any]) -> str | None:
        """The query to file under: without ``session_id``, plus the reader's variant of the
        route's experiment (and the version of the variant's model, when it has one); None
        when the session id is not one or the route takes none (Flask answers the 400)."""
        found = _SESSION_RE.search(query)
        if found is None:
            return query
        session_id = unquote_plus(found.group(1))
        if not _SESSION_VALUE_RE.fullmatch(session_id) or _SESSION_RE.search(query, found.end()):
            return None
        surface = _SURFACES.get(route)
        if surface is None:  # a route without session_id: Flask answers the 400
            return None
        rest = (query[: found.start()] + query[found.end() :]).lstrip("&")
        arm = assignment(self.runtime, session_id, surface)
        if arm is None:
            return rest
        if arm.variant.model is None:
            return f"{rest}\0{arm.tag}"
        # the variant's own model: its version (and live view's) is part of the answer's
        try:
            variant = variant_snapshot(self.runtime, snapshot(self.runtime, environ), arm)
        except ApiError:  # no model yet: Flask answers the 503
            return None
        return f"{rest}\0{arm.tag}\0{variant.version}"

    def answer(self, environ: dict[str, Any]) -> Reply | None:
        """``(route template, status line, body, headers)`` of a page read, else None (Flask
        answers).

        A repeated read comes from this cache; a new one is worked out by the view's own
        function (:func:`service.answers.answer_related` and the others) and filed here; the
        API's own errors (a bad parameter, an unknown article, no model yet) get the JSON
        error body Flask's handlers give them.
        """
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if method == "POST" and path == EVENTS_ROUTE:
            return self._events(environ)
        if method != "GET":
            return None
        route = route_of(path)
        query = environ.get("QUERY_STRING", "")
        if route is None or len(query) > MAX_QUERY:
            return None
        filed = self._reader_query(route, query, environ) if "session_id=" in query else query
        if filed is None:
            return None
        status = "200 OK"
        extra: dict[str, str] = {}
        try:
            snap = snapshot(self.runtime, environ)
            body = self._entries.peek(self._key(snap.version, environ, filed))
            if self._on_event is not None:
                self._on_event("front", "miss" if body is None else "hit")
            if body is None:
                found = self._work_out(route, path, query, environ)
                self._entries.set(self._key(found.version, environ, filed), found.body, found.ttl)
                body = found.body
        except (ApiError, UnknownArticleError) as exc:
            error = exc if isinstance(exc, ApiError) else as_api_error(exc)
            status = f"{error.status} {HTTP_STATUS_CODES[error.status].upper()}"
            body = error_body(error.code, error.message, **error.extra)
            extra = error.headers
        return route, status, body, self._headers("GET", path, environ, body, extra)

    def _events(self, environ: dict[str, Any]) -> Reply | None:
        """``POST /v1/events`` with a plain body of a stated length (what browsers send)."""
        length = environ.get("CONTENT_LENGTH", "")
        if self.ingest is None or environ.get("QUERY_STRING") or not length.isdigit():
            return None
        status = "202 ACCEPTED"
        extra: dict[str, str] = {}
        try:
            body_limit(environ, self.ingest)
            data = environ["wsgi.input"].read(int(length))
            body = record_events(self.runtime, self.ingest, environ, data)
        except ApiError as error:
            status = f"{error.status} {HTTP_STATUS_CODES[error.status].upper()}"
            body = error_body(error.code, error.message, **error.extra)
            extra = error.headers
        except Exception:
            # The body is read: Flask cannot take this request over. Answer as its handler.
            request_id = environ.get(REQUEST_ID, "-")
            log.exception(
                "unexpected error answering POST %s (request id %s)", EVENTS_ROUTE, request_id
            )
            status = "500 INTERNAL SERVER ERROR"
            body = error_body(*INTERNAL_ERROR, request_id=request_id)
        return EVENTS_ROUTE, status, body, self._headers("POST", EVENTS_ROUTE, environ, body, extra)

    def _headers(
        self, method: str, path: str, environ: dict[str, Any], body: bytes, extra: dict[str, str]
    ) -> list[tuple[str, str]]:
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers += extra.items()
        if self.cors is not None:
            headers += self.cors.answer_headers(method, path, environ.get("HTTP_ORIGIN"))
        return headers

    def _work_out(self, route: str, path: str, query: str, environ: dict[str, Any]) -> Answer:
        # what Werkzeug does for request.args and the route's <article_id>
        args = (
            ImmutableMultiDict(
                parse_qsl(
                    query.encode("latin1").decode(),
                    keep_blank_values=True,
                    errors="werkzeug.url_quote",
                )
            )
            if query
            else None
        )
        if route == MOST_VIEWED_ROUTE:
            return answer_most_viewed(self.runtime, environ, args)
        if route == LATEST_ROUTE:
            return answer_latest(self.runtime, environ, args)
        segment = path.encode("latin1").decode("utf-8", "replace")[len(_ARTICLES) :]
        if route == RELATED_ROUTE:
            return answer_related(self.runtime, environ, segment[: -len(_RELATED)], args)
        return answer_article(self.runtime, environ, segment, args)
