"""The article lifecycle: publish with fold-in, update, unpublish, and the next training.

Fold-in is checked on generated data (``recommender.sources.sample``: the topics are known),
against a brute-force cosine oracle; suppression on the hand-checkable catalogue of ``conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from recommender.bundle import Bundle, publish
from recommender.config import TrainConfig
from recommender.content import compose_document
from recommender.data.articles import read_articles
from recommender.sources.sample import generate_sample, read_topics
from recommender.train import train
from service.app import create_app
from service.settings import Settings
from tests.conftest import VERSION_1, DictCache, body, bundle_contents, dict_cache_factory
from tests.service.live.test_stores import LIVE_REDIS_URL, live_redis  # noqa: F401 - a fixture

TOKEN = "cms-token-of-the-test-site"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"}
HELD_OUT = 6


def ids(response: Any) -> list[str]:
    return [item["id"] for item in body(response)["items"]]


# --- fold-in on generated data --------------------------------------------------------------


class Sample:
    """A trained sample whose last ``HELD_OUT`` articles (of distinct topics) were held out of
    training: the CMS publishes them while the model runs."""

    def __init__(self, root: Path) -> None:
        info = generate_sample(root / "sample", n_articles=240, days=6, seed=11)
        self.topics = read_topics(info.topics_path)
        lines = Path(info.articles_path).read_text().splitlines()
        records = [json.loads(line) for line in lines]
        seen: set[str] = set()
        self.held_out: list[dict[str, Any]] = []
        for record in reversed(records):
            topic = self.topics[record["id"]]
            if topic not in seen and record.get("status", "published") == "published":
                seen.add(topic)
                self.held_out.append(record)
            if len(self.held_out) == HELD_OUT:
                break
        held = {r["id"] for r in self.held_out}
        kept = root / "articles.jsonl"
        kept.write_text(
            "\n".join(line for line, r in zip(lines, records, strict=True) if r["id"] not in held)
        )
        self.models = root / "models"
        self.articles_path = Path(info.articles_path)
        self.views_path = Path(info.views_path)
        train(kept, info.views_path, self.models, config=TrainConfig(n_neighbors=20))
        self.articles = {a.id: a for a in read_articles(info.articles_path).articles}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return Sample(tmp_path_factory.mktemp("lifecycle"))


@pytest.fixture
def sample_client(sample: Sample, tmp_path: Path) -> FlaskClient:
    # the fold-in's own lists: no popular candidates, no popularity prior
    settings = Settings(
        models_dir=sample.models,
        state_dir=tmp_path / "state",
        cms_token=TOKEN,
        event_log_dir=None,
        popularity_weight=0.0,
        popular_candidates=0,
    )
    app = create_app(settings, cache_factory=dict_cache_factory, redis_ping=lambda: False)
    return app.test_client()


def put(client: FlaskClient, record: dict[str, Any], **changes: Any) -> Any:
    fields = {k: v for k, v in record.items() if k != "id"}
    return client.put(f"/v1/articles/{record['id']}", json={**fields, **changes}, headers=AUTH)


def test_publish_folds_in_neighbours_of_the_same_topic(
    sample: Sample, sample_client: FlaskClient
) -> None:
    precision = []
    for record in sample.held_out:
        response = put(sample_client, record)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert body(response)["new"] is True
        assert body(response)["neighbors"] == 20
        related = ids(sample_client.get(f"/v1/articles/{record['id']}/related?n=5"))
        assert len(related) == 5
        topic = sample.topics[record["id"]]
        precision.append(np.mean([sample.topics[a] == topic for a in related]))
    # the trained lists of this sample are all on topic; folded-in lists nearly so
    assert np.mean(precision) >= 0.9, precision


def test_live_fold_in_gives_nearly_the_list_a_retrain_would(sample: Sample, tmp_path: Path) -> None:
    """Issue 20: a post published while the model runs, folded in by the CMS route, is shown
    about the list the next training gives it (the same post, the same views: none of its
    own yet), served with the default blend settings (popularity prior and popular candidates
    on): content-led, not the fresh popular articles of other sections."""
    settings = Settings(
        models_dir=sample.models, state_dir=tmp_path / "state", cms_token=TOKEN, event_log_dir=None
    )
    client = create_app(
        settings, cache_factory=dict_cache_factory, redis_ping=lambda: False
    ).test_client()
    # the retrain: every article, the views without the posts' own (they have none yet)
    held = {r["id"] for r in sample.held_out}
    lines = sample.views_path.read_text().splitlines()
    views = tmp_path / "views.csv"
    views.write_text("\n".join(line for line in lines if line.split(",")[1] not in held) + "\n")
    retrained = tmp_path / "retrained"
    train(sample.articles_path, views, retrained, config=TrainConfig(n_neighbors=20))
    again = Settings(models_dir=retrained, state_dir=tmp_path / "s2", event_log_dir=None)
    retrain_client = create_app(
        again, cache_factory=dict_cache_factory, redis_ping=lambda: False
    ).test_client()
    common = []
    for record in sample.held_out:
        assert put(client, record).status_code == 200
        url = f"/v1/articles/{record['id']}/related?n=5&explain=true"
        live = body(client.get(url))["items"]
        trained = ids(retrain_client.get(url))
        common.append(len({item["id"] for item in live} & set(trained)))
        # content-led: each item a content candidate of the post (no filler, no co-view: it has
        # none yet), of its own section, not another section's popular articles
        assert all(item["source"] == "related" for item in live)
        assert all(item["explain"]["content_cosine"] > 0 for item in live)
        assert {item["category"] for item in live} == {record["category"]}
    assert min(common) >= 4, common


def test_publish_matches_the_brute_force_cosine(sample: Sample, sample_client: FlaskClient) -> None:
    record = sample.held_out[0]
    put(sample_client, record)
    bundle = Bundle.load_latest(sample.models)
    article = sample.articles[record["id"]]
    document = compose_document(article, int(bundle.manifest["parameters"]["title_weight"]))
    vector = bundle.vectorizer.transform([document]).toarray().ravel()
    cosine = bundle.content_matrix.toarray() @ vector
    cosine[~bundle.is_published] = -1
    order = np.lexsort((np.arange(len(bundle)), -cosine))[:8]
    expected = [(bundle.article_id(r), float(cosine[r])) for r in order]
    response = sample_client.get(f"/v1/articles/{record['id']}/related?n=8&strategy=content")
    got = [(item["id"], item["score"]) for item in body(response)["items"]]
    assert [a for a, _ in got] == [a for a, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_publish_enters_the_lists_of_its_neighbours(
    sample: Sample, sample_client: FlaskClient
) -> None:
    record = sample.held_out[1]
    put(sample_client, record)
    first = body(sample_client.get(f"/v1/articles/{record['id']}/related?strategy=content"))
    neighbour, score = first["items"][0]["id"], first["items"][0]["score"]
    # cosine is symmetric: the neighbour's content list gains the new article, same score
    back = body(sample_client.get(f"/v1/articles/{neighbour}/related?strategy=content&n=20"))
    scores = {item["id"]: item["score"] for item in back["items"]}
    assert scores[record["id"]] == pytest.approx(score, abs=1e-5)
    # and the hybrid list too (no co-views yet: content and freshness)
    assert record["id"] in ids(sample_client.get(f"/v1/articles/{neighbour}/related?n=20"))


def test_two_new_articles_find_each_other(sample: Sample, sample_client: FlaskClient) -> None:
    record = sample.held_out[2]
    put(sample_client, record)
    twin = {**record, "id": "twin-of-" + record["id"]}
    response = put(sample_client, twin)
    assert body(response)["new"] is True
    url = f"/v1/articles/{twin['id']}/related?strategy=content"
    related = body(sample_client.get(url + "&per_story=0"))
    assert related["items"][0]["id"] == record["id"]
    assert related["items"][0]["score"] == pytest.approx(1.0, abs=1e-5)
    # one story (the twin joined the first's at its fold-in): by default never listed
    collapsed = body(sample_client.get(url + "&explain=true"))
    assert record["id"] not in [item["id"] for item in collapsed["items"]]
    assert {"id": record["id"], "under": twin["id"]} in collapsed["collapsed"]


def test_new_article_counts_views_and_shows_them(
    sample: Sample, sample_client: FlaskClient
) -> None:
    record = sample.held_out[3]
    put(sample_client, record)
    event = {"article_id": record["id"], "session_id": "reader"}
    response = sample_client.post("/v1/events", json=event, headers=BROWSER)
    assert body(response)["counted"] == 1
    article = body(sample_client.get(f"/v1/articles/{record['id']}"))
    assert article["title"] == record["title"]
    assert article["status"] == "published"


# --- suppression, on the hand-checkable catalogue ------------------------------------------


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(cms_token=TOKEN, event_log_dir=None)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_lifecycle_routes_need_the_cms_token(
    make_app: Callable[..., Flask], client: FlaskClient
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = client.delete("/v1/articles/n2", headers=headers)
        assert response.status_code == 401
        assert body(response)["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    closed = make_app(event_log_dir=None).test_client()  # no NEWSREC_CMS_TOKEN: no routes
    assert closed.delete("/v1/articles/n2", headers=AUTH).status_code == 404
    assert closed.put("/v1/articles/n2", json={"title": "x"}, headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "no title"}, "title"),
        ({"title": "  "}, "title"),
        ({"title": "T", "tags": [1]}, "tags"),
        ({"title": "T", "published_at": "last week"}, "published_at"),
        ({"title": "T", "views": 3}, "views"),
        ({"title": "T", "id": "other"}, "id"),
    ],
)
def test_put_refuses_a_bad_body_naming_the_field(
    client: FlaskClient, payload: dict[str, Any], field: str
) -> None:
    response = client.put("/v1/articles/x1", json=payload, headers=AUTH)
    assert response.status_code == 400
    assert body(response)["error"]["code"] == "bad_body"
    assert body(response)["error"]["field"] == field


def test_delete_removes_the_article_from_every_answer_cached_ones_included(
    app: Flask, client: FlaskClient
) -> None:
    urls = [
        "/v1/articles/n1/related",
        "/v1/articles/n4/related?n=8",
        "/v1/most-viewed?n=20",
        "/v1/most-viewed?window=all&category=news",
    ]
    before = {url: client.get(url).get_data() for url in urls}
    assert all(b'"n2"' in answer for answer in before.values())
    cache: DictCache = app.extensions["newsrec"].cache
    assert len(cache.data) == len(urls)
    response = client.delete("/v1/articles/n2", headers=AUTH)
    assert response.status_code == 200
    assert body(response) == {"article_id": "n2", "status": "deleted", "generation": 1}
    for url in urls:
        answer = client.get(url)
        assert b'"n2"' not in answer.get_data(), url
    # the n1 list is filled up again from the fallbacks
    assert ids(client.get("/v1/articles/n1/related")) == ["n3", "s2", "s1", "n4", "s3", "s4"]
    assert client.get("/v1/articles/n2").status_code == 404
    assert client.get("/v1/articles/n2/related").status_code == 404
    event = client.post("/v1/events", json={"article_id": "n2", "session_id": "a"}, headers=BROWSER)
    assert body(event)["error"]["rejected"][0]["code"] == "unknown_article"
    assert client.delete("/v1/articles/nope", headers=AUTH).status_code == 404


def test_unpublish_by_status_and_publish_again(client: FlaskClient) -> None:
    own_list = ids(client.get("/v1/articles/n3/related"))
    fields = {"title": "News 3, corrected", "category": "news", "status": "draft"}
    assert client.put("/v1/articles/n3", json=fields, headers=AUTH).status_code == 200
    # a draft's own page (a preview) keeps its trained list
    assert ids(client.get("/v1/articles/n3/related")) == own_list
    assert "n3" not in ids(client.get("/v1/articles/n1/related?n=8"))
    assert "n3" not in ids(client.get("/v1/most-viewed?n=20"))
    assert body(client.get("/v1/articles/n3"))["status"] == "draft"
    published = {**fields, "status": "published", "published_at": "2026-10-29T12:00:00Z"}
    assert client.put("/v1/articles/n3", json=published, headers=AUTH).status_code == 200
    related = body(client.get("/v1/articles/n1/related?n=8"))
    n3 = next(item for item in related["items"] if item["id"] == "n3")
    assert n3["title"] == "News 3, corrected"
    assert body(client.get("/v1/articles/n3"))["views"]["all"] == 250  # the bundle's counts


def test_a_new_section_becomes_known(client: FlaskClient) -> None:
    fields = {"title": "Rain tomorrow", "category": "weather", "body": "<b>Rain</b>"}
    assert body(client.put("/v1/articles/w1", json=fields, headers=AUTH))["new"] is True
    # the fixture bundle has no vectorizer: no fold-in, the fallbacks fill the list
    assert len(ids(client.get("/v1/articles/w1/related?n=5"))) == 5
    assert ids(client.get("/v1/articles/n1/related?category=weather&n=3")) == ["w1"]


def test_the_next_training_supersedes_the_overlay(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    publish(bundle_contents("v1"), models, version=VERSION_1)
    app = make_app(models_dir=models, cms_token=TOKEN, event_log_dir=None)
    client = app.test_client()
    client.delete("/v1/articles/n2", headers=AUTH)
    client.put("/v1/articles/x1", json={"title": "Live only", "category": "news"}, headers=AUTH)
    assert "n2" not in ids(client.get("/v1/most-viewed?n=20"))
    # a bundle trained after the changes, which has n2 (but not x1)
    contents = bundle_contents("v2")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    contents.manifest["created_at"] = later.isoformat().replace("+00:00", "Z")
    publish(contents, models, version="20261102T120000Z-v2")
    assert app.extensions["newsrec"].store.reload().changed
    assert "n2" in ids(client.get("/v1/most-viewed?n=20"))  # the bundle's data wins
    assert body(client.get("/v1/articles/x1"))["title"] == "Live only"  # not in the bundle
    _, records = app.extensions["newsrec"].live.store.overlay()
    assert sorted(records) == ["x1"]  # the superseded record is gone from the store


@pytest.mark.redis
def test_lifecycle_changes_live_in_redis_and_survive_a_restart(
    make_app: Callable[..., Flask],
    live_redis: redis.Redis,  # noqa: F811 - the fixture
) -> None:
    first = make_app(cms_token=TOKEN, event_log_dir=None, live_redis_url=LIVE_REDIS_URL)
    client = first.test_client()
    assert client.delete("/v1/articles/s1", headers=AUTH).status_code == 200
    fields = {"title": "Late goal", "category": "sports"}
    assert client.put("/v1/articles/s9", json=fields, headers=AUTH).status_code == 200
    assert live_redis.get("nr:live:gen") == b"2"
    restarted = make_app(event_log_dir=None, live_redis_url=LIVE_REDIS_URL).test_client()
    assert restarted.get("/v1/articles/s1").status_code == 404
    assert body(restarted.get("/v1/articles/s9"))["title"] == "Late goal"
    assert "s1" not in ids(restarted.get("/v1/most-viewed?category=sports"))
