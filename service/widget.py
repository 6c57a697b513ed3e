"""``GET /widget.js`` and ``GET /widget.css``: the embeddable widget a news site adds to its pages.

Both files are read once, when the blueprint is registered, and served from memory with an
``ETag`` (the first 16 hex digits of their SHA-256, which is also their version) and a
``Cache-Control`` that depends on the URL:

- ``/widget.js?v=<version>`` (the version of the file being served): one year, ``immutable``.
  A new widget has a new version, hence a new URL, so this never serves stale code.
- ``/widget.js`` (the snippet sites paste): one day, then a conditional request answered with
  304 while the file is unchanged; a new widget reaches every visitor within a day.
- ``/widget.js?v=<another version>`` (a page pinned to an older widget): today's file for five
  minutes only, so a proxy does not keep today's file under an old URL for a year.

Clients that accept gzip get the file compressed (about 4 kB instead of 13 kB for the script)
under an ETag of its own, with ``Vary: Accept-Encoding``. The blueprint's registration reads the
files into ``app.extensions``; nothing is read at import.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, current_app, request
from flask.sansio.blueprints import BlueprintSetupState

widget = Blueprint("widget", __name__)

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"widget.js": "text/javascript", "widget.css": "text/css"}
EXTENSION = "newsrec.widget"
#: Cache lifetimes in seconds (see the module docstring).
VERSIONED_MAX_AGE = 365 * 24 * 3600
UNVERSIONED_MAX_AGE = 24 * 3600
STALE_VERSION_MAX_AGE = 300


@dataclass(frozen=True)
class Asset:
    """A static file served from memory."""

    name: str
    body: bytes
    gzipped: bytes
    mimetype: str
    version: str


def load_assets(directory: Path = STATIC) -> dict[str, Asset]:
    """Read the widget's files and compute their versions.

    Parameters
    ----------
    directory : Path
        Where ``widget.js`` and ``widget.css`` are.

    Returns
    -------
    dict
        File name to :class:`Asset`.
    """
    assets = {}
    for name, mimetype in ASSETS.items():
        body = (directory / name).read_bytes()
        version = hashlib.sha256(body).hexdigest()[:16]
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        assets[name] = Asset(name, body, gzipped, mimetype, version)
    return assets


@widget.record_once
def _load(state: BlueprintSetupState) -> None:
    state.app.extensions[EXTENSION] = load_assets()


def asset(name: str) -> Asset:
    """The app's copy of a widget file (``widget.js`` or ``widget.css``)."""
    found: Asset = current_app.extensions[EXTENSION][name]
    return found


def versioned_url(name: str) -> str:
    """The immutable URL of a widget file on this app, e.g. ``/widget.js?v=0123456789abcdef``."""
    return f"/{name}?v={asset(name).version}"


def _serve(name: str) -> Response:
    served = asset(name)
    given = request.args.get("v")
    if given == served.version:
        cache = f"public, max-age={VERSIONED_MAX_AGE}, immutable"
    elif given is None:
        cache = f"public, max-age={UNVERSIONED_MAX_AGE}"
    else:
        cache = f"public, max-age={STALE_VERSION_MAX_AGE}"
    # Compressed here because nothing in front of gunicorn may compress (docker-compose runs
    # none); each encoding is its own representation, with its own strong ETag.
    if request.accept_encodings["gzip"]:
        response = Response(served.gzipped, mimetype=served.mimetype)
        response.headers["Content-Encoding"] = "gzip"
        response.set_etag(f"{served.version}-gzip")
    else:
        response = Response(served.body, mimetype=served.mimetype)
        response.set_etag(served.version)
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache
    response.make_conditional(request)  # 304 for a matching If-None-Match (in place)
    return response


@widget.get("/widget.js")
def widget_js() -> Response:
    """The embeddable widget script."""
    return _serve("widget.js")


@widget.get("/widget.css")
def widget_css() -> Response:
    """The widget's optional default styles."""
    return _serve("widget.css")
