"""Offline evaluation: metrics by hand, replay pairs, a split that leaks nothing, the report."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.blend import BlendParams, popular_from_views, related
from recommender.bundle import Bundle
from recommender.caps import Caps
from recommender.cli import main
from recommender.config import TrainConfig
from recommender.content import compose_document
from recommender.data.articles import read_articles
from recommender.data.views import read_views
from recommender.evaluation import REPLAY_STRATEGIES
from recommender.evaluation.evaluate import (
    AGE_BUCKETS,
    Evaluation,
    evaluate,
    format_report,
    score_lists,
)
from recommender.evaluation.lists import replay_lists
from recommender.evaluation.metrics import (
    catalogue_coverage,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    section_diversity,
)
from recommender.evaluation.replay import Replay, known_times, prepare_replay, replay_pairs
from recommender.evaluation.report import render_report
from recommender.evaluation.split import (
    Prepared,
    SplitSpec,
    load_events,
    prepare_split,
    train_at_split,
)
from recommender.sources.sample import generate_sample

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
    # 12 articles in 12 seconds: a crawler's burst
    rows += [f"bot,x{i},2026-10-06T10:00:{i:02d}Z" for i in range(12)]
    # 12 articles over 12 minutes: a reader (a session of more than 10 views is not a crawler)
    rows += [f"reader,y{i},2026-10-06T12:{i:02d}:00Z" for i in range(12)]
    views = tmp_path / "views.csv"
    views.write_text("\n".join(rows) + "\n")
    events = load_events(views)
    pairs = replay_pairs(events, SPLIT_TS, SPLIT_TS + DAY, bot_burst_views=10)
    assert [q for q in pairs.query_ids] == [f"y{i}" for i in range(11)]
    assert pairs.n_bot_sessions == 1
    # the rules off: both kept
    pairs = replay_pairs(
        events, SPLIT_TS, SPLIT_TS + DAY, bot_burst_views=None, bot_views_per_minute=None
    )
    assert len(pairs) == 22 and pairs.n_bot_sessions == 0


# --- the whole evaluation on a case known in advance ------------------------------------------


def test_evaluate_tiny_case_has_the_known_answers(tiny: tuple[Path, Path]) -> None:
    evaluation = evaluate(*tiny, test_from=SPLIT, config=TrainConfig(coview_min_count=1))
    summary = evaluation.summary
    assert summary["pairs"]["evaluated"] == 4
    assert summary["pairs"]["new_query"] == 1  # n1 -> e2
    assert summary["pairs"]["target_in_training"] == 3  # not e2 -> n1
    # n1 was published at 06:00, before e2 -> n1 at 13:00: a candidate then
    assert summary["pairs"]["target_available"] == 4
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
    # the live catalogue holds 5 published articles by the last pair (n1 too), and the
    # bundle's most viewed ranking never shows n1
    assert most_viewed["all"]["coverage"] == pytest.approx(4 / 5)
    # e2 -> n1 is a content hit: n1 added itself to e2's content list when it was published
    content = summary["strategies"]["content"]
    assert content["all"]["hit_rate@10"] == pytest.approx(1.0)
    assert content["all"]["coverage"] == pytest.approx(1.0)
    # every strategy's lists mix the two sections: 2 sections in 3 or 4 items
    assert 0.5 <= summary["strategies"]["hybrid"]["all"]["diversity"] <= 2 / 3


def test_live_most_viewed_counts_the_views_before_each_pair(tiny: tuple[Path, Path]) -> None:
    evaluation = evaluate(
        *tiny,
        test_from=SPLIT,
        strategies=("most_viewed_live",),
        config=TrainConfig(coview_min_count=1),
    )
    names = _names(evaluation, "most_viewed_live")  # (the tiny case has n1 only)
    # 7 days before the split: e1 3, s1 3, e2 2, s2 2. At 10:00 nothing live yet; n1 (published
    # at 06:00, no views) comes last
    assert names[0] == ["s1", "e2", "s2", "n1"]
    # at 11:00, u1's e1 and e2 views count: e1 4, e2 3, s1 3, s2 2
    assert names[1] == ["e1", "e2", "s2", "n1"]
    # at 12:00, u2's s1 and s2 (its reload a minute later is the same view): ties by id
    assert names[2] == ["e1", "s1", "e2", "s2"]
    # at 13:00, u3 read n1: it has 1 view, so it is listed, 4th for e2's page
    assert names[3] == ["e1", "s1", "s2", "n1"]
    scores = evaluation.summary["strategies"]["most_viewed_live"]["all"]
    assert scores["mrr@10"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 3 + 1 / 4) / 4)


def test_evaluate_folds_new_articles_in_by_content(tiny: tuple[Path, Path]) -> None:
    evaluation = evaluate(*tiny, test_from=SPLIT, config=TrainConfig(coview_min_count=1))
    replay = evaluation.replay
    assert replay is not None
    pair = 2  # n1 -> e2
    assert replay.query_ids[replay.pair_query[pair]] == "n1"
    assert replay.query_new[replay.pair_query[pair]]
    content = evaluation.scores["content"].lists.for_pair(pair)
    # its content neighbours are the training-time energy articles, the nearest first
    names = [replay.bundle.article_id(r) for r in content]
    assert names[:2] == ["e2", "e1"]
    # with no co-view evidence the hybrid is content (times freshness) alone
    hybrid = evaluation.scores["hybrid"].lists.for_pair(pair)
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


# --- the live catalogue of each pair's time -----------------------------------------------------

# The four training articles, and two energy articles published in the test period: n1 at 12:00
# (nearest to e2, then e1) and n2 at 14:00 (nearest to n1, then e2, then e1).
LIVE_ARTICLES = [
    *ARTICLES[:4],
    {
        "id": "n1",
        "title": "Offshore wind turbines for the grid",
        "category": "energy",
        "body": "New offshore wind turbines will feed the grid.",
        "tags": ["wind"],
        "published_at": "2026-10-06T12:00:00Z",
    },
    {
        "id": "n2",
        "title": "Grid storage for offshore wind power",
        "category": "energy",
        "body": "Batteries store offshore wind power for the grid.",
        "tags": ["wind", "grid"],
        "published_at": "2026-10-06T14:00:00Z",
    },
]
# Seven pairs after the split, one per session (pair i is session u<i+1>):
# 0: e1 -> e2 at 10:00, before n1 exists;
# 1: e2 -> n1 at 11:59: the reader opens n1 after its publication, but the list was shown before;
# 2: e1 -> n1 at 12:30, after n1's publication; 3: n1 -> e2 at 13:00, before n2's;
# 4: n1 -> n2 at 15:00; 5: n2 -> n1 at 16:00; 6: e2 -> n1 at 17:00.
LIVE_VIEWS = """session_id,article_id,timestamp
t1,e1,2026-10-05T10:00:00Z
t1,e2,2026-10-05T10:01:00Z
t2,e1,2026-10-05T11:00:00Z
t2,e2,2026-10-05T11:01:00Z
t3,s1,2026-10-05T12:00:00Z
t3,s2,2026-10-05T12:01:00Z
u1,e1,2026-10-06T10:00:00Z
u1,e2,2026-10-06T10:01:00Z
u2,e2,2026-10-06T11:59:00Z
u2,n1,2026-10-06T12:00:30Z
u3,e1,2026-10-06T12:30:00Z
u3,n1,2026-10-06T12:31:00Z
u4,n1,2026-10-06T13:00:00Z
u4,e2,2026-10-06T13:01:00Z
u5,n1,2026-10-06T15:00:00Z
u5,n2,2026-10-06T15:01:00Z
u6,n2,2026-10-06T16:00:00Z
u6,n1,2026-10-06T16:01:00Z
u7,e2,2026-10-06T17:00:00Z
u7,n1,2026-10-06T17:01:00Z
"""


@pytest.fixture
def live(tmp_path: Path) -> tuple[Path, Path]:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in LIVE_ARTICLES))
    views = tmp_path / "views.csv"
    views.write_text(LIVE_VIEWS)
    return articles, views


def _names(evaluation: Evaluation, strategy: str) -> list[list[str]]:
    replay = evaluation.replay
    assert replay is not None
    ids = [*replay.bundle.meta("id"), "n1", "n2"]  # folded-in rows follow, by article id
    lists = evaluation.scores[strategy].lists
    return [[ids[r] for r in lists.for_pair(i)] for i in range(replay.n_pairs)]


def _cosines(evaluation: Evaluation, live: tuple[Path, Path]) -> dict[tuple[str, str], float]:
    """Brute force: cosine of every two articles under the bundle's vectorizer."""
    replay = evaluation.replay
    assert replay is not None
    articles = {a.id: a for a in read_articles(live[0]).articles}
    ids = sorted(articles)
    vectors = replay.bundle.vectorizer.transform(
        [compose_document(articles[i], 3) for i in ids]
    ).toarray()
    products = vectors @ vectors.T
    return {(a, b): float(products[i, j]) for i, a in enumerate(ids) for j, b in enumerate(ids)}


