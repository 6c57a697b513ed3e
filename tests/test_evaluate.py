"""Offline evaluation: metrics by hand, replay pairs, a split that leaks nothing, the report."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest

from recommender.blend import BlendParams
from recommender.bundle import Bundle
from recommender.cli import main
from recommender.data import read_articles, read_views
from recommender.evaluate import (
    AGE_BUCKETS,
    STRATEGIES,
    SplitSpec,
    catalogue_coverage,
    evaluate,
    format_report,
    hit_rate_at_k,
    load_events,
    mrr_at_k,
    ndcg_at_k,
    prepare_replay,
    prepare_split,
    replay_lists,
    replay_pairs,
    score_lists,
    section_diversity,
    train_at_split,
)
from recommender.report import render_report
from recommender.sample import generate_sample
from recommender.train import TrainConfig

DAY = 86_400
SPLIT = dt.datetime(2026, 10, 6, tzinfo=dt.UTC)
SPLIT_TS = int(SPLIT.timestamp())

# Four articles known before the split (two energy, two sports) and one energy article published
# in the test period.
ARTICLES = [
    {
        "id": "e1",
        "title": "Wind farm opens off the coast",
        "category": "energy",
        "body": "Offshore wind turbines feed the grid near the coast.",
        "tags": ["wind"],
        "published_at": "2026-10-01T08:00:00Z",
    },
    {
        "id": "e2",
        "title": "Wind turbines and the grid",
        "category": "energy",
        "body": "Grid operators welcome offshore wind turbines.",
        "tags": ["wind", "grid"],
        "published_at": "2026-10-02T08:00:00Z",
    },
    {
        "id": "s1",
        "title": "Striker scores in cup final",
        "category": "sports",
        "body": "The striker scored twice in the cup final.",
        "published_at": "2026-10-03T08:00:00Z",
    },
    {
        "id": "s2",
        "title": "Cup final penalty drama",
        "category": "sports",
        "body": "A late penalty decided the cup final for the striker's team.",
        "published_at": "2026-10-04T08:00:00Z",
    },
    {
        "id": "n1",
        "title": "Offshore wind turbines for the grid",
        "category": "energy",
        "body": "New offshore wind turbines will feed the grid.",
        "tags": ["wind"],
        "published_at": "2026-10-06T06:00:00Z",
    },
]
# Before the split: e1 -> e2 twice, s1 -> s2 twice, e1 -> s1 once.
# After it: e1 -> e2; s1 -> s2 -> s2 (a reload); n1 -> e2 (n1 is new); e2 -> n1 (unknown target).
VIEWS = """session_id,article_id,timestamp
t1,e1,2026-10-05T10:00:00Z
t1,e2,2026-10-05T10:01:00Z
t2,e1,2026-10-05T11:00:00Z
t2,e2,2026-10-05T11:01:00Z
t3,s1,2026-10-05T12:00:00Z
t3,s2,2026-10-05T12:01:00Z
t4,s1,2026-10-05T13:00:00Z
t4,s2,2026-10-05T13:01:00Z
t5,e1,2026-10-05T14:00:00Z
t5,s1,2026-10-05T14:01:00Z
u1,e1,2026-10-06T10:00:00Z
u1,e2,2026-10-06T10:01:00Z
u2,s1,2026-10-06T11:00:00Z
u2,s2,2026-10-06T11:01:00Z
u2,s2,2026-10-06T11:02:00Z
u3,n1,2026-10-06T12:00:00Z
u3,e2,2026-10-06T12:01:00Z
u4,e2,2026-10-06T13:00:00Z
u4,n1,2026-10-06T13:01:00Z
"""


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    views = tmp_path / "views.csv"
    views.write_text(VIEWS)
    return articles, views


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("sample")
    info = generate_sample(out, n_articles=400, days=14, seed=5)
    return info.articles_path, info.views_path


# --- metrics by hand ----------------------------------------------------------------------------

# Four pairs: the target ranked 1st, 3rd, missing, 6th.
RANKS = np.array([1, 3, 0, 6])


def test_hit_rate_at_k_counts_targets_within_k() -> None:
    assert hit_rate_at_k(RANKS, 5) == pytest.approx(2 / 4)
    assert hit_rate_at_k(RANKS, 10) == pytest.approx(3 / 4)
    assert hit_rate_at_k(RANKS, 1) == pytest.approx(1 / 4)


def test_mrr_at_k_is_mean_reciprocal_rank_within_k() -> None:
    assert mrr_at_k(RANKS, 5) == pytest.approx((1 + 1 / 3) / 4)
    assert mrr_at_k(RANKS, 10) == pytest.approx((1 + 1 / 3 + 1 / 6) / 4)


def test_ndcg_at_k_with_one_relevant_item() -> None:
    assert ndcg_at_k(RANKS, 5) == pytest.approx((1 + 1 / 2) / 4)  # 1/log2(2), 1/log2(4)
    assert ndcg_at_k(RANKS, 10) == pytest.approx((1 + 1 / 2 + 1 / math.log2(7)) / 4)


def test_metrics_of_no_pairs_are_undefined() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert math.isnan(hit_rate_at_k(empty, 10))
    assert math.isnan(mrr_at_k(empty, 10))
    assert math.isnan(ndcg_at_k(empty, 10))


def test_catalogue_coverage_is_share_of_distinct_items() -> None:
    assert catalogue_coverage([[0, 1], [1, 2], []], 10) == pytest.approx(0.3)


def test_section_diversity_is_distinct_sections_per_item() -> None:
    assert section_diversity(["a", "a", "b", "c"]) == pytest.approx(3 / 4)
    assert section_diversity(["a"] * 10) == pytest.approx(1 / 10)
    assert math.isnan(section_diversity([]))


# --- replay pairs ------------------------------------------------------------------------------


def test_replay_pairs_are_consecutive_distinct_views_after_the_split(
    tiny: tuple[Path, Path],
) -> None:
    events = load_events(tiny[1])
    pairs = replay_pairs(events, SPLIT_TS, SPLIT_TS + DAY)
    assert list(zip(pairs.query_ids, pairs.target_ids, strict=True)) == [
        ("e1", "e2"),
        ("s1", "s2"),
        ("n1", "e2"),
        ("e2", "n1"),
    ]
    assert pairs.timestamps[0] == SPLIT_TS + 10 * 3600  # the query view's time
    assert pairs.n_sessions == 4


def test_replay_pairs_drop_crawler_sessions(tmp_path: Path) -> None:
    rows = ["session_id,article_id,timestamp"]
    rows += [f"bot,x{i},2026-10-06T10:{i:02d}:00Z" for i in range(12)]
    rows += ["r,x1,2026-10-06T11:00:00Z", "r,x2,2026-10-06T11:01:00Z"]
    views = tmp_path / "views.csv"
    views.write_text("\n".join(rows) + "\n")
    pairs = replay_pairs(load_events(views), SPLIT_TS, SPLIT_TS + DAY, max_session_views=10)
    assert list(zip(pairs.query_ids, pairs.target_ids, strict=True)) == [("x1", "x2")]
    assert pairs.n_bot_sessions == 1


# --- the whole evaluation on a case known in advance ------------------------------------------


def test_evaluate_tiny_case_has_the_known_answers(tiny: tuple[Path, Path]) -> None:
    evaluation = evaluate(*tiny, test_from=SPLIT, config=TrainConfig(coview_min_count=1))
    summary = evaluation.summary
    assert summary["pairs"]["evaluated"] == 4
    assert summary["pairs"]["new_query"] == 1  # n1 -> e2
    assert summary["pairs"]["target_in_training"] == 3  # not e2 -> n1
    coview = summary["strategies"]["coview"]
    # e1 -> e2 and s1 -> s2 are each other's top co-view; n1 has no co-views, so its list is
    # the energy section's most viewed (e1 3 views, e2 2), putting e2 second; e2 -> n1 is a miss
    assert coview["all"]["hit_rate@5"] == pytest.approx(3 / 4)
    assert coview["all"]["mrr@5"] == pytest.approx((1 + 1 + 1 / 2 + 0) / 4)
    assert coview["new"]["hit_rate@5"] == pytest.approx(1.0)
    assert coview["established"]["hit_rate@5"] == pytest.approx(2 / 3)
    # the most viewed (e1 3, s1 3, e2 2, s2 2) minus the query: e2 is 2nd for e1, s2 3rd for s1,
    # e2 3rd for n1
    most_viewed = summary["strategies"]["most_viewed"]
    assert most_viewed["all"]["mrr@10"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 3 + 0) / 4)
    assert most_viewed["all"]["coverage"] == pytest.approx(1.0)
    # every strategy's lists mix the two sections: 2 sections in 3 or 4 items
    assert 0.5 <= summary["strategies"]["hybrid"]["all"]["diversity"] <= 2 / 3


def test_evaluate_folds_new_articles_in_by_content(tiny: tuple[Path, Path]) -> None:
    evaluation = evaluate(*tiny, test_from=SPLIT, config=TrainConfig(coview_min_count=1))
    replay = evaluation.replay
    assert replay is not None
    n1 = replay.query_ids.index("n1")
    assert replay.query_new[n1]
    content = evaluation.scores["content"].lists[n1]
    # its content neighbours are the training-time energy articles, the nearest first
    names = [replay.bundle.article_ids[r] for r in content]
    assert names[:2] == ["e2", "e1"]
    # with no co-view evidence the hybrid is content (times freshness) alone
    hybrid = evaluation.scores["hybrid"].lists[n1]
    assert set(hybrid[:2]) == set(content[:2])


def test_evaluate_mean_age_is_age_at_the_query_view(tiny: tuple[Path, Path]) -> None:
    evaluation = evaluate(
        *tiny, test_from=SPLIT, strategies=("most_viewed",), config=TrainConfig(coview_min_count=1)
    )
    replay = evaluation.replay
    assert replay is not None
    scores = evaluation.scores["most_viewed"]
    # pair 0: e1 read at 10-06 10:00; most viewed minus e1 = s1 (10-03 08:00), e2 (10-02 08:00),
    # s2 (10-04 08:00): ages 3d2h, 4d2h, 2d2h
    assert scores.mean_age[0] == pytest.approx((3 + 4 + 2) / 3 + 2 / 24)


# --- the split leaks nothing ----------------------------------------------------------------


def test_split_training_bundle_knows_nothing_after_the_split(
    sample: tuple[Path, Path], tmp_path: Path
) -> None:
    articles_path, views_path = sample
    events = load_events(views_path)
    split_ts = int(events.timestamps.max()) - 3 * DAY
    split = SplitSpec(split_ts, int(events.timestamps.max()) + 1)
    prepared = prepare_split(articles_path, views_path, split, tmp_path)
    bundle = train_at_split(prepared.inputs, tmp_path / "models")
    articles = {a.id: a for a in read_articles(articles_path).articles}
    after = {
        i
        for i, a in articles.items()
        if a.published_at is not None and a.published_at.timestamp() >= split_ts
    }
    assert after, "the sample must have articles published after the split"
    assert not after & set(bundle.article_ids)
    assert int(np.asarray(bundle.published_ts).max()) < split_ts
    # every view the bundle counted happened before the split
    views = read_views(views_path)
    assert not isinstance(views, type(None))
    before = views.timestamps < split_ts
    all_time = np.asarray(bundle.popularity_views)[:, 3]
    assert int(all_time.sum()) == int(before.sum())
    for article_id in ("a000010", "a000100"):
        code = list(views.article_ids).index(article_id)
        expected = int(((views.article_codes == code) & before).sum())
        assert int(all_time[bundle.row(article_id)]) == expected
    assert bundle.manifest["now"].startswith(
        dt.datetime.fromtimestamp(split_ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )


def test_evaluate_on_sample_hybrid_is_not_beaten(sample: tuple[Path, Path]) -> None:
    evaluation = evaluate(*sample, test_days=3)
    hybrid = evaluation.metric("hybrid", "hit_rate@10")
    assert hybrid is not None
    for single in ("most_viewed", "content", "coview"):
        value = evaluation.metric(single, "hit_rate@10")
        assert value is not None and hybrid > value
    assert set(evaluation.summary["strategies"]) == set(STRATEGIES)
    buckets = evaluation.summary["hit_rate@10_by_query_age"]["buckets"]
    assert len(buckets) == len(AGE_BUCKETS) + 1
    assert "test period" in format_report(evaluation.summary)


def test_replay_lists_match_the_blend_with_the_service_fallbacks(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    events = load_events(tiny[1])
    prepared = prepare_split(
        *tiny, SplitSpec(SPLIT_TS, SPLIT_TS + DAY), tmp_path, config=TrainConfig(coview_min_count=1)
    )
    bundle = train_at_split(prepared.inputs, tmp_path / "m", TrainConfig(coview_min_count=1))
    replay = prepare_replay(bundle, prepared.pairs, prepared.articles, now_ts=SPLIT_TS)
    lists = replay_lists(replay, "hybrid", params=BlendParams())
    # lists hold n = 10 at most, never the query, only training articles
    for row, items in zip(replay.query_rows.tolist(), lists, strict=True):
        assert row not in items
        assert all(0 <= r < len(bundle) for r in items)
    assert score_lists(replay, lists).ranks.shape == (replay.n_pairs,)
    assert events.timestamps.size == 19


# --- outputs ---------------------------------------------------------------------------------


def test_report_is_one_self_contained_file(tiny: tuple[Path, Path]) -> None:
    evaluation = evaluate(*tiny, test_from=SPLIT, config=TrainConfig(coview_min_count=1))
    page = render_report(evaluation.summary)
    assert page.count("data:image/png;base64,") == 3
    for external in ("http://", "https://", "<link", "<script"):
        assert external not in page
    assert "Hit rate by query-article age" in page


def test_cli_evaluate_writes_table_json_and_report(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "newsrec.toml"
    config.write_text("[train]\ncoview_min_count = 1\n\n[blend]\nhalf_life_days = 'off'\n")
    out_json, out_html = tmp_path / "eval.json", tmp_path / "eval.html"
    code = main(
        [
            "evaluate",
            "--articles",
            str(tiny[0]),
            "--views",
            str(tiny[1]),
            "--test-from",
            "2026-10-06",
            "--config",
            str(config),
            "--json",
            str(out_json),
            "--report",
            str(out_html),
            "--strategies",
            "coview,hybrid",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "coview" in printed and "hybrid" in printed and "new query articles" in printed
    summary = json.loads(out_json.read_text())
    assert set(summary["strategies"]) == {"coview", "hybrid"}
    assert summary["blend_params"]["half_life_days"] is None
    assert summary["strategies"]["coview"]["all"]["hit_rate@5"] == pytest.approx(3 / 4)
    assert out_html.read_text().startswith("<!doctype html>")


def test_cli_evaluate_rejects_a_test_period_with_no_training_views(
    tiny: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "evaluate",
            "--articles",
            str(tiny[0]),
            "--views",
            str(tiny[1]),
            "--test-from",
            "2026-10-01",
        ]
    )
    assert code == 2
    assert "leaves no training views" in capsys.readouterr().err


def test_bundle_under_test_is_not_published(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    evaluate(
        *tiny, test_from=SPLIT, workdir=tmp_path / "work", config=TrainConfig(coview_min_count=1)
    )
    models = tmp_path / "work" / "models"
    assert not (models / "LATEST").exists()
    (version,) = [p for p in models.iterdir() if p.is_dir()]
    assert Bundle.load(version).article_ids == ["e1", "e2", "s1", "s2"]
