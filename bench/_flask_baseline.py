"""A bare Flask app answering the bare WSGI baseline's 1 KB body (``bench/server_floor.py``):
what Flask itself costs a route, with none of the service's code."""

from __future__ import annotations

from _wsgi_baseline import BODY
from flask import Flask, Response

app = Flask(__name__)


@app.get("/")
@app.get("/readyz")
def index() -> Response:
    """The baseline's body (``/readyz`` too, as the bare WSGI app answers every path)."""
    return Response(BODY, mimetype="application/json")