def test_evaluate_new_article_is_a_candidate_from_its_publication_on(
    live: tuple[Path, Path],
) -> None:
    evaluation = evaluate(*live, test_from=SPLIT, config=TrainConfig(coview_min_count=1))
    pairs = evaluation.summary["pairs"]
    assert pairs["evaluated"] == 7
    assert pairs["target_in_training"] == 2  # pairs 0 and 3 (e2)
    # every target but n1 at 11:59 (pair 1): published at 12:00, after the list was shown
    assert pairs["target_available"] == 6
    assert pairs["published_since_training"] == 2
    for strategy in REPLAY_STRATEGIES:
        names = _names(evaluation, strategy)
        assert not {"n1", "n2"} & set(names[0] + names[1]), strategy  # before 12:00
        assert "n2" not in names[2] + names[3], strategy  # before 14:00
    content = _names(evaluation, "content")
    # pair 2: e1 gained n1 at its publication (reverse addition): a hit
    assert content[2][:2] == ["n1", "e2"]
    # pair 3: n1's own list, the training articles nearest first
    assert content[3][:2] == ["e2", "e1"]
    # pair 4: n1 gained n2 (0.82) after its own fold-in: below e2 (0.84), above e1 (0.53)
    assert content[4][:3] == ["e2", "n2", "e1"]
    # pair 5: n2's own list holds n1, published before it; pair 6: e2 gained n1 and n2
    assert content[5][:3] == ["n1", "e2", "e1"]
    assert content[6][:3] == ["n1", "n2", "e1"]
    ranks = evaluation.scores["content"].ranks.tolist()
    assert ranks == [1, 0, 1, 1, 2, 1, 1]
    # on n1's page n2 is about as similar as e2 (normalised 0.98 and 1), much fresher (e2 is
    # 4.3 days old: decay 0.37, n2 one hour: 0.99), but e2 was read four times in the last 24
    # hours (popularity factor sqrt(5) = 2.24): with freshness bounded (0.25 + 0.75 * 0.37 =
    # 0.53 at the default weight) the read one stays first; without the popularity prior,
    # freshness decides
    assert _names(evaluation, "hybrid")[4][0] == "e2"
    fresh = evaluate(
        *live,
        test_from=SPLIT,
        config=TrainConfig(coview_min_count=1),
        params=BlendParams(popularity_weight=0.0),
    )
    assert _names(fresh, "hybrid")[4][0] == "n2"
    stale = evaluate(
        *live,
        test_from=SPLIT,
        config=TrainConfig(coview_min_count=1),
        params=BlendParams(popularity_weight=0.0, freshness_weight=0.0),
    )
    assert _names(stale, "hybrid")[4][0] == "e2"  # without freshness: the more similar one
    # co-views and most viewed come from the bundle: they never show a new article
    for strategy in ("coview", "most_viewed"):
        assert not {"n1", "n2"} & {a for names in _names(evaluation, strategy) for a in names}
    assert "candidate at the pair's time (in training, or published at or before the pair): 6" in (
        format_report(evaluation.summary)
    )


