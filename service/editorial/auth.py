"""Editor login for the preview and the rules API: sessions, CSRF, the scripts' bearer token.

- One editor account from the settings (``NEWSREC_EDITOR_USER`` and a werkzeug password hash in
  ``NEWSREC_EDITOR_PASSWORD_HASH``; ``python -m service.editorial.auth hash-password`` makes
  one). With ``NEWSREC_DEMO`` and no account configured, ``demo``/``demo`` logs in, which the
  log and the login page say loudly.
- Sessions are Flask's signed cookies (``NEWSREC_SECRET_KEY``): HttpOnly, SameSite=Lax, Secure
  unless ``NEWSREC_SECURE_COOKIES`` is off or in demo mode, valid 12 hours.
- Every change made through a session (POST and DELETE) must carry the session's CSRF token in
  the ``X-CSRF-Token`` header (forms: a ``csrf_token`` field); a page on another site can make
  the browser send the cookie, but it cannot read the token.
- Scripts use ``Authorization: Bearer <NEWSREC_RULES_TOKEN>`` instead (no cookie, no CSRF).
- A wrong password, a missing session or a wrong token is a 401; failed logins are limited per
  client address and worker (10 per 5 minutes), then answered 429.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hmac
import logging
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask import Request as FlaskRequest
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response as WerkzeugResponse

from service.errors import ApiError
from service.settings import Settings

log = logging.getLogger("service")
auth = Blueprint("auth", __name__, template_folder="templates")

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_HOURS = 12
#: Failed logins allowed per client address and worker within the window.
MAX_FAILURES = 10
FAILURE_WINDOW = 300.0
_UNSAFE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))

F = TypeVar("F", bound=Callable[..., Any])


class LoginRequired(ApiError):
    """No valid editor session and no valid bearer token (401)."""

    def __init__(self, token_configured: bool) -> None:
        how = "log in at /preview/login"
        if token_configured:
            how += " or send Authorization: Bearer <NEWSREC_RULES_TOKEN>"
        super().__init__(
            401,
            "unauthorized",
            f"this route needs an editor: {how}",
            headers={"WWW-Authenticate": 'Bearer realm="newsrec rules"'},
        )


class CsrfFailed(ApiError):
    """A change through a session without the session's CSRF token (403)."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "csrf_failed",
            f"missing or wrong {CSRF_HEADER} header; reload the preview page and try again",
        )


