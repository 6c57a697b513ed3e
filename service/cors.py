"""CORS for the widget: pages of the sites in ``NEWSREC_CORS_ORIGINS`` may call the API.

Only two kinds of requests get CORS headers: reads under ``/v1/`` (``GET``/``HEAD``) and
``POST /v1/events`` (the view beacon; ``navigator.sendBeacon`` with a ``text/plain`` body needs
no CORS at all, a page's own ``fetch`` with ``application/json`` does). Everything else under
``/v1`` (``POST /v1/admin/reload``, the rules API) stays same-origin, so a page on an allowed
site still cannot drive the admin routes with a visitor's browser.

- An allowed ``Origin`` is echoed in ``Access-Control-Allow-Origin`` (never a list, which
  browsers refuse); a foreign one gets no CORS header and the browser keeps the answer from the
  page. ``*`` is sent only when ``NEWSREC_CORS_ORIGINS`` is exactly ``*``.
- No credentials: the widget sends no cookies with its reads, so ``Allow-Credentials`` is never
  sent and ``*`` stays safe to use.
- ``Vary: Origin`` on every answer of these routes, with or without an ``Origin``: a shared
  cache (CDN, proxy) must not hand one site's answer, or a non-CORS answer, to another site.
- Preflights (``OPTIONS`` with ``Access-Control-Request-Method``) are answered here, before
  routing, with 204, the allowed methods and headers and a ``Max-Age``; a preflight from a
  foreign origin or for a method the path does not allow falls through to the ordinary
  ``OPTIONS``/404/405 answer, without CORS headers, which the browser treats as a refusal.

Nothing is installed when no origin is configured: the hot path pays for CORS only when a site
uses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, request

if TYPE_CHECKING:
    from service.settings import Settings

#: Paths whose reads are open to the allowed origins.
READ_PREFIX = "/v1/"
READ_METHODS = ("GET", "HEAD")
#: Paths open to the allowed origins for other methods (path -> methods).
WRITE_PATHS = {"/v1/events": ("POST",)}
#: Request headers a cross-origin page may send (``Content-Type: application/json`` is not a
#: CORS-safelisted value, so a JSON ``POST`` needs it allowed).
ALLOW_HEADERS = "Content-Type, X-Request-ID"
#: Response headers a page may read besides the safelisted ones.
EXPOSE_HEADERS = "X-Request-ID"
#: Seconds a browser may reuse a preflight answer (Chromium caps it at 7200, Firefox at 86400).
MAX_AGE = 7200


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods a cross-origin page may use on ``path`` (empty: none)."""
    write = WRITE_PATHS.get(path)
    if write is not None:
        return write
    if path.startswith(READ_PREFIX):
        return READ_METHODS
    return ()


class CorsPolicy:
    """Which origins may read the API, and the headers an answer to one of them carries.

    Parameters
    ----------
    origins : iterable of str
        Exact origins (``https://news.example.com``), or just ``"*"`` for every site.
    """

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(origins)
        self.wildcard = self.origins == {"*"}

    def allow_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, or None (refused)."""
        if origin is None:
            return None
        if self.wildcard:
            return "*"
        return origin if origin in self.origins else None

    def answer_headers(self, method: str, path: str, origin: str | None) -> list[tuple[str, str]]:
        """CORS headers of an ordinary (not preflight) answer; ``Vary`` comes first."""
        if method not in allowed_methods(path):
            return []
        headers = [("Vary", "Origin")]
        allowed = self.allow_origin(origin)
        if allowed is not None:
            headers.append(("Access-Control-Allow-Origin", allowed))
            headers.append(("Access-Control-Expose-Headers", EXPOSE_HEADERS))
        return headers


def init_cors(app: Flask, settings: Settings) -> CorsPolicy | None:
    """Answer preflights and add CORS headers for ``settings.cors_origins`` on ``app``.

    Parameters
    ----------
    app : Flask
    settings : Settings
        ``cors_origins``: exact origins (``https://news.example.com``), or ``("*",)`` for every
        site; empty installs nothing.

    Returns
    -------
    CorsPolicy or None
        The policy installed (the WSGI fast path of :mod:`service.fastpath` applies it too),
        None when no origin is configured.
    """
    if not settings.cors_origins:
        return None
    policy = CorsPolicy(settings.cors_origins)

    @app.before_request
    def preflight() -> Response | None:
        if request.method != "OPTIONS":
            return None
        wanted = request.headers.get("Access-Control-Request-Method")
        methods = allowed_methods(request.path)
        allowed = policy.allow_origin(request.headers.get("Origin"))
        if wanted is None or allowed is None or wanted not in methods:
            return None
        response = Response(status=204)
        del response.headers["Content-Type"]
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = str(MAX_AGE)
        response.vary.add("Origin")
        return response

    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = policy.answer_headers(request.method, request.path, request.headers.get("Origin"))
        for name, value in headers:
            if name == "Vary":
                response.vary.add(value)
            else:
                response.headers[name] = value
        return response

    return policy
