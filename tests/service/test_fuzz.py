"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis).

Every operation gets generated requests (the examples, coverage and fuzzing phases: valid
ones, invalid ones and ones missing a required header), sent with the service's tokens so the
write routes' own logic answers, not only their 401. Every schemathesis check applies: no
5xx, every answer matches the documented status codes, headers and schemas
(``response_schema_conformance`` and the others), invalid requests are refused and
schema-valid ones accepted (``positive_data_acceptance``).

Accepted only: a schema-valid request refused for a reason JSON Schema cannot state (an id the
model does not know, a time relative to now, who may name an author), each listed below by
operation with the error it must give; any other refusal of valid data fails. A second app
without tokens checks that closed routes (404 to everyone) ask for no credential. Bounded to
30 examples per operation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.openapi.document import build_openapi
from service.settings import Settings
from tests.conftest import IDS

TOKEN = "fuzz-token-of-the-test-run"
TOKENS = {"admin_token": TOKEN, "cms_token": TOKEN, "rules_token": TOKEN}

#: Refusals of schema-valid requests that JSON Schema cannot state: per operation, the error
#: codes and the words their messages (or, for events, every rejected event's code) must have.
BEYOND_THE_SCHEMA: dict[str, tuple[str, tuple[str, ...]]] = {
    # an event of an article the model does not know, or timestamped outside now-48h..now+5min
    "POST /v1/events": (
        "invalid_events",
        (
            "unknown_article",
            "not_published",
            "old_timestamp",
            "future_timestamp",
            # a list id no list kind or experiment of this service made
            "unknown_list",
        ),
    ),
    # experiments overlapping in time, an end before the start, blend settings out of bounds,
    # a model version the service cannot serve, a variant field of another surface
    "PUT /v1/experiments/{name}": (
        "invalid_experiment",
        (
            "overlap",
            "end must be after",
            "blend",
            "holdout",
            "must differ",
            "path's",
            "model version",
            "sets only",
        ),
    ),
    # ids and sections the model does not know, an end already past, a target listing itself,
    # an author named with the token only
    "POST /v1/rules": (
        "invalid_rule",
        ("knows no", "in the past", "must differ", "must be after", "author"),
    ),
}


def _document(**changes: Any) -> dict[str, Any]:
    """The service's document, with article ids drawn half of the time from the catalogue (a
    random string is nearly always an unknown article, which would leave ranking untested)."""
    doc = build_openapi(Settings(**changes))
    param = doc["components"]["parameters"]["article_id"]
    param["schema"] = {"anyOf": [{"enum": IDS}, param["schema"]]}
    return doc


schema = schemathesis.openapi.from_dict(_document(**TOKENS))
closed = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def fuzz_app(make_app: Callable[..., Flask], tmp_path_factory: pytest.TempPathFactory) -> Flask:
    # the rules the fuzzing creates go to a file of its own, not the session's shared one
    return make_app(**TOKENS, rules_db=tmp_path_factory.mktemp("fuzz") / "rules.sqlite3")


@pytest.fixture(scope="module")
def closed_app(make_app: Callable[..., Flask], tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return make_app(rules_db=tmp_path_factory.mktemp("fuzz-closed") / "rules.sqlite3")


def _call(case: schemathesis.Case, app: Flask, **kwargs: Any) -> None:
    """Send ``case`` to ``app`` with every check; the probes checks send themselves (a write
    sent again without its token) go to ``app`` too."""
    case.operation.schema.app = app
    post = f"{case.method.upper()} {case.path}" in BEYOND_THE_SCHEMA
    excluded = [positive_data_acceptance] if post else []
    response = case.call_and_validate(app=app, excluded_checks=excluded, **kwargs)
    if post:
        _beyond_the_schema(case, response)


def _beyond_the_schema(case: schemathesis.Case, response: Any) -> None:
    """``positive_data_acceptance``, except for the refusals of :data:`BEYOND_THE_SCHEMA`."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return
    if response.status_code in (401, 403, 404, 409, 429):
        return  # what positive_data_acceptance itself accepts
    label = f"{case.method.upper()} {case.path}"
    allowed = BEYOND_THE_SCHEMA.get(label)
    text = response.text if hasattr(response, "text") else response.get_data(as_text=True)
    assert allowed is not None and response.status_code == 400, (
        f"{label}: schema-valid request refused: {response.status_code} {text[:300]}"
    )
    error = json.loads(text)["error"]
    code, reasons = allowed
    assert error["code"] == code, text[:300]
    if label == "POST /v1/events":
        found = [r["code"] for r in error.get("rejected", [])]
        assert found and set(found) <= set(reasons), text[:300]
    else:
        assert any(reason in error["message"] for reason in reasons), text[:300]


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_service_api_conforms_to_its_openapi(case: schemathesis.Case, fuzz_app: Flask) -> None:
    _call(case, fuzz_app, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.mark.slow
@closed.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_service_without_tokens_conforms_to_its_openapi(
    case: schemathesis.Case, closed_app: Flask
) -> None:
    _call(case, closed_app)
