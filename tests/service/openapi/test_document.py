"""The OpenAPI document (/openapi.json) and its page (/docs)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from service.openapi.document import build_openapi
from service.settings import Settings
from tests.conftest import body


def test_openapi_document_is_valid_and_describes_every_route(
    app: Flask, client: FlaskClient
) -> None:
    doc = body(client.get("/openapi.json"))
    validate(doc)
    assert doc == build_openapi(Settings())
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert routes == documented


def test_openapi_ranges_follow_settings() -> None:
    doc = build_openapi(Settings(max_n=20, default_n=4))
    n = doc["components"]["parameters"]["n"]["schema"]
    assert (n["minimum"], n["maximum"], n["default"]) == (1, 20, 4)


def test_docs_page_is_self_contained(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for path in ("/v1/articles/{article_id}/related", "/v1/most-viewed", "/readyz", "/metrics"):
        assert path in html
    assert "1 to 50" in html  # the range of n
    # examples use a real article of the model (the most viewed: s1), and link to it
    assert 'href="/v1/articles/s1/related?n=6&amp;explain=true"' in html
    # nothing is fetched from elsewhere
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert "@import" not in html
    assert client.get("/").headers["Location"].endswith("/docs")


def test_docs_page_names_each_routes_own_token(client: FlaskClient) -> None:
    html = client.get("/docs").get_data(as_text=True)
    # each secured operation's section names the token its route accepts, not one for all
    for path, token in (
        ("/v1/admin/reload", "NEWSREC_ADMIN_TOKEN"),
        ("/v1/articles/{article_id}", "NEWSREC_CMS_TOKEN"),
        ("/v1/rules", "NEWSREC_RULES_TOKEN"),
    ):
        assert f"Bearer &lt;{token}&gt;" in html, path
    assert "Needs an editor login" in html
