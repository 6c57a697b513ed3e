"""The schemas of the page answers, errors and operations in the OpenAPI document
(:func:`schemas`; :mod:`service.openapi.pages` has their paths)."""

from __future__ import annotations

from typing import Any

from recommender.blend import SOURCES, STRATEGIES
from recommender.windows import WINDOWS
from service.openapi.experiments import LIST_PROPERTIES, POSITION
from service.params import MOST_VIEWED_WINDOWS
from service.ranking import EXPLAIN_PARTS

#: The diversity caps (:class:`recommender.blend.Caps`), as ``explain`` names them.
CAPS = ("max_per_section", "max_per_author")


def ref(name: str) -> dict[str, str]:
    """A reference to the schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also allows null."""
    return {**schema, "type": [schema["type"], "null"]}


def schemas() -> dict[str, Any]:
    """Schemas of the page answers, errors and operations."""
    text = {"type": "string"}
    article_properties: dict[str, Any] = {
        "id": {**text, "description": "The article id."},
        "title": text,
        "url": text,
        "category": {**text, "description": "Section (empty when unknown)."},
        "published_at": {
            **nullable(text),
            "format": "date-time",
            "description": "ISO 8601, UTC; null when unknown.",
        },
        "image_url": nullable(text),
    }
    article_required = list(article_properties)
    article_properties["image_srcset"] = {
        **text,
        "description": "The image in several widths (an HTML srcset), when the articles "
        "file gives one.",
    }
    article_properties["reading_minutes"] = {
        "type": "integer",
        "minimum": 1,
        "description": "Minutes to read the text: its words (counted at training and "
        "publication) divided by NEWSREC_WORDS_PER_MINUTE (230), rounded up. Left out when "
        "unknown: an article without text, or a model trained before reading times.",
    }
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
                    "description": "Content part of the blend: for hybrid the TF-IDF cosine "
                    "divided by the best one of this list (the best is 1), else the cosine.",
                },
                "coview": {
                    **number_or_null,
                    "description": "Co-view part of the blend: for hybrid the co-view score "
                    "divided by the best one of this list, else the score.",
                },
                "content_cosine": {
                    **number_or_null,
                    "description": "The TF-IDF cosine of the two articles (what the editor "
                    "preview shows as cosine).",
                },
                "coview_score": {
                    **number_or_null,
                    "description": "The co-view similarity of the two articles (the preview's "
                    "co-view score).",
                },
                "coview_count": {
                    "type": ["integer", "null"],
                    "description": "Sessions that read both articles.",
                },
                "freshness": {
                    **number_or_null,
                    "description": "(1 - freshness_weight) + freshness_weight * 0.5 ** "
                    "(age / half-life), at least 1 - freshness_weight (an undated article: "
                    "age of one half-life; dated after now: age 0); hybrid only.",
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
                "section": {
                    **number_or_null,
                    "description": "Factor 1 + NEWSREC_SECTION_WEIGHT for a candidate of the "
                    "article's own section, 1 for another; hybrid only, null when off.",
                },
                "final": {"type": "number", "description": "The item's score."},
                "rule": {
                    **ref("PublicRule"),
                    "description": "The editorial rule that placed the item (pinned items).",
                },
                "over_cap": {
                    "type": "string",
                    "enum": list(CAPS),
                    "description": "The diversity cap this item exceeds: it completes a "
                    "list that could not be filled within the caps.",
                },
            },
            "required": [*EXPLAIN_PARTS, "final"],
            "additionalProperties": False,
        },
        "RelatedItem": {
            "allOf": [ref("Article")],
            "type": "object",
            "properties": {
                "score": {"type": "number", "description": "Ranking score; 0 for fallback items."},
                "source": {
                    "type": "string",
                    "enum": [*SOURCES, "pinned"],
                    "description": "related, the fallback list it came from, or pinned (an "
                    "editorial rule placed it).",
                },
                "explain": ref("Explain"),
                "position": POSITION,
            },
            "required": [*article_required, "score", "source"],
        },
        "RelatedResponse": {
            "type": "object",
            "properties": {
                "article_id": text,
                "model_version": text,
                "strategy": {"type": "string", "enum": list(STRATEGIES)},
                "items": {"type": "array", "items": ref("RelatedItem")},
                **LIST_PROPERTIES,
                "blocked": {
                    "type": "array",
                    "description": "With explain: items editorial rules removed from the list.",
                    "items": {
                        "type": "object",
                        "properties": {"id": text, "rule": ref("PublicRule")},
                        "required": ["id", "rule"],
                    },
                },
                "caps": {
                    "type": "object",
                    "description": "With explain, when a cap applies: the caps in force (the "
                    "request's, else the site's).",
                    "properties": {
                        "max_per_section": {"type": ["integer", "null"], "minimum": 1},
                        "max_per_author": {"type": ["integer", "null"], "minimum": 1},
                    },
                    "required": ["max_per_section", "max_per_author"],
                },
                "per_story": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "With explain, when same-story collapsing applies: the "
                    "items of one story a list may show.",
                },
                "collapsed": {
                    "type": "array",
                    "description": "With explain, when same-story collapsing left items out "
                    "(absent otherwise): the items left out as another version of a story "
                    "the list shows, in ranking "
                    "order, each with the item it was folded under (`under`: the page's own "
                    "article for another version of it).",
                    "items": {
                        "type": "object",
                        "properties": {"id": text, "under": text},
                        "required": ["id", "under"],
                    },
                },
                "capped": {
                    "type": "array",
                    "description": "With explain: the items the caps skipped and left out, "
                    "in ranking order, with the section or author they had too many of.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": text,
                            "cap": {"type": "string", "enum": list(CAPS)},
                            "value": text,
                        },
                        "required": ["id", "cap", "value"],
                    },
                },
            },
            "required": ["article_id", "model_version", "strategy", "items"],
        },
        "LatestResponse": {
            "type": "object",
            "properties": {
                "model_version": text,
                "category": nullable(text),
                "items": {"type": "array", "items": ref("Article")},
                **LIST_PROPERTIES,
            },
            "required": ["model_version", "category", "items"],
        },
        "MostViewedItem": {
            "allOf": [ref("Article")],
            "type": "object",
            "properties": {"views": {"type": "integer", "minimum": 1}, "position": POSITION},
            "required": [*article_required, "views"],
        },
        "MostViewedResponse": {
            "type": "object",
            "properties": {
                "model_version": text,
                "window": {"type": "string", "enum": list(MOST_VIEWED_WINDOWS)},
                "category": nullable(text),
                "items": {"type": "array", "items": ref("MostViewedItem")},
                **LIST_PROPERTIES,
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
            "allOf": [ref("Article")],
            "type": "object",
            "properties": {
                "status": {**text, "description": "Publication status (published, draft...)."},
                "model_version": text,
                "views": ref("ViewCounts"),
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
                "created_at": {**nullable(text), "description": "When it was trained."},
                "now": {
                    **nullable(text),
                    "description": "End of the popularity windows (end of the data).",
                },
                "loaded_at": {**text, "description": "When this worker loaded it."},
                "n_articles": {"type": "integer", "minimum": 0},
                "counts": {"type": "object"},
                "parameters": {"type": "object"},
                "has_coview": {"type": "boolean"},
                "views_kind": nullable(text),
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
                "experiments": {
                    "type": "array",
                    "description": "The experiments running, and the model version serving "
                    "each variant (null: a holdout).",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": text,
                            "surface": text,
                            "variants": {
                                "type": "object",
                                "additionalProperties": nullable(text),
                            },
                        },
                        "required": ["name", "surface", "variants"],
                    },
                },
                "calibration": {
                    **nullable(text),
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
                "previous_version": nullable(text),
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
                "model_version": nullable(text),
                "loaded_at": nullable(text),
                "redis": {"type": "string", "enum": ["ok", "unreachable", "not configured"]},
                "detail": nullable(text),
                "last_reload_error": {
                    "type": ["object", "null"],
                    "properties": {
                        "version": nullable(text),
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
                        "model_version": nullable(text),
                    },
                    "required": ["code", "message"],
                },
            },
            "required": ["error"],
        },
    }
