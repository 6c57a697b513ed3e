"""Hostile request bodies and headers: deep JSON on every write route, nosniff on every answer.

The write routes that take JSON (``POST /v1/events``, ``PUT /v1/articles/{id}``,
``POST /v1/rules``) bound a body's nesting depth before parsing it: 1,000 nested lists (a
2 KB body) answered 500 with a ``RecursionError`` traceback in the log before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.jsonbody import MAX_DEPTH, BodyError, bounded_json, check_json_bounds
from tests.conftest import body

CMS = "cms-token-of-the-test-site"
RULES = "rules-token-for-tests-0123"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"}


@pytest.fixture
def client(make_app: Callable[..., Flask], tmp_path: Path) -> FlaskClient:
    app = make_app(
        cms_token=CMS, rules_token=RULES, rules_db=tmp_path / "rules.sqlite3", event_log_dir=None
    )
    return app.test_client()


def nested(depth: int, inner: str = "1") -> bytes:
    return ("[" * depth + inner + "]" * depth).encode()


#: (method, path, headers, expected error code) of each write route that reads JSON
ROUTES = [
    ("POST", "/v1/events", {**BROWSER}, "invalid_events"),
    ("PUT", "/v1/articles/x1", {"Authorization": f"Bearer {CMS}"}, "bad_body"),
    ("POST", "/v1/rules", {"Authorization": f"Bearer {RULES}"}, "invalid_rule"),
]


@pytest.mark.parametrize(("method", "path", "headers", "code"), ROUTES)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deeply_nested_json_is_400_with_a_reason_and_no_traceback(
    client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    headers: dict[str, str],
    code: str,
    depth: int,
) -> None:
    caplog.set_level(logging.INFO)
    data = nested(depth)
    for content_type in ("application/json", "text/plain"):
        if path != "/v1/events" and content_type != "application/json":
            continue
        response = client.open(
            path,
            method=method,
            data=data,
            headers={**headers, "Content-Type": content_type},
        )
        assert response.status_code in (400, 413), response.get_data(as_text=True)
        error = body(response)["error"]
        if response.status_code == 400:
            assert error["code"] == code
            # a 200 KB body may be refused for its size first (the rules route: 400)
            assert "nested" in error["message"] or "bytes" in error["message"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize(("method", "path", "headers", "code"), ROUTES)
def test_nesting_within_the_bound_is_read_as_before(
    client: FlaskClient, method: str, path: str, headers: dict[str, str], code: str
) -> None:
    # depth MAX_DEPTH is allowed: the route answers on the content (here: not what it wants)
    response = client.open(
        path,
        method=method,
        data=nested(MAX_DEPTH),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "nested" not in body(response)["error"]["message"]


def test_bounded_json_counts_depth_outside_strings_only() -> None:
    brackets = "[" * (MAX_DEPTH + 10)
    assert bounded_json(f'{{"a": "{brackets}"}}'.encode(), max_bytes=100) == {"a": brackets}
    assert bounded_json(b'["\\"[[[", {"b": [1, [2]]}]', max_bytes=100) == ['"[[[', {"b": [1, [2]]}]
    assert bounded_json(nested(MAX_DEPTH), max_bytes=10_000) is not None
    with pytest.raises(BodyError, match="nested deeper than"):
        bounded_json(nested(MAX_DEPTH + 1), max_bytes=10_000)
    with pytest.raises(BodyError, match="nested deeper than"):
        # siblings do not add up, depth does
        siblings = b",".join([nested(MAX_DEPTH - 1)] * 3)
        bounded_json(b"[" + siblings + b",[" + nested(MAX_DEPTH - 1) + b"]]", max_bytes=10_000)
    with pytest.raises(BodyError, match="at most 10 bytes"):
        bounded_json(b"[1,2,3,4,5,6]", max_bytes=10)
    with pytest.raises(BodyError, match="not valid JSON"):
        bounded_json(b"[1,", max_bytes=10)
    check_json_bounds(b'[[1], {"x": [2]}]', max_bytes=100)  # no error


@pytest.mark.parametrize(
    "path",
    [
        "/v1/articles/n1/related",
        "/v1/articles/n1",
        "/v1/most-viewed",
        "/v1/articles/nope/related",
        "/v1/nowhere",
        "/healthz",
        "/openapi.json",
        "/widget.js",
    ],
)
def test_every_answer_carries_nosniff(client: FlaskClient, path: str) -> None:
    for _ in range(2):  # the second read of a page route comes from the fast path
        response = client.get(path)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path


def test_write_answers_carry_nosniff(client: FlaskClient) -> None:
    answers: list[Any] = [
        client.post("/v1/events", json={"article_id": "n1", "session_id": "s"}, headers=BROWSER),
        client.post("/v1/events", data=b"[", headers={**BROWSER, "Content-Type": "text/plain"}),
        client.put("/v1/articles/x1", json={"title": "T"}, headers={"Authorization": "no"}),
        client.delete("/v1/rules/1"),
    ]
    for response in answers:
        assert response.headers.get("X-Content-Type-Options") == "nosniff"


def test_rule_ids_beyond_64_bits_are_unknown_not_500(client: FlaskClient) -> None:
    # found by the fuzz test: SQLite raised OverflowError (a 500) for 2**63
    response = client.delete(
        f"/v1/rules/{2**63}?author=ann", headers={"Authorization": f"Bearer {RULES}"}
    )
    assert response.status_code == 404
    assert body(response)["error"]["code"] == "unknown_rule"


def test_a_pin_slot_of_1_0_is_the_integer_1(client: FlaskClient) -> None:
    # JSON (and JSON Schema) say 1.0 is an integer; it was refused as "slot must be an integer"
    rule = {"kind": "pin", "target_id": "s4", "article_id": "n1", "slot": 1.0, "note": "x"}
    response = client.post(
        "/v1/rules", json={**rule, "author": "ann"}, headers={"Authorization": f"Bearer {RULES}"}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert body(response)["rule"]["slot"] == 1


def test_put_drops_urls_that_are_not_http_with_a_counted_warning(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    article = {
        "title": "A new article",
        "category": "news",
        "url": "javascript:alert(3)",
        "image_url": "https://example.com/i.jpg",
    }
    response = client.put(
        "/v1/articles/x1", json=article, headers={"Authorization": f"Bearer {CMS}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert body(response)["dropped"] == ["url"]
    served = body(client.get("/v1/articles/x1"))
    assert (served["url"], served["image_url"]) == ("", "https://example.com/i.jpg")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("x1" in w and "url" in w and "http(s)" in w for w in warnings), warnings
    clean = client.put(
        "/v1/articles/x1",
        json={**article, "url": "https://example.com/x1"},
        headers={"Authorization": f"Bearer {CMS}"},
    )
    assert body(clean)["dropped"] == []
    assert body(client.get("/v1/articles/x1"))["url"] == "https://example.com/x1"
