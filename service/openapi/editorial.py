"""The OpenAPI description of the editors' routes: the rules API
(:mod:`service.editorial.api`), the preview and its data calls
(:mod:`service.editorial.preview`) and the login (:mod:`service.editorial.auth`)."""

from __future__ import annotations

from typing import Any

from service.editorial.api import MAX_AUDIT, MAX_RULE_ID
from service.editorial.preview import MAX_FRESHNESS_WEIGHT, MAX_POPULARITY_WEIGHT, MAX_WEIGHT
from service.editorial.rules import (
    KINDS,
    MAX_AUTHOR_LENGTH,
    MAX_ID_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SECTION_LENGTH,
    SCOPES,
)
from service.openapi.pages import NAME_PATTERN
from service.settings import Settings


def schemas(settings: Settings) -> dict[str, Any]:
    """Schemas of the rules API (and of a rule as ``explain`` shows it)."""
    text = {"type": "string"}
    time_or_null = {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "ISO 8601 with a time zone; null: no bound.",
    }
    identifier = {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ID_LENGTH,
        "pattern": NAME_PATTERN,
    }
    scope = {
        "type": "string",
        "enum": list(SCOPES),
        "description": "article: the list of article_id; section: of every article of the "
        "section; everywhere: every list (a block everywhere also leaves the most viewed).",
    }
    rule_properties: dict[str, Any] = {
        "id": {"type": "integer", "minimum": 1, "description": "Never reused."},
        "kind": {"type": "string", "enum": list(KINDS)},
        "scope": scope,
        "target_id": {**text, "description": "The article pinned or blocked."},
        "article_id": {**_nullable_text(), "description": "The list it applies to."},
        "section": {**_nullable_text(), "description": "The section it applies to."},
        "slot": {"type": ["integer", "null"], "minimum": 1, "description": "Pins: 1 = first."},
        "starts_at": time_or_null,
        "ends_at": time_or_null,
        "author": text,
        "note": text,
        "created_at": {**text, "format": "date-time"},
        "state": {"type": "string", "enum": ["scheduled", "active", "expired"]},
    }
    return {
        "PublicRule": {
            "type": "object",
            "description": "The rule that placed or removed an item (without author or note).",
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "kind": {"type": "string", "enum": list(KINDS)},
                "scope": scope,
                "slot": {"type": ["integer", "null"], "minimum": 1},
            },
            "required": ["id", "kind", "scope", "slot"],
        },
        "Rule": {
            "type": "object",
            "properties": rule_properties,
            "required": [name for name in rule_properties if name != "state"],
        },
        "RuleInput": _rule_input(settings, identifier, time_or_null),
        "RulesResponse": {
            "type": "object",
            "properties": {
                "rules_version": {
                    **_nullable_text(),
                    "description": "Changes with every change (null before the first rule).",
                },
                "now": {**text, "format": "date-time"},
                "rules": {"type": "array", "items": {"$ref": "#/components/schemas/Rule"}},
            },
            "required": ["rules_version", "now", "rules"],
        },
        "RuleCreated": {
            "type": "object",
            "properties": {"rule": {"$ref": "#/components/schemas/Rule"}},
            "required": ["rule"],
        },
        "RuleDeleted": {
            "type": "object",
            "properties": {"deleted": {"$ref": "#/components/schemas/Rule"}},
            "required": ["deleted"],
        },
        "PreviewSearch": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"type": "object"}},
                "total": {"type": "integer", "minimum": 0},
                "model_version": text,
            },
            "required": ["items", "total", "model_version"],
        },
        "PreviewLists": {
            "type": "object",
            "description": "See docs/preview.md; made for the page, not a stable API.",
            "properties": {
                "article": {"type": "object"},
                "model": {"type": "object"},
                "lists": {"type": "object"},
                "rules": {"type": "array"},
                "previous": {"type": ["object", "null"]},
            },
            "required": ["article", "model", "lists", "rules", "previous"],
        },
        "AuditResponse": {
            "type": "object",
            "properties": {
                "entries": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "at": {**text, "format": "date-time"},
                            "author": text,
                            "action": {"type": "string", "enum": ["create", "delete"]},
                            "rule_id": {"type": "integer"},
                            "before": {"type": ["object", "null"]},
                            "after": {"type": ["object", "null"]},
                        },
                        "required": ["id", "at", "author", "action", "rule_id", "before", "after"],
                    },
                }
            },
            "required": ["entries"],
        },
    }


