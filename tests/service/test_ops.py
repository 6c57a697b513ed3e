"""Operations routes: /healthz, /readyz, /metrics (/openapi.json and /docs: openapi/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from service.settings import Settings
from tests.conftest import VERSION_1, body
from tests.support import CACHE_REDIS_URL, unavailable


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_answers_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}


def test_readyz_reports_model_and_redis(
    make_app: Callable[..., Flask], check_schema: Callable[[str, Any], None]
) -> None:
    data = body(make_app().test_client().get("/readyz"))
    check_schema("Ready", data)
    assert data["status"] == "ready"
    assert data["model_version"] == VERSION_1
    assert data["redis"] == "not configured"
    assert data["last_reload_error"] is None
    assert data["rules"] == "ok"  # the SQLite file (not created yet) reads fine


def test_readyz_reports_an_unreadable_rules_file_without_failing(
    make_app: Callable[..., Flask], tmp_path: Any, check_schema: Callable[[str, Any], None]
) -> None:
    broken = tmp_path / "rules.sqlite3"
    broken.write_bytes(b"this is not a database" * 100)
    client = make_app(rules_db=broken).test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    check_schema("Ready", body(response))
    assert body(response)["rules"] == "unreachable"
    assert client.get("/v1/articles/n1/related").status_code == 200


def test_readyz_stays_ready_when_redis_is_down(models_dir: Any) -> None:
    from service.app import create_app

    # nothing listens on port 1: the real ping fails fast and readiness does not depend on it
    settings = Settings(models_dir=models_dir, redis_url="redis://127.0.0.1:1/0", cache_ttl=0)
    response = create_app(settings).test_client().get("/readyz")
    assert response.status_code == 200
    assert body(response)["redis"] == "unreachable"


@pytest.mark.redis
def test_readyz_sees_the_machine_redis(models_dir: Any) -> None:

    import redis

    from service.app import create_app

    url = CACHE_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at 127.0.0.1:6379 is unreachable: {exc}")
    settings = Settings(models_dir=models_dir, redis_url=url, cache_ttl=0)
    assert body(create_app(settings).test_client().get("/readyz"))["redis"] == "ok"


def test_metrics_count_requests_cache_and_model(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    for _ in range(3):
        assert client.get("/v1/articles/n1/related").status_code == 200
    assert client.get("/v1/articles/n1/related?n=0").status_code == 400
    assert client.get("/v1/articles/zz/related").status_code == 404
    assert client.get("/no/such/route").status_code == 404
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    found = samples(response.get_data(as_text=True))
    related = "/v1/articles/<article_id>/related"

    def requests(route: str, status: str) -> float:
        labels = (("method", "GET"), ("route", route), ("status", status))
        return found[("newsrec_http_requests_total", labels)]

    assert requests(related, "200") == 3
    assert requests(related, "400") == 1
    assert requests(related, "404") == 1
    assert requests("unmatched", "404") == 1
    bucket = (
        "newsrec_http_request_duration_seconds_count",
        (("method", "GET"), ("route", related), ("status", "200")),
    )
    assert found[bucket] == 3

    # the first related request missed both levels, the next two were answered before Flask;
    # the bad and unknown ones missed the front level (the 400 never reached the cache)
    def cache(level: str, outcome: str) -> float:
        return found[("newsrec_cache_events_total", (("level", level), ("outcome", outcome)))]

    assert cache("front", "hit") == 2
    assert cache("front", "miss") == 3
    assert cache("local", "miss") == 2
    assert found[("newsrec_model_info", (("version", VERSION_1),))] == 1
    assert found[("newsrec_model_reloads_total", ())] == 1
    assert found[("newsrec_model_reload_failures_total", ())] == 0
    # trained an hour after 2026-11-01T12:00Z: older than 25 days by now
    assert found[("newsrec_model_age_seconds", ())] > 25 * 86_400
