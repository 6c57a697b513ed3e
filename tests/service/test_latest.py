"""``GET /v1/latest``: the newest published articles, filters, strict parameters, caching,
and publish/unpublish through the CMS route showing at once (on every worker).

On the catalogue of ``tests/conftest.py`` (now = 2026-11-01T12:00Z), newest first: n1, n2,
s1 (all published now; ties by id), s2 (1 day), n3, s3 (3 days), n4 (10 days), s4 (40 days);
n5 is a draft.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service.answers import cache_key
from tests.conftest import VERSION_1, DictCache, body
from tests.support import LIVE_REDIS_URL, flushed_redis

TOKEN = "cms-token-of-the-test-site"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEWEST = ["n1", "n2", "s1", "s2", "n3", "s3", "n4", "s4"]


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in body(response)["items"]]


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(cms_token=TOKEN, event_log_dir=None)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_latest_lists_the_newest_published_first(
    client: FlaskClient, check_schema: Callable[[str, Any], None]
) -> None:
    response = client.get("/v1/latest?n=20")
    answer = body(response)
    check_schema("LatestResponse", answer)
    assert [item["id"] for item in answer["items"]] == NEWEST  # no draft, ties by id
    assert answer["model_version"] == VERSION_1 and answer["category"] is None
    first = answer["items"][0]
    assert first["title"] == "[v1] News 1" and first["published_at"] == "2026-11-01T12:00:00Z"
    assert "reading_minutes" not in first  # this bundle has no word counts
    assert ids(client.get("/v1/latest")) == NEWEST[:6]  # n: the default 6


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=news", ["n1", "n2", "n3", "n4"]),
        ("category=sports&n=2", ["s1", "s2"]),
        ("category=weather", []),
        ("exclude=n1,s1&n=4", ["n2", "s2", "n3", "s3"]),
        ("exclude=nope,n2&category=news", ["n1", "n3", "n4"]),
        ("max_age_days=2&n=10", ["n1", "n2", "s1", "s2"]),
        ("max_age_days=3&category=news&n=10", ["n1", "n2", "n3"]),
        ("max_age_days=0.5&exclude=n1,n2,s1", []),
    ],
)
def test_latest_filters(client: FlaskClient, query: str, expected: list[str]) -> None:
    assert ids(client.get(f"/v1/latest?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("n=0", "n"),
        ("n=51", "n"),
        ("n=abc", "n"),
        ("n=5&n=6", "n"),
        ("max_age_days=-1", "max_age_days"),
        ("max_age_days=abc", "max_age_days"),
        ("exclude=a,,b", "exclude"),
        ("category=", "category"),
        ("window=7d", "window"),
        ("strategy=content", "strategy"),
    ],
)
def test_latest_refuses_bad_parameters_naming_them(
    client: FlaskClient, query: str, parameter: str
) -> None:
    response = client.get(f"/v1/latest?{query}")
    assert response.status_code == 400
    error = body(response)["error"]
    assert error["code"] == "bad_parameter" and error["parameter"] == parameter


def test_latest_is_cached_under_the_versioned_key(make_app: Callable[..., Flask]) -> None:
    app = make_app(local_cache_size=0)  # no fast path: the response cache alone
    client = app.test_client()
    cache: DictCache = app.extensions["newsrec"].cache
    first = client.get("/v1/latest?exclude=s1,n1&n=3")
    again = client.get("/v1/latest?n=3&exclude=n1,s1")  # the same normalised parameters
    rt = app.extensions["newsrec"]
    bundle = rt.store.current().bundle
    assert bundle.version == VERSION_1
    served = f"{VERSION_1}+o.{rt.options_digest(bundle)}"  # with the served settings' digest
    key = cache_key(served, "latest", 3, None, "n1,s1", None)
    assert list(cache.data) == [key]
    assert first.get_data() == again.get_data() == cache.data[key]


def test_publish_and_unpublish_show_in_latest_at_once(app: Flask, client: FlaskClient) -> None:
    assert ids(client.get("/v1/latest?n=3")) == ["n1", "n2", "s1"]  # cached now
    fields = {
        "title": "Parliament votes tonight",
        "category": "news",
        "published_at": "2026-11-01T13:00:00Z",
        "body": "<p>The vote on the budget is expected late.</p>",
    }
    assert client.put("/v1/articles/x1", json=fields, headers=AUTH).status_code == 200
    assert ids(client.get("/v1/latest?n=3")) == ["x1", "n1", "n2"]
    latest = body(client.get("/v1/latest?n=1&category=news"))["items"][0]
    assert latest["title"] == "Parliament votes tonight"
    assert latest["reading_minutes"] == 1  # counted at publication: 8 words
    # unpublished by status, then deleted
    draft = {**fields, "status": "draft"}
    assert client.put("/v1/articles/x1", json=draft, headers=AUTH).status_code == 200
    assert ids(client.get("/v1/latest?n=3")) == ["n1", "n2", "s1"]
    assert client.delete("/v1/articles/n1", headers=AUTH).status_code == 200
    assert ids(client.get("/v1/latest?n=3")) == ["n2", "s1", "s2"]
    # an article published without a date is not "new": it has no place in the order
    undated = {"title": "Undated", "category": "news"}
    assert client.put("/v1/articles/x2", json=undated, headers=AUTH).status_code == 200
    assert "x2" not in ids(client.get("/v1/latest?n=50"))


def test_latest_leaves_out_articles_blocked_everywhere(
    make_app: Callable[..., Flask], tmp_path: Any
) -> None:
    from service.editorial.rules import NewRule

    app = make_app(rules_db=tmp_path / "rules.sqlite3")
    client = app.test_client()
    assert ids(client.get("/v1/latest?n=3")) == ["n1", "n2", "s1"]
    app.extensions["newsrec"].rules.create(
        NewRule(kind="block", target_id="n2", author="ann", note="legal")
    )
    assert ids(client.get("/v1/latest?n=3")) == ["n1", "s1", "s2"]


@pytest.fixture
def live_redis() -> Iterator[redis.Redis]:
    yield from flushed_redis(LIVE_REDIS_URL)


@pytest.mark.redis
def test_a_publish_on_one_worker_shows_in_latest_on_another(
    make_app: Callable[..., Flask], live_redis: redis.Redis
) -> None:
    settings = {"event_log_dir": None, "live_redis_url": LIVE_REDIS_URL}
    one = make_app(cms_token=TOKEN, **settings).test_client()
    other = make_app(**settings).test_client()
    assert ids(other.get("/v1/latest?n=2")) == ["n1", "n2"]  # cached on the other worker
    fields = {"title": "Breaking", "category": "sports", "published_at": "2026-11-01T12:30:00Z"}
    assert one.put("/v1/articles/x9", json=fields, headers=AUTH).status_code == 200
    deadline = time.monotonic() + 3
    while ids(other.get("/v1/latest?n=2")) != ["x9", "n1"]:
        assert time.monotonic() < deadline, "the other worker never saw the publish"
        time.sleep(0.05)
    assert one.delete("/v1/articles/x9", headers=AUTH).status_code == 200
    while ids(other.get("/v1/latest?n=2")) != ["n1", "n2"]:
        assert time.monotonic() < deadline + 3, "the other worker never saw the unpublish"
        time.sleep(0.05)
