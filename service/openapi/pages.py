"""The OpenAPI description of the public page API and the operations routes
(:mod:`service.views`, :mod:`service.openapi.docs`): their paths and parameters (their schemas
in :mod:`service.openapi.schemas`)."""

from __future__ import annotations

from typing import Any

from recommender.blend import STRATEGIES
from service.openapi.schemas import schemas
from service.params import (
    DEFAULT_IMAGE_SIZES,
    EXPLAIN_VALUES,
    MAX_CATEGORY_LENGTH,
    MAX_DAYS,
    MAX_EXCLUDE_IDS,
    MAX_ID_LENGTH,
    MAX_TITLE_LENGTH,
    MOST_VIEWED_WINDOWS,
)
from service.settings import Settings

__all__ = ["fragment_parameters", "parameters", "paths", "responses", "schemas"]

JSON = "application/json"
_ID_CHAR = r"[^,\u0000-\u001f\u007f-\u009f]"
_ID = rf"{_ID_CHAR}{{1,{MAX_ID_LENGTH}}}"
EXCLUDE_PATTERN = rf"^(|{_ID}(,{_ID}){{0,{MAX_EXCLUDE_IDS - 1}}})$"
CATEGORY_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]+$"
#: A name or id in a body: no control character, not only blanks (the routes strip blanks).
NAME_PATTERN = (
    r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {JSON: {"schema": _ref(schema)}},
    }


def _error(description: str) -> dict[str, Any]:
    return _json_response(description, "Error")


def parameters(settings: Settings) -> dict[str, Any]:
    """The shared query and path parameters (ranges from the settings)."""
    days = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DAYS}
    return {
        "session_id": {
            "name": "session_id",
            "in": "query",
            "required": False,
            "description": "The reader's session id (the widget's): picks the reader's variant "
            "of the experiment of this list running (docs/experiments.md); never part of a "
            "cache key.",
            "schema": {"type": "string", "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]{1,200}$"},
        },
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
        **{
            name: {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"At most this many items of one {what} (after ranking, "
                "before the fillers: an item over the cap is skipped and the next one "
                "taken; skipped items complete a list that cannot be filled otherwise). 0: no "
                f"cap; default: {variable} (unset: no cap)."
                + (" Needs a model trained with authors." if what == "author" else ""),
                "schema": {"type": "integer", "minimum": 0, "maximum": settings.max_n},
            }
            for name, what, variable in (
                ("max_per_section", "section", "NEWSREC_MAX_PER_SECTION"),
                ("max_per_author", "author", "NEWSREC_MAX_PER_AUTHOR"),
            )
        },
        "per_story": {
            "name": "per_story",
            "in": "query",
            "required": False,
            "description": "Same-story collapsing: at most this many items of one story (wire "
            "copies, updates and rewrites of one event, found at training by TF-IDF cosine "
            "of at least 0.5 between content neighbours, and at publication through the CMS "
            "route). The highest ranked item of a story stays, later ones are folded under "
            "it (see explain's collapsed); another version of the page's own article is "
            "never listed. 0: off; default: NEWSREC_PER_STORY (1). A model trained before "
            "stories collapses nothing.",
            "schema": {"type": "integer", "minimum": 0, "maximum": settings.max_n},
        },
        "published_within_days": {
            "name": "published_within_days",
            "in": "query",
            "required": False,
            "description": "Only articles published at most this many days before now.",
            "schema": days,
        },
    }


def fragment_parameters() -> dict[str, Any]:
    """The presentation options of the HTML fragments (:mod:`service.fragments`)."""
    text = {"type": "string", "minLength": 1}

    def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema,
        }

    side = r"[^{}\u0000-\u001f\u007f-\u009f]{0,60}"
    template = {**text, "pattern": rf"^{side}\{{n\}}{side}$"}
    return {
        "title": query(
            "title",
            "The block's heading (default: You might also like / New articles / Most viewed).",
            {**text, "maxLength": MAX_TITLE_LENGTH, "pattern": CATEGORY_PATTERN},
        ),
        "heading_level": query(
            "heading_level",
            "Level of the block's heading (2: <h2>); each card's headline is one level below.",
            {"type": "integer", "minimum": 2, "maximum": 6, "default": 2},
        ),
        "reading_text": query(
            "reading_text",
            "The reading time's text, {n} the minutes (for other languages).",
            {**template, "default": "{n} min read"},
        ),
        "views_text": query(
            "views_text",
            "The view count's text (most viewed), {n} the count (1.7k).",
            {**template, "default": "{n} views"},
        ),
        "image_sizes": query(
            "image_sizes",
            "The sizes attribute of card images that have a srcset.",
            {
                **text,
                "maxLength": 200,
                "pattern": r"^[A-Za-z0-9 ():,.%-]+$",
                "default": DEFAULT_IMAGE_SIZES,
            },
        ),
    }


