"""Experiments on the most-viewed and latest lists, on the hand-checkable catalogue of
``conftest.py`` (most viewed of the last day: s1 70, n1 40, n2 20, s3 10; of 7 days: s1 200,
n1 100, n4 80, s3 60; the newest: n1, n2, s1 of today, s2, then n3 and s3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import IDS, SECTIONS, body

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"}
TOKEN = "a-token-for-the-rules-api-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECTION = dict(zip(IDS, SECTIONS, strict=True))
START = "2020-01-01T00:00:00Z"


def ids(answer: dict[str, Any]) -> list[str]:
    return [item["id"] for item in answer["items"]]


def reader_in(client: FlaskClient, variant: str, url: str) -> tuple[str, dict[str, Any]]:
    """A session id the experiment puts in ``variant``, and its answer of ``url``."""
    for i in range(300):
        answer = body(client.get(f"{url}&session_id=reader-{i}"))
        if answer["variant"] == variant:
            return f"reader-{i}", answer
    raise AssertionError(f"no session in {variant}")


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    path = tmp_path / "experiments.toml"
    path.write_text(
        f"""
[[experiments]]
name = "popular-window"
surface = "most-viewed"
start = "{START}"
[[experiments.variants]]
name = "page"
[[experiments.variants]]
name = "day"
window = "1d"
[[experiments.variants]]
name = "none"
holdout = true

