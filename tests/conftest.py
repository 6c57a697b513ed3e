"""Shared fixtures: a model bundle small enough to rank by hand, and apps serving it.

The catalogue (``now`` = 2026-11-01T12:00:00Z, half-life 3 days)::

    row id  section  status     age   views 1d/7d/30d/all
    0   n1  news     published  0 d   40 / 100 / 400 / 1734
    1   n2  news     published  0 d   20 /  50 / 120 /  300
    2   n3  news     published  3 d    5 /  30 /  90 /  250
    3   n4  news     published  10 d   0 /  80 / 200 /  999
    4   n5  news     draft      0 d   50 / 500 / 500 /  500
    5   s1  sports   published  0 d   70 / 200 / 600 / 12345
    6   s2  sports   published  1 d    3 /  10 /  40 / 1000
    7   s3  sports   published  3 d   10 /  60 / 100 /  150
    8   s4  sports   published  40 d   0 /   5 /   5 / 2000

Neighbours of ``n1``: content n5 1.0 (a draft), n2 0.8, n3 0.6, s1 0.2; co-view n3 0.8 (12
sessions), s2 0.4 (6), n4 0.2 (3); n1 was read in 10 sessions, so with the default co-view weight
1.5 and evidence 10 its co-view weight is 1.5 * 10 / 20 = 0.75. Hybrid scores (content and
co-view max-normalised, blended (1 * content + 0.75 * coview) / 1.75, times freshness
0.1 + 0.9 * 0.5 ** (age / 3): the apps of ``make_app`` serve freshness weight 0.9):

    n2  0.8 / 1.75                                       = 0.457143
    n3  (0.6 + 0.75) / 1.75 * (0.1 + 0.9 * 0.5)          = 0.424286
    s2  0.75 * 0.5 / 1.75 * (0.1 + 0.9 * 0.5 ** (1/3))   = 0.174499
    s1  0.2 / 1.75                                       = 0.114286
    n4  0.75 * 0.25 / 1.75 * (0.1 + 0.9 * 0.5 ** (10/3)) = 0.020281

``n4`` has no neighbours at all: its list is the fallback chain, the most viewed of news in 7
days (n1, n2, n3) then of the site (s1, s3, ...).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import scipy.sparse as sp
from flask import Flask
from flask.testing import FlaskClient

from recommender.bundle import BundleContents, publish
from service.app import create_app
from service.settings import Settings

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
NOW_ISO = "2026-11-01T12:00:00Z"
VERSION_1 = "20261101T120000Z-v1"
VERSION_2 = "20261102T120000Z-v2"
IDS = ["n1", "n2", "n3", "n4", "n5", "s1", "s2", "s3", "s4"]
ROW = {article_id: row for row, article_id in enumerate(IDS)}
SECTIONS = ["news"] * 5 + ["sports"] * 4
STATUSES = ["published"] * 4 + ["draft"] + ["published"] * 4
AGE_DAYS = [0, 0, 3, 10, 0, 0, 1, 3, 40]
VIEWS = [
    [40, 100, 400, 1734],
    [20, 50, 120, 300],
    [5, 30, 90, 250],
    [0, 80, 200, 999],
    [50, 500, 500, 500],
    [70, 200, 600, 12345],
    [3, 10, 40, 1000],
    [10, 60, 100, 150],
    [0, 5, 5, 2000],
]
#: (neighbour, score) per article; content lists are 4 wide, co-view lists 3 wide.
CONTENT = {
    "n1": [("n5", 1.0), ("n2", 0.8), ("n3", 0.6), ("s1", 0.2)],
    "n2": [("n1", 0.8), ("n3", 0.5)],
    "n3": [("n1", 0.6), ("n2", 0.5)],
    "n5": [("n1", 1.0)],
    "s1": [("s2", 0.7), ("s3", 0.4), ("n1", 0.2)],
    "s2": [("s1", 0.7), ("s3", 0.3)],
    "s3": [("s1", 0.4), ("s2", 0.3)],
}
COVIEW = {
    "n1": [("n3", 0.8, 12), ("s2", 0.4, 6), ("n4", 0.2, 3)],
    "n3": [("n1", 0.8, 12)],
    "s2": [("n1", 0.4, 6)],
}
SUPPORT = {"n1": 10, "n2": 4, "n3": 12, "n4": 3, "s1": 8, "s2": 6, "s3": 2}
#: The hybrid list of n1 in order (see the module docstring).
N1_HYBRID = ["n2", "n3", "s2", "s1", "n4"]


def _iso(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def bundle_contents(tag: str = "v1", *, now: dt.datetime = NOW) -> BundleContents:
    """The hand-checkable catalogue; ``tag`` goes into every title (``"[v1] News one"``) so a
    response shows which bundle built it."""
    n = len(IDS)
    content_neighbors = np.full((n, 4), -1, dtype=np.int32)
    content_scores = np.zeros((n, 4), dtype=np.float32)
    for article_id, pairs in CONTENT.items():
        for i, (other, score) in enumerate(pairs):
            content_neighbors[ROW[article_id], i] = ROW[other]
            content_scores[ROW[article_id], i] = score
    coview_neighbors = np.full((n, 3), -1, dtype=np.int32)
    coview_scores = np.zeros((n, 3), dtype=np.float32)
    coview_counts = np.zeros((n, 3), dtype=np.int32)
    for article_id, triples in COVIEW.items():
        for i, (other, score, count) in enumerate(triples):
            coview_neighbors[ROW[article_id], i] = ROW[other]
            coview_scores[ROW[article_id], i] = score
            coview_counts[ROW[article_id], i] = count
    support = np.array([SUPPORT.get(a, 0) for a in IDS], dtype=np.int32)
    published = [now - dt.timedelta(days=d) for d in AGE_DAYS]
    # one term per article: enough for a valid content matrix
    matrix = sp.csr_matrix(
        (np.ones(n, dtype=np.float32), (np.arange(n), np.arange(n) % 3)), shape=(n, 3)
    )
    arrays = {
        "published_ts": np.array([int(p.timestamp()) for p in published], dtype=np.int64),
        "content_neighbors": content_neighbors,
        "content_scores": content_scores,
        "content_matrix_data": matrix.data.astype(np.float32),
        "content_matrix_indices": matrix.indices.astype(np.int32),
        "content_matrix_indptr": matrix.indptr.astype(np.int64),
        "popularity_views": np.array(VIEWS, dtype=np.int64),
        "popularity_trending": np.zeros(n, dtype=np.float32),
        "coview_neighbors": coview_neighbors,
        "coview_scores": coview_scores,
        "coview_counts": coview_counts,
        "coview_support": support,
    }
    names = {"n": "News", "s": "Sports"}
    meta: dict[str, list[Any]] = {
        "title": [f"[{tag}] {names[a[0]]} {a[1:]}" for a in IDS],
        "url": [f"https://news.example/{a}" for a in IDS],
        "category": list(SECTIONS),
        "published_at": [_iso(p) for p in published],
        "image_url": [f"https://news.example/img/{a}.jpg" for a in IDS],
        "status": list(STATUSES),
    }
    manifest = {
        "created_at": _iso(now + dt.timedelta(hours=1)),
        "now": _iso(now),
        "parameters": {"n_neighbors": 4},
        "counts": {"articles": n, "vocabulary": 3, "published_articles": 8, "sessions": 40},
        "views_kind": "events",
    }
    return BundleContents(
        article_ids=list(IDS), meta=meta, arrays=arrays, vectorizer=None, manifest=manifest
    )


def publish_bundle(models_dir: Path, version: str, tag: str | None = None) -> Path:
    """Publish the catalogue as ``version`` and point LATEST at it."""
    return publish(
        bundle_contents(tag or version.rsplit("-", 1)[-1]), models_dir, version=version, keep=10
    )


def publish_broken_bundle(models_dir: Path, version: str) -> Path:
    """A bundle that ``Bundle.load`` accepts but the smoke check must refuse: a content
    neighbour points past the end of the catalogue."""
    contents = bundle_contents("broken")
    contents.arrays["content_neighbors"][0, 1] = len(IDS) + 5
    return publish(contents, models_dir, version=version, keep=10)


class DictCache:
    """A stand-in response cache: a dict, reporting hits and misses like the real one."""

    def __init__(self, on_event: Callable[[str, str], None] | None = None) -> None:
        self.data: dict[str, bytes] = {}
        self.on_event = on_event

    def get(self, key: str) -> bytes | None:
        value = self.data.get(key)
        if self.on_event is not None:
            self.on_event("local", "miss" if value is None else "hit")
        return value

    def set(self, key: str, value: bytes, ttl: int) -> None:
        self.data[key] = value


def dict_cache_factory(
    settings: Settings, on_event: Callable[[str, str], None] | None
) -> DictCache:
    return DictCache(on_event)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory with the catalogue published as VERSION_1, shared by the session:
    read it, never publish into it (tests that publish make their own with
    :func:`publish_bundle`)."""
    models = tmp_path_factory.mktemp("shared") / "models"
    publish_bundle(models, VERSION_1)
    return models


