"""The one place HTTP errors are shaped: library errors and bad requests become JSON.

Every error answer has the body ``{"error": {"code": ..., "message": ...}}`` (plus
``"parameter"`` for a bad query parameter and ``"request_id"`` for unexpected errors). Handlers
are registered for our own :class:`ApiError`, the library's :class:`UnknownArticleError`,
Werkzeug's :class:`HTTPException` (404, 405, ...) and :class:`InternalServerError`, which Flask
wraps every unhandled exception in; there is deliberately no ``errorhandler(Exception)``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

from recommender.errors import UnknownArticleError

log = logging.getLogger("service")
#: Where the request id lives during a request (set first thing by the app's hook).
REQUEST_ID = "newsrec.request_id"
_MAX_ECHO = 120


def _echo(text: str) -> str:
    """Client-supplied text quoted in a message, cut to a readable length."""
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "..."


class ApiError(Exception):
    """An error answer of the API: HTTP status, machine-readable code, message for people."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra


class BadParameter(ApiError):
    """A query parameter that is unknown, repeated or out of range (400)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(400, "bad_parameter", message, parameter=_echo(parameter))
        self.parameter = parameter


class NoModel(ApiError):
    """No model bundle is loaded yet (503)."""

    def __init__(self, detail: str | None = None) -> None:
        message = "no model is loaded yet; train one with `newsrec train`"
        if detail:
            message += f" (last attempt: {detail})"
        super().__init__(503, "no_model", message, headers={"Retry-After": "5"})


class Unauthorized(ApiError):
    """Missing or wrong admin bearer token (401)."""

    def __init__(self) -> None:
        super().__init__(
            401,
            "unauthorized",
            "this route needs the header Authorization: Bearer <NEWSREC_ADMIN_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="newsrec admin"'},
        )


class ReloadFailed(ApiError):
    """A forced reload found a bundle it refused; the previous model keeps serving (409)."""

    def __init__(self, message: str, model_version: str | None) -> None:
        super().__init__(409, "reload_failed", message, model_version=model_version)


def error_body(code: str, message: str, **extra: Any) -> bytes:
    """The JSON bytes of an error answer."""
    error = {"code": code, "message": message, **extra}
    return json.dumps({"error": error}, ensure_ascii=False, separators=(",", ":")).encode()


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """A JSON error :class:`Response`."""
    response = Response(
        error_body(code, message, **extra), status=status, mimetype="application/json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def as_api_error(exc: UnknownArticleError) -> ApiError:
    """The 404 answer of an article the model does not know."""
    return ApiError(404, "unknown_article", f"the model knows no article {_echo(exc.article_id)!r}")


def _handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.extra)


def _handle_unknown_article(exc: UnknownArticleError) -> Response:
    return _handle_api_error(as_api_error(exc))


def _code_name(exc: HTTPException) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (exc.name or "error").lower()).strip("_")


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = exc.description or exc.name or "error"
    if status == 404:
        message = f"no route {_echo(request.path)!r}; see /docs for the API"
    elif status == 405:
        message = f"{request.method} is not allowed on {_echo(request.path)!r}"
    # Keep headers such as Allow (405) but not the HTML content type of Werkzeug's page.
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return error_response(status, _code_name(exc), message, headers)


def log_unexpected(exc_info: tuple[type[BaseException], BaseException, Any] | Any) -> None:
    """Log an unhandled exception with the request id (Flask calls this before the 500)."""
    log.error(
        "unexpected error answering %s %s (request id %s)",
        request.method,
        request.path,
        request.environ.get(REQUEST_ID, "-"),
        exc_info=exc_info,
    )


INTERNAL_ERROR = ("internal_error", "unexpected error; the service logged it with this request id")


def _handle_internal_error(exc: InternalServerError) -> Response:
    request_id = request.environ.get(REQUEST_ID, "-")
    return error_response(500, *INTERNAL_ERROR, request_id=request_id)


def register_error_handlers(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(UnknownArticleError, _handle_unknown_article)
    app.register_error_handler(InternalServerError, _handle_internal_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
