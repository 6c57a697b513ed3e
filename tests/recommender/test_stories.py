"""Same-story clusters: found at training and fold-in, stored in the bundle, and collapsed in
related lists.

The ranked catalogue (``_signals``): row 0 is the query; its content list, best first, is
rows 1-6; rows 7 and 8 are fillers (the section's and the site's most viewed). Stories::

    story 0: rows 0, 2      (2 is another version of the query article)
    story 1: rows 1, 3, 7   (7 is a filler)
    story 4: rows 4
    story 5: rows 5, 6
    story 8: row 8
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from recommender.blend import BlendParams, SignalArrays, related
from recommender.bundle import MANIFEST, STORIES_ARRAY, Bundle
from recommender.caps import Caps
from recommender.data.articles import read_articles
from recommender.errors import BundleError
from recommender.evaluation.evaluate import same_story_share
from recommender.evaluation.replay import live_stories
from recommender.foldin import fold_in_articles
from recommender.stories import STORY_THRESHOLD, Stories, joined_story, story_clusters
from recommender.train import train

NOW = 1_000_000
CLUSTERS = [0, 1, 0, 1, 4, 5, 5, 1, 8]


def _signals() -> SignalArrays:
    n = 9
    neighbors = np.full((n, 6), -1, dtype=np.int32)
    scores = np.zeros((n, 6), dtype=np.float32)
    neighbors[0] = [1, 2, 3, 4, 5, 6]
    scores[0] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    return SignalArrays(
        categories=["a", "a", "a", "b", "b", "c", "c", "a", "d"],
        published_ts=np.full(n, NOW, dtype=np.int64),
        is_published=np.ones(n, dtype=bool),
        content_neighbors=neighbors,
        content_scores=scores,
        has_coview=False,
        coview_neighbors=None,
        coview_scores=None,
        coview_counts=None,
        coview_support=None,
        popularity_views=np.zeros((n, 4), dtype=np.int64),
    )


def _related(
    n: int,
    stories: Stories | None,
    collapsed: list[tuple[int, int]] | None = None,
    caps: Caps | None = None,
) -> list[int]:
    items = related(
        _signals(),
        0,
        n,
        now_ts=NOW,
        strategy="content",
        params=BlendParams(),
        section_popular=[7],
        site_popular=[8],
        stories=stories,
        collapsed=collapsed,
        caps=caps,
    )
    return [s.row for s in items]


# --- detection ------------------------------------------------------------------------------


def test_story_clusters_are_components_of_links_at_the_threshold() -> None:
    # 0-1 0.9, 1-2 0.6 (0, 1, 2 one story through 1), 3-4 0.4 (below 0.5), 5 alone
    neighbors = np.array([[1, -1], [2, 0], [1, -1], [4, -1], [3, -1], [-1, -1]])
    scores = np.array([[0.9, 0], [0.6, 0.9], [0.6, 0], [0.4, 0], [0.4, 0], [0, 0]])
    assert story_clusters(neighbors, scores, 0.5).tolist() == [0, 0, 0, 3, 4, 5]
    assert story_clusters(neighbors, scores, 0.3).tolist() == [0, 0, 0, 3, 3, 5]
    assert story_clusters(neighbors, scores, 0.95).tolist() == [0, 1, 2, 3, 4, 5]
    assert story_clusters(np.zeros((0, 2)), np.zeros((0, 2))).size == 0


def test_story_clusters_match_a_union_find_oracle() -> None:
    rng = np.random.default_rng(7)
    n, width = 300, 5
    neighbors = rng.integers(-1, n, size=(n, width))
    scores = rng.random((n, width))
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for row in range(n):
        for other, score in zip(neighbors[row], scores[row], strict=True):
            if other >= 0 and score >= 0.8:
                a, b = find(row), find(int(other))
                parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for row in range(n):
        members.setdefault(find(row), []).append(row)
    expected = [min(members[find(row)]) for row in range(n)]
    assert story_clusters(neighbors, scores, 0.8).tolist() == expected


def test_joined_story_is_the_best_neighbour_at_the_threshold() -> None:
    assert joined_story([("a", 0.9), ("b", 0.7)]) == "a"
    assert joined_story([("a", STORY_THRESHOLD)]) == "a"
    assert joined_story([("a", 0.3), ("b", 0.2)]) is None
    assert joined_story([]) is None


# --- collapsing -----------------------------------------------------------------------------


def test_related_shows_one_item_per_story_and_no_other_version_of_the_page() -> None:
    assert _related(6, None) == [1, 2, 3, 4, 5, 6]
    collapsed: list[tuple[int, int]] = []
    # 2 is the page's own story, 3 folds under 1, 6 under 5, filler 7 under 1; filler 8 fills
    assert _related(6, Stories(CLUSTERS), collapsed) == [1, 4, 5, 8]
    assert collapsed == [(2, 0), (3, 1), (6, 5), (7, 1)]


def test_per_story_two_allows_a_second_version_but_never_of_the_page() -> None:
    collapsed: list[tuple[int, int]] = []
    assert _related(6, Stories(CLUSTERS, per_story=2), collapsed) == [1, 3, 4, 5, 6, 8]
    assert collapsed == [(2, 0), (7, 1)]


def test_rows_without_a_story_are_their_own() -> None:
    # a catalogue longer than the clusters (an old bundle's rows), or -1: never collapsed
    assert _related(6, Stories([0, -1, 0, -1])) == [1, 3, 4, 5, 6, 7]


def test_collapsing_comes_before_the_caps() -> None:
    # section cap 1: 1 (a), then 3 is folded (not counted as skipped by the cap), 4 (b), 5 (c)
    assert _related(4, Stories(CLUSTERS), caps=Caps(max_per_section=1)) == [1, 4, 5, 8]


# --- bundle, training, fold-in ----------------------------------------------------------------

WIRE = "Parliament approves the coastal wind farm after a long night of debate over turbines"
ARTICLES = [
    {"id": "w1", "title": "Parliament approves wind farm", "body": WIRE, "category": "energy"},
    {
        "id": "w2",
        "title": "Parliament approves wind farm (update)",
        "body": WIRE + " and grid costs",
        "category": "energy",
    },
    {
        "id": "f1",
        "title": "Striker scores twice in the cup final",
        "body": "The striker scored twice as the home side won the cup final on penalties.",
        "category": "sports",
    },
    {
        "id": "g1",
        "title": "Museum opens a new gallery of modern painting",
        "body": "The city museum opened a gallery of modern painting and sculpture.",
        "category": "culture",
    },
]


def _trained(tmp_path: Path) -> tuple[Bundle, Path]:
    path = tmp_path / "articles.jsonl"
    path.write_text(
        "".join(json.dumps({**a, "url": f"https://x/{a['id']}"}) + "\n" for a in ARTICLES)
    )
    train(path, None, tmp_path / "models")
    return Bundle.load_latest(tmp_path / "models"), path


def test_train_stores_the_story_of_every_article(tmp_path: Path) -> None:
    bundle, _ = _trained(tmp_path)
    assert bundle.story_clusters is not None
    story = {a: int(bundle.story_clusters[bundle.row(a)]) for a in bundle.meta("id")}
    assert story["w1"] == story["w2"] == 2  # rows: f1, g1, w1, w2
    assert len({story["f1"], story["g1"], story["w1"]}) == 3
    assert bundle.manifest["stories"] == {
        "threshold": STORY_THRESHOLD,
        "stories": 3,
        "articles_in_shared_stories": 2,
        "largest": 2,
    }


def test_bundle_without_stories_still_loads_and_a_bad_array_is_refused(tmp_path: Path) -> None:
    bundle, _ = _trained(tmp_path)
    old = tmp_path / "old"
    shutil.copytree(bundle.path, old)
    (old / f"{STORIES_ARRAY}.npy").unlink()
    manifest = json.loads((old / MANIFEST).read_text())
    del manifest["arrays"][STORIES_ARRAY]
    (old / MANIFEST).write_text(json.dumps(manifest))
    assert Bundle.load(old).story_clusters is None
    bad = tmp_path / "bad"
    shutil.copytree(bundle.path, bad)
    np.save(bad / f"{STORIES_ARRAY}.npy", np.array([0, 0, 9, 9], dtype=np.int32))
    with pytest.raises(BundleError, match=STORIES_ARRAY):
        Bundle.load(bad)


def test_fold_in_joins_the_story_of_a_version_and_starts_one_otherwise(tmp_path: Path) -> None:
    bundle, path = _trained(tmp_path)
    articles = {a.id: a for a in read_articles(path).articles}
    copy = dataclasses.replace(articles["w2"], id="w3", title="Wind farm approved by parliament")
    other = dataclasses.replace(
        articles["g1"], id="z1", title="Rail strike", body="Train drivers strike over pay."
    )
    found = fold_in_articles(bundle, [copy, other])
    assert found.story(0) in ("w1", "w2")
    assert found.story(1) is None


def test_live_stories_follow_joins_in_publication_order() -> None:
    class _Bundle:
        story_clusters = np.array([0, 0, 2], dtype=np.int32)

        def __len__(self) -> int:
            return 3

    # new rows 3, 4, 5: 4 (first) joins row 1's story, 3 (second) joins 4, 5 none
    joined = [4, 1, None]
    clusters = live_stories(_Bundle(), joined, np.array([20, 10, 30]))  # type: ignore[arg-type]
    assert clusters.tolist() == [0, 0, 2, 0, 0, 5]


def test_same_story_share_counts_repeats_of_the_page_or_an_earlier_item() -> None:
    stories = np.array(CLUSTERS)
    assert same_story_share([1, 4, 5, 8], 0, stories) == 0
    assert same_story_share([1, 2, 3, 4], 0, stories) == 0.5  # 2: the page's, 3: 1's
    assert np.isnan(same_story_share([], 0, stories))
    assert np.isnan(same_story_share([1], 0, None))


def test_evaluation_reports_hit_rate_and_same_story_share_before_and_after(
    tmp_path: Path,
) -> None:
    from recommender.config import TrainConfig
    from recommender.evaluation.evaluate import evaluate, format_report
    from recommender.evaluation.report import render_report
    from tests.recommender.evaluation.test_evaluate import ARTICLES as TINY
    from tests.recommender.evaluation.test_evaluate import SPLIT, VIEWS

    # e0: a wire copy of e1 published before the split, so e1's lists meet another version
    e1 = next(a for a in TINY if a["id"] == "e1")
    rows = [*TINY, {**e1, "id": "e0", "title": str(e1["title"]) + " (wire)"}]
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in rows))
    views = tmp_path / "views.csv"
    views.write_text(VIEWS)
    evaluation = evaluate(
        articles,
        views,
        test_from=SPLIT,
        config=TrainConfig(coview_min_count=1),
        strategies=("content",),
        per_story=1,
    )
    summary = evaluation.summary
    assert list(summary["strategies"]) == ["content", "content+stories"]
    assert summary["per_story"] == 1
    replay = evaluation.replay
    assert replay is not None and replay.stories is not None
    e0, e1_row = replay.bundle.row("e0"), replay.bundle.row("e1")
    assert replay.stories[e0] == replay.stories[e1_row]
    before = summary["strategies"]["content"]["all"]
    after = summary["strategies"]["content+stories"]["all"]
    assert before["same_story_share"] > 0
    assert after["same_story_share"] == 0
    collapsed = evaluation.scores["content+stories"].lists
    for i in range(replay.n_pairs):
        query = int(replay.query_rows[replay.pair_query[i]])
        shown = [int(replay.stories[r]) for r in collapsed.for_pair(i)]
        assert int(replay.stories[query]) not in shown and len(set(shown)) == len(shown)
    assert after["hit_rate@10"] is not None and before["hit_rate@10"] is not None
    assert "content+stories" in format_report(summary) and "same_story" in format_report(summary)
    assert "same_story_share" in render_report(summary)
