"""`newsrec train --incremental`: the daily run from LATEST, against a full rebuild."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recommender._topk import cosine_topn
from recommender.bundle import Bundle, latest_version
from recommender.cli import main
from recommender.config import TrainConfig
from recommender.content import compose_document
from recommender.data.articles import read_articles
from recommender.incremental import plan_incremental
from recommender.reading import count_words
from recommender.sources.sample import generate_sample
from recommender.train import train

N_NEW = 40
DELETED = 5
CHANGED = 4
UNPUBLISHED = 3


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Yesterday's catalogue and today's: new articles, some deleted, changed, unpublished."""
    root = tmp_path_factory.mktemp("incremental")
    info = generate_sample(root / "sample", n_articles=500, days=12, seed=3)
    records = [json.loads(line) for line in info.articles_path.read_text().splitlines()]
    # today's articles continue yesterday's stories (the sample's stories each have words of
    # their own: a story the vocabulary never saw is the case for a refit, tested below)
    rng = np.random.default_rng(7)
    is_new = np.zeros(len(records), dtype=bool)
    is_new[rng.choice(len(records), N_NEW, replace=False)] = True
    old = [r for r, flag in zip(records, is_new.tolist(), strict=True) if not flag]
    new = [r for r, flag in zip(records, is_new.tolist(), strict=True) if flag]
    today = [dict(r) for r in old]
    picked = rng.choice(len(today), DELETED + CHANGED + UNPUBLISHED, replace=False).tolist()
    deleted = {today[i]["id"] for i in picked[:DELETED]}
    changed = {today[i]["id"] for i in picked[DELETED : DELETED + CHANGED]}
    unpublished = {today[i]["id"] for i in picked[DELETED + CHANGED :]}
    for record in today:
        if record["id"] in changed:
            # the text of another article: its neighbours change completely
            record["body"] = new[0]["body"] + " correction"
        if record["id"] in unpublished:
            record["status"] = "draft"
    today = [r for r in today if r["id"] not in deleted] + new
    return {
        "root": root,
        "views": info.views_path,
        "yesterday": _write(root / "yesterday.jsonl", old),
        "today": _write(root / "today.jsonl", today),
        "deleted": deleted,
        "changed": changed,
        "unpublished": unpublished,
        "new": {r["id"] for r in new},
    }


def _incremental(day: dict[str, Any], models: Path, **kwargs: Any) -> Bundle:
    plan = plan_incremental(models, **kwargs)
    train(
        day["today"],
        day["views"],
        models,
        config=plan.config,
        params=plan.params,
        content_fitter=plan.fitter,
    )
    return Bundle.load_latest(models)


def _full_lists_same_vocabulary(
    previous: Bundle, articles_path: Path, n: int
) -> tuple[list[str], sp.csr_matrix, np.ndarray, np.ndarray]:
    """The oracle: every article vectorised with the previous vocabulary, every row's list
    computed as a full run computes it."""
    table = read_articles(articles_path)
    ids = [a.id for a in table.articles]
    docs = [compose_document(a, 3) for a in table.articles]
    matrix = sp.csr_matrix(previous.vectorizer.transform(docs), dtype=np.float32)
    matrix.sort_indices()
    published = np.flatnonzero([a.status == "published" for a in table.articles])
    neighbors, scores = cosine_topn(
        matrix, matrix[published], n, candidate_rows=published, self_offset=0
    )
    return ids, matrix, neighbors, scores