[[experiments]]
name = "latest-news"
surface = "latest"
start = "{START}"
[[experiments.variants]]
name = "all"
[[experiments.variants]]
name = "news"
category = "news"
[[experiments.variants]]
name = "none"
holdout = true
"""
    )
    return make_app(
        experiments=path,
        event_log_dir=tmp_path / "events",
        session_key="a-shared-session-key",
        rules_token=TOKEN,
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_most_viewed_variants_change_the_window_or_hide_the_list(client: FlaskClient) -> None:
    url = "/v1/most-viewed?n=4"
    _, page = reader_in(client, "page", url)
    _, day = reader_in(client, "day", url)
    _, hidden = reader_in(client, "none", url)
    assert ids(page) == ids(body(client.get(url))) == ["s1", "n1", "n4", "s3"]  # 7 days
    assert ids(day) == ids(body(client.get(f"{url}&window=1d"))) == ["s1", "n1", "n2", "s3"]
    # the variant's window wins over the page's
    assert ids(reader_in(client, "day", f"{url}&window=30d")[1]) == ids(day)
    assert hidden["items"] == []
    assert {a["experiment"] for a in (page, day, hidden)} == {"popular-window"}
    assert len({a["list_id"] for a in (page, day, hidden)}) == 3
    assert body(client.get(url))["variant"] is None  # no session: the site's list
    # again, from the fast path and the response cache: each reader keeps their variant
    session, _ = reader_in(client, "day", url)
    for _ in range(2):
        assert ids(body(client.get(f"{url}&session_id={session}"))) == ids(day)


def test_latest_variants_change_the_section_or_hide_the_list(client: FlaskClient) -> None:
    url = "/v1/latest?n=5"
    _, everything = reader_in(client, "all", url)
    _, news = reader_in(client, "news", url)
    _, hidden = reader_in(client, "none", url)
    assert ids(everything) == ids(body(client.get(url)))
    assert {SECTION[i] for i in ids(everything)} == {"news", "sports"}
    assert ids(news) == ids(body(client.get(f"{url}&category=news")))
    assert {SECTION[i] for i in ids(news)} == {"news"} and ids(news)
    assert hidden["items"] == [] and hidden["experiment"] == "latest-news"
    # the fragment follows the variant too (pages without JavaScript)
    session, _ = reader_in(client, "news", url)
    html = client.get(f"/v1/latest.html?n=5&session_id={session}").get_data(as_text=True)
    assert all(f"/{i}" in html for i in ids(news))
    assert "/s1" not in html


def test_impressions_clicks_and_views_of_two_surfaces_reach_both_reports(
    app: Flask, client: FlaskClient
) -> None:
    session, day = reader_in(client, "day", "/v1/most-viewed?n=3")
    latest = body(client.get(f"/v1/latest?n=3&session_id={session}"))
    assert latest["experiment"] == "latest-news"  # both run: independent assignments
    events = []
    for answer in (day, latest):
        first = answer["items"][0] if answer["items"] else None
        if first is None:
            continue
        event = {"list_id": answer["list_id"], "position": 1, "article_id": first["id"]}
        events += [{**event, "type": t, "session_id": session} for t in ("impression", "click")]
    events.append({"type": "view", "article_id": "n2", "session_id": session})
    response = client.post("/v1/events", json=events, headers=BROWSER)
    assert response.status_code == 202, response.get_data(as_text=True)
    report = body(client.get("/v1/experiments/popular-window/report", headers=AUTH))
    assert report["surface"] == "most-viewed"
    arms = {v["name"]: v for v in report["variants"]}
    assert (arms["day"]["impressions"], arms["day"]["clicks"]) == (1, 1)
    assert arms["day"]["sessions"] == 1 and arms["page"]["impressions"] == 0
    other = body(client.get("/v1/experiments/latest-news/report", headers=AUTH))
    mine = {v["name"]: v for v in other["variants"]}[latest["variant"]]
    assert mine["sessions"] == 1  # the view counts for the reader's variant of each
    if latest["items"]:
        assert (mine["impressions"], mine["clicks"]) == (1, 1)
    logged = [
        json.loads(line)
        for f in sorted(Path(app.extensions["newsrec"].settings.event_log_dir, "clicks").glob("*"))
        for line in f.read_text().splitlines()
    ]
    assert ("popular-window", "day") in {(r["experiment"], r["variant"]) for r in logged}


def test_one_experiment_per_surface_and_only_its_surfaces_settings(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(rules_token=TOKEN).test_client()

    def put(name: str, surface: str | None, *variants: dict[str, Any]) -> Any:
        definition: dict[str, Any] = {"start": START, "variants": list(variants)}
        if surface is not None:
            definition["surface"] = surface
        return client.put(f"/v1/experiments/{name}", json=definition, headers=AUTH)

    assert (
        put("related", None, {"name": "A"}, {"name": "B", "strategy": "content"}).status_code == 200
    )
    assert (
        put("popular", "most-viewed", {"name": "A"}, {"name": "B", "window": "1d"}).status_code
        == 200
    )
    clash = put("popular-2", "most-viewed", {"name": "A"}, {"name": "B", "window": "30d"})
    assert clash.status_code == 400 and "overlap" in body(clash)["error"]["message"]
    wrong = put("latest", "latest", {"name": "A"}, {"name": "B", "window": "1d"})
    assert wrong.status_code == 400
    assert body(wrong)["error"]["message"].startswith("variants[1].window")
    bad_window = put("w", "most-viewed", {"name": "A"}, {"name": "B", "window": "2d"})
    assert (
        bad_window.status_code == 400
        and "variants[1].window" in body(bad_window)["error"]["message"]
    )
    unknown = put("s", "home", {"name": "A"}, {"name": "B"})
    assert unknown.status_code == 400 and "surface" in body(unknown)["error"]["message"]
    listed = body(client.get("/v1/experiments", headers=AUTH))
    assert listed["running"] == "related"
    assert sorted(listed["running_all"]) == ["popular", "related"]
    assert {e["name"]: e["surface"] for e in listed["experiments"]} == {
        "related": "related",
        "popular": "most-viewed",
    }
    # a related reader is not in the most-viewed experiment's variant, and the reverse
    assert body(client.get("/v1/articles/n1/related?session_id=x"))["experiment"] == "related"
    assert body(client.get("/v1/most-viewed?session_id=x"))["experiment"] == "popular"
    assert body(client.get("/v1/latest?session_id=x"))["variant"] is None
