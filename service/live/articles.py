"""The article lifecycle between two trainings: publish, update and unpublish, live.

The CMS calls ``PUT /v1/articles/{article_id}`` on publish and update and ``DELETE`` on
unpublish (bearer ``NEWSREC_CMS_TOKEN``). Changes are kept in the live store (Redis: every
worker and instance sees them; without Redis an SQLite file that every worker of the host
shares; both survive a restart) as one *overlay record* per article, and every change bumps
the *lifecycle generation*.

Publishing folds the article in at once: the worker that takes the ``PUT`` vectorises it with
the bundle's own TF-IDF vocabulary (``bundle.vectorizer``), finds its content neighbours among
the bundle's published articles and the other live articles vectorised with the same bundle
(:func:`recommender.content.fold_in`), and stores them in the record. Cosine is symmetric, so
each neighbour B with score s also gains the new article with score s in its own content list
(if s beats B's weakest neighbour): the *reverse additions*. They are not stored; every worker
derives them from the records when it builds its
:class:`service.live.catalogue.LiveCatalogue`, and
:func:`service.ranking.related_response` ranks with the catalogue's lists (the hybrid blend
then treats them like any content neighbour; a new article has no co-views yet).

Unpublishing (``DELETE``, or a ``PUT`` whose status is not ``published``) suppresses the
article: it is no longer a candidate anywhere (related, fallback lists, most viewed, trending),
and after a ``DELETE`` it is unknown (404, events refused).

How every worker sees a change within about 100 ms: the generation is part of every cache key
(``<model version>~g<generation>``), each worker reads it (one Redis ``GET`` or SQLite
``SELECT``) at most every 100 ms and, when it moved, reloads the records and rebuilds its
catalogue; old cache entries are simply never asked for again.

The next training supersedes the overlay: a record older than the loaded bundle's
``created_at`` is ignored (and removed from the store) when the bundle has the article, so an
article in the new bundle uses the bundle's data. A record of an article the bundle does not
have stays (that training did not take it in). Caveat: a training reads an articles export
taken some time before ``created_at``; a change made between the export and the end of the
training is superseded too, so export the articles right before training.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound

from recommender.bundle import Bundle
from recommender.errors import BundleError, UnknownArticleError
from recommender.reading import count_words
from recommender.stories import joined_story
from service.editorial.auth import bearer_ok
from service.errors import ApiError, NoModel
from service.jsonbody import BodyError, check_json_bounds
from service.live.catalogue import fold_in_article
from service.live.counts import LiveUnavailable
from service.runtime import Runtime, runtime

if TYPE_CHECKING:
    from recommender.data.articles import Article
    from service.live.view import Live

log = logging.getLogger("service")
lifecycle = Blueprint("lifecycle", __name__)

#: Fields a PUT body may have (those of the articles file).
FIELDS = (
    "id",
    "title",
    "body",
    "category",
    "tags",
    "author",
    "published_at",
    "url",
    "image_url",
    "status",
    "language",
    "image_srcset",
)
MAX_BODY_BYTES = 2_000_000
MAX_TEXT = {
    "title": 1_000,
    "category": 200,
    "author": 1_000,
    "url": 2_000,
    "image_url": 2_000,
    "image_srcset": 8_000,
}


# --- the routes -----------------------------------------------------------------------------


class BadBody(ApiError):
    """A request body that is not what the route documents (400)."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(400, "bad_body", message, **extra)