def test_incremental_rows_equal_a_full_rebuild_with_the_same_vocabulary(
    day: dict[str, Any], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    train(day["yesterday"], day["views"], models)
    previous = Bundle.load_latest(models)
    bundle = _incremental(day, models)
    training = bundle.manifest["training"]
    assert training["mode"] == "incremental"
    assert training["from_version"] == previous.version
    assert (training["new_articles"], training["changed_articles"]) == (N_NEW, CHANGED)
    assert training["removed_articles"] == DELETED
    # where the run's time went, step by step
    assert {"compose and digest", "exact lists", "word counts"} <= set(training["seconds"])

    n = bundle.content_neighbors.shape[1]
    ids, matrix, neighbors, scores = _full_lists_same_vocabulary(previous, day["today"], n)
    assert bundle.meta("id") == ids
    # the vocabulary and IDF are kept: every row is the full rebuild's row
    assert (bundle.content_matrix != matrix).nnz == 0
    # new and changed articles: lists equal, neighbour for neighbour and score for score
    computed = [bundle.row(a) for a in sorted(day["new"] | day["changed"])]
    np.testing.assert_array_equal(bundle.content_neighbors[computed], neighbors[computed])
    np.testing.assert_array_equal(bundle.content_scores[computed], scores[computed])
    # an old article that listed a changed one is recomputed too
    listed_changed = []
    for r, article_id in enumerate(ids):
        if not previous.has(article_id) or article_id in day["changed"]:
            continue
        old_list = previous.content_neighbors[previous.row(article_id)].tolist()
        if {previous.article_id(c) for c in old_list if c >= 0} & day["changed"]:
            listed_changed.append(r)
    assert listed_changed
    np.testing.assert_array_equal(
        bundle.content_neighbors[listed_changed], neighbors[listed_changed]
    )
    assert training["recomputed_rows"] >= len(computed) + len(listed_changed)
    # word counts: kept for unchanged texts, counted for new and changed ones, as a full run's
    table = read_articles(day["today"])
    np.testing.assert_array_equal(bundle.word_counts, [count_words(a.body) for a in table.articles])


def test_incremental_unpublished_lists_equal_a_full_rebuild_without_being_recomputed(
    day: dict[str, Any], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    train(day["yesterday"], day["views"], models)
    previous = Bundle.load_latest(models)
    bundle = _incremental(day, models)
    n = bundle.content_neighbors.shape[1]
    ids, _, neighbors, scores = _full_lists_same_vocabulary(previous, day["today"], n)
    # unchanged unpublished articles (the sample's drafts and the ones unpublished today)
    # whose lists named nothing gone: merged with the entering articles, not recomputed
    unpublished = [
        r
        for r, a in enumerate(ids)
        if not bundle.is_published[r] and previous.has(a) and a not in day["changed"]
    ]
    merged = bundle.manifest["training"]["merged_unpublished_rows"]
    assert 0 < merged <= len(unpublished)
    entered = {bundle.row(a) for a in day["new"]}
    assert any(set(neighbors[r].tolist()) & entered for r in unpublished)
    np.testing.assert_array_equal(bundle.content_neighbors[unpublished], neighbors[unpublished])
    np.testing.assert_array_equal(bundle.content_scores[unpublished], scores[unpublished])


def test_incremental_lists_drop_deleted_and_unpublished_and_take_new_articles(
    day: dict[str, Any], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    train(day["yesterday"], day["views"], models)
    previous = Bundle.load_latest(models)
    bundle = _incremental(day, models)
    assert not day["deleted"] & set(bundle.meta("id"))
    listed = {bundle.article_id(c) for c in bundle.content_neighbors.ravel().tolist() if c >= 0}
    assert not listed & (day["deleted"] | day["unpublished"])
    n = bundle.content_neighbors.shape[1]
    ids, _, neighbors, _ = _full_lists_same_vocabulary(previous, day["today"], n)
    # old lists took the new articles they should hold (reverse additions), and overall the
    # incremental lists are nearly the full rebuild's
    old_rows = [r for r, a in enumerate(ids) if a not in day["new"]]
    new_rows = {bundle.row(a) for a in day["new"]}
    entered = sum(
        1 for r in old_rows for c in bundle.content_neighbors[r].tolist() if c in new_rows
    )
    assert entered > 0
    found = total = 0
    for r in range(len(ids)):
        truth = {c for c in neighbors[r].tolist() if c >= 0}
        total += len(truth)
        found += len(truth & set(bundle.content_neighbors[r].tolist()))
    assert found / total >= 0.98


def test_incremental_refits_and_says_why(day: dict[str, Any], tmp_path: Path) -> None:
    models = tmp_path / "models"
    # nothing in LATEST yet
    first = _incremental(day, models)
    assert first.manifest["training"]["mode"] == "full"
    assert "LATEST" in first.manifest["training"]["reason"]
    # other content settings
    other = _incremental(day, models, config=TrainConfig(title_weight=2))
    assert other.manifest["training"]["reason"].endswith("title_weight")
    # the weekly refit
    stale = _incremental(day, models, refit_after_days=0.0)
    assert "days old" in stale.manifest["training"]["reason"]
    # the same catalogue on a fresh vocabulary runs incrementally
    again = _incremental(day, models)
    assert again.manifest["training"]["mode"] == "incremental"
    assert again.manifest["training"]["new_articles"] == 0
    assert again.manifest["training"]["new_term_share"] == 0
    # a new story in words the vocabulary never saw
    records = [json.loads(line) for line in day["today"].read_text().splitlines()]
    novel = " ".join(f"zorblax{i % 37} quintessor{i % 11} vexmarine" for i in range(120))
    story = [
        {**records[0], "id": f"zz-new-story-{i}", "title": "Zorblax vexmarine", "body": novel}
        for i in range(2)  # a term of one article is too rare for the vocabulary
    ]
    with_story = _write(tmp_path / "story.jsonl", [*records, *story])
    refit = _incremental({**day, "today": with_story}, models)
    assert refit.manifest["training"]["mode"] == "full"
    assert "new terms are" in refit.manifest["training"]["reason"]
    assert refit.has("zz-new-story-0")
    assert "zorblax0" in refit.vectorizer.vocabulary_


def test_cli_incremental_summary_names_the_mode(
    day: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    base = ["train", "--views", str(day["views"]), "--out", str(models), "--no-progress"]
    assert main([*base, "--articles", str(day["yesterday"]), "--no-calibrate"]) == 0
    first = latest_version(models)
    capsys.readouterr()
    assert main([*base, "--articles", str(day["today"]), "--incremental"]) == 0
    out = capsys.readouterr().out
    assert f"training: incremental from {first}" in out
    assert f"{N_NEW} new, {CHANGED} changed, {DELETED} removed" in out
    assert "new terms" in out
    bundle = Bundle.load_latest(models)
    assert bundle.has_coview  # co-view and popularity recomputed from the log
    assert int(bundle.popularity_views[:, -1].sum()) > 0
    assert main([*base, "--articles", str(day["today"]), "--incremental", "--full"]) == 0
    assert "training: full (--full)" in capsys.readouterr().out
