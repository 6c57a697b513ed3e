"""Live windows merged with the bundle, hand-checked on the catalogue of ``conftest.py``.

The bundle's ``now`` (N) is 2026-11-01T12:00Z; the clock is set to N + 2 h, so the bundle is
fresh: ``1h`` is live only, ``24h`` is 22 h of the bundle's last day (prorated) plus live views
after N. Live views are posted through ``POST /v1/events`` (in-process store, same clock).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.bundle import Bundle
from recommender.windows import DAY, HOUR
from service.live.counts import hour_label, window_buckets
from service.live.stores import LocalLiveStore
from service.live.view import Live, bundle_share
from tests.conftest import NOW, body

N = int(NOW.timestamp())
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


class Clock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def live_app(
    make_app: Callable[..., Flask], clock: Clock, *, min_views: int = 5, **changes: Any
) -> Flask:
    """An app (no response cache, no event log) whose live layer runs on ``clock``."""
    app = make_app(cache_ttl=0, event_log_dir=None, **changes)
    app.extensions["newsrec"].live = Live(
        LocalLiveStore(clock=clock), clock=clock, trending_min_views=min_views
    )
    return app


def post_views(
    client: FlaskClient, clock: Clock, article_id: str, count: int, prefix: str = "s"
) -> None:
    """Post ``count`` views of different sessions, then move on to the next refresh tick
    (within a tick each worker keeps the live rankings it has)."""
    events = [{"article_id": article_id, "session_id": f"{prefix}{i}"} for i in range(count)]
    response = client.post("/v1/events", json=events, headers={"User-Agent": BROWSER})
    assert response.status_code == 202, response.get_data(as_text=True)
    assert body(response)["counted"] == count
    clock.now += 5


def ids(response: Any) -> list[str]:
    return [item["id"] for item in body(response)["items"]]


def views(response: Any) -> dict[str, int]:
    return {item["id"]: item["views"] for item in body(response)["items"]}


# --- the arithmetic -----------------------------------------------------------------------


def test_window_buckets_weigh_partial_hours_by_the_time_passed() -> None:
    half_past = N + 30 * 60
    # the last hour at 12:30: half of 11:00-12:00, all of 12:00-12:30 (the time that passed)
    assert window_buckets(half_past - HOUR, half_past, half_past) == [
        (hour_label(N - HOUR), 0.5),
        (hour_label(N), 1.0),
    ]
    # from 12:15 on: three quarters of what 12:00-12:30 saw... of the half hour passed: 0.5
    assert window_buckets(N + 15 * 60, half_past, half_past) == [(hour_label(N), 0.5)]
    # buckets already dropped (older than 49 h after their hour) are never asked for
    assert window_buckets(N - 60 * HOUR, N, N)[0][0] == hour_label(N - 50 * HOUR)


def test_bundle_share_spreads_each_window_evenly(models_dir: Any) -> None:
    bundle = Bundle.load_latest(models_dir)
    n1 = bundle.row("n1")  # views 1d/7d/30d/all: 40 / 100 / 400 / 1734
    assert bundle_share(bundle, N - 12 * HOUR, N)[n1] == pytest.approx(20.0)
    assert bundle_share(bundle, N - 2 * DAY, N - DAY)[n1] == pytest.approx(60 / 6)
    # 8 days to 7 days before: a day of the 23 holding 400 - 100 views
    assert bundle_share(bundle, N - 8 * DAY, N - 7 * DAY)[n1] == pytest.approx(300 / 23)
    # after the bundle's now: nothing, that part is live
    assert not np.any(bundle_share(bundle, N, N + DAY))


# --- merged windows through the API ---------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(N + 2 * HOUR)


@pytest.fixture
def client(make_app: Callable[..., Flask], clock: Clock) -> FlaskClient:
    return live_app(make_app, clock).test_client()


def test_most_viewed_1h_is_live_only_for_a_fresh_bundle(client: FlaskClient, clock: Clock) -> None:
    assert ids(client.get("/v1/most-viewed?window=1h")) == []
    post_views(client, clock, "n2", 50)
    post_views(client, clock, "s3", 3)
    assert views(client.get("/v1/most-viewed?window=1h")) == {"n2": 50, "s3": 3}


def test_most_viewed_24h_merges_bundle_before_now_and_live_after(
    client: FlaskClient, clock: Clock
) -> None:
    post_views(client, clock, "n2", 50)
    # 22 h of the bundle's last day (1d views x 22/24) plus live views after N:
    # n2 20 * 22/24 + 50 = 68.3; s1 70 * 22/24 = 64.2; n1 40 * 22/24 = 36.7; s3 10 -> 9.2
    got = views(client.get("/v1/most-viewed?window=24h&n=4"))
    assert got == {"n2": 68, "s1": 64, "n1": 37, "s3": 9}
    # the draft n5 (50 views on its last day) is never listed
    assert "n5" not in ids(client.get("/v1/most-viewed?window=24h&n=50"))


def test_most_viewed_24h_with_a_bundle_older_than_a_day_is_live_only(
    client: FlaskClient, clock: Clock
) -> None:
    clock.now = N + 3 * DAY
    post_views(client, clock, "s4", 2)
    assert views(client.get("/v1/most-viewed?window=24h")) == {"s4": 2}


def test_most_viewed_bundle_windows_gain_the_live_views_since(
    client: FlaskClient, clock: Clock
) -> None:
    post_views(client, clock, "n3", 60)
    got = views(client.get("/v1/most-viewed?window=7d&category=news"))
    assert got == {"n1": 100, "n3": 90, "n4": 80, "n2": 50}
    assert views(client.get("/v1/most-viewed?window=all&n=1")) == {"s1": 12345}


def test_most_viewed_live_window_of_a_section_uses_its_own_buckets(
    client: FlaskClient, clock: Clock
) -> None:
    post_views(client, clock, "s3", 4)
    post_views(client, clock, "n1", 7)
    assert views(client.get("/v1/most-viewed?window=1h&category=sports")) == {"s3": 4}
    assert views(client.get("/v1/most-viewed?window=1h&category=news")) == {"n1": 7}
    assert ids(client.get("/v1/most-viewed?window=1h&category=weather")) == []


def test_article_views_are_merged(client: FlaskClient, clock: Clock) -> None:
    post_views(client, clock, "n3", 60)
    data = body(client.get("/v1/articles/n3"))
    assert data["views"] == {"1d": 5 + 60, "7d": 30 + 60, "30d": 90 + 60, "all": 250 + 60}
    # 24h: 5 * 22/24 = 4.6 of the bundle's last day, plus 60
    assert data["recent_views"] == {"1h": 60, "24h": 65}
    assert data["views_label"] == "310 views"


def test_related_fallback_chain_ranks_by_live_numbers(client: FlaskClient, clock: Clock) -> None:
    # n4 has no content neighbours: news by 7-day views, then the site (see test_views.py);
    # the content strategy, as the hybrid also takes the most read articles as candidates
    url = "/v1/articles/n4/related?n=5&strategy=content"
    assert ids(client.get(url)) == ["n1", "n2", "n3", "s1", "s3"]
    post_views(client, clock, "n3", 60)  # n3: 30 + 60 = 90 > n2's 50
    assert ids(client.get(url)) == ["n1", "n3", "n2", "s1", "s3"]


def test_related_hybrid_follows_what_readers_open_now(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    client = live_app(make_app, clock, popularity_weight=0.5, popular_candidates=300).test_client()
    clock.now = N + 10 * DAY  # the bundle's last day is out of the 24 hours: live views only
    # no view counted in them yet: the bundle's last day stands in (n2 20, s2 3, n3 5 views);
    # s2, read that day, joins as a popular candidate with its content similarity; every
    # article is 10 days old or more, so freshness (at least 0.1) no longer hides n3
    items = body(client.get("/v1/articles/n1/related?n=3&explain=true"))["items"]
    assert [item["id"] for item in items] == ["n2", "s2", "n3"]
    factors = [item["explain"]["popularity"] for item in items]
    assert factors == pytest.approx([21**0.5, 4**0.5, 6**0.5], abs=1e-5)
    post_views(client, clock, "n3", 60)
    items = body(client.get("/v1/articles/n1/related?n=3&explain=true"))["items"]
    assert [item["id"] for item in items] == ["n3", "n2", "s2"]
    assert items[0]["explain"]["popularity"] == pytest.approx(61**0.5, abs=1e-5)
    assert items[1]["explain"]["popularity"] == 1.0  # n2: no view in the last 24 hours
    # the single signals ignore it
    assert ids(client.get("/v1/articles/n1/related?n=3&strategy=content")) == ["n2", "n3", "s1"]


def test_live_rankings_are_reused_within_a_refresh_tick(
    make_app: Callable[..., Flask], clock: Clock
) -> None:
    client = live_app(make_app, clock).test_client()
    clock.now = N + 2 * HOUR - (N + 2 * HOUR) % 5  # the start of a 5-second tick
    assert ids(client.get("/v1/most-viewed?window=1h")) == []
    post_views(client, clock, "s2", 3)
    clock.now -= 1  # back within the same tick: the worker's snapshot is reused
    assert ids(client.get("/v1/most-viewed?window=1h")) == []
    clock.now += 1  # the next tick
    assert views(client.get("/v1/most-viewed?window=1h")) == {"s2": 3}


# --- trending -----------------------------------------------------------------------------


def test_trending_needs_the_minimum_volume(client: FlaskClient, clock: Clock) -> None:
    clock.now = N + 10 * DAY  # only live views count: the bundle is older than the windows
    post_views(client, clock, "s4", 4)  # an old article: no baseline, 4 views, under the minimum 5
    assert ids(client.get("/v1/trending")) == []
    post_views(client, clock, "s4", 1, prefix="t")
    data = body(client.get("/v1/trending"))
    assert [item["id"] for item in data["items"]] == ["s4"]
    # (5 - 0) / sqrt(0 + 1): its own baseline is empty
    assert data["items"][0]["score"] == pytest.approx(5.0)
    assert data["items"][0]["views"] == 5


def test_trending_compares_with_each_articles_own_baseline(
    client: FlaskClient, clock: Clock
) -> None:
    post_views(client, clock, "n2", 50)
    post_views(client, clock, "s4", 1)  # one view of an old article never tops the list
    data = body(client.get("/v1/trending?n=10"))
    scores = {item["id"]: item["score"] for item in data["items"]}
    # n2: recent 20 * 22/24 + 50 = 68 views; baseline (N+2h-8d .. N-22h) from the bundle:
    # 2 h of its last day (20 * 2/24) + the 6 days before (50 - 20) + 22 h of the 23 days
    # before those ((120 - 50) * 22/552) = 34.46 views in 7 days, 4.92 a day expected:
    # (68 - 4.92) / sqrt(5.92) = 25.92
    assert scores["n2"] == pytest.approx(25.92, abs=0.01)
    assert next(iter(scores)) == "n2"
    assert "s4" not in scores
    # s1 rose less against its own baseline
    assert scores.get("s1", 0.0) < scores["n2"]


def test_trending_of_a_section(client: FlaskClient, clock: Clock) -> None:
    post_views(client, clock, "n2", 50)
    post_views(client, clock, "s3", 30)
    # s1 trends too: its last day in the bundle (70 views) beat its 7 days before (~22 a day)
    assert ids(client.get("/v1/trending?category=sports")) == ["s3", "s1"]
    assert ids(client.get("/v1/trending?category=weather")) == []
    response = client.get("/v1/trending?window=1h")
    assert response.status_code == 400
    assert body(response)["error"]["parameter"] == "window"


def test_trending_answers_match_the_openapi_document(
    client: FlaskClient,
    clock: Clock,
    check_schema: Callable[[str, Any], None],
    openapi_doc: dict[str, Any],
) -> None:
    post_views(client, clock, "n2", 50)

    schema = openapi_doc["paths"]["/v1/trending"]["get"]["responses"]["200"]["content"]
    validator = jsonschema.Draft202012Validator(
        {**openapi_doc, **schema["application/json"]["schema"]}
    )
    validator.validate(body(client.get("/v1/trending")))
    check_schema("ArticleResponse", body(client.get("/v1/articles/n2")))
    check_schema("MostViewedResponse", body(client.get("/v1/most-viewed?window=24h")))
