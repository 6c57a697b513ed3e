"""The OpenAPI description of the public page API and the operations routes
(:mod:`service.views`, :mod:`service.openapi.docs`): their paths, parameters and schemas."""

from __future__ import annotations

from typing import Any

from recommender.blend import SOURCES, STRATEGIES
from recommender.windows import WINDOWS
from service.params import (
    EXPLAIN_VALUES,
    MAX_CATEGORY_LENGTH,
    MAX_DAYS,
    MAX_EXCLUDE_IDS,
    MAX_ID_LENGTH,
    MOST_VIEWED_WINDOWS,
)
from service.ranking import EXPLAIN_PARTS
from service.settings import Settings

JSON = "application/json"
_ID_CHAR = r"[^,\u0000-\u001f\u007f-\u009f]"
_ID = rf"{_ID_CHAR}{{1,{MAX_ID_LENGTH}}}"
EXCLUDE_PATTERN = rf"^(|{_ID}(,{_ID}){{0,{MAX_EXCLUDE_IDS - 1}}})$"
CATEGORY_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]+$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {JSON: {"schema": _ref(schema)}},
    }


def _error(description: str) -> dict[str, Any]:
    return _json_response(description, "Error")


def schemas() -> dict[str, Any]:
    """Schemas of the page answers, errors and operations."""
    text = {"type": "string"}
    article_properties: dict[str, Any] = {
        "id": {**text, "description": "The article id."},
        "title": text,
        "url": text,
        "category": {**text, "description": "Section (empty when unknown)."},
        "published_at": {
            **_nullable(text),
            "format": "date-time",
            "description": "ISO 8601, UTC; null when unknown.",
        },
        "image_url": _nullable(text),
    }
    article_required = list(article_properties)
    number_or_null = {"type": ["number", "null"]}
    return {
        "Article": {
            "type": "object",
            "properties": article_properties,
            "required": article_required,
        },
        "Explain": {
            "type": "object",
            "description": "The parts of an item's score (null where the strategy or the "
            "fallback did not use a part).",
            "properties": {
                "content": {
                    **number_or_null,
                    "description": "Content similarity, "
                    "max-normalised for hybrid, raw cosine otherwise.",
                },
                "coview": {**number_or_null, "description": "Co-view similarity."},
                "coview_count": {
                    "type": ["integer", "null"],
                    "description": "Sessions that read both articles.",
                },
                "freshness": {
                    **number_or_null,
                    "description": "0.5 ** (age / half-life); hybrid only.",
                },
                "coview_weight": {
                    **number_or_null,
                    "description": "Weight of co-views for "
                    "this query article (grows with its evidence).",
                },
                "popularity": {
                    **number_or_null,
                    "description": "Factor (1 + v) ** w of what readers open now (v: the "
                    "candidate's views in the last 24 hours, w: NEWSREC_POPULARITY_WEIGHT); "
                    "hybrid only, null when off.",
                },
                "final": {"type": "number", "description": "The item's score."},
                "rule": {
                    **_ref("PublicRule"),
                    "description": "The editorial rule that placed the item (pinned items).",
                },
            },
            "required": [*EXPLAIN_PARTS, "final"],
            "additionalProperties": False,
        },
        "RelatedItem": {
            "allOf": [_ref("Article")],
            "type": "object",
            "properties": {
                "score": {"type": "number", "description": "Ranking score; 0 for fallback items."},
                "source": {
                    "type": "string",
                    "enum": [*SOURCES, "pinned"],
                    "description": "related, the fallback list it came from, or pinned (an "
                    "editorial rule placed it).",
                },
                "explain": _ref("Explain"),
            },
            "required": [*article_required, "score", "source"],
        },
        "RelatedResponse": {
            "type": "object",
            "properties": {
                "article_id": text,
                "model_version": text,
                "strategy": {"type": "string", "enum": list(STRATEGIES)},
                "items": {"type": "array", "items": _ref("RelatedItem")},
                "blocked": {
                    "type": "array",
                    "description": "With explain: items editorial rules removed from the list.",
                    "items": {
                        "type": "object",
                        "properties": {"id": text, "rule": _ref("PublicRule")},
                        "required": ["id", "rule"],
                    },
                },
            },
            "required": ["article_id", "model_version", "strategy", "items"],
        },
        "MostViewedItem": {
            "allOf": [_ref("Article")],
            "type": "object",
            "properties": {"views": {"type": "integer", "minimum": 1}},
            "required": [*article_required, "views"],
        },
        "MostViewedResponse": {
            "type": "object",
            "properties": {
                "model_version": text,
                "window": {"type": "string", "enum": list(MOST_VIEWED_WINDOWS)},
                "category": _nullable(text),
                "items": {"type": "array", "items": _ref("MostViewedItem")},
            },
            "required": ["model_version", "window", "category", "items"],
        },
        "ViewCounts": {
            "type": "object",
            "properties": {w: {"type": "integer", "minimum": 0} for w in WINDOWS},
            "required": list(WINDOWS),
            "additionalProperties": False,
        },
        "ArticleResponse": {
            "allOf": [_ref("Article")],
            "type": "object",
            "properties": {
                "status": {**text, "description": "Publication status (published, draft...)."},
                "model_version": text,
                "views": _ref("ViewCounts"),
                "recent_views": {
                    "type": "object",
                    "description": "Views in the last hour and the last 24 hours, live.",
                    "properties": {w: {"type": "integer", "minimum": 0} for w in ("1h", "24h")},
                    "required": ["1h", "24h"],
                    "additionalProperties": False,
                },
                "views_label": {
                    **text,
                    "examples": ["1.7k views"],
                    "description": "All-time views for a page, rounded down.",
                },
            },
            "required": [*article_required, "status", "model_version", "views", "views_label"],
        },
        "ModelResponse": {
            "type": "object",
            "properties": {
                "version": text,
                "created_at": {**_nullable(text), "description": "When it was trained."},
                "now": {
                    **_nullable(text),
                    "description": "End of the popularity windows (end of the data).",
                },
                "loaded_at": {**text, "description": "When this worker loaded it."},
                "n_articles": {"type": "integer", "minimum": 0},
                "counts": {"type": "object"},
                "parameters": {"type": "object"},
                "has_coview": {"type": "boolean"},
                "views_kind": _nullable(text),
                "blend": {
                    "type": ["object", "null"],
                    "description": "The blend settings this bundle is served with, each with "
                    "its value and source: `environment` (a NEWSREC_* variable set explicitly), "
                    "`bundle` (the settings it was trained, calibrated or tuned with, recorded in "
                    "its manifest; `trained_with` says which: default, config or calibration) or "
                    "`default`.",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "value": {},
                            "source": {"enum": ["environment", "bundle", "default"]},
                            "trained_with": text,
                        },
                        "required": ["value", "source"],
                    },
                },
                "calibration": {
                    **_nullable(text),
                    "description": "The bundle's self-calibration at training: `calibrated`, "
                    "`defaults` (the view log was too thin) or `off`; null for a bundle "
                    "trained before calibration existed.",
                },
            },
            "required": [
                "version",
                "created_at",
                "now",
                "loaded_at",
                "n_articles",
                "counts",
                "parameters",
                "has_coview",
            ],
        },
        "ReloadResponse": {
            "type": "object",
            "properties": {
                "model_version": text,
                "previous_version": _nullable(text),
                "changed": {"type": "boolean"},
            },
            "required": ["model_version", "previous_version", "changed"],
        },
        "Health": {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["ok"]}},
            "required": ["status"],
        },
        "Ready": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["ready", "no_model"]},
                "model_version": _nullable(text),
                "loaded_at": _nullable(text),
                "redis": {"type": "string", "enum": ["ok", "unreachable", "not configured"]},
                "detail": _nullable(text),
                "last_reload_error": {
                    "type": ["object", "null"],
                    "properties": {
                        "version": _nullable(text),
                        "message": text,
                        "at": text,
                    },
                    "required": ["version", "message", "at"],
                },
                "reloads": {"type": "integer", "minimum": 0},
                "failed_reloads": {"type": "integer", "minimum": 0},
                "rules": {
                    "type": "string",
                    "enum": ["ok", "unreachable", "not configured"],
                    "description": "Whether the editorial rules' database answered its last "
                    "read (reported, never a reason to fail: the last rules read keep "
                    "applying).",
                },
            },
            "required": ["status", "model_version", "redis", "last_reload_error"],
        },
        "RejectedEvent": {
            "type": "object",
            "properties": {
                "index": {"type": "integer", "minimum": 0, "description": "Position in the batch."},
                "code": {"type": "string", "examples": ["unknown_article", "future_timestamp"]},
                "reason": text,
            },
            "required": ["index", "code", "reason"],
        },
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {
                            "type": "string",
                            "examples": [
                                "bad_parameter",
                                "unknown_article",
                                "no_model",
                                "not_found",
                                "method_not_allowed",
                                "unauthorized",
                                "reload_failed",
                                "internal_error",
                                "invalid_events",
                                "bad_body",
                                "body_too_large",
                                "live_unavailable",
                            ],
                        },
                        "message": text,
                        "parameter": {**text, "description": "The bad query parameter."},
                        "field": {**text, "description": "The bad field of a request body."},
                        "rejected": {
                            "type": "array",
                            "description": "Why each event of a refused batch was refused.",
                            "items": {"$ref": "#/components/schemas/RejectedEvent"},
                        },
                        "request_id": text,
                        "model_version": _nullable(text),
                    },
                    "required": ["code", "message"],
                },
            },
            "required": ["error"],
        },
    }