def _html_response() -> dict[str, Any]:
    return {
        "description": "The cards (text/html): the widget's markup, escaped; only http(s) "
        "URLs. Dates as ISO dates.",
        "headers": {
            "X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"},
            "ETag": {"schema": {"type": "string"}},
            "Cache-Control": {
                "description": "public, max-age: the lifetime of the JSON answer it renders.",
                "schema": {"type": "string"},
            },
        },
        "content": {"text/html": {"schema": {"type": "string"}}},
    }


def _fragment_path(
    operation: str, summary: str, json_path: str, names: tuple[str, ...], *errors: tuple[str, str]
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation,
            "summary": summary,
            "description": f"The answer of GET {json_path} as HTML cards, for pages and "
            "crawlers without JavaScript (include it server-side: PHP, ESI, SSI). Same "
            "parameters as the JSON route, plus the presentation options. See docs/widget.md.",
            "tags": ["widget"],
            "parameters": [
                *(_p(name) for name in names),
                *(_p(name) for name in fragment_parameters()),
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "description": "An ETag from an earlier answer: 304 while unchanged.",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": _html_response(),
                "204": {"description": "Nothing to show (no body)."},
                "304": {"description": "Not modified (If-None-Match matched the ETag)."},
                **_api_errors(*errors),
            },
        }
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
                        "max_per_section",
                        "max_per_author",
                        "per_story",
                        "session_id",
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
                    _p(name)
                    for name in ("n", "window", "category", "published_within_days", "session_id")
                ],
                "responses": {
                    "200": _json_response("The most viewed articles.", "MostViewedResponse"),
                    **_api_errors(),
                },
            }
        },
        "/v1/articles/{article_id}/related.html": _fragment_path(
            "relatedArticlesHtml",
            "Related articles as HTML",
            "/v1/articles/{article_id}/related",
            (
                "article_id",
                "n",
                "strategy",
                "exclude",
                "category",
                "max_age_days",
                "explain",
                "max_per_section",
                "max_per_author",
                "per_story",
                "session_id",
            ),
            ("404", "The model knows no such article (unknown_article)."),
        ),
        "/v1/latest.html": _fragment_path(
            "latestArticlesHtml",
            "Newest articles as HTML",
            "/v1/latest",
            ("n", "category", "exclude", "max_age_days", "session_id"),
        ),
        "/v1/most-viewed.html": _fragment_path(
            "mostViewedHtml",
            "Most viewed articles as HTML",
            "/v1/most-viewed",
            ("n", "window", "category", "published_within_days", "session_id"),
        ),
        "/v1/latest": {
            "get": {
                "operationId": "latestArticles",
                "summary": "Newest articles",
                "description": "Published articles by publication time, newest first (ties by "
                "id; articles without a date are left out), optionally of one section. An "
                "article published or unpublished through PUT/DELETE /v1/articles/{id} shows "
                "or goes at once, on every worker. Articles blocked everywhere by an editorial "
                "rule are left out; max_age_days is measured from the model's now (or the "
                "clock with NEWSREC_NOW_FROM_CLOCK).",
                "tags": ["recommendations"],
                "parameters": [
                    _p(name) for name in ("n", "category", "exclude", "max_age_days", "session_id")
                ],
                "responses": {
                    "200": _json_response("The newest articles.", "LatestResponse"),
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
                # closed (no token): a 404 for every caller, so no credential is required
                "security": [{"adminToken": []}, *([] if settings.admin_token else [{}])],
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
        "/demo": {
            "get": {
                "operationId": "demo",
                "summary": "The demo article page (NEWSREC_DEMO only)",
                "description": "Redirects to the demo page of the most viewed article; 404 "
                "without NEWSREC_DEMO.",
                "tags": ["widget"],
                "responses": {
                    "302": {
                        "description": "To /demo/articles/{article_id}.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    "404": _error("Not in demo mode (not_found)."),
                },
            }
        },
        "/demo/go": {
            "get": {
                "operationId": "demoGo",
                "summary": "The demo page of the article with a URL (NEWSREC_DEMO only)",
                "description": "Where the demo page sends a click on a card (the sample's URLs "
                "lead nowhere).",
                "tags": ["widget"],
                "parameters": [
                    {
                        "name": "url",
                        "in": "query",
                        "required": True,
                        "description": "An article's URL.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "302": {
                        "description": "To the article's demo page.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    "404": _error("Not in demo mode, or no article has this URL (not_found)."),
                },
            }
        },
        "/demo/articles/{article_id}": {
            "get": {
                "operationId": "demoArticle",
                "summary": "A sample article as the seed site shows it (NEWSREC_DEMO only)",
                "description": "Title, section, date, reading time and views under the "
                "byline, with the widget's related, new and most viewed blocks.",
                "tags": ["widget"],
                "parameters": [_p("article_id")],
                "responses": {
                    "200": {
                        "description": "HTML.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    "404": _error("Not in demo mode, or no such article."),
                    "503": {"$ref": "#/components/responses/NoModel"},
                },
            }
        },
        "/": {
            "get": {
                "operationId": "index",
                "summary": "Redirect to /docs (to /demo in demo mode)",
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
