"""The OpenAPI description of ``/v1/experiments`` and the report page
(:mod:`service.experiments.api`)."""

from __future__ import annotations

from typing import Any

from recommender.blend import STRATEGIES
from service.experiments.config import MAX_VARIANTS, MODEL_RE, NAME_RE, SURFACES
from service.params import MAX_CATEGORY_LENGTH, MAX_DAYS, MOST_VIEWED_WINDOWS

NAME = {"type": "string", "pattern": f"^{NAME_RE.pattern}$"}
_SECURITY: list[dict[str, list[str]]] = [{"rulesToken": []}, {"editorSession": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {"application/json": {"schema": _ref(schema)}},
    }


#: What every related, most-viewed and latest answer adds (service.answers.listed).
LIST_PROPERTIES: dict[str, Any] = {
    "list_id": {
        "type": "string",
        "pattern": "^[0-9a-f]{16}$",
        "description": "Names this list in impression and click events (and nr_list).",
    },
    "variant": {
        "type": ["string", "null"],
        "description": "The reader's variant of the experiment running (session_id given), "
        "else null.",
    },
    "experiment": {"type": "string", "description": "The experiment, with a variant."},
}
POSITION = {"type": "integer", "minimum": 1, "description": "1 for the first item."}


def schemas() -> dict[str, Any]:
    """The experiments' schemas."""
    when = {"type": ["string", "null"], "format": "date-time"}
    days = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DAYS}
    surface = {
        "type": "string",
        "enum": list(SURFACES),
        "default": "related",
        "description": "The lists the experiment varies; one experiment per surface runs at "
        "a time.",
    }
    ratio = {"type": ["number", "null"]}
    interval = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    variant = {
        "type": "object",
        "properties": {
            "name": NAME,
            "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 1e6, "default": 1},
            "strategy": {"type": "string", "enum": list(STRATEGIES)},
            "blend": {
                "type": "object",
                "description": "Blend settings of this variant (names and bounds of "
                "NEWSREC_CONTENT_WEIGHT and the others, lower case: `popularity_weight`).",
            },
            "holdout": {"type": "boolean", "description": "No recommendations at all."},
            "model": {
                "type": "string",
                "pattern": f"^{MODEL_RE.pattern}$",
                "description": "related: the model version serving this variant (a bundle of "
                "the models directory, as `newsrec models` lists it); refused (400) when it "
                "does not exist or cannot be served.",
            },
            "window": {
                "type": "string",
                "enum": list(MOST_VIEWED_WINDOWS),
                "description": "most-viewed: the window, instead of the page's.",
            },
            "published_within_days": {
                **days,
                "description": "most-viewed: only articles published within these days.",
            },
            "category": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_CATEGORY_LENGTH,
                "description": "latest: only this section, instead of the page's.",
            },
            "max_age_days": {**days, "description": "latest: only articles this recent."},
        },
        "required": ["name"],
        "additionalProperties": False,
        "description": "A related variant sets strategy, blend and model; a most-viewed one "
        "window and published_within_days; a latest one category and max_age_days; any "
        "variant may be a holdout instead.",
    }
    definition = {
        "type": "object",
        "properties": {
            "name": {**NAME, "description": "Must equal the path's, when given."},
            "surface": surface,
            "description": {"type": "string", "maxLength": 500},
            "start": {**when, "description": "Default: now."},
            "end": {**when, "description": "Default: open (delete it to end it)."},
            "variants": {
                "type": "array",
                "items": _ref("ExperimentVariant"),
                "minItems": 2,
                "maxItems": MAX_VARIANTS,
                "description": "The first is the control.",
            },
        },
        "required": ["variants"],
        "additionalProperties": False,
    }
    stored = {
        "type": "object",
        "properties": {
            "name": NAME,
            "description": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "end": when,
            "variants": {"type": "array", "items": _ref("ExperimentVariant")},
            "surface": surface,
            "configured": {"type": "boolean", "description": "From NEWSREC_EXPERIMENTS."},
            "serving": {
                "type": "object",
                "additionalProperties": {"type": ["string", "null"]},
                "description": "The model version serving each variant (null: a holdout).",
            },
        },
        "required": ["name", "start", "end", "variants"],
    }
    position = {
        "type": "object",
        "properties": {
            "position": {"type": "integer", "minimum": 1},
            "impressions": {"type": "integer", "minimum": 0},
            "clicks": {"type": "integer", "minimum": 0},
            "ctr": ratio,
            "ctr_interval": interval,
        },
        "required": ["position", "impressions", "clicks", "ctr", "ctr_interval"],
    }
    arm = {
        "type": "object",
        "properties": {
            "name": NAME,
            "impressions": {"type": "integer", "minimum": 0, "description": "Lists seen."},
            "clicks": {"type": "integer", "minimum": 0},
            "ctr": ratio,
            "ctr_interval": {**interval, "description": "95 % Wilson interval."},
            "sessions": {"type": "integer", "minimum": 0},
            "pages_per_session": ratio,
            "clicking_sessions": {"type": "integer", "minimum": 0},
            "pages_after_click": {
                **ratio,
                "description": "Page views of a session from its first recommendation click "
                "on (the clicked page included), per clicking session.",
            },
            "daily": {"type": "array", "items": {"type": "object"}},
            "positions": {"type": "array", "items": _ref("ExperimentPosition")},
        },
        "required": ["name", "impressions", "clicks", "ctr", "daily", "positions"],
    }
    report = {
        "type": "object",
        "properties": {
            "experiment": NAME,
            "surface": surface,
            "running": {"type": "boolean"},
            "control": NAME,
            "variants": {"type": "array", "items": _ref("ExperimentArm")},
            "comparisons": {"type": "array", "items": {"type": "object"}},
            "test": {"type": "string", "description": "The test, and why."},
            "winner": {"type": ["string", "null"]},
            "serving": {
                "type": "object",
                "additionalProperties": {"type": ["string", "null"]},
                "description": "The model version serving each variant (null: a holdout).",
            },
            "models": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "The model version each variant with its own names.",
            },
            "verdict": {"type": "string", "examples": ["B wins: CTR 4.60% against 4.00% ..."]},
        },
        "required": ["experiment", "control", "variants", "comparisons", "winner", "verdict"],
    }
    return {
        "ExperimentVariant": variant,
        "ExperimentDefinition": definition,
        "Experiment": stored,
        "ExperimentList": {
            "type": "object",
            "properties": {
                "running": {
                    "type": ["string", "null"],
                    "description": "The related experiment running.",
                },
                "running_all": {
                    "type": "array",
                    "items": NAME,
                    "description": "Every experiment running (one per surface at most).",
                },
                "experiments": {"type": "array", "items": _ref("Experiment")},
            },
            "required": ["running", "experiments"],
        },
        "ExperimentPosition": position,
        "ExperimentArm": arm,
        "ExperimentReport": report,
    }


