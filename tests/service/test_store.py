"""Model store: first load, polling LATEST, hot swap, refusing broken bundles, admin reload."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.bundle import set_latest_version
from service.store import ModelStore
from tests.conftest import (
    VERSION_1,
    VERSION_2,
    body,
    publish_broken_bundle,
    publish_bundle,
)

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def own_models(tmp_path: Path) -> Path:
    """A models directory of this test's own, with VERSION_1 published."""
    models = tmp_path / "models"
    publish_bundle(models, VERSION_1)
    return models


def version(client: FlaskClient) -> str:
    return str(body(client.get("/v1/model"))["version"])


def titles(client: FlaskClient) -> set[str]:
    items = body(client.get("/v1/articles/n1/related"))["items"]
    return {item["title"].split("]")[0] + "]" for item in items}


def test_store_checks_latest_at_most_once_per_interval(own_models: Path) -> None:
    clock = FakeClock()
    store = ModelStore(own_models, reload_interval=5, clock=clock)
    first = store.current()
    assert first is not None and first.bundle.version == VERSION_1
    publish_bundle(own_models, VERSION_2)
    clock.now += 4.9
    assert store.current() is first  # not due yet: no look at LATEST
    clock.now += 0.2
    second = store.current()
    assert second is not None and second.bundle.version == VERSION_2
    assert store.reloads == 2


def test_hot_swap_after_reload_interval(make_app: Callable[..., Flask], own_models: Path) -> None:
    client = make_app(models_dir=own_models, reload_interval=0.05).test_client()
    assert version(client) == VERSION_1
    assert titles(client) == {"[v1]"}  # cached under VERSION_1's key
    publish_bundle(own_models, VERSION_2)
    time.sleep(0.1)
    assert version(client) == VERSION_2
    # the cache was not flushed: keys carry the model version, so no stale answer is served
    assert titles(client) == {"[v2]"}


def test_admin_reload_forces_a_check(make_app: Callable[..., Flask], own_models: Path) -> None:
    client = make_app(models_dir=own_models, admin_token=TOKEN).test_client()
    publish_bundle(own_models, VERSION_2)
    assert version(client) == VERSION_1  # the next look is an hour away
    response = client.post("/v1/admin/reload", headers=AUTH)
    assert response.status_code == 200
    assert body(response) == {
        "model_version": VERSION_2,
        "previous_version": VERSION_1,
        "changed": True,
    }
    assert version(client) == VERSION_2
    again = body(client.post("/v1/admin/reload", headers=AUTH))
    assert again == {"model_version": VERSION_2, "previous_version": VERSION_2, "changed": False}
    # a rollback is a reload too
    set_latest_version(own_models, VERSION_1)
    assert body(client.post("/v1/admin/reload", headers=AUTH))["model_version"] == VERSION_1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer " + "é" * 10},
    ],
)
def test_admin_reload_refuses_without_the_token(
    make_app: Callable[..., Flask], headers: dict[str, str]
) -> None:
    client = make_app(admin_token=TOKEN).test_client()
    response = client.post("/v1/admin/reload", headers=headers)
    assert response.status_code == 401
    assert body(response)["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_admin_reload_is_absent_without_a_configured_token(client: FlaskClient) -> None:
    response = client.post("/v1/admin/reload", headers=AUTH)
    assert response.status_code == 404
    assert body(response)["error"]["code"] == "not_found"


def test_broken_bundle_is_refused_and_old_one_keeps_serving(
    make_app: Callable[..., Flask], own_models: Path
) -> None:
    app = make_app(models_dir=own_models, admin_token=TOKEN, reload_interval=0.05)
    client = app.test_client()
    publish_broken_bundle(own_models, VERSION_2)
    time.sleep(0.1)
    assert version(client) == VERSION_1
    assert titles(client) == {"[v1]"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    error = body(ready)["last_reload_error"]
    assert error["version"] == VERSION_2
    assert "neighbours point outside the catalogue" in error["message"]
    # a refused version is not loaded again at every poll, only when forced
    time.sleep(0.1)
    client.get("/v1/model")
    assert body(client.get("/readyz"))["failed_reloads"] == 1
    forced = client.post("/v1/admin/reload", headers=AUTH)
    assert forced.status_code == 409
    assert body(forced)["error"]["code"] == "reload_failed"
    assert body(forced)["error"]["model_version"] == VERSION_1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "newsrec_model_reload_failures_total 2.0" in metrics
    assert f'newsrec_model_info{{version="{VERSION_1}"}} 1.0' in metrics
    # the next good bundle is picked up
    publish_bundle(own_models, "20261103T120000Z-v3")
    time.sleep(0.1)
    assert version(client) == "20261103T120000Z-v3"


def test_truncated_bundle_is_refused(make_app: Callable[..., Flask], own_models: Path) -> None:
    client = make_app(models_dir=own_models, admin_token=TOKEN).test_client()
    path = publish_bundle(own_models, VERSION_2)
    (path / "content_scores.npy").write_bytes(b"\x93NUMPY garbage")
    response = client.post("/v1/admin/reload", headers=AUTH)
    assert response.status_code == 409
    assert "content_scores.npy" in body(response)["error"]["message"]
    assert version(client) == VERSION_1


def test_no_model_answers_503_until_one_is_published(
    make_app: Callable[..., Flask], tmp_path: Path, check_schema: Callable[[str, object], None]
) -> None:
    models = tmp_path / "empty-models"
    client = make_app(models_dir=models, reload_interval=0.05).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    check_schema("Ready", body(ready))
    assert body(ready)["status"] == "no_model"
    assert "no LATEST" in body(ready)["detail"]
    for url in ("/v1/articles/n1/related", "/v1/most-viewed", "/v1/articles/n1", "/v1/model"):
        response = client.get(url)
        assert response.status_code == 503, url
        check_schema("Error", body(response))
        assert body(response)["error"]["code"] == "no_model"
        assert response.headers["Retry-After"]
    assert client.get("/docs").status_code == 200
    publish_bundle(models, VERSION_1)
    time.sleep(0.1)
    assert client.get("/readyz").status_code == 200
    assert version(client) == VERSION_1
    assert body(client.get("/v1/articles/n1/related?n=1"))["items"][0]["id"] == "n2"


def test_broken_first_bundle_is_reported_as_no_model(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    publish_broken_bundle(models, VERSION_1)
    client = make_app(models_dir=models).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert body(ready)["last_reload_error"]["version"] == VERSION_1
    response = client.get("/v1/most-viewed")
    assert response.status_code == 503
    assert "refused" in body(response)["error"]["message"]