def test_evaluate_reverse_addition_has_the_fold_in_score(live: tuple[Path, Path]) -> None:
    evaluation = evaluate(*live, test_from=SPLIT, config=TrainConfig(coview_min_count=1))
    replay = evaluation.replay
    assert replay is not None
    cosine = _cosines(evaluation, live)
    e1 = replay.bundle.row("e1")
    n1 = len(replay.bundle)  # the first folded-in row
    # pair 0 (before n1): e1's list as trained; pair 2: with n1 added at its cosine
    assert replay.pair_state[0] == -1
    neighbors, scores = replay.state_lists[int(replay.pair_state[2])]
    listed = {int(r): float(s) for r, s in zip(neighbors, scores, strict=True) if r >= 0}
    assert set(listed) == {replay.bundle.row("e2"), n1}
    assert listed[n1] == pytest.approx(round(cosine["n1", "e1"], 6), abs=1e-7)
    assert listed[replay.bundle.row("e2")] == pytest.approx(cosine["e1", "e2"], abs=1e-6)
    # n1's own list: the bundle's published rows by cosine
    own = replay.signals.content_neighbors[n1][:2].tolist()
    assert own == [replay.bundle.row("e2"), e1]
    assert float(replay.signals.content_scores[n1][0]) == pytest.approx(
        cosine["n1", "e2"], abs=1e-6
    )


