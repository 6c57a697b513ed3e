"""A/B tests of model versions: a related variant served from another trained bundle.

Two real bundles are trained on one generated site: ``A`` with the view log (hybrid lists:
content and co-view) and ``B`` on the texts alone, so their lists differ. ``A`` is LATEST.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.bundle import Bundle, set_latest_version
from recommender.config import TrainConfig
from recommender.sources.sample import generate_sample
from recommender.train import train
from service.app import create_app
from service.params import RelatedParams
from service.ranking import related_response
from service.settings import Settings, SettingsError
from tests.conftest import DictCache, body, dict_cache_factory, publish_broken_bundle

TOKEN = "a-token-for-the-rules-api-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXPERIMENT = "new-model"


class Site:
    """Two trained bundles of one generated site, and one article held out of both."""

    def __init__(self, root: Path) -> None:
        info = generate_sample(root / "sample", n_articles=160, days=6, seed=21)
        lines = Path(info.articles_path).read_text().splitlines()
        records = [json.loads(line) for line in lines]
        published = [r for r in records if r.get("status", "published") == "published"]
        self.held_out = published[-1]
        kept = root / "articles.jsonl"
        kept.write_text("\n".join(line for line in lines if json.loads(line) != self.held_out))
        self.models = root / "models"
        config = TrainConfig(n_neighbors=20)
        self.b = train(kept, None, self.models, config=config).version
        self.a = train(kept, info.views_path, self.models, config=config).version
        assert self.a != self.b
        set_latest_version(self.models, self.a)
        self.ids = [r["id"] for r in published[:-1]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return Site(tmp_path_factory.mktemp("two-models"))


def _settings(site: Site, tmp_path: Path, **changes: Any) -> Settings:
    given: dict[str, Any] = {
        "models_dir": site.models,
        "state_dir": tmp_path / "state",
        "event_log_dir": None,
        "rules_token": TOKEN,
        "cms_token": TOKEN,
        "reload_interval": 3600.0,
        "session_key": "a-shared-session-key",
    }
    return Settings(**{**given, **changes})


def _experiment(variants: list[dict[str, Any]]) -> dict[str, Any]:
    return {"start": "2020-01-01T00:00:00Z", "variants": variants}


def _file(tmp_path: Path, variants: list[dict[str, Any]]) -> Path:
    path = tmp_path / "experiments.json"
    path.write_text(json.dumps({"experiments": [{"name": EXPERIMENT, **_experiment(variants)}]}))
    return path


@pytest.fixture
def make(site: Site, tmp_path: Path) -> Callable[..., Flask]:
    def build(variants: list[dict[str, Any]] | None = None, **changes: Any) -> Flask:
        if variants is not None:
            changes["experiments"] = _file(tmp_path, variants)
        settings = _settings(site, tmp_path, **changes)
        return create_app(settings, cache_factory=dict_cache_factory, redis_ping=lambda: False)

    return build


def reader_in(client: FlaskClient, variant: str, url: str) -> tuple[str, dict[str, Any]]:
    """A session id the experiment puts in ``variant``, and its answer of ``url``."""
    for i in range(200):
        answer = body(client.get(f"{url}&session_id=reader-{i}"))
        if answer["variant"] == variant:
            return f"reader-{i}", answer
    raise AssertionError(f"no session in {variant}")


def ids(answer: dict[str, Any]) -> list[str]:
    return [item["id"] for item in answer["items"]]


def _oracle(app: Flask, version: str, article_id: str, n: int) -> list[str]:
    """The list the bundle of ``version`` gives on its own, served as the app serves it."""
    rt = app.extensions["newsrec"]
    bundle = Bundle.load(Path(rt.settings.models_dir) / version)
    assert rt.live is not None
    answer = related_response(
        bundle,
        article_id,
        RelatedParams(n=n),
        rt.options_for(bundle),
        None,
        rt.live.view(bundle),
    )
    return [item["id"] for item in answer["items"]]


def test_readers_of_a_model_variant_get_that_models_lists(
    site: Site, make: Callable[..., Flask]
) -> None:
    app = make([{"name": "current"}, {"name": "text-only", "model": site.b}])
    client = app.test_client()
    differ = 0
    for article_id in site.ids[:12]:
        url = f"/v1/articles/{article_id}/related?n=5"
        _, a = reader_in(client, "current", url)
        _, b = reader_in(client, "text-only", url)
        assert (a["model_version"], b["model_version"]) == (site.a, site.b)
        assert ids(a) == _oracle(app, site.a, article_id, 5)
        assert ids(b) == _oracle(app, site.b, article_id, 5)
        assert a["list_id"] != b["list_id"]
        differ += ids(a) != ids(b)
        # readers without a session, and the site's default, keep the model in service
        assert body(client.get(url))["model_version"] == site.a
    assert differ >= 6  # the two models do rank differently
    # explain says which model built the list, item by item
    _, explained = reader_in(
        client, "text-only", f"/v1/articles/{site.ids[0]}/related?n=3&explain=true"
    )
    assert explained["model_version"] == site.b and "explain" in explained["items"][0]


def test_two_model_variants_never_share_a_cache_entry(
    site: Site, make: Callable[..., Flask]
) -> None:
    app = make([{"name": "old", "model": site.a}, {"name": "new", "model": site.b}])
    client = app.test_client()
    url = f"/v1/articles/{site.ids[3]}/related?n=5"
    session_a, a = reader_in(client, "old", url)
    session_b, b = reader_in(client, "new", url)
    for _ in range(3):  # now from the fast path and the response cache
        assert body(client.get(f"{url}&session_id={session_a}")) == a
        assert body(client.get(f"{url}&session_id={session_b}")) == b
    cache = app.extensions["newsrec"].cache
    assert isinstance(cache, DictCache)
    keys = [k for k in cache.data if f":related:{site.ids[3]}:5:" in k]
    old = [k for k in keys if k.endswith(f":x:{EXPERIMENT}.old")]
    new = [k for k in keys if k.endswith(f":x:{EXPERIMENT}.new")]
    assert len(old) == len(new) == 1
    assert site.a in old[0] and site.b in new[0] and site.b not in old[0]
    assert json.loads(cache.data[new[0]])["model_version"] == site.b


def test_model_and_experiments_routes_say_which_version_serves_each_variant(
    site: Site, make: Callable[..., Flask]
) -> None:
    variants = [
        {"name": "current"},
        {"name": "text-only", "model": site.b},
        {"name": "none", "holdout": True},
    ]
    app = make(variants)
    client = app.test_client()
    model = body(client.get("/v1/model"))
    assert model["version"] == site.a
    assert model["experiments"] == [
        {
            "name": EXPERIMENT,
            "surface": "related",
            "variants": {"current": site.a, "text-only": site.b, "none": None},
        }
    ]
    listed = body(client.get("/v1/experiments", headers=AUTH))["experiments"]
    assert listed[0]["serving"] == {"current": site.a, "text-only": site.b, "none": None}
    assert listed[0]["variants"][1]["model"] == site.b
    report = body(client.get(f"/v1/experiments/{EXPERIMENT}/report", headers=AUTH))
    assert report["serving"] == listed[0]["serving"]
    assert report["models"] == {"text-only": site.b}


def test_a_model_version_that_cannot_be_served_is_refused_at_start(
    site: Site, make: Callable[..., Flask], tmp_path: Path
) -> None:
    with pytest.raises(SettingsError) as missing:
        make([{"name": "current"}, {"name": "future", "model": "20990101T000000Z-nope"}])
    message = str(missing.value)
    assert "NEWSREC_EXPERIMENTS" in message
    assert f"experiment {EXPERIMENT!r}" in message and "variant 'future'" in message
    assert "20990101T000000Z-nope" in message and "no model version" in message
    # a bundle that loads but fails the service's smoke query is refused the same way
    broken = tmp_path / "models"
    broken.mkdir()
    (broken / site.a).symlink_to(site.models / site.a, target_is_directory=True)
    publish_broken_bundle(broken, "20261101T000000Z-broken")
    set_latest_version(broken, site.a)
    with pytest.raises(SettingsError) as refused:
        make(
            [{"name": "current"}, {"name": "broken", "model": "20261101T000000Z-broken"}],
            models_dir=broken,
        )
    assert "variant 'broken'" in str(refused.value) and "cannot be served" in str(refused.value)
    # an experiment that has ended serves nothing: its pruned version does not stop start-up
    ended = tmp_path / "ended.json"
    variants = [{"name": "current"}, {"name": "gone", "model": "20200101T000000Z-pruned"}]
    definition = {"name": "old", "end": "2021-01-01T00:00:00Z", **_experiment(variants)}
    ended.write_text(json.dumps({"experiments": [definition]}))
    app = make(experiments=ended)
    assert body(app.test_client().get("/v1/model"))["experiments"] == []


def test_the_api_refuses_a_model_version_naming_the_field_and_releases_models(
    site: Site, make: Callable[..., Flask]
) -> None:
    app = make()
    client = app.test_client()
    registry = app.extensions["newsrec"].experiments
    bad = _experiment([{"name": "current"}, {"name": "new", "model": "20990101T000000Z-nope"}])
    refused = client.put(f"/v1/experiments/{EXPERIMENT}", json=bad, headers=AUTH)
    assert refused.status_code == 400
    assert body(refused)["error"]["message"].startswith("variants[1].model:")
    assert "20990101T000000Z-nope" in body(refused)["error"]["message"]
    malformed = _experiment([{"name": "current"}, {"name": "new", "model": "../etc"}])
    assert client.put("/v1/experiments/m", json=malformed, headers=AUTH).status_code == 400
    assert registry.models.held() == []

    good = {
        **_experiment([{"name": "current"}, {"name": "new", "model": site.b}]),
        "end": "2098-01-01T00:00:00Z",
    }
    assert client.put(f"/v1/experiments/{EXPERIMENT}", json=good, headers=AUTH).status_code == 200
    assert registry.models.held() == [site.b]
    _, answer = reader_in(client, "new", f"/v1/articles/{site.ids[0]}/related?n=4")
    assert answer["model_version"] == site.b
    # one that has not started yet is checked when defined, then held only once it runs
    later = {**good, "start": "2099-01-01T00:00:00Z", "end": None}
    assert client.put("/v1/experiments/later", json=later, headers=AUTH).status_code == 200
    assert client.delete(f"/v1/experiments/{EXPERIMENT}", headers=AUTH).status_code == 204
    assert registry.models.held() == []
    assert (
        body(client.get(f"/v1/articles/{site.ids[0]}/related?n=4&session_id=r1"))["model_version"]
        == site.a
    )


def test_the_live_layer_folds_new_articles_into_a_variants_model(
    site: Site, make: Callable[..., Flask]
) -> None:
    app = make([{"name": "current"}, {"name": "text-only", "model": site.b}])
    client = app.test_client()
    record = site.held_out
    fields = {k: v for k, v in record.items() if k != "id"}
    published = client.put(f"/v1/articles/{record['id']}", json=fields, headers=AUTH)
    assert published.status_code == 200, published.get_data(as_text=True)
    url = f"/v1/articles/{record['id']}/related?n=5"
    _, a = reader_in(client, "current", url)
    _, b = reader_in(client, "text-only", url)
    assert a["model_version"].startswith(site.a) and b["model_version"] == site.b
    assert len(ids(a)) == len(ids(b)) == 5
    assert record["id"] not in ids(b)
    # and the new article shows in the variant's lists of its neighbours' pages
    shown = [
        reader_in(client, "text-only", f"/v1/articles/{other}/related?n=10")[1]
        for other in ids(b)[:3]
    ]
    assert any(record["id"] in ids(answer) for answer in shown)


def test_a_worker_starting_later_loads_the_version_or_falls_back_without_it(
    site: Site, make: Callable[..., Flask], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for version in (site.a, site.b):
        (models / version).symlink_to(site.models / version, target_is_directory=True)
    set_latest_version(models, site.a)
    first = make(models_dir=models).test_client()
    good = _experiment([{"name": "current"}, {"name": "new", "model": site.b}])
    assert first.put(f"/v1/experiments/{EXPERIMENT}", json=good, headers=AUTH).status_code == 200
    url = f"/v1/articles/{site.ids[1]}/related?n=5"
    session, answer = reader_in(first, "new", url)
    # another worker of the host (same state dir) reads the API's file at its start
    second = make(models_dir=models)
    assert second.extensions["newsrec"].experiments.models.held() == [site.b]
    assert body(second.test_client().get(f"{url}&session_id={session}")) == answer
    # the version pruned meanwhile: a new worker serves the variant from LATEST, and says so
    (models / site.b).unlink()
    third = make(models_dir=models).test_client()
    assert body(third.get(f"{url}&session_id={session}"))["model_version"] == site.a
    listed = body(third.get("/v1/experiments", headers=AUTH))["experiments"]
    assert listed[0]["serving"] == {"current": site.a, "new": site.a}
    # and defining it again is refused now
    again = third.put(f"/v1/experiments/{EXPERIMENT}", json=good, headers=AUTH)
    assert again.status_code == 400 and "variants[1].model" in body(again)["error"]["message"]


def test_the_report_page_names_the_model_of_a_model_variant(
    site: Site, make: Callable[..., Flask]
) -> None:
    from tests.service.editorial.test_preview import HASH, SECRET, USER, log_in

    variants = [{"name": "current"}, {"name": "text-only", "model": site.b}]
    client = make(variants, editor_user=USER, editor_password_hash=HASH, secret_key=SECRET)
    client = client.test_client()
    assert log_in(client).status_code == 302
    html = client.get(f"/preview/experiments/{EXPERIMENT}").get_data(as_text=True)
    row = re.search(r'<tr data-variant="text-only">(.*?)</tr>', html, flags=re.S)
    assert row is not None and f"model {site.b}" in row.group(1)
    control = re.search(r'<tr data-variant="current">(.*?)</tr>', html, flags=re.S)
    assert control is not None and "model" not in control.group(1)
