"""The one fold-in (``recommender.foldin``): hand-checked merges, and a brute-force oracle (every
cosine computed densely) for what the service's CMS route folds in (``fold_in_article`` over
``build_catalogue``), publication by publication, including a draft and an update of an article
the bundle holds."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.bundle import Bundle
from recommender.config import TrainConfig
from recommender.data.articles import Article, read_articles
from recommender.foldin import (
    STORED_DECIMALS,
    fold_in_articles,
    merge_additions,
    merge_additions_rows,
    stored_vector,
    vector_from_stored,
)
from recommender.sources.sample import generate_sample
from recommender.train import train


def test_merge_additions_is_bounded_and_ranked() -> None:
    base = [(3, 0.9), (1, 0.5), (2, 0.4)]
    # beats the weakest of a full list: in, the weakest out; ties by key
    assert merge_additions(base, [(7, 0.45)], 3) == [(3, 0.9), (1, 0.5), (7, 0.45)]
    assert merge_additions(base, [(0, 0.5)], 3) == [(3, 0.9), (0, 0.5), (1, 0.5)]
    # too weak for a full list: left out; a list that is not full takes it
    assert merge_additions(base, [(7, 0.1)], 3) == base
    assert merge_additions(base, [(7, 0.1)], 4) == [*base, (7, 0.1)]
    # a fresher score of the same article replaces the old one
    assert merge_additions(base, [(2, 0.95)], 3) == [(2, 0.95), (3, 0.9), (1, 0.5)]


def test_merge_additions_rows_is_merge_additions_on_every_row() -> None:
    """The array form an incremental run uses makes each list what the list form makes."""
    rng = np.random.default_rng(11)
    width, n_rows = 5, 40
    # few distinct scores: many ties, broken by row number (article id order)
    neighbors = np.full((n_rows, width), -1, dtype=np.int32)
    scores = np.zeros((n_rows, width), dtype=np.float32)
    for r in range(n_rows):
        length = int(rng.integers(0, width + 1))
        cols = rng.choice(n_rows, length, replace=False)
        pairs = sorted(
            ((int(c), float(rng.integers(1, 6)) / 8) for c in cols), key=lambda p: (-p[1], p[0])
        )
        for k, (c, v) in enumerate(pairs):
            neighbors[r, k], scores[r, k] = c, v
    rows = rng.integers(0, n_rows, 300)
    added = rng.integers(0, n_rows, 300)
    added_scores = (rng.integers(1, 6, 300) / 8).astype(np.float32)
    expected = {}
    for r in np.unique(rows).tolist():
        base = [(int(c), float(v)) for c, v in zip(neighbors[r], scores[r], strict=True) if c >= 0]
        offers = [
            (int(c), float(v))
            for c, v in zip(added[rows == r], added_scores[rows == r], strict=True)
        ]
        expected[r] = merge_additions(base, offers, width)
    untouched = [r for r in range(n_rows) if r not in expected]
    before = neighbors[untouched].copy()
    kept = merge_additions_rows(neighbors, scores, rows, added, added_scores)
    for r, merged in expected.items():
        got = [(int(c), float(v)) for c, v in zip(neighbors[r], scores[r], strict=True) if c >= 0]
        assert got == merged, r
    np.testing.assert_array_equal(neighbors[untouched], before)
    # an addition is kept when its article is in the merged list with its score
    for i in range(rows.size):
        r, c, v = int(rows[i]), int(added[i]), float(added_scores[i])
        last = max(j for j in range(rows.size) if rows[j] == r and added[j] == c)
        assert kept[i] == (i == last and (c, v) in expected[r])


def test_stored_vector_round_trips() -> None:
    import numpy as np
    import scipy.sparse as sp

    vectors = sp.csr_matrix(np.array([[0.0, 0.123456789, 0.5], [1.0, 0.0, 0.0]], np.float32))
    stored = stored_vector(vectors, 0)
    assert stored == {"indices": [1, 2], "data": [round(0.123456789, STORED_DECIMALS), 0.5]}
    back = vector_from_stored(json.loads(json.dumps(stored)), 3)
    assert back.shape == (1, 3)
    assert back.toarray().tolist()[0][2] == 0.5


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bundle, list[Article]]:
    root = tmp_path_factory.mktemp("foldin")
    info = generate_sample(root / "sample", n_articles=240, days=6, seed=11)
    articles = read_articles(info.articles_path).articles
    result = train(
        info.articles_path, info.views_path, root / "models", config=TrainConfig(n_neighbors=15)
    )
    return Bundle.load(result.path, mmap=False), articles


def _record(bundle: Bundle, article: Article, neighbors: Any, vector: Any) -> str:
    return json.dumps(
        {
            "op": "put",
            "at": 2e9,
            "model": bundle.version,
            "article": {
                "title": article.title,
                "url": article.url,
                "category": article.category,
                "published_at": None,
                "image_url": article.image_url,
                "status": article.status,
                "published_ts": -1,
            },
            "neighbors": [[other, round(score, 6)] for other, score in neighbors],
            "vector": vector,
        }
    )


def _brute_force(
    bundle: Bundle, article: Article, candidates: dict[str, Any], width: int | None = None
) -> list[tuple[str, float]]:
    """Cosines of ``article`` with every candidate vector, computed densely, best first (ties
    by id), the bundle's list length at most, scores above 0."""
    import numpy as np

    from recommender.content import compose_document

    query = bundle.vectorizer.transform([compose_document(article, 3)]).toarray()[0]
    query = query.astype(np.float32)
    scored = [(other, float(np.dot(vector, query))) for other, vector in candidates.items()]
    width = int(bundle.content_neighbors.shape[1]) if width is None else width
    ranked = sorted(((a, s) for a, s in scored if s > 0), key=lambda p: (-p[1], p[0]))
    return ranked[:width]