class FailedLogins:
    """Recent failed logins per client address (one worker's view; a light brake, no lock-out
    across workers)."""

    def __init__(
        self,
        limit: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        found = self._failures.get(address)
        if found is None:
            return deque()
        cutoff = self.clock() - self.window
        while found and found[0] <= cutoff:
            found.popleft()
        if not found:
            del self._failures[address]
        return found

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again; 0 when it may now."""
        with self._lock:
            recent = self._recent(address)
            if len(recent) < self.limit:
                return 0
            return max(1, int(recent[0] + self.window - self.clock()) + 1)

    def failed(self, address: str) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # bound memory under a spray of addresses
                self._failures.clear()
            self._failures.setdefault(address, deque()).append(self.clock())

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


@dataclass
class Editors:
    """Who may log in, and how scripts authenticate (from the settings)."""

    user: str | None
    password_hash: str | None
    demo: bool
    rules_token: str | None
    failures: FailedLogins = field(default_factory=FailedLogins)
    _dummy_hash: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Editors:
        return cls(
            user=settings.editor_user,
            password_hash=settings.editor_password_hash,
            demo=settings.demo and settings.editor_user is None,
            rules_token=settings.rules_token,
        )

    @property
    def login_user(self) -> str | None:
        """The one user name that can log in (``None``: login is not configured)."""
        if self.user is not None:
            return self.user
        return DEMO_USER if self.demo else None

    def check(self, user: str, password: str) -> bool:
        """Whether ``user``/``password`` is the editor (time spent does not tell which part
        was wrong)."""
        if self.user is not None and self.password_hash is not None:
            if self._dummy_hash is None:
                self._dummy_hash = generate_password_hash(secrets.token_hex(8))
            name_ok = hmac.compare_digest(user.encode(), self.user.encode())
            stored = self.password_hash if name_ok else self._dummy_hash
            return check_password_hash(stored, password) and name_ok
        if self.demo:
            return hmac.compare_digest(user.encode(), DEMO_USER.encode()) & hmac.compare_digest(
                password.encode(), DEMO_PASSWORD.encode()
            )
        return False


def bearer_ok(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>``: the one bearer-token
    check (admin reload, the rules API for scripts, the CMS routes). Never true without a
    token; the comparison takes the same time whatever part differs."""
    if not token or header is None:
        return False
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def editors() -> Editors:
    """The app's :class:`Editors`."""
    found: Editors = current_app.extensions["newsrec_editors"]
    return found


#: Where editors work; every other path gets no session, so public API calls never pay for
#: reading and signing a cookie.
SESSION_PATHS = ("/preview", "/v1/rules", "/v1/experiments")


class EditorSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened only on :data:`SESSION_PATHS`."""

    def open_session(self, app: Flask, request: FlaskRequest) -> SecureCookieSession | None:
        if not request.path.startswith(SESSION_PATHS):
            return self.null_session_class()
        return super().open_session(app, request)


def configure_auth(app: Flask, settings: Settings) -> None:
    """Set up sessions and the editor account on ``app`` (logging what is insecure)."""
    found = Editors.from_settings(settings)
    app.session_interface = EditorSessionInterface()
    app.extensions["newsrec_editors"] = found
    if settings.secret_key:
        app.secret_key = settings.secret_key
    else:
        app.secret_key = secrets.token_hex(32)
        log.warning(
            "NEWSREC_SECRET_KEY is not set: editor sessions use a random key of this process, "
            "so they end when it restarts and do not work across workers; set it"
        )
    secure = settings.secure_cookies and not settings.demo
    app.config.update(
        SESSION_COOKIE_NAME="newsrec_editor",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
    )
    if found.demo:
        log.warning(
            "DEMO MODE: anyone can log in to /preview as %s/%s and change editorial rules; "
            "set NEWSREC_EDITOR_USER and NEWSREC_EDITOR_PASSWORD_HASH for real use",
            DEMO_USER,
            DEMO_PASSWORD,
        )
    elif found.user is None:
        log.info("no editor login configured: /preview is closed (NEWSREC_EDITOR_USER)")
    if not secure and not settings.demo:
        log.warning("NEWSREC_SECURE_COOKIES is off: editor sessions travel over plain http")


def current_editor() -> str | None:
    """The logged-in editor of this request, or ``None``."""
    user = session.get("user")
    if not isinstance(user, str):
        return None
    # A session from before a change of the configured account is not valid any more.
    return user if user == editors().login_user else None


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok(given: str | None) -> bool:
    token = session.get("csrf")
    return isinstance(token, str) and given is not None and hmac.compare_digest(given, token)


def require_editor_page(view: F) -> F:
    """Pages: an anonymous visitor is sent to the login page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_editor() is None:
            target = request.full_path.rstrip("?")
            return redirect(f"{url_for('auth.login_form')}?next={quote(target, safe='/')}")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_editor_json(view: F) -> F:
    """Data calls: 401 without a session; changes also need the CSRF header."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_editor() is None:
            raise LoginRequired(editors().rules_token is not None)
        if request.method in _UNSAFE_METHODS and not _csrf_ok(request.headers.get(CSRF_HEADER)):
            raise CsrfFailed()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def rules_caller() -> str | None:
    """Authenticate a rules API call: the editor's name for a session, ``None`` for a script
    with the bearer token.

    Raises
    ------
    LoginRequired
        No valid token and no editor session (a wrong token is never tried as a session).
    CsrfFailed
        A change through a session without the CSRF header.
    """
    found = editors()
    header = request.headers.get("Authorization")
    if header is not None:
        if bearer_ok(header, found.rules_token):
            return None
        raise LoginRequired(found.rules_token is not None)
    user = current_editor()
    if user is None:
        raise LoginRequired(found.rules_token is not None)
    if request.method in _UNSAFE_METHODS and not _csrf_ok(request.headers.get(CSRF_HEADER)):
        raise CsrfFailed()
    return user


def _safe_next(target: str | None) -> str:
    # Only back into the preview: never an open redirect to another site.
    if target and target.startswith("/preview") and not target.startswith("//"):
        return target
    return url_for("preview.page")


def _login_page(status: int, *, error: str | None = None, retry_after: int = 0) -> Response:
    found = editors()
    body = render_template(
        "login.html",
        error=error,
        demo=found.demo,
        configured=found.login_user is not None,
        csrf=csrf_token(),
        next=_safe_next(request.values.get("next")),
        user=request.form.get("username", ""),
    )
    response = Response(body, status=status, mimetype="text/html")
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@auth.after_request
def _no_store(response: Response) -> Response:
    return protect_page(response)


def protect_page(response: Response) -> Response:
    """Headers of every editor page and data call: never cached, never framed, own assets
    only (a script smuggled into data could not run or call out)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    # X-Content-Type-Options: nosniff is on every answer of the app (service.app)
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    return response


@auth.get("/preview/login")
def login_form() -> Response:
    """The editor login form."""
    if current_editor() is not None:
        return redirect(_safe_next(request.args.get("next")))  # type: ignore[return-value]
    return _login_page(200)


@auth.post("/preview/login")
def login() -> Response | WerkzeugResponse:
    """Check the editor's name and password; start a session."""
    found = editors()
    address = request.remote_addr or "-"
    wait = found.failures.retry_after(address)
    if wait:
        return _login_page(
            429, error=f"Too many failed logins; try again in {wait} s.", retry_after=wait
        )
    if not _csrf_ok(request.form.get(CSRF_FIELD)):
        secure = current_app.config["SESSION_COOKIE_SECURE"]
        hint = (
            " This page is served over plain http but the session cookie is Secure: use HTTPS "
            "or set NEWSREC_SECURE_COOKIES=0."
            if secure and not request.is_secure
            else ""
        )
        return _login_page(403, error="The login form expired; please try again." + hint)
    user = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not found.check(user, password):
        found.failures.failed(address)
        log.warning("failed editor login for %r from %s", user[:100], address)
        return _login_page(401, error="Wrong user name or password.")
    found.failures.succeeded(address)
    session.clear()
    session.permanent = True
    session["user"] = user
    session["csrf"] = secrets.token_urlsafe(32)
    log.info("editor %s logged in from %s", user, address)
    return redirect(_safe_next(request.form.get("next")))


@auth.post("/preview/logout")
def logout() -> WerkzeugResponse:
    """End the session (the form carries the CSRF token, so other sites cannot log you out)."""
    if current_editor() is not None and _csrf_ok(request.form.get(CSRF_FIELD)):
        session.clear()
    return redirect(url_for("auth.login_form"))


# --- python -m service.editorial.auth hash-password -------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m service.editorial.auth hash-password``: print a hash for
    NEWSREC_EDITOR_PASSWORD_HASH."""
    parser = argparse.ArgumentParser(
        prog="python -m service.editorial.auth",
        description="Editor login helpers of the newsrec service.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "hash-password",
        help="read a password (prompted twice, or one line from a pipe) and print its hash",
    )
    parser.parse_args(argv)
    if sys.stdin.isatty():
        password = getpass.getpass("New editor password: ")
        if password != getpass.getpass("Again: "):
            print("error: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    print(generate_password_hash(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