def paths() -> dict[str, Any]:
    """The path items of the experiments API and the report page."""
    name = {"name": "name", "in": "path", "required": True, "schema": NAME}
    denied = {
        "401": _json("No valid token and no editor session (unauthorized).", "Error"),
        "403": _json("A change through a session without X-CSRF-Token (csrf_failed).", "Error"),
    }
    unknown = {"404": _json("No such experiment (unknown_experiment).", "Error")}
    configured = {"409": _json("Defined in NEWSREC_EXPERIMENTS (configured_experiment).", "Error")}
    bad_query = {"400": {"$ref": "#/components/responses/BadParameter"}}
    tags = ["experiments"]
    return {
        "/v1/experiments": {
            "get": {
                "operationId": "listExperiments",
                "summary": "Every experiment, and the one running",
                "tags": tags,
                "security": _SECURITY,
                "responses": {
                    "200": _json("The experiments.", "ExperimentList"),
                    **bad_query,
                    **denied,
                },
            }
        },
        "/v1/experiments/{name}": {
            "put": {
                "operationId": "putExperiment",
                "summary": "Define or replace an experiment",
                "description": "Experiments may not overlap in time; see docs/experiments.md.",
                "tags": tags,
                "security": _SECURITY,
                "parameters": [name],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ExperimentDefinition")}},
                },
                "responses": {
                    "200": _json("The experiment as stored.", "Experiment"),
                    "400": _json("A definition that cannot be used (invalid_experiment).", "Error"),
                    **denied,
                    **configured,
                },
            },
            "delete": {
                "operationId": "deleteExperiment",
                "summary": "Delete an experiment (its counts stay)",
                "tags": tags,
                "security": _SECURITY,
                "parameters": [name],
                "responses": {
                    "204": {"description": "Deleted."},
                    **denied,
                    **unknown,
                    **configured,
                },
            },
        },
        "/v1/experiments/{name}/report": {
            "get": {
                "operationId": "experimentReport",
                "summary": "Impressions, clicks, CTR per variant and position, test, verdict",
                "tags": tags,
                "security": _SECURITY,
                "parameters": [name],
                "responses": {
                    "200": _json("The report.", "ExperimentReport"),
                    **bad_query,
                    **denied,
                    **unknown,
                    "503": _json("The live store does not answer (live_unavailable).", "Error"),
                },
            }
        },
        "/preview/experiments/{name}": {
            "get": {
                "operationId": "experimentReportPage",
                "summary": "The report page with the daily CTR chart (editors)",
                "tags": ["editor"],
                # any text: a visitor without a session is sent to the login whatever it is
                "parameters": [{**name, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    "302": {
                        "description": "Not logged in: to /preview/login.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    **unknown,
                },
            }
        },
    }
