"""The demo's article page (``NEWSREC_DEMO`` only): the seed site's page with the three blocks.

``make demo`` serves a generated sample whose article URLs lead nowhere, so ``/demo`` shows
one article of it the way the seed site does (title, section, date, reading time, "1.7k
views" under the byline) with the widget's three blocks: "You might also like" below the text,
"New articles" and "Most viewed" in the sidebar, all from this service (same origin: no CORS
needed). A click on a card opens that article's demo page (``/demo/go?url=...``). ``/``
leads here in demo mode. Without ``NEWSREC_DEMO`` these routes answer 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from recommender.bundle import Bundle
from service.answers import snapshot
from service.ranking import article_response
from service.runtime import Runtime, runtime

demo = Blueprint("demo", __name__)


def _bundle(rt: Runtime) -> Bundle:
    if not rt.settings.demo:
        abort(404)
    return snapshot(rt).bundle


@demo.get("/demo")
def demo_index() -> WerkzeugResponse:
    """The demo page of the most viewed article."""
    rt = runtime()
    bundle = _bundle(rt)
    rows = bundle.popular_rows(rt.settings.fallback_window)
    row = int(rows[0]) if rows.size else 0
    return redirect(url_for("demo.demo_article", article_id=bundle.article_id(row)), code=302)


@demo.get("/demo/go")
def demo_go() -> WerkzeugResponse:
    """The demo page of the article with this URL (where the widget's cards lead)."""
    rt = runtime()
    bundle = _bundle(rt)
    # the widget's nr_list/nr_pos (a followed recommendation) go on to the demo page
    parts = urlsplit(request.args.get("url", ""))
    query = parse_qsl(parts.query, keep_blank_values=True)
    tracking: dict[str, Any] = {k: v for k, v in query if k in ("nr_list", "nr_pos")}
    rest = urlencode([(k, v) for k, v in query if k not in tracking])
    url = urlunsplit(parts._replace(query=rest))
    live = rt.live.view(bundle) if rt.live is not None else None
    for row in bundle.table.rows_where("url", url)[:1].tolist():
        return redirect(url_for("demo.demo_article", article_id=bundle.article_id(row), **tracking))
    if live is not None:
        for article_id in live.catalogue.new_ids:
            if live.article(live.row(article_id))["url"] == url:
                return redirect(url_for("demo.demo_article", article_id=article_id, **tracking))
    abort(404)


@demo.get("/demo/articles/<article_id>")
def demo_article(article_id: str) -> Response:
    """One sample article as the seed site shows it, with related, new and most viewed."""
    rt = runtime()
    bundle = _bundle(rt)
    snap = snapshot(rt, request.environ)
    article = article_response(bundle, article_id, snap.live, rt.options)
    response = Response(render_template("demo.html", article=article))
    # the widget and the page's script come from here; the sample's images from anywhere
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return response
