"""Response caching in the views: ready bytes by normalised key, model version in every key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from service.answers import cache_key, related_key
from service.app import create_app
from service.params import RelatedParams
from service.ranking import options_digest
from service.settings import Settings
from tests.conftest import VERSION_1, DictCache, body
from tests.service.test_stories import publish_story_bundle
from tests.support import CACHE_REDIS_URL, flushed_redis


def app_with_cache(models_dir: Path, **changes: Any) -> tuple[Flask, DictCache]:
    caches: list[DictCache] = []

    def factory(settings: Settings, on_event: Callable[[str, str], None] | None) -> DictCache:
        caches.append(DictCache(on_event))
        return caches[-1]

    changes.setdefault("rules_db", models_dir.parent / "rules.sqlite3")
    changes.setdefault("event_log_dir", models_dir.parent / "events")
    settings = Settings(models_dir=models_dir, reload_interval=3600, **changes)
    app = create_app(settings, cache_factory=factory, redis_ping=lambda: True)
    return app, (caches[0] if caches else DictCache())


def served(app: Flask) -> str:
    """The version in the app's cache keys: the bundle's and its served settings' digest."""
    rt = app.extensions["newsrec"]
    loaded = rt.store.current()
    assert loaded is not None and loaded.bundle.version == VERSION_1
    return f"{VERSION_1}+o.{options_digest(rt.options_for(loaded.bundle))}"


def test_cached_answer_is_the_same_bytes(models_dir: Path) -> None:
    app, cache = app_with_cache(models_dir)
    client = app.test_client()
    first = client.get("/v1/articles/n1/related?explain=1")
    second = client.get("/v1/articles/n1/related?explain=1")
    assert first.get_data() == second.get_data()
    assert second.mimetype == "application/json"
    version = served(app)
    key = cache_key(version, "related", "n1", 6, "hybrid", "", "", "", 1)
    assert key == f"nr:v1:{version}:related:n1:6:hybrid::::1"
    assert cache.data[key] == first.get_data()


def test_equal_requests_share_one_key(models_dir: Path) -> None:
    app, cache = app_with_cache(models_dir)
    client = app.test_client()
    answers = {
        client.get(url).get_data()
        for url in (
            "/v1/articles/n1/related?exclude=s2,n2",
            "/v1/articles/n1/related?exclude=n2,s2,n2&n=6",
            "/v1/articles/n1/related?strategy=hybrid&exclude=n2,s2&explain=false",
        )
    }
    assert len(answers) == 1
    assert list(cache.data) == [f"nr:v1:{served(app)}:related:n1:6:hybrid:n2,s2:::0"]


def test_cache_keys_cover_every_cached_route(models_dir: Path) -> None:
    app, cache = app_with_cache(models_dir)
    client = app.test_client()
    client.get("/v1/most-viewed?window=1d&category=news&published_within_days=2")
    client.get("/v1/articles/n1")
    client.get("/v1/articles/n1/related?category=a:b&max_age_days=7")
    version = served(app)
    assert sorted(cache.data) == sorted(
        [
            f"nr:v1:{version}:most-viewed:1d:news:6:2.0",
            f"nr:v1:{version}:article:n1",
            # ":" inside a value is escaped, so parts never run into each other
            f"nr:v1:{version}:related:n1:6:hybrid::a%3Ab:7.0:0",
        ]
    )


def test_long_keys_are_hashed(models_dir: Path) -> None:
    app, cache = app_with_cache(models_dir)
    many = ",".join(f"id{i:03d}" + "x" * 150 for i in range(100))
    assert app.test_client().get(f"/v1/articles/n1/related?exclude={many}").status_code == 200
    (key,) = cache.data
    assert key.startswith(f"nr:v1:{served(app)}:related:sha256:") and len(key) < 140


def test_errors_are_not_cached(models_dir: Path) -> None:
    app, cache = app_with_cache(models_dir)
    client = app.test_client()
    assert client.get("/v1/articles/nope/related").status_code == 404
    assert client.get("/v1/articles/n1/related?n=0").status_code == 400
    assert cache.data == {}


def test_cache_ttl_zero_turns_caching_off(models_dir: Path) -> None:
    app, cache = app_with_cache(models_dir, cache_ttl=0)
    response = app.test_client().get("/v1/articles/n1/related?n=1")
    assert body(response)["items"][0]["id"] == "n2"
    assert cache.data == {}


def test_real_local_cache_serves_and_reports_hits(models_dir: Path) -> None:
    settings = Settings(models_dir=models_dir, reload_interval=3600)
    client = create_app(settings).test_client()  # service.cache.build_cache: in-process LRU
    first = client.get("/v1/most-viewed").get_data()
    assert client.get("/v1/most-viewed").get_data() == first  # the same request: fast path
    assert client.get("/v1/most-viewed?n=6").get_data() == first  # same key: local cache
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'newsrec_cache_events_total{level="front",outcome="hit"} 1.0' in metrics
    assert 'newsrec_cache_events_total{level="front",outcome="miss"} 2.0' in metrics
    assert 'newsrec_cache_events_total{level="local",outcome="hit"} 1.0' in metrics
    assert 'newsrec_cache_events_total{level="local",outcome="miss"} 1.0' in metrics


@pytest.mark.parametrize(
    "params",
    [
        RelatedParams(n=6),
        RelatedParams(n=3, strategy="coview", exclude=("a:b", "c%d"), category="x:y"),
        RelatedParams(n=50, exclude=("n2",), max_age_days=0.5, explain=True),
    ],
)
def test_related_key_is_the_generic_key_spelled_out(params: RelatedParams) -> None:
    generic = cache_key(
        VERSION_1,
        "related",
        "a:1",
        params.n,
        params.strategy,
        ",".join(params.exclude),
        params.category,
        params.max_age_days,
        int(params.explain),
    )
    assert related_key(VERSION_1, "a:1", params) == generic


@pytest.mark.redis
@pytest.mark.parametrize(
    "changed",
    [{"words_per_minute": 60}, {"max_per_section": 1}, {"per_story": 0}, {"coview_weight": 0.0}],
)
def test_changed_settings_never_read_answers_cached_under_the_old_ones(
    tmp_path: Path, changed: dict[str, Any]
) -> None:
    models_dir = tmp_path / "models"
    publish_story_bundle(models_dir)  # word counts, authors, stories: every setting shows

    def app(**settings: Any) -> Flask:
        return create_app(
            Settings(
                models_dir=models_dir,
                reload_interval=3600,
                rules_db=tmp_path / "rules.sqlite3",
                state_dir=tmp_path / "state",
                event_log_dir=None,
                redis_url=CACHE_REDIS_URL,
                redis_timeout_ms=1000,
                **settings,
            ),
            redis_ping=lambda: True,
        )

    url = "/v1/articles/n1/related?explain=1"
    for redis_client in flushed_redis(CACHE_REDIS_URL):
        before = body(app().test_client().get(url))
        assert redis_client.dbsize() > 0  # the first instance filed its answer in Redis
        # a restart (another instance on the same Redis) with one setting changed
        after = body(app(**changed).test_client().get(url))
        expected = body(app(cache_ttl=0, **changed).test_client().get(url))
        assert after == expected != before