def test_evaluate_reverse_addition_only_beats_the_weakest_of_a_full_list(
    live: tuple[Path, Path],
) -> None:
    # one neighbour per article: every list is full
    evaluation = evaluate(
        *live, test_from=SPLIT, config=TrainConfig(coview_min_count=1, n_neighbors=1)
    )
    cosine = _cosines(evaluation, live)
    content = [names[0] for names in _names(evaluation, "content")]
    # n1's one neighbour is e2, so e1 gains nothing: pair 2 (e1 -> n1) is a miss
    assert cosine["n1", "e2"] > cosine["n1", "e1"]
    assert content[2] == "e2"
    # n2's one neighbour is n1 (over e2), but it does not beat n1's (e2): pair 4 is a miss
    assert cosine["n2", "n1"] > cosine["n2", "e2"]
    assert cosine["n2", "n1"] < cosine["n1", "e2"]
    assert content[4] == "e2"
    # n1 beats e2's one neighbour (e1) and takes its place: pair 6 (e2 -> n1) is a hit
    assert cosine["n1", "e2"] > cosine["e1", "e2"]
    assert content[6] == "n1"
    assert evaluation.scores["content"].ranks.tolist() == [1, 0, 0, 1, 0, 1, 1]


@pytest.mark.slow
def test_replay_grouped_lists_are_the_per_pair_lists(
    sample: tuple[Path, Path], tmp_path: Path
) -> None:
    """Oracle for the fast path: one list per query and content list, against every pair
    ranked at its own time."""
    replay, _ = _sample_replay(sample, tmp_path)
    assert replay.state_lists, "the sample must have reverse additions"
    # dated articles: a bounded freshness factor (1 - w) + w * decay changes the order with
    # time, so the hybrid is grouped only with freshness off
    assert not replay.freshness_is_common_factor
    still = BlendParams(popularity_weight=0, popular_candidates=0, freshness_weight=0)
    for strategy in REPLAY_STRATEGIES:
        if strategy == "most_viewed_live":
            continue  # one list per time at which its counts changed: nothing to group
        # the hybrids read the views before each pair: ranked at every pair's time, unless
        # the popularity prior, candidates and freshness are off
        for params in (BlendParams(), still):
            grouped = replay_lists(replay, strategy, params=params)
            each = replay_lists(replay, strategy, params=params, per_pair=True)
            if strategy in ("content_fresh", "hybrid") and params == BlendParams():
                # one query, one content list, yet other lists as readers' views move
                shown: dict[tuple[int, int], set[tuple[int, ...]]] = {}
                for i in range(replay.n_pairs):
                    key = (int(replay.pair_query[i]), int(replay.pair_state[i]))
                    shown.setdefault(key, set()).add(tuple(grouped.for_pair(i)))
                assert any(len(lists) > 1 for lists in shown.values())
            else:
                assert len(grouped.lists) < len(each.lists)
            for i in range(replay.n_pairs):
                assert grouped.for_pair(i) == each.for_pair(i), (strategy, i)


def _sample_replay(sample: tuple[Path, Path], tmp_path: Path) -> tuple[Replay, Prepared]:
    events = load_events(sample[1])
    split_ts = int(events.timestamps.max()) - 3 * DAY
    split = SplitSpec(split_ts, int(events.timestamps.max()) + 1)
    prepared = prepare_split(*sample, split, tmp_path, events=events)
    bundle = train_at_split(prepared.inputs, tmp_path / "models")
    replay = prepare_replay(bundle, prepared.pairs, prepared.articles, now_ts=split_ts)
    return replay, prepared