def parameters(settings: Settings) -> dict[str, Any]:
    """The shared query and path parameters (ranges from the settings)."""
    days = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DAYS}
    return {
        "article_id": {
            "name": "article_id",
            "in": "path",
            "required": True,
            "description": "The article's id, as in the articles file.",
            "schema": {"type": "string", "minLength": 1},
        },
        "n": {
            "name": "n",
            "in": "query",
            "required": False,
            "description": f"How many items (default {settings.default_n}).",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.max_n,
                "default": settings.default_n,
            },
        },
        "category": {
            "name": "category",
            "in": "query",
            "required": False,
            "description": "Only articles of this section (an unknown section gives no items).",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_CATEGORY_LENGTH,
                "pattern": CATEGORY_PATTERN,
            },
        },
        "strategy": {
            "name": "strategy",
            "in": "query",
            "required": False,
            "description": "hybrid blends content and co-views with freshness; content and "
            "coview use one signal.",
            "schema": {"type": "string", "enum": list(STRATEGIES), "default": "hybrid"},
        },
        "exclude": {
            "name": "exclude",
            "in": "query",
            "required": False,
            "description": f"Comma-separated ids already on the page (at most {MAX_EXCLUDE_IDS} "
            f"ids of 1 to {MAX_ID_LENGTH} characters, no control characters). Unknown ids are "
            "ignored.",
            "schema": {"type": "string", "pattern": EXCLUDE_PATTERN},
        },
        "max_age_days": {
            "name": "max_age_days",
            "in": "query",
            "required": False,
            "description": "Only articles published at most this many days before now.",
            "schema": days,
        },
        "explain": {
            "name": "explain",
            "in": "query",
            "required": False,
            "description": "Add each item's score parts.",
            "schema": {"type": "string", "enum": list(EXPLAIN_VALUES), "default": "false"},
        },
        "window": {
            "name": "window",
            "in": "query",
            "required": False,
            "description": "Views over the model's last day, week, 30 days or all time, plus "
            "live views since; or 1h and 24h: the last hour or 24 hours, live (see "
            "service/live.py for how live and model counts are merged).",
            "schema": {"type": "string", "enum": list(MOST_VIEWED_WINDOWS), "default": "7d"},
        },
        "published_within_days": {
            "name": "published_within_days",
            "in": "query",
            "required": False,
            "description": "Only articles published at most this many days before now.",
            "schema": days,
        },
    }


