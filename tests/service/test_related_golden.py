"""Uncached related answers pinned item by item: ids, order, scores and every explained part
of many queries on a generated catalogue, against the answers recorded from the ranking as it
was before the cold path was made faster (``tests/service/data/related_golden.json``).

The catalogue has what the hot path treats specially: popular candidates (the 1-day views),
freshness with per-section half-lives, co-view lists with duplicates of the content lists,
drafts, undated articles, stories, authors, caps, filters, fillers and editorial rules. Any
change of the ranking's arithmetic or order shows here as the first differing answer.

``NEWSREC_RECORD_GOLDEN=1`` rewrites the file (only when the ranking is meant to change).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.blend import BlendParams
from recommender.bundle import Bundle, BundleContents, publish
from service.editorial.rules import Rule, RuleBook
from service.params import RelatedParams
from service.ranking import RankingOptions, related_response

GOLDEN = Path(__file__).parent / "data" / "related_golden.json"
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
N = 400
SECTIONS = ["news", "sports", "culture", "economy", ""]
K_CONTENT, K_COVIEW = 20, 10


def _catalogue() -> BundleContents:
    rng = np.random.default_rng(14)
    n = N
    ids = [f"a{row:04d}" for row in range(n)]
    sections = [SECTIONS[row % len(SECTIONS)] for row in range(n)]
    # TF-IDF-like vectors: a few section terms and a few random ones, L2-normalised, float32
    vocab = 120
    rows, cols, vals = [], [], []
    for row in range(n):
        terms = set(rng.choice(vocab, size=int(rng.integers(0, 9)), replace=False).tolist())
        if sections[row] and row % 7:
            terms |= {100 + SECTIONS.index(sections[row]) * 4 + int(rng.integers(0, 4))}
        for term in sorted(terms):
            rows.append(row)
            cols.append(term)
            vals.append(float(rng.uniform(0.1, 1.0)))
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(n, vocab), dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    matrix = sp.csr_matrix(sp.diags(1.0 / norms) @ matrix).astype(np.float32)
    matrix.sort_indices()
    cosine = (matrix @ matrix.T).toarray()
    np.fill_diagonal(cosine, 0)
    content_neighbors = np.full((n, K_CONTENT), -1, dtype=np.int32)
    content_scores = np.zeros((n, K_CONTENT), dtype=np.float32)
    for row in range(n):
        order = np.lexsort((np.arange(n), -cosine[row]))[:K_CONTENT]
        order = order[cosine[row, order] > 0]
        content_neighbors[row, : order.size] = order
        content_scores[row, : order.size] = cosine[row, order]
    coview_neighbors = np.full((n, K_COVIEW), -1, dtype=np.int32)
    coview_scores = np.zeros((n, K_COVIEW), dtype=np.float32)
    coview_counts = np.zeros((n, K_COVIEW), dtype=np.int32)
    for row in range(n):
        if row % 5 == 3:
            continue  # no co-view list
        k = int(rng.integers(1, K_COVIEW + 1))
        # half of them among the content neighbours: duplicates the blend merges
        pool = np.concatenate([content_neighbors[row][:6], rng.integers(0, n, 12)])
        pool = pool[(pool >= 0) & (pool != row)]
        chosen = list(dict.fromkeys(pool.tolist()))[:k]
        scores = np.sort(rng.uniform(0.01, 1.0, len(chosen)))[::-1]
        coview_neighbors[row, : len(chosen)] = chosen
        coview_scores[row, : len(chosen)] = scores
        coview_counts[row, : len(chosen)] = rng.integers(1, 40, len(chosen))
    support = rng.integers(0, 60, n).astype(np.int32)
    ages = rng.uniform(0, 40, n)
    published = [NOW - dt.timedelta(days=float(a)) for a in ages]
    published_ts = np.array([int(p.timestamp()) for p in published], dtype=np.int64)
    undated = rng.random(n) < 0.05
    published_ts[undated] = -1
    views = np.zeros((n, 4), dtype=np.int64)
    day = rng.integers(0, 200, n) * (rng.random(n) < 0.6)
    views[:, 0] = day
    views[:, 1] = day + rng.integers(0, 500, n)
    views[:, 2] = views[:, 1] + rng.integers(0, 500, n)
    views[:, 3] = views[:, 2] + rng.integers(0, 500, n)
    statuses = ["draft" if rng.random() < 0.06 else "published" for _ in range(n)]
    stories = np.arange(n, dtype=np.int32)
    for row in range(n):
        if row % 9 == 4:
            stories[row] = stories[row - 4]  # a few four-apart pairs share a story
    arrays = {
        "published_ts": published_ts,
        "content_neighbors": content_neighbors,
        "content_scores": content_scores,
        "content_matrix_data": matrix.data.astype(np.float32),
        "content_matrix_indices": matrix.indices.astype(np.int32),
        "content_matrix_indptr": matrix.indptr.astype(np.int64),
        "popularity_views": views,
        "popularity_trending": np.zeros(n, dtype=np.float32),
        "coview_neighbors": coview_neighbors,
        "coview_scores": coview_scores,
        "coview_counts": coview_counts,
        "coview_support": support,
        "story_clusters": stories,
        "article_words": rng.integers(-1, 2000, n).astype(np.int32),
    }
    meta: dict[str, list[Any]] = {
        "title": [f"Article {row}" for row in range(n)],
        "url": [f"https://news.example/{a}" for a in ids],
        "category": sections,
        "published_at": [
            "" if undated[row] else p.isoformat().replace("+00:00", "Z")
            for row, p in enumerate(published)
        ],
        "image_url": [f"https://news.example/img/{a}.jpg" for a in ids],
        "status": statuses,
        "author": [f"author{row % 11}" for row in range(n)],
    }
    manifest = {
        "created_at": "2026-11-01T13:00:00Z",
        "now": "2026-11-01T12:00:00Z",
        "parameters": {"n_neighbors": K_CONTENT},
        "counts": {"articles": n, "vocabulary": vocab},
        "views_kind": "events",
    }
    return BundleContents(
        article_ids=ids, meta=meta, arrays=arrays, vectorizer=None, manifest=manifest
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    models = tmp_path_factory.mktemp("golden") / "models"
    publish(_catalogue(), models, version="20261101T120000Z-golden", keep=1)
    return Bundle.load_latest(models)


def _rules() -> Any:
    def rule(rule_id: int, kind: str, target: str, **scope: Any) -> Rule:
        return Rule(kind, target, "t", "", id=rule_id, **scope)

    rules = (
        rule(1, "pin", "a0007", article_id="a0010", slot=2),
        rule(2, "block", "a0042", section="news"),
        rule(3, "block", "a0101"),
        rule(4, "pin", "a0300", section="sports", slot=1),
    )
    return RuleBook.build("golden", rules).at(NOW.timestamp())


#: (name, request parameters, blend settings, other options, with rules)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], bool]] = [
    ("default", {}, {}, {}, False),
    ("explain", {"explain": True}, {}, {}, False),
    ("explain-rules", {"explain": True}, {}, {}, True),
    ("content", {"strategy": "content", "explain": True}, {}, {}, False),
    ("coview", {"strategy": "coview", "explain": True}, {}, {}, False),
    ("few-popular", {"explain": True}, {"popular_candidates": 20}, {}, False),
    ("no-popular", {"explain": True}, {"popular_candidates": 0}, {}, False),
    ("no-prior", {"explain": True}, {"popularity_weight": 0.0}, {}, False),
    (
        "sections",
        {"explain": True},
        {
            "section_half_life_days": {"sports": 0.5, "culture": 30.0},
            "section_weight": 0.3,
            "popular_min_similarity": 0.1,
        },
        {},
        False,
    ),
    ("no-freshness", {"explain": True}, {"half_life_days": None}, {}, False),
    (
        "filters",
        {"explain": True, "category": "news", "max_age_days": 10.0, "exclude": ("a0005",)},
        {},
        {},
        False,
    ),
    ("caps", {"explain": True, "max_per_section": 1, "max_per_author": 1}, {}, {}, False),
    ("stories-off", {"explain": True, "per_story": 0}, {}, {}, False),
    ("long", {"n": 20, "explain": True}, {}, {"per_story": 2}, True),
]
QUERIES = [f"a{row:04d}" for row in range(0, N, 13)]


def _answers(bundle: Bundle) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, request, blend, other, with_rules in CASES:
        options = RankingOptions(blend=BlendParams(**blend), **other)
        params = RelatedParams(**{"n": 6, **request})
        rules = _rules() if with_rules else None
        out[name] = [
            related_response(bundle, article_id, params, options, rules) for article_id in QUERIES
        ]
    return out


#: What an item says of its article besides its id (the bundle's metadata, pinned elsewhere).
METADATA = ("title", "url", "category", "published_at", "image_url", "author", "image_srcset")


def _ranked(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without each item's metadata (what the ranking decided), each item as one
    list of its values in key order (a smaller file)."""
    items = []
    for item in answer["items"]:
        kept = {k: v for k, v in item.items() if k not in METADATA}
        parts = kept.pop("explain", None)
        row = [kept[k] for k in sorted(kept)]
        if parts is not None:
            row.append([parts[k] for k in sorted(parts)])
        items.append(row)
    return {**answer, "items": items}


