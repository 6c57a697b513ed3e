"""The widget's files as the service serves them, and CORS (no browser; see test_widget_browser).

Hand-checkable: the versions are the SHA-256 of the files on disk, computed here again; the CORS
answers are spelled out header by header.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.settings import Settings, SettingsError

STATIC = Path(__file__).resolve().parents[2] / "service" / "static"
SITE = "https://news.example.com"
OTHER_SITE = "https://evil.example.net"
YEAR = 365 * 24 * 3600


def _version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:16]


@pytest.fixture(scope="module")
def cors_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(cors_origins=(SITE, "http://127.0.0.1:8080"))


@pytest.fixture
def cors_client(cors_app: Flask) -> FlaskClient:
    return cors_app.test_client()


# --- the widget's files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mimetype"), [("widget.js", "text/javascript"), ("widget.css", "text/css")]
)
def test_widget_file_served_with_etag_and_day_long_cache(
    client: FlaskClient, name: str, mimetype: str
) -> None:
    response = client.get(f"/{name}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.data == (STATIC / name).read_bytes()
    assert response.headers["ETag"] == f'"{_version(name)}"'
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Accept-Encoding" in response.headers["Vary"]


def test_widget_versioned_url_is_immutable_for_a_year(client: FlaskClient) -> None:
    response = client.get(f"/widget.js?v={_version('widget.js')}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"public, max-age={YEAR}, immutable"


def test_widget_stale_version_gets_todays_file_briefly_cached(client: FlaskClient) -> None:
    response = client.get("/widget.js?v=0000000000000000")
    assert response.status_code == 200
    assert response.data == (STATIC / "widget.js").read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_widget_if_none_match_answers_304_without_body(client: FlaskClient) -> None:
    etag = client.get("/widget.js").headers["ETag"]
    response = client.get("/widget.js", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    changed = client.get("/widget.js", headers={"If-None-Match": '"0000000000000000"'})
    assert changed.status_code == 200


def test_widget_gzip_when_accepted_with_own_etag(client: FlaskClient) -> None:
    response = client.get("/widget.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == (STATIC / "widget.js").read_bytes()
    etag = response.headers["ETag"]
    assert etag == f'"{_version("widget.js")}-gzip"'
    again = client.get("/widget.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304


def test_widget_script_is_small() -> None:
    # three blocks with cards (image srcset, reading time, views, locale dates), impressions
    # and clicks: 16.0 kB, 5.4 kB gzipped; the budget keeps it near that
    raw = (STATIC / "widget.js").read_bytes()
    assert len(raw) < 16_500
    assert len(gzip.compress(raw, compresslevel=9)) < 5_700


def test_widget_script_never_writes_html_or_logs_errors() -> None:
    # Data reaches the page only through createElement/textContent/setAttribute.
    source = (STATIC / "widget.js").read_text()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert forbidden not in source
    assert not re.search(r"console\.", source)


def test_widget_routes_are_documented(openapi_doc: dict[str, Any]) -> None:
    for path in ("/widget.js", "/widget.css"):
        operation = openapi_doc["paths"][path]["get"]
        assert set(operation["responses"]) == {"200", "304"}
        assert [p["name"] for p in operation["parameters"]] == ["v", "If-None-Match"]


# --- CORS -----------------------------------------------------------------------------------


def test_cors_allowed_origin_is_echoed(cors_client: FlaskClient) -> None:
    response = cors_client.get("/v1/most-viewed?n=2", headers={"Origin": SITE})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert response.headers["Access-Control-Expose-Headers"] == "X-Request-ID"
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_cors_foreign_origin_gets_no_allow_origin(cors_client: FlaskClient) -> None:
    response = cors_client.get("/v1/articles/n1/related", headers={"Origin": OTHER_SITE})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


def test_cors_error_answers_carry_headers_so_the_widget_can_read_them(
    cors_client: FlaskClient,
) -> None:
    response = cors_client.get("/v1/articles/nope/related", headers={"Origin": SITE})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == SITE


def test_cors_vary_origin_without_origin_header(cors_client: FlaskClient) -> None:
    # a shared cache must not give this non-CORS answer to a page of the site
    response = cors_client.get("/v1/model")
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_preflight_for_post_events(cors_client: FlaskClient) -> None:
    response = cors_client.options(
        "/v1/events",
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Request-ID"
    assert response.headers["Access-Control-Max-Age"] == "7200"
    assert response.headers["Vary"] == "Origin"
    assert "Content-Type" not in response.headers


def test_cors_preflight_for_get_with_a_header(cors_client: FlaskClient) -> None:
    response = cors_client.options(
        "/v1/articles/n1/related",
        headers={"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD"


def test_cors_preflight_from_foreign_origin_is_refused(cors_client: FlaskClient) -> None:
    response = cors_client.options(
        "/v1/events", headers={"Origin": OTHER_SITE, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


@pytest.mark.parametrize(
    ("path", "method"),
    [("/v1/admin/reload", "POST"), ("/v1/articles/n1/related", "DELETE"), ("/v1/events", "PUT")],
)
def test_cors_other_methods_stay_same_origin(
    cors_client: FlaskClient, path: str, method: str
) -> None:
    preflight = cors_client.options(
        path, headers={"Origin": SITE, "Access-Control-Request-Method": method}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    response = cors_client.open(path, method=method, headers={"Origin": SITE})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_routes_outside_v1_get_no_headers(cors_client: FlaskClient) -> None:
    for path in ("/healthz", "/widget.js", "/openapi.json"):
        response = cors_client.get(path, headers={"Origin": SITE})
        assert "Access-Control-Allow-Origin" not in response.headers, path


def test_cors_nothing_when_no_origin_configured(client: FlaskClient) -> None:
    response = client.get("/v1/most-viewed", headers={"Origin": SITE})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Vary" not in response.headers
    preflight = client.options(
        "/v1/events", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_wildcard_only_when_set_alone(make_app: Callable[..., Flask]) -> None:
    client = make_app(cors_origins=("*",)).test_client()
    response = client.get("/v1/most-viewed", headers={"Origin": OTHER_SITE})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://news.example.com", ("https://news.example.com",)),
        # normalised as browsers send Origin: lower case, no default port, sorted, no repeats
        (
            " HTTPS://News.Example.com:443 ,http://127.0.0.1:8080,https://news.example.com",
            ("http://127.0.0.1:8080", "https://news.example.com"),
        ),
        ("http://[::1]:3000", ("http://[::1]:3000",)),
        ("*", ("*",)),
        ("", ()),
    ],
)
def test_cors_origins_setting_parsed(value: str, expected: tuple[str, ...]) -> None:
    assert Settings.from_env({"NEWSREC_CORS_ORIGINS": value}).cors_origins == expected


@pytest.mark.parametrize(
    "value",
    [
        "*, https://news.example.com",  # a wildcard next to real origins is a mistake
        "news.example.com",
        "https://news.example.com/",
        "https://news.example.com/path",
        "ftp://news.example.com",
        "null",
        "https://news.example.com:99999",
    ],
)
def test_cors_origins_setting_refuses_non_origins(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"NEWSREC_CORS_ORIGINS": value})
    assert caught.value.variable == "NEWSREC_CORS_ORIGINS"
