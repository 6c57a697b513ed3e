"""The WSGI fast path: repeated page reads answered before Flask, never stale, same bytes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from service.app import create_app
from service.cache import LocalCache
from service.fastpath import ARTICLE_ROUTE, MOST_VIEWED_ROUTE, RELATED_ROUTE, route_of
from service.settings import Settings
from tests.conftest import VERSION_1, body, publish_bundle

TOKEN = "token-of-the-test-site"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SITE = "https://news.example.com"


def metric(app: Flask, level: str, outcome: str) -> float:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    prefix = f'newsrec_cache_events_total{{level="{level}",outcome="{outcome}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


def ids(response: Any) -> list[str]:
    return [item["id"] for item in body(response)["items"]]


def headers_but_request_id(response: Any) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(
        rules_db=tmp_path / "rules.sqlite3",
        rules_token=TOKEN,
        cms_token=TOKEN,
        cors_origins=(SITE,),
    )


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/v1/articles/n1/related", RELATED_ROUTE),
        ("/v1/articles/a%20b/related", RELATED_ROUTE),
        ("/v1/articles/n1", ARTICLE_ROUTE),
        ("/v1/most-viewed", MOST_VIEWED_ROUTE),
        ("/v1/articles//related", None),
        ("/v1/articles/a/b/related", None),
        ("/v1/articles/", None),
        ("/v1/articles/n1/", None),
        ("/v1/most-viewed/", None),
        ("/v1/trending", None),
        ("/healthz", None),
    ],
)
def test_route_of_matches_what_flask_routes(path: str, route: str | None) -> None:
    assert route_of(path) == route


@pytest.mark.parametrize(
    "url",
    ["/v1/articles/n1/related?explain=1", "/v1/most-viewed?window=all&n=3", "/v1/articles/n1"],
)
@pytest.mark.parametrize("origin", [None, SITE, "https://elsewhere.example"])
def test_a_repeated_read_is_the_same_answer_flask_gave(
    app: Flask, url: str, origin: str | None
) -> None:
    client = app.test_client()
    headers = {} if origin is None else {"Origin": origin}
    first = client.get(url, headers=headers)
    hits = metric(app, "front", "hit")
    second = client.get(url, headers=headers)
    assert metric(app, "front", "hit") == hits + 1  # answered before Flask
    assert second.status_code == first.status_code == 200
    assert second.get_data() == first.get_data()
    assert headers_but_request_id(second) == headers_but_request_id(first)
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]


def test_front_answers_are_counted_in_the_request_metrics(app: Flask) -> None:
    client = app.test_client()
    for _ in range(3):
        assert client.get("/v1/articles/n1/related").status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    line = (
        'newsrec_http_requests_total{method="GET",route="/v1/articles/<article_id>/related",'
        'status="200"} 3.0'
    )
    assert line in text


def test_a_new_rule_is_never_answered_from_an_old_entry(app: Flask) -> None:
    client = app.test_client()
    before = ids(client.get("/v1/articles/n1/related"))
    assert ids(client.get("/v1/articles/n1/related")) == before
    rule = {"kind": "pin", "target_id": "s4", "article_id": "n1", "slot": 1, "note": "launch"}
    created = client.post("/v1/rules", json={**rule, "author": "ann"}, headers=AUTH)
    assert created.status_code == 201, created.get_data(as_text=True)
    after = ids(client.get("/v1/articles/n1/related"))
    assert after[0] == "s4" and after != before
    rule_id = body(created)["rule"]["id"]
    assert client.delete(f"/v1/rules/{rule_id}?author=ann", headers=AUTH).status_code == 200
    assert ids(client.get("/v1/articles/n1/related")) == before


def test_an_unpublished_article_leaves_front_answers_at_once(app: Flask) -> None:
    client = app.test_client()
    for _ in range(2):
        assert "n2" in ids(client.get("/v1/articles/n1/related"))
        assert "n2" in ids(client.get("/v1/most-viewed?n=20"))
    assert client.delete("/v1/articles/n2", headers=AUTH).status_code == 200
    assert "n2" not in ids(client.get("/v1/articles/n1/related"))
    assert "n2" not in ids(client.get("/v1/most-viewed?n=20"))
    assert client.get("/v1/articles/n2").status_code == 404


def test_a_new_model_is_never_answered_from_an_old_entry(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    publish_bundle(models, VERSION_1)
    app = make_app(models_dir=models, reload_interval=0.0)
    client = app.test_client()
    for _ in range(2):
        assert body(client.get("/v1/most-viewed"))["model_version"] == VERSION_1
    publish_bundle(models, "20261102T120000Z-v2")
    assert body(client.get("/v1/most-viewed"))["model_version"] == "20261102T120000Z-v2"


PAGE_READS = [
    "/v1/articles/n1/related",
    "/v1/articles/n1/related?n=3&strategy=content&exclude=n2,n3&explain=true",
    "/v1/articles/n1/related?category=news&max_age_days=30",
    "/v1/articles/nope/related",
    "/v1/articles/n1/related?n=0",
    "/v1/articles/n1/related?n=abc&n=2",
    "/v1/articles/n1/related?strategy=magic",
    "/v1/articles/n1/related?colour=red",
    "/v1/articles/n1/related?exclude=a,,b",
    "/v1/articles/n%C3%A9/related",
    "/v1/most-viewed",
    "/v1/most-viewed?window=1d&category=news&n=2",
    "/v1/most-viewed?window=forever",
    "/v1/articles/n1",
    "/v1/articles/nope",
    "/v1/articles/n1?x=1",
]


@pytest.mark.parametrize("url", PAGE_READS)
@pytest.mark.parametrize("origin", [None, SITE])
def test_first_reads_and_errors_are_answered_as_flask_answers_them(
    make_app: Callable[..., Flask], app: Flask, url: str, origin: str | None
) -> None:
    flask_only = make_app(cache_ttl=0, cors_origins=(SITE,))  # no cache: no fast path
    assert flask_only.front is None  # type: ignore[attr-defined]
    headers = {} if origin is None else {"Origin": origin}
    expected = flask_only.test_client().get(url, headers=headers)
    got = app.test_client().get(url, headers=headers)
    assert got.status == expected.status
    assert got.get_data() == expected.get_data()
    assert headers_but_request_id(got) == headers_but_request_id(expected)


def test_no_model_yet_is_a_503_either_way(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    for cache_ttl in (0, 300):
        client = make_app(models_dir=tmp_path / "empty", cache_ttl=cache_ttl).test_client()
        response = client.get("/v1/articles/n1/related")
        assert response.status_code == 503
        assert body(response)["error"]["code"] == "no_model"
        assert response.headers["Retry-After"] == "5"


def test_errors_are_never_answered_from_the_cache(app: Flask) -> None:
    client = app.test_client()
    for _ in range(2):
        assert client.get("/v1/articles/nope/related").status_code == 404
        assert client.get("/v1/articles/n1/related?n=0").status_code == 400
    assert metric(app, "front", "hit") == 0


def test_heads_and_long_queries_go_through_flask(app: Flask) -> None:
    client = app.test_client()
    long_exclude = ",".join(f"x{i:04d}" + "y" * 10 for i in range(60))  # over 512 characters
    for _ in range(2):
        response = client.get(f"/v1/articles/n1/related?exclude={long_exclude}")
        assert response.status_code == 200
        assert client.head("/v1/articles/n1/related").status_code == 200
    assert metric(app, "front", "hit") == 0


def test_no_cache_no_fast_path(make_app: Callable[..., Flask]) -> None:
    app = make_app(cache_ttl=0)
    client = app.test_client()
    first, second = (client.get("/v1/articles/n1/related").get_data() for _ in range(2))
    assert first == second
    assert metric(app, "front", "hit") == metric(app, "front", "miss") == 0


# --- POST /v1/events -------------------------------------------------------------------------

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"}
EVENT_POSTS: list[tuple[str, dict[str, str], bytes]] = [
    ("text/plain", BROWSER, b'{"article_id": "n1", "session_id": "s1"}'),
    ("application/json", BROWSER, b'[{"article_id": "n1", "session_id": "s1"}, {"x": 1}]'),
    ("text/plain", BROWSER, b'[{"article_id": "nope", "session_id": "s1"}]'),
    ("text/plain", BROWSER, b"not json"),
    ("text/plain", BROWSER, b"[]"),
    ("multipart/form-data", BROWSER, b'{"article_id": "n1", "session_id": "s1"}'),
    ("text/plain", BROWSER, b"[" + b'{"article_id": "n1", "session_id": "s1"},' * 2000 + b"{}]"),
    ("text/plain", {"User-Agent": "Googlebot/2.1"}, b'{"article_id": "n1", "session_id": "s"}'),
]


@pytest.mark.parametrize(("content_type", "headers", "data"), EVENT_POSTS)
@pytest.mark.parametrize("origin", [None, SITE])
def test_event_posts_are_answered_as_flask_answers_them(
    make_app: Callable[..., Flask],
    app: Flask,
    content_type: str,
    headers: dict[str, str],
    data: bytes,
    origin: str | None,
) -> None:
    flask_only = make_app(cache_ttl=0, cors_origins=(SITE,), event_log_dir=None)
    sent = {**headers, "Content-Type": content_type} | (
        {} if origin is None else {"Origin": origin}
    )
    expected = flask_only.test_client().post("/v1/events", data=data, headers=sent)
    events_before = metric_total(app, "newsrec_events_total")
    got = app.test_client().post("/v1/events", data=data, headers=sent)
    assert got.status == expected.status
    assert got.get_data() == expected.get_data()
    assert headers_but_request_id(got) == headers_but_request_id(expected)
    if got.status_code == 202:
        assert metric_total(app, "newsrec_events_total") > events_before


def metric_total(app: Flask, name: str) -> float:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_an_unexpected_error_in_an_event_post_is_a_logged_500(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("service.fastpath.record_events", broken)
    response = app.test_client().post(
        "/v1/events", data=b'{"article_id": "n1", "session_id": "s1"}', headers=BROWSER
    )
    assert response.status_code == 500
    error = body(response)["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "disk on fire" in caplog.text and error["request_id"] in caplog.text


def test_the_fast_path_keeps_its_answers_in_the_workers_one_lru(models_dir: Path) -> None:
    app = create_app(Settings(models_dir=models_dir, reload_interval=3600, local_cache_size=3))
    cache = app.extensions["newsrec"].cache
    assert isinstance(cache, LocalCache)
    client = app.test_client()
    first = client.get("/v1/most-viewed").get_data()
    assert len(cache) == 2  # the answer by key (the views') and by request (the fast path's)
    assert client.get("/v1/most-viewed").get_data() == first
    assert metric(app, "front", "hit") == 1
    client.get("/v1/articles/n1")  # two more entries in the same bound of 3
    assert len(cache) == 3