def test_service_fold_in_matches_a_brute_force_oracle(
    trained: tuple[Bundle, list[Article]],
) -> None:
    import numpy as np

    from service.live.catalogue import build_catalogue, fold_in_article

    bundle, articles = trained
    published = [a for a in articles if a.status == "published"]
    # new articles: copies of published ones under new ids, one of them a draft, and an
    # update of an article the bundle holds (new text: scored with its live vector)
    new = [dataclasses.replace(a, id=f"zz-new-{i:02d}") for i, a in enumerate(published[:12])]
    new[4] = dataclasses.replace(new[4], status="draft")
    held = published[20]
    updated = dataclasses.replace(held, title=published[30].title, body=published[30].body)
    sequence = [*new[:6], updated, *new[6:]]
    dense = bundle.content_matrix.toarray()
    records: dict[str, str] = {}
    stored: dict[str, Any] = {}  # live articles' vectors as the service keeps them
    compared = 0
    for article in sequence:
        catalogue, _ = build_catalogue(bundle, records)
        if article.status != "published":  # as PUT /v1/articles/{id} does
            records[article.id] = _record(bundle, article, [], None)
            continue
        candidates: dict[str, Any] = {
            a: dense[r]
            for r, a in enumerate(bundle.meta("id"))
            if catalogue.is_published[r] and a != article.id
        }
        for other, vector in stored.items():
            if other != article.id:
                candidates[other] = vector
        neighbors, vector = fold_in_article(bundle, catalogue, article, records)
        expected = _brute_force(bundle, article, candidates)
        # the same top-n up to float rounding: each listed score is its true cosine, the list
        # is as long, ranked, and nothing left out scores better than the last one listed
        # (copies of one text tie, and rounding may order such a tie either way)
        oracle = dict(_brute_force(bundle, article, candidates, width=len(candidates)))
        assert len(neighbors) == len(expected), article.id
        scores = [s for _, s in neighbors]
        assert scores == sorted(scores, reverse=True)
        assert np.allclose(scores, [oracle[a] for a, _ in neighbors], atol=1e-5), article.id
        # ... and position by position as good as the oracle's own top-n (nothing better
        # left out: a live article's old bundle row once took a place and gave it up)
        assert np.allclose(scores, [s for _, s in expected], atol=1e-5), article.id
        back = vector_from_stored(vector, dense.shape[1]).toarray()[0]
        stored[article.id] = back
        records[article.id] = _record(bundle, article, neighbors, vector)
        compared += 1
    assert compared == len(sequence) - 1
    # the update lists the articles its new text is like, not its own row
    assert held.id not in [a for a, _ in fold_in_articles(bundle, [updated]).neighbors[0]]


def test_fold_in_order_lets_earlier_articles_list_later_ones(
    trained: tuple[Bundle, list[Article]],
) -> None:
    bundle, articles = trained
    first = dataclasses.replace(articles[0], id="zz-a")
    twin = dataclasses.replace(articles[0], id="zz-b")
    draft = dataclasses.replace(articles[0], id="zz-c", status="draft")
    together = fold_in_articles(bundle, [first, twin, draft], order=[0, 1, 2])
    # the twin sees the first (same text: cosine 1, best; the bundle's own copy of the text
    # ties with it, up to rounding), the first sees neither
    best = [a for a, s in together.neighbors[1] if s == pytest.approx(1.0, abs=1e-5)]
    assert "zz-a" in best and set(best) <= {"zz-a", articles[0].id}
    assert "zz-b" not in dict(together.neighbors[0])
    # a draft lists others but is nobody's neighbour
    assert "zz-c" not in dict(together.neighbors[1])
    assert together.neighbors[2][0][0] in ("zz-a", "zz-b", articles[0].id)  # copies: ties
    assert {"zz-a", "zz-b"} <= set(dict(together.neighbors[2]))
    # without order the new articles do not list one another
    apart = fold_in_articles(bundle, [first, twin])
    assert not {"zz-a", "zz-b"} & {a for pairs in apart.neighbors for a, _ in pairs}
    assert fold_in_articles(bundle, []).neighbors == []


def test_fold_in_is_deterministic(trained: tuple[Bundle, list[Article]], tmp_path: Path) -> None:
    bundle, articles = trained
    new = [dataclasses.replace(a, id=f"zz-{i}") for i, a in enumerate(articles[:5])]
    once = fold_in_articles(bundle, new, order=list(range(5)))
    again = fold_in_articles(bundle, new, order=list(range(5)))
    assert once.neighbors == again.neighbors