class LiveStoreUnavailable(ApiError):
    """The live store does not answer (503); nothing was changed."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            503,
            "live_unavailable",
            f"the live store does not answer; nothing was changed ({detail})",
            headers={"Retry-After": "5"},
        )


def _live() -> Live:
    live = runtime().live
    if live is None:
        raise RuntimeError("the app has no live layer")
    return live


def _authorise(token: str | None) -> None:
    if not token:
        raise NotFound()
    if not bearer_ok(request.headers.get("Authorization"), token):
        raise ApiError(
            401,
            "unauthorized",
            "this route needs the header Authorization: Bearer <NEWSREC_CMS_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="newsrec cms"'},
        )


def _check_lengths(payload: Mapping[str, Any]) -> None:
    for name, limit in MAX_TEXT.items():
        value = payload.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise BadBody(f"{name} must be at most {limit} characters", field=name)


def parse_article(article_id: str, data: bytes, dropped: list[str] | None = None) -> Article:
    """The article of a PUT body (the fields of the articles file), validated as the articles
    file's rows are (:func:`recommender.data.articles.validate_article`); raises
    :class:`BadBody`. A ``url`` or ``image_url`` that is not an http(s) URL is dropped, its
    name appended to ``dropped``."""
    from recommender.data.articles import validate_article
    from recommender.errors import DataError

    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadBody("the body must be a JSON object with the article's fields") from None
    if not isinstance(payload, dict):
        raise BadBody("the body must be a JSON object with the article's fields")
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise BadBody(
            f"unknown field {unknown[0][:60]!r}; accepted: {', '.join(FIELDS)}", field=unknown[0]
        )
    if "id" in payload and payload["id"] != article_id:
        raise BadBody("id in the body differs from the id in the path", field="id")
    _check_lengths(payload)
    try:
        return validate_article(
            {**payload, "id": article_id}, where="PUT /v1/articles", dropped=dropped
        )
    except DataError as exc:
        raise BadBody(exc.message, field=exc.field) from None


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def _json(value: Any, status: int = 200) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json")


def _current_bundle(rt: Runtime) -> Bundle:
    model = rt.store.current()
    if model is None:
        raise NoModel(rt.store.waiting_for)
    return model.bundle


@lifecycle.put("/v1/articles/<article_id>")
def put_article(article_id: str) -> Response:
    """Publish or update an article (CMS; bearer token): live at once, folded in."""
    rt = runtime()
    _authorise(rt.settings.cms_token)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"the body may be at most {MAX_BODY_BYTES} bytes")
    data = request.get_data(cache=False)
    try:
        check_json_bounds(data, max_bytes=MAX_BODY_BYTES)
    except BodyError as exc:
        raise BadBody(str(exc)) from None
    dropped: list[str] = []
    article = parse_article(article_id, data, dropped)
    if dropped:
        log.warning(
            "PUT /v1/articles/%s: dropped %s: not http(s) URLs",
            article_id[:120],
            ", ".join(dropped),
        )
    live = _live()
    bundle = _current_bundle(rt)
    try:
        _, records = live.store.overlay()
    except LiveUnavailable as exc:
        raise LiveStoreUnavailable(str(exc)) from None
    catalogue = live.view(bundle).catalogue
    neighbors: list[tuple[str, float]] = []
    vector: dict[str, list[Any]] | None = None
    if article.status == "published":
        try:
            neighbors, vector = fold_in_article(bundle, catalogue, article, records)
        except BundleError as exc:
            # the article is served anyway (its list from the popular fallbacks)
            log.warning("no fold-in for %r: %s", article_id, exc)
    published_ts = -1 if article.published_at is None else int(article.published_at.timestamp())
    record = {
        "op": "put",
        "at": time.time(),
        "model": bundle.version,
        "article": {
            "title": article.title,
            "url": article.url,
            "category": article.category,
            "published_at": _iso(article.published_at),
            "image_url": article.image_url,
            "status": article.status,
            "published_ts": published_ts,
            # for reading times, author caps and responsive images (records written before
            # these fields have none: unknown)
            "words": count_words(article.body),
            "author": article.author,
            "image_srcset": article.image_srcset,
            # the article whose story it joins (same-story collapsing; None: its own)
            "story": joined_story(neighbors),
        },
        "neighbors": [[other, round(score, 6)] for other, score in neighbors],
        "vector": vector,
    }
    try:
        generation = live.store.put_overlay(article_id, json.dumps(record, ensure_ascii=False))
    except LiveUnavailable as exc:
        raise LiveStoreUnavailable(str(exc)) from None
    live.refresh_now()
    return _json(
        {
            "article_id": article_id,
            "status": article.status,
            "new": not bundle.has(article_id),
            "neighbors": len(neighbors),
            "generation": generation,
            "dropped": dropped,
        }
    )


@lifecycle.delete("/v1/articles/<article_id>")
def delete_article(article_id: str) -> Response:
    """Unpublish an article (CMS; bearer token): gone from every answer at once."""
    rt = runtime()
    _authorise(rt.settings.cms_token)
    live = _live()
    bundle = _current_bundle(rt)
    try:
        _, records = live.store.overlay()
        if not bundle.has(article_id) and article_id not in records:
            raise UnknownArticleError(article_id)
        record = json.dumps({"op": "delete", "at": time.time()})
        generation = live.store.put_overlay(article_id, record)
    except LiveUnavailable as exc:
        raise LiveStoreUnavailable(str(exc)) from None
    live.refresh_now()
    return _json({"article_id": article_id, "status": "deleted", "generation": generation})
