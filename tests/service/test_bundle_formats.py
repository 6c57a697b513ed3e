"""A format-1 bundle (``articles.json``) and a format-2 bundle (the memory-mapped article
table) of the same training answer byte for byte the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.bundle import Bundle, BundleContents, publish
from recommender.config import TrainConfig
from recommender.train import train
from tests.recommender.test_train import ARTICLES, VIEWS
from tests.service.editorial.test_preview import HASH, SECRET, USER, log_in

#: The training's articles with what format 2 must carry through: non-ASCII text, authors,
#: srcsets on some, an empty category, an undated article.
EXTRA = {
    "a1": {"title": "Éolien en mer : le parc « Nord » ouvre 🌬", "author": "Zoë Ünal"},
    "a2": {"image_srcset": "https://x/a2-320.jpg 320w, https://x/a2-640.jpg 640w"},
    "b1": {"author": "Zoë Ünal", "category": ""},
    "b2": {"title": "決勝戦のPK", "author": ""},
}


@pytest.fixture(scope="module")
def two_formats(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One training published twice: format 2 (as trained) and format 1."""
    base = tmp_path_factory.mktemp("formats")
    articles = base / "articles.jsonl"
    rows = [{**a, **EXTRA.get(str(a["id"]), {})} for a in ARTICLES]
    rows[-1] = {k: v for k, v in rows[-1].items() if k != "published_at"}
    articles.write_text("".join(json.dumps(a) + "\n" for a in rows))
    views = base / "views.csv"
    views.write_text(VIEWS)
    captured: list[BundleContents] = []
    result = train(
        articles,
        views,
        base / "v2",
        config=TrainConfig(coview_min_count=1),
        before_publish=captured.append,
    )
    publish(captured[0], base / "v1", version=result.version, format_version=1)
    return base / "v1", base / "v2"


def _client(make_app: Callable[..., Flask], models: Path, tmp: Path) -> FlaskClient:
    app = make_app(
        models_dir=models,
        rules_db=tmp / "rules.sqlite3",
        event_log_dir=None,
        local_cache_size=0,
        editor_user=USER,
        editor_password_hash=HASH,
        secret_key=SECRET,
    )
    client = app.test_client()
    assert log_in(client).status_code == 302
    return client


def _paths(ids: list[str], categories: set[str]) -> list[str]:
    # not /v1/model: it names the manifest, which says which format the bundle is
    paths = ["/v1/most-viewed", "/v1/most-viewed?window=all", "/v1/latest"]
    paths += [f"/v1/most-viewed?category={quote(c)}" for c in sorted(categories) if c]
    paths += [f"/v1/latest?category={quote(c)}" for c in sorted(categories) if c]
    for article_id in [*ids, "unknown"]:
        quoted = quote(article_id, safe="")
        paths += [
            f"/v1/articles/{quoted}/related",
            f"/v1/articles/{quoted}/related?explain=1&n=3",
            f"/v1/articles/{quoted}",
            f"/v1/articles/{quoted}/related.html",
            f"/preview/api/articles/{quoted}",
        ]
    paths += ["/v1/most-viewed.html", "/v1/latest.html"]
    paths += [f"/preview/api/search?q={quote(q)}" for q in ("wind", "éolien", "決勝", "x/a2")]
    return paths


def _without_load_time(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_load_time(v) for k, v in value.items() if k != "loaded_at"}
    if isinstance(value, list):
        return [_without_load_time(v) for v in value]
    return value


def _comparable(path: str, data: bytes) -> bytes:
    """The answer's bytes; the preview's also name when its server loaded the model (the
    only difference allowed: two servers, two load times)."""
    if not path.startswith("/preview/api/articles/") or not data.startswith(b"{"):
        return data
    return json.dumps(_without_load_time(json.loads(data)), ensure_ascii=False).encode()


def test_bundle_formats_answer_byte_identical(
    two_formats: tuple[Path, Path], make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    v1, v2 = two_formats
    one, two = Bundle.load_latest(v1), Bundle.load_latest(v2)
    assert (one.manifest["format_version"], two.manifest["format_version"]) == (1, 2)
    assert (v1 / one.version / "articles.json").is_file()
    assert not (v2 / two.version / "articles.json").exists()
    ids = two.meta("id")
    assert ids == one.meta("id")
    first = _client(make_app, v1, tmp_path / "one")
    second = _client(make_app, v2, tmp_path / "two")
    statuses = set()
    for path in _paths(ids, set(two.meta("category"))):
        a, b = first.get(path), second.get(path)
        statuses.add(a.status_code)
        assert (a.status_code, _comparable(path, a.get_data())) == (
            b.status_code,
            _comparable(path, b.get_data()),
        ), path
    assert statuses >= {200, 404}


def test_live_catalogue_id_order_agrees_with_sorting_every_id(
    two_formats: tuple[Path, Path],
) -> None:
    from service.live.catalogue import LiveCatalogue

    new_ids = ["zz", "a0", "b15", "a1x", "", "😀"]
    for models in two_formats:
        bundle = Bundle.load_latest(models)
        catalogue = LiveCatalogue(bundle, new_ids=new_ids)
        ids = [*bundle.meta("id"), *new_ids]
        expected = [sorted(ids).index(a) for a in ids]
        assert catalogue._id_order().tolist() == expected


def test_bundle_id_positions(two_formats: tuple[Path, Path]) -> None:
    for models in two_formats:
        bundle = Bundle.load_latest(models)
        ids = bundle.meta("id")
        probes = ["", "a", "a1", "a1x", "b", "zz", *ids]
        expected = [sum(i < p for i in ids) for p in probes]
        assert bundle.id_positions(probes).tolist() == expected
