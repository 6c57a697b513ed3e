"""The OpenAPI description of the live routes: page-view events, trending and the CMS's
publish and unpublish (:mod:`service.live.events`, :mod:`service.live.articles`)."""

from __future__ import annotations

from typing import Any

from service.live.events import EVENT_TYPES, MAX_ID_LENGTH
from service.live.interactions import INTERACTION_TYPES, MAX_POSITION
from service.openapi.pages import NAME_PATTERN
from service.settings import Settings


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {"application/json": {"schema": schema}},
    }


def _error(description: str) -> dict[str, Any]:
    return _response(description, {"$ref": "#/components/schemas/Error"})


def paths(settings: Settings) -> dict[str, Any]:
    """The OpenAPI path items of the live routes: events, trending and the article lifecycle."""
    article = {"$ref": "#/components/schemas/Article"}
    identifier = {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ID_LENGTH,
        "pattern": NAME_PATTERN,
    }
    event = {
        "type": "object",
        "properties": {
            "article_id": identifier,
            "session_id": {**identifier, "description": "The reader's session id (hashed)."},
            "timestamp": {
                "description": "When the page was viewed: unix seconds or ISO 8601 (default: "
                "now, also for null); at most 5 minutes ahead, at most 48 hours old.",
                "oneOf": [
                    {"type": "number"},
                    {"type": "string", "format": "date-time"},
                    {"type": "null"},
                ],
            },
            "type": {
                "type": "string",
                "enum": list(EVENT_TYPES),
                "default": "view",
                "description": "view; impression (an item of a list was seen) or click (it "
                "was opened), with the list_id and position of the answer that listed it.",
            },
            "list_id": {
                "type": "string",
                "pattern": "^[0-9a-f]{16}$",
                "description": "The answer's list_id (impressions, clicks; a view reached "
                "through a list's link: nr_list).",
            },
            "position": {"type": "integer", "minimum": 1, "maximum": MAX_POSITION},
            "variant": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_.-]{1,64}$",
                "description": "The answer's variant (checked against the list's).",
            },
            "page_id": {
                "type": "string",
                "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]{1,200}$",
                "description": "The article whose page showed the list (related lists): "
                "newsrec evaluate --clicks reranks that page's list.",
            },
        },
        "required": ["article_id", "session_id"],
        "dependentRequired": {"list_id": ["position"], "position": ["list_id"]},
        "if": {"properties": {"type": {"enum": list(INTERACTION_TYPES)}}, "required": ["type"]},
        "then": {"required": ["list_id", "position"]},
        "additionalProperties": False,
    }
    batch = {"type": "array", "items": event, "minItems": 1, "maxItems": settings.events_max_batch}
    accepted = {
        "type": "object",
        "properties": {
            "accepted": {"type": "integer", "minimum": 1, "description": "Events taken in."},
            "counted": {
                "type": "integer",
                "minimum": 0,
                "description": "Accepted events counted as new views (not bots or staff, not "
                "repeats within the dedup window).",
            },
            "rejected": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/RejectedEvent"},
            },
        },
        "required": ["accepted", "counted", "rejected"],
    }
    text = {"type": "string"}
    nullable = {"type": ["string", "null"], "description": "null: absent"}
    article_input = {
        "type": "object",
        "description": "The fields of the articles file (the id is the path's; an id in the "
        "body must equal it); body may be HTML (it is stripped); a url or image_url that is "
        "not an http(s) URL is dropped.",
        "properties": {
            "title": {**text, "minLength": 1, "pattern": "\\S"},
            "body": nullable,
            "category": nullable,
            "tags": {"oneOf": [{"type": "array", "items": text}, text, {"type": "null"}]},
            "author": nullable,
            "published_at": {
                "anyOf": [
                    {"type": "string", "format": "date-time"},
                    {"const": ""},
                    {"type": "null"},
                ],
                "description": "null or empty: unknown",
            },
            "url": nullable,
            "image_url": nullable,
            "image_srcset": {
                **nullable,
                "maxLength": 8000,
                "description": "The image in several widths, an HTML srcset "
                "('https://.../a-320.jpg 320w, https://.../a-640.jpg 640w'); the widget "
                "and the fragments use it beside image_url.",
            },
            "status": {**nullable, "default": "published"},
            "language": nullable,
        },
        "required": ["title"],
        "additionalProperties": False,
    }
    changed = {
        "type": "object",
        "properties": {
            "article_id": text,
            "status": text,
            "new": {"type": "boolean", "description": "Not in the model: published since."},
            "neighbors": {
                "type": "integer",
                "minimum": 0,
                "description": "Folded-in content neighbours.",
            },
            "generation": {"type": "integer", "minimum": 1},
            "dropped": {
                "type": "array",
                "items": {"type": "string", "enum": ["url", "image_url"]},
                "description": "Fields left empty: not http(s) URLs (PUT only).",
            },
        },
        "required": ["article_id", "status", "generation"],
    }
    trending_item = {
        "allOf": [article],
        "type": "object",
        "properties": {
            "views": {"type": "integer", "minimum": 0, "description": "Views in the last 24 h."},
            "score": {"type": "number", "exclusiveMinimum": 0},
        },
        "required": ["id", "title", "url", "category", "published_at", "image_url", "views"],
    }
    bad = ("400", "Bad body (bad_body, naming the field).")
    lifecycle_errors = {
        "401": _error("Missing or wrong bearer token (unauthorized)."),
        "503": _error("No model loaded yet, or the live store does not answer; nothing changed."),
    }
    article_id = {"$ref": "#/components/parameters/article_id"}
    # closed (no token): a 404 for every caller, so no credential is required
    cms: list[dict[str, list[str]]] = [{"cmsToken": []}]
    if not settings.cms_token:
        cms.append({})
    return {
        "/v1/events": {
            "post": {
                "operationId": "recordEvents",
                "summary": "Record page views",
                "description": "One view event or a batch (navigator.sendBeacon works: a "
                "text/plain body is read as the same JSON). A body refused whole, or one whose "
                "every event is "
                "invalid, is a 400 with the reasons and applies nothing; otherwise 202 says "
                "how many events were accepted and counted and why the others were rejected. "
                "Views of bots, excluded networks and staff are accepted but not counted; a "
                "session's repeated views of an article within NEWSREC_DEDUP_MINUTES count "
                "once.",
                "tags": ["live"],
                "requestBody": {
                    "required": True,
                    "content": {
                        # text/plain (sendBeacon) is the same JSON, as the description says:
                        # a string schema would promise that any text is accepted
                        "application/json": {"schema": {"oneOf": [event, batch]}},
                    },
                },
                "responses": {
                    "202": _response("What was accepted and counted.", accepted),
                    "400": _error(
                        "Nothing applied: the body is not an event or a batch of at most "
                        "NEWSREC_EVENTS_MAX_BATCH, or no event is valid (invalid_events, with "
                        "rejected); or a query parameter was given (bad_parameter)."
                    ),
                    "413": _error("The body is too large (body_too_large)."),
                    "415": _error("Not application/json or text/plain."),
                    "503": _error(
                        "No model loaded yet, or the live store does not answer; nothing counted."
                    ),
                },
            }
        },
        "/v1/trending": {
            "get": {
                "operationId": "trending",
                "summary": "Trending articles",
                "description": "Published articles whose views in the last 24 hours rise "
                "fastest against their own rate of the 7 days before ((recent - expected) / "
                "sqrt(expected + 1)); an article needs NEWSREC_TRENDING_MIN_VIEWS views in "
                "the last 24 hours. Live counts merged with the model's.",
                "tags": ["recommendations"],
                "parameters": [
                    {"$ref": "#/components/parameters/n"},
                    {"$ref": "#/components/parameters/category"},
                ],
                "responses": {
                    "200": _response(
                        "The trending articles.",
                        {
                            "type": "object",
                            "properties": {
                                "model_version": text,
                                "category": {"type": ["string", "null"]},
                                "items": {"type": "array", "items": trending_item},
                            },
                            "required": ["model_version", "category", "items"],
                        },
                    ),
                    "400": {"$ref": "#/components/responses/BadParameter"},
                    "503": {"$ref": "#/components/responses/NoModel"},
                },
            }
        },
        "/v1/articles/{article_id}": {
            "put": {
                "operationId": "putArticle",
                "summary": "Publish or update an article (CMS)",
                "description": "Live at once on every worker: a published article is folded "
                "in with the model's vocabulary (its related list and its place in other "
                "lists), another status unpublishes it. The next training supersedes it. "
                "Answers 404 when NEWSREC_CMS_TOKEN is not set.",
                "tags": ["articles"],
                "security": cms,
                "parameters": [article_id],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": article_input}},
                },
                "responses": {
                    "200": _response("The article is live.", changed),
                    "400": _error(bad[1]),
                    **lifecycle_errors,
                    "404": _error("Lifecycle routes disabled: no NEWSREC_CMS_TOKEN."),
                    "413": _error("The body is too large (body_too_large)."),
                },
            },
            "delete": {
                "operationId": "deleteArticle",
                "summary": "Unpublish an article (CMS)",
                "description": "The article disappears from every answer of every worker at "
                "once (cached answers included) and is unknown afterwards.",
                "tags": ["articles"],
                "security": cms,
                "parameters": [article_id],
                "responses": {
                    "200": _response("The article is gone.", changed),
                    **lifecycle_errors,
                    "404": _error("Unknown article, or no NEWSREC_CMS_TOKEN (routes disabled)."),
                },
            },
        },
    }