def _nullable_text() -> dict[str, Any]:
    return {"type": ["string", "null"]}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _redirect(description: str) -> dict[str, Any]:
    return {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _editor_paths(settings: Settings) -> dict[str, Any]:
    """The preview page, its login and its data calls (for editors; see docs/preview.md)."""
    session: list[dict[str, list[str]]] = [{"editorSession": []}]
    form = "application/x-www-form-urlencoded"
    weight = {"type": "number", "minimum": 0, "maximum": MAX_WEIGHT}
    login_fields = {
        "username": {"type": "string"},
        "password": {"type": "string"},
        "csrf_token": {"type": "string", "description": "From the login form."},
        "next": {"type": "string", "description": "Where to go next (within /preview)."},
    }
    return {
        "/preview": {
            "get": {
                "operationId": "previewPage",
                "summary": "The editor preview page",
                "description": "Logged-in editors get the page; others go to the login.",
                "tags": ["editor"],
                "parameters": [_query("article", {"type": "string"}, "An article to open.")],
                "responses": {
                    "200": _html("The page."),
                    "302": _redirect("Not logged in: to /preview/login."),
                },
            }
        },
        "/preview/login": {
            "get": {
                "operationId": "previewLoginForm",
                "summary": "The editor login form",
                "tags": ["editor"],
                "parameters": [_query("next", {"type": "string"}, "Where to go next.")],
                "responses": {
                    "200": _html("The form."),
                    "302": _redirect("Already logged in: to the preview."),
                },
            },
            "post": {
                "operationId": "previewLogin",
                "summary": "Log in",
                "description": "10 failed logins per address and worker in 5 minutes: 429.",
                "tags": ["editor"],
                "requestBody": {
                    "required": True,
                    "content": {
                        form: {
                            "schema": {
                                "type": "object",
                                "properties": login_fields,
                                "required": ["username", "password", "csrf_token"],
                            }
                        }
                    },
                },
                "responses": {
                    "302": _redirect("Logged in: to the preview."),
                    "401": _html("Wrong user name or password."),
                    "403": _html("The form's CSRF token is missing or stale."),
                    "429": _html("Too many failed logins (Retry-After)."),
                },
            },
        },
        "/preview/logout": {
            "post": {
                "operationId": "previewLogout",
                "summary": "Log out",
                "tags": ["editor"],
                "requestBody": {
                    "required": False,
                    "content": {
                        form: {
                            "schema": {
                                "type": "object",
                                "properties": {"csrf_token": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {"302": _redirect("To the login form.")},
            }
        },
        "/preview/api/search": {
            "get": {
                "operationId": "previewSearch",
                "summary": "Find articles by title words, URL or id",
                "tags": ["editor"],
                "security": session,
                "parameters": [
                    _query("q", {"type": "string"}, "Words of a title, a URL or an id."),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                        "How many results.",
                    ),
                ],
                "responses": {
                    "200": _json("Matching articles.", "PreviewSearch"),
                    "400": {"$ref": "#/components/responses/BadParameter"},
                    "401": _json("Not logged in (unauthorized).", "Error"),
                    "503": {"$ref": "#/components/responses/NoModel"},
                },
            }
        },
        "/preview/api/articles/{article_id}": {
            "get": {
                "operationId": "previewLists",
                "summary": "The preview's four lists of one article",
                "description": "What readers get, content only, co-view only and the most "
                "viewed of the section, with score parts, under optional ranking overrides "
                "(nothing is saved); and the comparison with the previous model.",
                "tags": ["editor"],
                "security": session,
                "parameters": [
                    {"$ref": "#/components/parameters/article_id"},
                    _query(
                        "n",
                        {"type": "integer", "minimum": 1, "maximum": settings.max_n},
                        "Items per list.",
                    ),
                    _query("content_weight", weight, "Override of the content weight."),
                    _query("coview_weight", weight, "Override of the co-view weight."),
                    _query(
                        "popularity_weight",
                        {"type": "number", "minimum": 0, "maximum": MAX_POPULARITY_WEIGHT},
                        "Override of the popularity weight (exponent of 1 + 24-hour views).",
                    ),
                    _query(
                        "half_life_days",
                        {
                            "anyOf": [
                                {"type": "number", "exclusiveMinimum": 0, "maximum": 3650},
                                {"type": "string", "enum": ["off"]},
                            ]
                        },
                        "Override of the freshness half-life (every section).",
                    ),
                    _query(
                        "freshness_weight",
                        {"type": "number", "minimum": 0, "maximum": MAX_FRESHNESS_WEIGHT},
                        "Override of the freshness weight (factor (1 - w) + w * decay).",
                    ),
                    _query("compare", {"type": "string", "enum": ["0", "1"]}, "0: no comparison."),
                ],
                "responses": {
                    "200": _json("The lists.", "PreviewLists"),
                    "400": {"$ref": "#/components/responses/BadParameter"},
                    "401": _json("Not logged in (unauthorized).", "Error"),
                    "404": _json("The model knows no such article (unknown_article).", "Error"),
                    "503": {"$ref": "#/components/responses/NoModel"},
                },
            }
        },
    }


def _rule_input(
    settings: Settings, identifier: dict[str, Any], time_or_null: dict[str, Any]
) -> dict[str, Any]:
    """The body of ``POST /v1/rules``: one shape per kind and scope, so that the rules between
    fields (a pin has a slot, a block none; a list is of an article or a section, not both) are
    the schema's own."""
    common: dict[str, Any] = {
        "target_id": identifier,
        "starts_at": time_or_null,
        "ends_at": time_or_null,
        "note": {"type": "string", "minLength": 1, "maxLength": MAX_NOTE_LENGTH, "pattern": "\\S"},
        "author": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_AUTHOR_LENGTH,
            "pattern": NAME_PATTERN,
            "description": "Required with the token; a session names its editor.",
        },
    }
    scopes: dict[str, dict[str, Any]] = {
        "article_id": identifier,
        "section": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_SECTION_LENGTH,
            "pattern": NAME_PATTERN,
        },
        "": {},
    }
    shapes = []
    for kind in KINDS:
        for scope, scope_schema in scopes.items():
            properties = {"kind": {"const": kind}, **common}
            required = ["kind", "target_id", "note"]
            if kind == "pin":
                properties["slot"] = {"type": "integer", "minimum": 1, "maximum": settings.max_n}
                required.append("slot")
            if scope:
                properties[scope] = scope_schema
                required.append(scope)
            shapes.append(
                {
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": False,
                }
            )
    return {
        "description": "A pin (target_id at slot) or a block (target_id never shown) for the "
        "list of article_id, of every article of section, or everywhere (neither). It applies "
        "from starts_at (default: now) until ends_at (default: no end).",
        "oneOf": shapes,
    }


def paths(settings: Settings) -> dict[str, Any]:
    """Path items of ``/v1/rules`` (scripts use the bearer token, the preview its session) and
    of the preview itself."""
    security: list[dict[str, list[str]]] = [{"rulesToken": []}, {"editorSession": []}]
    denied = {
        "401": _json("No valid token and no editor session (unauthorized).", "Error"),
        "403": _json("A change through a session without X-CSRF-Token (csrf_failed).", "Error"),
    }
    bad_query = {"400": {"$ref": "#/components/responses/BadParameter"}}
    return {
        **_editor_paths(settings),
        "/v1/rules": {
            "get": {
                "operationId": "listRules",
                "summary": "Editorial rules",
                "description": "Every pin and block with its state.",
                "tags": ["rules"],
                "security": security,
                "responses": {
                    "200": _json("The rules.", "RulesResponse"),
                    **bad_query,
                    **denied,
                },
            },
            "post": {
                "operationId": "createRule",
                "summary": "Create a pin or a block",
                "description": "Applies at once in every answer of every worker. Ids and "
                "sections must be known to the model in service. A 400 names the bad field.",
                "tags": ["rules"],
                "security": security,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/RuleInput"}}
                    },
                },
                "responses": {
                    "201": _json("The rule, with its id.", "RuleCreated"),
                    "400": _json("A bad field (invalid_rule, naming the field).", "Error"),
                    **denied,
                    "503": _json("The rules database failed (rules_unavailable).", "Error"),
                },
            },
        },
        "/v1/rules/{rule_id}": {
            "delete": {
                "operationId": "deleteRule",
                "summary": "Delete a rule",
                "description": "Scripts name themselves with ?author= (the audit log says "
                "who); a session names its editor.",
                "tags": ["rules"],
                "security": security,
                "parameters": [
                    {
                        "name": "rule_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_RULE_ID},
                    },
                    {
                        "name": "author",
                        "in": "query",
                        "required": True,
                        "description": "Who deletes it, for the audit log (an editor's "
                        "session records its own editor instead, and may leave it out).",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 100,
                            "pattern": "\\S",
                        },
                    },
                ],
                "responses": {
                    "200": _json("The deleted rule.", "RuleDeleted"),
                    "400": _json("No author with the token (invalid_rule).", "Error"),
                    **denied,
                    "404": _json("No such rule (unknown_rule).", "Error"),
                    "503": _json("The rules database failed (rules_unavailable).", "Error"),
                },
            }
        },
        "/v1/rules/audit": {
            "get": {
                "operationId": "rulesAudit",
                "summary": "Audit log of the rules",
                "description": "Who created or deleted which rule and when, newest first, "
                "with the rule before and after.",
                "tags": ["rules"],
                "security": security,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_AUDIT,
                            "default": 100,
                        },
                    }
                ],
                "responses": {
                    "200": _json("The latest changes.", "AuditResponse"),
                    **bad_query,
                    **denied,
                    "503": _json("The rules database failed (rules_unavailable).", "Error"),
                },
            }
        },
    }


SECURITY_SCHEMES = {
    "rulesToken": {"type": "http", "scheme": "bearer", "description": "NEWSREC_RULES_TOKEN"},
    "editorSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "newsrec_editor",
        "description": "An editor's session from /preview/login; changes also need the "
        "X-CSRF-Token header.",
    },
}
