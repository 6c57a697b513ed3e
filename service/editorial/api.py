"""The rules REST API: ``/v1/rules`` for editors (session) and scripts (bearer token)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from service.answers import json_response
from service.editorial.auth import (
    rules_caller,
)
from service.editorial.rules import (
    MAX_AUTHOR_LENGTH,
    RuleError,
    RulesBackend,
    RulesStoreError,
    UnknownRuleError,
    iso,
    parse_rule,
)
from service.errors import ApiError
from service.jsonbody import BodyError, bounded_json
from service.params import parse_bounded_integer, parse_none, parse_values
from service.ranking import (
    known_categories,
)
from service.runtime import runtime

if TYPE_CHECKING:
    from service.runtime import Runtime

rules_api = Blueprint("rules_api", __name__)

MAX_BODY_BYTES = 64 * 1024
#: The largest rule id (a signed 64-bit integer, as SQLite and PostgreSQL keep them).
MAX_RULE_ID = 2**63 - 1
MAX_AUDIT = 1000


class InvalidRule(ApiError):
    """A rule that cannot be stored; ``field`` names the offending field (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, "invalid_rule", message, field=field)


class UnknownRule(ApiError):
    """No rule has this id (404)."""

    def __init__(self, rule_id: int) -> None:
        super().__init__(404, "unknown_rule", f"there is no rule #{rule_id}")


class RulesUnavailable(ApiError):
    """The rules database cannot be reached, read or written (503)."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, "rules_unavailable", f"the rules database failed: {detail}")


#: What a failed write of either store raises (SQLite: a locked file, a full disk, a directory
#: that cannot be made; PostgreSQL: :class:`RulesStoreError`).
_STORE_ERRORS = (sqlite3.Error, OSError, RulesStoreError)


def rules_store(rt: Runtime) -> RulesBackend:
    if rt.rules is None:  # pragma: no cover - create_app always makes one
        raise RulesUnavailable("no rules store")
    return rt.rules


@rules_api.after_request
def _protect_rules(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_body() -> Any:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise InvalidRule("body", f"the body must be at most {MAX_BODY_BYTES} bytes")
    if not request.is_json:
        raise InvalidRule("body", "send a JSON object with Content-Type: application/json")
    try:
        return bounded_json(request.get_data(cache=False), max_bytes=MAX_BODY_BYTES)
    except BodyError as exc:
        raise InvalidRule("body", f"send a JSON object ({exc})") from None


def _check_known(data: dict[str, Any], rt: Runtime) -> None:
    """Ids and sections must be known to the model in service (when one is loaded)."""
    loaded = rt.store.current()
    if loaded is None:
        return
    bundle = loaded.bundle
    for name in ("target_id", "article_id"):
        value = data.get(name)
        if value is not None and not bundle.has(value):
            raise InvalidRule(name, f"{name}: the model knows no article {value[:80]!r}")
    section = data.get("section")
    if section is not None and section not in known_categories(bundle):
        raise InvalidRule("section", f"section: the model knows no section {section[:80]!r}")


@rules_api.get("/v1/rules")
def list_rules() -> Response:
    """Every editorial rule with its state (scheduled, active, expired)."""
    rules_caller()
    parse_none(request.args)
    active = rules_store(runtime()).active()
    return json_response(
        {
            "rules_version": active.key or None,
            "now": iso(active.now),
            "rules": [rule.to_json(active.now) for rule in active.book.rules],
        }
    )


@rules_api.post("/v1/rules")
def create_rule() -> Response:
    """Create a pin or a block (author from the session, or from the body for scripts)."""
    author = rules_caller()
    parse_none(request.args)
    rt = runtime()
    store = rules_store(rt)
    now = store.clock()
    try:
        new = parse_rule(_json_body(), author=author, max_slot=rt.settings.max_n, now=now)
    except RuleError as exc:
        raise InvalidRule(exc.field, exc.message) from None
    _check_known(
        {"target_id": new.target_id, "article_id": new.article_id, "section": new.section}, rt
    )
    try:
        rule = store.create(new)
    except _STORE_ERRORS as exc:  # the database is down, locked or full: 503, the editor retries
        raise RulesUnavailable(str(exc)) from exc
    response = json_response({"rule": rule.to_json(now)}, 201)
    response.headers["Location"] = f"/v1/rules/{rule.id}"
    return response


@rules_api.delete("/v1/rules/<int:rule_id>")
def delete_rule(rule_id: int) -> Response:
    """Delete a rule (scripts name themselves with ``?author=``)."""
    author = rules_caller()
    values = parse_values(request.args, ("author",))
    if author is None:
        given = values.get("author", "").strip()
        if not given or len(given) > MAX_AUTHOR_LENGTH:
            raise InvalidRule(
                "author", f"author is required (1 to {MAX_AUTHOR_LENGTH} characters) with the token"
            )
        author = given
    store = rules_store(runtime())
    if rule_id > MAX_RULE_ID:
        raise UnknownRule(rule_id)  # beyond any id a database holds (SQLite: 64 bits)
    try:
        rule = store.delete(rule_id, author)
    except UnknownRuleError:
        raise UnknownRule(rule_id) from None
    except _STORE_ERRORS as exc:
        raise RulesUnavailable(str(exc)) from exc
    return json_response({"deleted": rule.to_json(store.clock())})


@rules_api.get("/v1/rules/audit")
def rules_audit() -> Response:
    """Who created or deleted which rule, and when; newest first."""
    rules_caller()
    values = parse_values(request.args, ("limit",))
    limit = parse_bounded_integer("limit", values.get("limit"), 100, 1, MAX_AUDIT)
    try:
        entries = rules_store(runtime()).audit(limit)
    except _STORE_ERRORS as exc:
        raise RulesUnavailable(str(exc)) from exc
    return json_response({"entries": [entry.to_json() for entry in entries]})
