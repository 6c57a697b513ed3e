"""Impressions, clicks and A/B tests end to end through the Flask app: list ids and positions
in the answers, the events that count them, experiments from a file and the API, reports."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.experiments.config import Experiment, Variant
from service.experiments.report import build_report
from service.live.counts import Tally
from tests.conftest import body

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
HEADERS = {"User-Agent": BROWSER}
TOKEN = "a-token-for-the-rules-api-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _experiments_file(tmp_path: Path, variants: list[dict[str, Any]]) -> Path:
    path = tmp_path / "experiments.json"
    path.write_text(
        json.dumps(
            {
                "experiments": [
                    {"name": "blend-test", "start": "2020-01-01T00:00:00Z", "variants": variants}
                ]
            }
        )
    )
    return path


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    path = _experiments_file(
        tmp_path,
        [
            {"name": "A", "weight": 1},
            {"name": "B", "weight": 1, "strategy": "content"},
            {"name": "none", "weight": 1, "holdout": True},
        ],
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


def post(client: FlaskClient, payload: Any, **headers: str) -> Any:
    return client.post("/v1/events", json=payload, headers={**HEADERS, **headers})


def session_in(client: FlaskClient, variant: str) -> tuple[str, dict[str, Any]]:
    """A session id the experiment puts in ``variant``, and its related answer for n1."""
    for i in range(200):
        answer = body(client.get(f"/v1/articles/n1/related?n=3&session_id=reader-{i}"))
        if answer["variant"] == variant:
            return f"reader-{i}", answer
    raise AssertionError(f"no session in {variant}")


def test_answers_name_their_list_and_each_item_its_position(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app().test_client()
    for url in ("/v1/articles/n1/related?n=3", "/v1/most-viewed?n=3", "/v1/latest?n=3"):
        data = body(client.get(url))
        assert len(data["list_id"]) == 16
        assert data["variant"] is None
        assert [item["position"] for item in data["items"]] == [1, 2, 3]
        assert body(client.get(url + "&session_id=s1"))["list_id"] == data["list_id"]
    assert (
        body(client.get("/v1/articles/n1/related?n=3"))["list_id"]
        != body(client.get("/v1/articles/n1/related?n=4"))["list_id"]
    )


def test_experiment_assignment_is_stable_and_splits_readers(client: FlaskClient) -> None:
    seen = [
        body(client.get(f"/v1/articles/n1/related?n=3&session_id=r{i}"))["variant"]
        for i in range(90)
    ]
    assert {seen.count(v) for v in ("A", "B", "none")} <= set(range(15, 46))
    again = [
        body(client.get(f"/v1/articles/n1/related?n=3&session_id=r{i}"))["variant"]
        for i in range(90)
    ]
    assert again == seen


def test_variants_get_their_own_answers_and_cache_entries(client: FlaskClient) -> None:
    _, a = session_in(client, "A")
    _, b = session_in(client, "B")
    _, holdout = session_in(client, "none")
    assert a["strategy"] == "hybrid" and b["strategy"] == "content"
    assert a["experiment"] == b["experiment"] == "blend-test"
    assert holdout["items"] == [] and a["items"]
    assert len({a["list_id"], b["list_id"], holdout["list_id"]}) == 3
    # the same reader again, now from the caches: still their own variant
    _, b_again = session_in(client, "B")
    assert b_again == b
    assert client.get("/v1/articles/nope/related?session_id=x").status_code == 404
    assert client.get("/v1/articles/n1/related?session_id=").status_code == 400


def test_impressions_and_clicks_count_once_and_show_in_the_report(
    client: FlaskClient, tmp_path: Path
) -> None:
    session, answer = session_in(client, "B")
    list_id = answer["list_id"]
    shown = [
        {
            "type": "impression",
            "list_id": list_id,
            "position": item["position"],
            "article_id": item["id"],
            "session_id": session,
        }
        for item in answer["items"]
    ]
    assert body(post(client, shown))["counted"] == 3
    assert body(post(client, shown))["counted"] == 0  # the same session saw it already
    second = answer["items"][1]
    click = {
        "type": "click",
        "list_id": list_id,
        "position": 2,
        "article_id": second["id"],
        "session_id": session,
        "variant": "B",
    }
    assert body(post(client, click))["counted"] == 1
    # the target page's view carries nr_list/nr_pos: the click is not counted twice
    view = {"article_id": second["id"], "session_id": session, "list_id": list_id, "position": 2}
    assert body(post(client, view)) == {"accepted": 1, "counted": 1, "rejected": []}
    # a bot counts nothing
    bot = {"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
    assert body(post(client, {**click, "session_id": "crawler"}, **bot))["counted"] == 0
    wrong = post(client, {**click, "list_id": "0" * 16})
    assert wrong.status_code == 400 and "unknown_list" in wrong.get_data(as_text=True)
    assert client.get("/v1/experiments/blend-test/report").status_code == 401
    report = body(client.get("/v1/experiments/blend-test/report", headers=AUTH))
    arms = {v["name"]: v for v in report["variants"]}
    assert (arms["B"]["impressions"], arms["B"]["clicks"]) == (1, 1)
    assert [(p["position"], p["impressions"], p["clicks"]) for p in arms["B"]["positions"]] == [
        (1, 1, 0),
        (2, 1, 1),
        (3, 1, 0),
    ]
    assert arms["B"]["clicking_sessions"] == 1
    assert arms["B"]["pages_after_click"] == 1.0  # the clicked page
    assert arms["A"]["impressions"] == 0
    logged = [
        json.loads(line)
        for f in sorted((tmp_path / "events" / "clicks").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    assert [(r["type"], r["position"], r["variant"]) for r in logged] == [
        ("impression", 1, "B"),
        ("impression", 2, "B"),
        ("impression", 3, "B"),
        ("click", 2, "B"),
    ]
    assert session not in json.dumps(logged)  # hashed


def test_clicks_outside_experiments_are_tallied_per_list_kind(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(session_key="k")
    client = app.test_client()
    data = body(client.get("/v1/most-viewed?n=2"))
    item = data["items"][0]
    event = {"list_id": data["list_id"], "position": 1, "article_id": item["id"]}
    post(client, {**event, "type": "impression", "session_id": "s"})
    post(client, {**event, "type": "click", "session_id": "s"})
    tally = app.extensions["newsrec"].live.store.tally("")
    assert list(tally.values()) == [{"impression": 1, "click": 1}]
    assert next(iter(tally))[:3] == ("", "most-viewed", 1)


def test_experiments_api_needs_the_token_and_refuses_overlaps(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(rules_token=TOKEN).test_client()
    definition = {
        "start": "2020-01-01T00:00:00Z",
        "variants": [{"name": "A"}, {"name": "B", "blend": {"popularity_weight": 1.0}}],
    }
    assert client.put("/v1/experiments/pop", json=definition).status_code == 401
    made = client.put("/v1/experiments/pop", json=definition, headers=AUTH)
    assert made.status_code == 200, made.get_data(as_text=True)
    listed = body(client.get("/v1/experiments", headers=AUTH))
    assert listed["running"] == "pop"
    other = client.put("/v1/experiments/other", json=definition, headers=AUTH)
    assert other.status_code == 400 and "overlap" in body(other)["error"]["message"]
    bad = {**definition, "variants": [{"name": "A"}, {"name": "B", "blend": {"nope": 1}}]}
    assert client.put("/v1/experiments/pop", json=bad, headers=AUTH).status_code == 400
    assert body(client.get("/v1/articles/n1/related?session_id=x"))["experiment"] == "pop"
    assert client.delete("/v1/experiments/pop", headers=AUTH).status_code == 204
    assert body(client.get("/v1/articles/n1/related?session_id=x"))["variant"] is None
    assert client.get("/v1/experiments/pop/report", headers=AUTH).status_code == 404


# --- the statistics on simulated readers ----------------------------------------------------

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
DAYS = 14


def _simulated(rates: dict[str, float], per_day: int, seed: int) -> tuple[Experiment, Tally]:
    rng = np.random.default_rng(seed)
    experiment = Experiment("sim", tuple(Variant(name) for name in rates), START)
    tally: Tally = {}
    for d in range(DAYS):
        day = (dt.datetime(2026, 11, 1) + dt.timedelta(days=d)).strftime("%Y-%m-%d")
        for name, rate in rates.items():
            shown = int(rng.poisson(per_day))
            tally[("sim", name, 1, day)] = {
                "impression": shown,
                "click": int(rng.binomial(shown, rate)),
            }
    return experiment, tally


def test_report_picks_the_variant_readers_click_more() -> None:
    end = START + DAYS * 86400 - 1
    for seed in range(5):
        experiment, tally = _simulated({"A": 0.040, "B": 0.046}, 6000, seed)
        report = build_report(experiment, tally, end)
        assert report["winner"] == "B", report["verdict"]
        assert report["verdict"].startswith("B wins")
        reversed_experiment, tally = _simulated({"A": 0.046, "B": 0.040}, 6000, seed)
        assert build_report(reversed_experiment, tally, end)["winner"] == "A"


def test_report_a_a_declares_a_false_winner_at_most_at_the_stated_rate() -> None:
    end = START + DAYS * 86400 - 1
    seeds = 400
    false = sum(
        build_report(*_simulated({"A": 0.04, "B": 0.04}, 4000, seed), end)["winner"] is not None
        for seed in range(seeds)
    )
    assert false / seeds <= 0.05  # ALPHA, the rate the report states
    undecided = build_report(*_simulated({"A": 0.04, "B": 0.04}, 4000, 1), end)
    assert undecided["verdict"].startswith("No winner yet")


def test_evaluate_clicks_ranks_the_served_strategy_where_it_served(
    make_app: Callable[..., Flask], tmp_path: Path, models_dir: Path
) -> None:
    from recommender.blend import BlendParams
    from recommender.bundle import Bundle, latest_version
    from recommender.evaluation.clicks import click_hit_rates, read_clicks

    client = make_app(event_log_dir=tmp_path / "events", session_key="k").test_client()
    clicked = []
    for page in ("n1", "s1", "n2"):
        data = body(client.get(f"/v1/articles/{page}/related?n=5"))
        item = data["items"][-1]  # the last of the list: hit@5 but not hit@1
        clicked.append(item["position"])
        event = {"list_id": data["list_id"], "position": item["position"], "page_id": page}
        assert (
            body(
                post(
                    client, {**event, "type": "click", "article_id": item["id"], "session_id": page}
                )
            )["counted"]
            == 1
        )
    clicks = read_clicks(tmp_path / "events" / "clicks")
    assert [c.page_id for c in clicks] == ["n1", "s1", "n2"]
    bundle = Bundle.load(models_dir / str(latest_version(models_dir)))
    # the served lists were hybrid with the test apps' blend (no popularity prior)
    params = BlendParams(popularity_weight=0.0, popular_candidates=0)
    figures = click_hit_rates(bundle, clicks, strategies=("hybrid", "content"), params=params)
    assert figures["evaluated"] == 3
    assert figures["strategies"]["hybrid"] == figures["served"]
    assert figures["served"]["hit_rate_at_1"] == 0.0
    assert figures["served"]["hit_rate_at_5"] == 1.0

    # the command: the same figures, from the models folder's LATEST
    from recommender.cli import main

    config = tmp_path / "blend.toml"
    config.write_text("[blend]\npopularity_weight = 0.0\npopular_candidates = 0\n")
    out = tmp_path / "clicks.json"
    argv = ["evaluate", "--clicks", str(tmp_path / "events" / "clicks"), "--model"]
    argv += [str(models_dir), "--config", str(config), "--strategies", "hybrid", "--json", str(out)]
    assert main(argv) == 0
    written = json.loads(out.read_text())
    assert written["strategies"]["hybrid"] == figures["strategies"]["hybrid"]
    assert written["model"] == bundle.version


def test_report_page_shows_the_verdict_and_a_ctr_line_per_variant(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    from tests.service.editorial.test_preview import HASH, SECRET, USER, log_in

    path = _experiments_file(tmp_path, [{"name": "A"}, {"name": "B", "strategy": "content"}])
    app = make_app(experiments=path, editor_user=USER, editor_password_hash=HASH, secret_key=SECRET)
    client = app.test_client()
    assert client.get("/preview/experiments/blend-test").status_code == 302  # to the login
    session, answer = session_in(client, "A")
    item = answer["items"][0]
    event = {"list_id": answer["list_id"], "position": 1, "article_id": item["id"]}
    post(client, [{**event, "type": t, "session_id": session} for t in ("impression", "click")])
    assert log_in(client).status_code == 302
    page = client.get("/preview/experiments/blend-test")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.findall(r'class="ctr-line" data-variant="(\w+)"', html) == ["A", "B"]
    assert "No winner yet" in html
    assert re.search(r'<tr data-variant="A"><td>A</td>\s*<td>1</td><td>1</td>', html)
    assert client.get("/preview/experiments/nope").status_code == 404