#: Environment of a real server on this catalogue whose answers tests compare with the orders
#: computed by hand above (no popularity prior, no popular candidates, freshness weight 0.9).
HAND_RANKED_ENV = {
    "NEWSREC_POPULARITY_WEIGHT": "0",
    "NEWSREC_POPULAR_CANDIDATES": "0",
    "NEWSREC_FRESHNESS_WEIGHT": "0.9",
}


@pytest.fixture(scope="session")
def make_app(models_dir: Path) -> Callable[..., Flask]:
    """Build a fresh app (own metrics, own cache) on ``models_dir``; keywords override
    :class:`Settings` fields."""

    def make(**changes: Any) -> Flask:
        # never the working directory's rules file: a demo's rules must not leak into tests
        isolated = {
            "rules_db": models_dir.parent / "rules.sqlite3",
            "event_log_dir": models_dir.parent / "events",
            # each app its own live store (the file every worker of one service shares)
            "state_dir": Path(tempfile.mkdtemp(prefix="state-", dir=models_dir.parent)),
            # the fixtures' scores are computed by hand without the popularity prior and the
            # popular candidates (tests/test_blend.py and test_live_windows.py check them), and
            # with the freshness weight at its top, 0.9
            "popularity_weight": 0.0,
            "popular_candidates": 0,
            "freshness_weight": 0.9,
        }
        settings = Settings(
            **{"models_dir": models_dir, "reload_interval": 3600.0, **isolated, **changes}
        )
        return create_app(settings, cache_factory=dict_cache_factory, redis_ping=lambda: False)

    return make