@pytest.mark.slow
def test_replay_lists_are_what_the_live_service_shows(
    sample: tuple[Path, Path], tmp_path: Path
) -> None:
    """Oracle: the service's own fold-in and catalogue, publication by publication."""
    from service.live.catalogue import build_catalogue, fold_in_article

    replay, prepared = _sample_replay(sample, tmp_path)
    bundle = replay.bundle
    known = known_times(bundle, prepared.articles, prepared.pairs)
    last = int(replay.pair_ts.max())
    records: dict[str, str] = {}
    published_at: dict[str, int] = {}
    for when, article_id in sorted((t, a) for a, t in known.items() if t <= last):
        article = prepared.articles[article_id]
        catalogue, _ = build_catalogue(bundle, records)
        neighbors: list[tuple[str, float]] = []
        vector = None
        if article.status == "published":  # as PUT /v1/articles/{id} does
            neighbors, vector = fold_in_article(bundle, catalogue, article, records)
        records[article_id] = json.dumps(
            {
                "op": "put",
                "at": 2e9,  # after the bundle: never superseded
                "model": bundle.version,
                "article": {
                    "title": article.title,
                    "url": article.url,
                    "category": article.category,
                    "published_at": None,
                    "image_url": article.image_url,
                    "status": article.status,
                    "published_ts": int(article.published_at.timestamp())
                    if article.published_at
                    else -1,
                },
                "neighbors": [[other, round(score, 6)] for other, score in neighbors],
                "vector": vector,
            }
        )
        published_at[article_id] = when
    assert len(records) > 10, "the sample must publish articles in the test period"
    ids = [*bundle.meta("id"), *sorted(records)]
    checked = 0
    for strategy in ("content", "coview", "hybrid"):
        lists = replay_lists(replay, strategy)
        for i in range(0, replay.n_pairs, max(replay.n_pairs // 60, 1)):
            query = replay.query_ids[replay.pair_query[i]]
            if not bundle.has(query) and prepared.articles[query].status != "published":
                continue  # the service folds in no draft; the replay shows its fold-in list
            when = int(replay.pair_ts[i])
            catalogue, _ = build_catalogue(
                bundle, {a: r for a, r in records.items() if published_at[a] <= when}
            )
            row = catalogue.row(query)
            shown = related(
                catalogue.signals(row),
                row,
                10,
                now_ts=when,
                strategy=strategy,
                section_popular=bundle.popular_rows("7d", catalogue.categories[row]),
                site_popular=bundle.popular_rows("7d"),
                popular=popular_from_views(
                    _views_of_the_day_before(replay, prepared, catalogue, when),
                    catalogue.is_published,
                    catalogue.similarity,
                    BlendParams().popular_candidates,
                ),
            )
            assert [ids[r] for r in lists.for_pair(i)] == [
                catalogue.article_id(item.row) for item in shown
            ], (strategy, i)
            checked += 1
    assert checked > 100


def _views_of_the_day_before(
    replay: Replay, prepared: Prepared, catalogue: Any, when: int
) -> np.ndarray:
    """The service's 24-hour views at ``when``: views counted live since the split, plus the
    share of the bundle's last day the window still overlaps, in whole views."""
    views = np.zeros(len(catalogue))
    times = prepared.pairs.view_timestamps
    for j in np.flatnonzero((times >= max(when - DAY, replay.now_ts)) & (times < when)):
        row = catalogue.row_or_none(prepared.pairs.view_ids[j])
        if row is not None:
            views[row] += 1
    share = min(max(replay.now_ts - (when - DAY), 0) / DAY, 1.0)
    views[: len(replay.bundle)] += share * np.asarray(replay.bundle.popularity_views)[:, 0]
    return np.rint(views)


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
    assert not after & set(bundle.meta("id"))
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
    assert set(evaluation.summary["strategies"]) == set(REPLAY_STRATEGIES)
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
    assert lists.pair_list.shape == (replay.n_pairs,)
    # lists hold n = 10 at most, never the query, only articles published by the pair's time
    # (the training articles and n1, published at 06:00)
    for i in range(replay.n_pairs):
        items = lists.for_pair(i)
        assert len(items) <= 10
        assert replay.query_rows[replay.pair_query[i]] not in items
        assert all(0 <= r < len(bundle) + 1 for r in items)
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
    # e2 -> n1: n1 was published before the pair, so 4 of the 4 targets could be hit
    assert "next article a candidate at the pair&#x27;s time" in page
    assert "<td>4 (100.0%)</td>" in page.split("a candidate at the pair", 1)[1][:200]


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
    # each related strategy again with same-story collapsing (on by default, as served)
    assert set(summary["strategies"]) == {"coview", "hybrid", "coview+stories", "hybrid+stories"}
    assert summary["per_story"] == 1
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
    assert Bundle.load(version).meta("id") == ["e1", "e2", "s1", "s2"]


# --- diversity caps and figures -------------------------------------------------------------


def _first_distinct(values: list[str]) -> bool:
    """The first d values are all different, d the number of distinct values: what a cap of
    one per value gives a list that could not be filled within it."""
    d = len(set(values))
    return len(set(values[:d])) == d


def test_evaluate_reports_diversity_and_the_caps_cost(tmp_path: Path) -> None:
    authors = {"e1": "Ann", "e2": "Ann", "n1": "Bob", "s1": "Cid", "s2": "Cid"}
    articles = tmp_path / "articles.jsonl"
    articles.write_text(
        "".join(json.dumps({**a, "author": authors[str(a["id"])]}) + "\n" for a in ARTICLES)
    )
    views = tmp_path / "views.csv"
    views.write_text(VIEWS)
    evaluation = evaluate(
        articles,
        views,
        test_from=SPLIT,
        config=TrainConfig(coview_min_count=1),
        strategies=("most_viewed", "hybrid"),
        caps=Caps(max_per_section=1, max_per_author=1),
    )
    summary = evaluation.summary
    assert list(summary["strategies"]) == ["most_viewed", "hybrid", "hybrid+caps"]
    assert summary["caps"] == {"max_per_section": 1, "max_per_author": 1}
    hybrid = summary["strategies"]["hybrid"]["all"]
    # the lists of e1, n1 and e2 hold the other four articles, two of each section; s1's
    # holds three (n1 is new: in no sports list and not in the bundle's most viewed), two of
    # them energy
    assert hybrid["top_section_share"] == pytest.approx((0.5 + 2 / 3 + 0.5 + 0.5) / 4)
    assert hybrid["distinct_sections"] == pytest.approx(2.0)
    replay = evaluation.replay
    assert replay is not None and replay.authors is not None
    categories = replay.signals.categories
    expected_authors = np.mean(
        [
            len({replay.authors[r] for r in evaluation.scores["hybrid"].lists.for_pair(i)})
            for i in range(replay.n_pairs)
        ]
    )
    assert hybrid["distinct_authors"] == pytest.approx(expected_authors)
    # caps never shorten a list: the same articles, in an order that puts variety first
    capped = evaluation.scores["hybrid+caps"].lists
    plain = evaluation.scores["hybrid"].lists
    for i in range(replay.n_pairs):
        rows = capped.for_pair(i)
        assert sorted(rows) == sorted(plain.for_pair(i))
        assert _first_distinct([categories[r] for r in rows])
    capped_all = summary["strategies"]["hybrid+caps"]["all"]
    assert capped_all["hit_rate@10"] == hybrid["hit_rate@10"]  # same members, in the top 10
    assert "+caps" in format_report(summary) and "top_sec" in format_report(summary)
    html = render_report(summary)
    assert "hybrid+caps" in html and "top_section_share" in html


def test_replay_lists_author_cap_puts_distinct_authors_first(
    tmp_path: Path, tiny: tuple[Path, Path]
) -> None:
    authors = {"e1": "Ann", "e2": "Ann", "n1": "Bob", "s1": "Cid", "s2": "Cid"}
    articles = tmp_path / "authors.jsonl"
    articles.write_text(
        "".join(json.dumps({**a, "author": authors[str(a["id"])]}) + "\n" for a in ARTICLES)
    )
    config = TrainConfig(coview_min_count=1)
    prepared = prepare_split(
        articles, tiny[1], SplitSpec(SPLIT_TS, SPLIT_TS + DAY), tmp_path, config=config
    )
    bundle = train_at_split(prepared.inputs, tmp_path / "m", config)
    replay = prepare_replay(bundle, prepared.pairs, prepared.articles, now_ts=SPLIT_TS)
    assert replay.authors is not None
    lists = replay_lists(replay, "content", caps=Caps(max_per_author=1))
    for rows in lists.lists:
        assert _first_distinct([replay.authors[r] for r in rows])
    uncapped = replay_lists(replay, "content")
    assert any(a != b for a, b in zip(lists.lists, uncapped.lists, strict=True))


def test_replay_without_authors_reports_none(tiny: tuple[Path, Path]) -> None:
    evaluation = evaluate(
        *tiny, test_from=SPLIT, config=TrainConfig(coview_min_count=1), strategies=("hybrid",)
    )
    assert evaluation.replay is not None and evaluation.replay.authors is None
    assert evaluation.summary["strategies"]["hybrid"]["all"]["distinct_authors"] is None
    assert "caps" not in evaluation.summary