def _p(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _api_errors(*extra: tuple[str, str]) -> dict[str, Any]:
    responses = {
        "400": {"$ref": "#/components/responses/BadParameter"},
        "503": {"$ref": "#/components/responses/NoModel"},
    }
    for status, description in extra:
        responses[status] = _error(description)
    return responses


def paths(settings: Settings) -> dict[str, Any]:
    """Paths of the page API, the operations routes and the documentation."""
    related_summary = (
        "Related articles for an article page: the hybrid ranking first, then the most viewed "
        "of the section, then of the site, so the list holds n items whenever the catalogue "
        "allows. Never the article itself, an excluded id or an unpublished article."
    )
    return {
        "/v1/articles/{article_id}/related": {
            "get": {
                "operationId": "relatedArticles",
                "summary": "Related articles",
                "description": related_summary,
                "tags": ["recommendations"],
                "parameters": [
                    _p(name)
                    for name in (
                        "article_id",
                        "n",
                        "strategy",
                        "exclude",
                        "category",
                        "max_age_days",
                        "explain",
                    )
                ],
                "responses": {
                    "200": _json_response("The related articles.", "RelatedResponse"),
                    **_api_errors(("404", "The model knows no such article (unknown_article).")),
                },
            }
        },
        "/v1/most-viewed": {
            "get": {
                "operationId": "mostViewed",
                "summary": "Most viewed articles",
                "description": "Published articles with the most views in a window (articles "
                "without views in the window are left out).",
                "tags": ["recommendations"],
                "parameters": [
                    _p(name) for name in ("n", "window", "category", "published_within_days")
                ],
                "responses": {
                    "200": _json_response("The most viewed articles.", "MostViewedResponse"),
                    **_api_errors(),
                },
            }
        },
        "/v1/articles/{article_id}": {
            "get": {
                "operationId": "article",
                "summary": "One article with its view counts",
                "description": "Metadata, views per window and a label such as '1.7k views'.",
                "tags": ["articles"],
                "parameters": [_p("article_id")],
                "responses": {
                    "200": _json_response("The article.", "ArticleResponse"),
                    **_api_errors(("404", "The model knows no such article (unknown_article).")),
                },
            }
        },
        "/v1/model": {
            "get": {
                "operationId": "model",
                "summary": "The model in service",
                "description": "Summary of the bundle this worker serves.",
                "tags": ["operations"],
                "responses": {
                    "200": _json_response("The model.", "ModelResponse"),
                    **_api_errors(),
                },
            }
        },
        "/v1/admin/reload": {
            "post": {
                "operationId": "reloadModel",
                "summary": "Look for a new model now",
                "description": "Makes the answering worker check models/LATEST at once (the "
                "others check every NEWSREC_RELOAD_INTERVAL seconds). Answers 404 when "
                "NEWSREC_ADMIN_TOKEN is not set.",
                "tags": ["operations"],
                "security": [{"adminToken": []}],
                "responses": {
                    "200": _json_response("The model now in service.", "ReloadResponse"),
                    **_api_errors(
                        ("401", "Missing or wrong bearer token (unauthorized)."),
                        ("404", "Admin route disabled: no NEWSREC_ADMIN_TOKEN (not_found)."),
                        (
                            "409",
                            "The new bundle was refused; the old one keeps serving "
                            "(reload_failed).",
                        ),
                    ),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness",
                "description": "200 while the process answers.",
                "tags": ["operations"],
                "responses": {"200": _json_response("Alive.", "Health")},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness",
                "description": "200 when a model is loaded, 503 before. Reports whether Redis "
                "and the rules database answer (without failing on them) and the last refused "
                "bundle.",
                "tags": ["operations"],
                "responses": {
                    "200": _json_response("Ready.", "Ready"),
                    "503": _json_response("No model loaded yet.", "Ready"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "description": "Requests and latency per route template and status, cache "
                "hits and misses per level, model version and age, reloads.",
                "tags": ["operations"],
                "responses": {
                    "200": {
                        "description": "Prometheus text format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["operations"],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1.",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/": {
            "get": {
                "operationId": "index",
                "summary": "Redirect to /docs",
                "tags": ["operations"],
                "responses": {
                    "302": {
                        "description": "To the documentation page.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/docs": {
            "get": {
                "operationId": "docs",
                "summary": "This document as a web page",
                "tags": ["operations"],
                "responses": {
                    "200": {
                        "description": "HTML.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def responses() -> dict[str, Any]:
    """The shared error responses."""
    return {
        "BadParameter": _error(
            "A query parameter is unknown, repeated or out of range "
            "(bad_parameter, naming the parameter)."
        ),
        "NoModel": _error("No model loaded yet (no_model)."),
    }


#: Bearer tokens of the admin and CMS routes (the rules API adds its own).
SECURITY_SCHEMES = {
    "cmsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "NEWSREC_CMS_TOKEN",
    },
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "NEWSREC_ADMIN_TOKEN",
    },
}
