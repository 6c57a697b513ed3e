"""The page blocks as server-rendered HTML fragments, for sites and crawlers without
JavaScript: ``GET /v1/articles/{article_id}/related.html``, ``/v1/latest.html`` and
``/v1/most-viewed.html``.

Each takes its JSON route's parameters (parsed as strictly: a bad one is the same JSON 400)
plus the presentation options of :func:`service.params.parse_fragment` (``title``,
``heading_level``, ``reading_text``, ``views_text``, ``image_sizes``), and renders the JSON
route's own answer (:mod:`service.answers`, cached) as the widget's cards
(``templates/fragment.html``: Jinja autoescaping, so nothing from the data is ever markup, and
only ``http(s)`` URLs in ``href``, ``src`` and ``srcset``). The HTML is cached under a key that
carries the answer's version (model, live generation, rules) and its digest, and is sent with
an ``ETag`` and ``Cache-Control: public, max-age=<the answer's lifetime>``; a matching
``If-None-Match`` gets ``304``. Nothing to show is a ``204 No Content`` (no body, so an include
leaves nothing on the page).

Dates are written as ISO dates (``2026-10-31``): the server does not know the page's language
(the widget formats them in the reader's; see docs/widget.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, render_template, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from service.answers import Answer, answer_latest, answer_most_viewed, answer_related, cache_key
from service.errors import BadParameter
from service.params import FRAGMENT_PARAMETERS, FragmentOptions, parse_fragment
from service.ranking import compact_count
from service.runtime import runtime

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from service.runtime import Runtime

fragments = Blueprint("fragments", __name__)

HTML_MIMETYPE = "text/html"
#: The blocks: default heading, list element.
KINDS = {
    "related": ("You might also like", "ul"),
    "latest": ("New articles", "ul"),
    "most-viewed": ("Most viewed", "ol"),
}
_DESCRIPTOR_RE = re.compile(r"[0-9]{1,5}w|[0-9]{1,2}(?:\.[0-9]{1,3})?x")


def http_url(value: Any) -> str | None:
    """``value`` when it is an absolute ``http(s)`` URL without spaces or control characters,
    else None (a ``javascript:`` or ``data:`` URL is never written into a page)."""
    if not isinstance(value, str) or not value or len(value) > 4000:
        return None
    if any(c.isspace() or ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def safe_srcset(value: Any) -> str | None:
    """A ``srcset`` whose every candidate is an ``http(s)`` URL with a width (``640w``) or
    density (``2x``) descriptor, normalised; None when any part is not."""
    if not isinstance(value, str) or not value.strip():
        return None
    candidates = []
    for part in value.split(","):
        words = part.split()
        if not words or len(words) > 2 or http_url(words[0]) is None:
            return None
        if len(words) == 2 and not _DESCRIPTOR_RE.fullmatch(words[1]):
            return None
        candidates.append(" ".join(words))
    return ", ".join(candidates)


def tracked(href: str, list_id: str | None, position: Any) -> str:
    """``href`` with ``nr_list`` and ``nr_pos``: the target page's view event counts the click
    (docs/experiments.md), pages without JavaScript included."""
    if list_id is None or not isinstance(position, int):
        return href
    parts = urlsplit(href)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("nr_list", list_id), ("nr_pos", str(position))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _card(
    item: dict[str, Any], options: FragmentOptions, list_id: str | None = None
) -> dict[str, Any] | None:
    """What the template shows of one item; None when it has no web link or title."""
    href = http_url(item.get("url"))
    title = item.get("title")
    if href is None or not isinstance(title, str) or not title:
        return None
    href = tracked(href, list_id, item.get("position"))
    published = item.get("published_at")
    minutes = item.get("reading_minutes")
    views = item.get("views")
    return {
        "href": href,
        "title": title,
        "section": item.get("category") or None,
        "image": http_url(item.get("image_url")),
        "srcset": safe_srcset(item.get("image_srcset")),
        "datetime": published if isinstance(published, str) else None,
        "date": published[:10] if isinstance(published, str) else None,
        "reading": options.reading_text.replace("{n}", str(minutes))
        if isinstance(minutes, int)
        else None,
        "views": options.views_text.replace("{n}", compact_count(views))
        if isinstance(views, int)
        else None,
    }


def render_fragment(
    kind: str, items: list[dict[str, Any]], options: FragmentOptions, list_id: str | None = None
) -> str:
    """The cards of ``items`` (a JSON answer's) as an HTML fragment; ``""`` when none can be
    shown. With ``list_id`` the links carry ``nr_list`` and ``nr_pos``."""
    cards = [c for c in (_card(item, options, list_id) for item in items) if c is not None]
    if not cards:
        return ""
    default_title, list_tag = KINDS[kind]
    return render_template(
        "fragment.html",
        kind=kind,
        title=options.title or default_title,
        level=options.heading_level,
        card_level=min(options.heading_level + 1, 6),
        list_tag=list_tag,
        sizes=options.image_sizes,
        cards=cards,
    )


def _split(args: MultiDict[str, str]) -> tuple[MultiDict[str, str] | None, FragmentOptions]:
    """The JSON route's parameters and the fragment's own options."""
    for name in FRAGMENT_PARAMETERS:
        if len(args.getlist(name)) > 1:
            raise BadParameter(name, f"{name} must be given at most once")
    options = parse_fragment(args)
    rest = [(k, v) for k, v in args.items(multi=True) if k not in FRAGMENT_PARAMETERS]
    return (ImmutableMultiDict(rest) if rest else None), options


def _send(rt: Runtime, kind: str, answer: Answer, options: FragmentOptions) -> Response:
    digest = hashlib.sha256(answer.body).hexdigest()[:16]
    key = cache_key(
        answer.version,
        f"{kind}.html",
        digest,
        options.title,
        options.heading_level,
        options.reading_text,
        options.views_text,
        options.image_sizes,
    )
    cache = rt.cache
    html = None if cache is None else cache.get(key)
    if html is None:
        data = json.loads(answer.body)
        html = render_fragment(kind, data["items"], options, data.get("list_id")).encode()
        if cache is not None:
            cache.set(key, html, answer.ttl)
    cache_control = f"public, max-age={answer.ttl}"
    if not html:
        response = Response(status=204)
        response.headers["Cache-Control"] = cache_control
        return response
    etag = hashlib.sha256(html).hexdigest()[:16]
    response = Response(html, mimetype=HTML_MIMETYPE)
    response.headers["Cache-Control"] = cache_control
    response.set_etag(etag)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.headers["Cache-Control"] = cache_control
        response.set_etag(etag)
    return response


def _fragment(
    kind: str, answer: Callable[[Runtime, WSGIEnvironment, MultiDict[str, str] | None], Answer]
) -> Response:
    rt = runtime()
    args, options = _split(request.args)
    return _send(rt, kind, answer(rt, request.environ, args), options)


@fragments.get("/v1/articles/<article_id>/related.html")
def related_html(article_id: str) -> Response:
    """Related articles as HTML cards (for pages without JavaScript)."""
    return _fragment(
        "related", lambda rt, environ, args: answer_related(rt, environ, article_id, args)
    )


@fragments.get("/v1/latest.html")
def latest_html() -> Response:
    """The newest articles as HTML cards."""
    return _fragment("latest", answer_latest)


@fragments.get("/v1/most-viewed.html")
def most_viewed_html() -> Response:
    """The most viewed articles as HTML cards."""
    return _fragment("most-viewed", answer_most_viewed)