@pytest.fixture(scope="module")
def answers(bundle: Bundle) -> dict[str, list[Any]]:
    # through JSON, as the service sends them: scores at the answer's precision
    found: dict[str, list[Any]] = json.loads(json.dumps(_answers(bundle)))
    return found


def test_related_answers_are_the_recorded_ones(answers: dict[str, list[Any]]) -> None:
    ranked = {name: [_ranked(a) for a in found] for name, found in answers.items()}
    if os.environ.get("NEWSREC_RECORD_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(ranked, separators=(",", ":"), sort_keys=True) + "\n")
    recorded = json.loads(GOLDEN.read_text())
    assert sorted(recorded) == sorted(ranked)
    for name, _, _, _, _ in CASES:
        for article_id, got, want in zip(QUERIES, ranked[name], recorded[name], strict=True):
            assert got == want, f"{name}: the answer for {article_id} changed"


def test_the_recorded_answers_exercise_every_path(
    bundle: Bundle, answers: dict[str, list[Any]]
) -> None:
    """The fixture is worth its name: popular candidates join, fillers fill, caps and stories
    act, rules pin and block."""
    recorded = answers
    items = [item for answers in recorded.values() for a in answers for item in a["items"]]
    sources = {item["source"] for item in items}
    assert sources == {"related", "section_popular", "popular", "pinned"}
    explained = [item["explain"] for item in items if "explain" in item]
    # a popular candidate: content from a cosine outside the trained lists, no co-view
    listed = {(row, int(n)) for row in range(N) for n in bundle.content_neighbors[row] if n >= 0}
    assert any(e.get("rule") for e in explained)
    assert any(e.get("over_cap") for e in explained)
    assert any(a.get("blocked") for answers in recorded.values() for a in answers)
    assert any(a.get("collapsed") for answers in recorded.values() for a in answers)
    extra = 0
    for answers in recorded.values():
        for a in answers:
            query = bundle.row(a["article_id"])
            for item in a["items"]:
                parts = item.get("explain")
                if parts and item["source"] == "related" and a["strategy"] == "hybrid":
                    pair = (query, bundle.row(item["id"]))
                    extra += pair not in listed and not parts["coview"]
    assert extra > 20