@pytest.fixture(scope="session")
def app(make_app: Callable[..., Flask]) -> Flask:
    """One app with default settings on the shared catalogue, for tests that only read (tests
    that look at metrics or caches, or add routes, build their own with ``make_app``)."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def openapi_doc() -> dict[str, Any]:
    """The OpenAPI document of an app with default settings."""
    from service.openapi.document import build_openapi

    return build_openapi(Settings())


@pytest.fixture(scope="session")
def check_schema(openapi_doc: dict[str, Any]) -> Iterator[Callable[[str, Any], None]]:
    """``check_schema("RelatedResponse", body)`` validates a body against the document."""

    def check(name: str, body: Any) -> None:
        schema = {**openapi_doc, "$ref": f"#/components/schemas/{name}"}
        jsonschema.Draft202012Validator(schema).validate(body)

    yield check


def body(response: Any) -> Any:
    """The JSON body of a test-client response."""
    return json.loads(response.get_data(as_text=True))


#: The tables of the PostgreSQL rules store (:mod:`service.editorial.postgres_store`).
RULES_TABLES = "newsrec_rules, newsrec_rules_audit, newsrec_rules_meta"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this session on the machine's PostgreSQL (fails in CI, skips elsewhere
    when PostgreSQL is unreachable)."""
    from tests.support import postgres_database

    yield from postgres_database("newsrec_test_rules")


@pytest.fixture
def postgres_rules_url(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` without any rules tables, before and after the test."""
    import psycopg

    def drop() -> None:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {RULES_TABLES}")

    drop()
    yield postgres_url
    drop()
