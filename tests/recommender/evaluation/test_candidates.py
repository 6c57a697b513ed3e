"""The calibration's candidate table ranks every pair exactly as the replay's own lists do."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recommender.blend import BlendParams
from recommender.evaluation.candidates import CandidateTable
from recommender.evaluation.evaluate import score_lists
from recommender.evaluation.lists import _QuerySimilarity, replay_lists
from recommender.evaluation.replay import Replay, prepare_replay
from recommender.evaluation.split import SplitSpec, load_events, prepare_split, train_at_split
from recommender.sources.sample import generate_sample

DAY = 86_400
TICK = 600


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    out = tmp_path_factory.mktemp("sample")
    info = generate_sample(out, n_articles=400, days=14, seed=11)
    events = load_events(info.views_path)
    split_ts = int(events.timestamps.max()) - 2 * DAY
    split = SplitSpec(split_ts, int(events.timestamps.max()) + 1)
    prepared = prepare_split(info.articles_path, info.views_path, split, out, events=events)
    bundle = train_at_split(prepared.inputs, out / "models")
    return prepare_replay(bundle, prepared.pairs, prepared.articles, now_ts=split_ts)


def _random_params(rng: np.random.Generator) -> BlendParams:
    return BlendParams(
        content_weight=float(rng.choice([0.0, 0.3, 1.0, 2.0])),
        coview_weight=float(rng.choice([0.0, 0.5, 1.5, 4.0, 10.0])),
        coview_evidence=float(rng.choice([1.0, 10.0, 100.0])),
        half_life_days=rng.choice([None, 1.0, 3.0, 30.0]),
        freshness_weight=float(rng.choice([0.0, 0.5, 0.75, 0.9])),
        popularity_weight=float(rng.choice([0.0, 0.25, 0.5, 1.0])),
        popular_candidates=int(rng.choice([0, 20, 100, 300])),
        section_weight=float(rng.choice([0.0, 0.5, 2.0])),
    )


def test_table_ranks_are_the_replayed_lists_ranks(replay: Replay) -> None:
    """Pair by pair, over random settings: the rank the table gives each target is its place
    in the list :func:`replay_lists` shows (fillers included)."""
    assert replay.state_lists, "the sample must have reverse additions"
    similarity = _QuerySimilarity(replay.similarity)
    table = CandidateTable(replay, BlendParams(), 300, similarity, TICK)
    rng = np.random.default_rng(3)
    settings = [BlendParams(), *(_random_params(rng) for _ in range(8))]
    hits = []
    for params in settings:
        lists = replay_lists(
            replay, "hybrid", params=params, similarity=similarity, popular_tick=TICK
        )
        expected = score_lists(replay, lists).ranks
        got = table.ranks(params)
        mismatch = np.flatnonzero(got != expected)
        assert mismatch.size == 0, (params, mismatch[:5], got[mismatch[:5]], expected[mismatch[:5]])
        hits.append(float((expected > 0).mean()))
    # the settings must rank differently for the comparison to mean anything
    assert len(set(hits)) > 3


def test_table_counts_fillers_when_a_list_is_short(replay: Replay) -> None:
    """With co-view off and no popular candidates, a content list shorter than 10 is filled
    from the most viewed; the table finds targets among those fillers."""
    similarity = _QuerySimilarity(replay.similarity)
    short = dataclasses.replace(replay, signals=_cut_lists(replay, 3))
    table = CandidateTable(short, BlendParams(), 0, similarity, TICK)
    params = BlendParams(coview_weight=0.0, popular_candidates=0, popularity_weight=0.0)
    lists = replay_lists(short, "hybrid", params=params, similarity=similarity, popular_tick=TICK)
    expected = score_lists(short, lists).ranks
    assert (expected > 3).any(), "some targets must be hit by a filler"
    np.testing.assert_array_equal(table.ranks(params), expected)


def test_table_with_other_coview_lists_ranks_as_a_new_replay(replay: Replay) -> None:
    """A calibration's training move changes only the co-view lists: the table takes them
    from the changed replay and ranks as the replay's own lists do."""
    similarity = _QuerySimilarity(replay.similarity)
    table = CandidateTable(replay, BlendParams(), 300, similarity, TICK)
    signals = replay.signals
    assert signals.coview_neighbors is not None
    shifted = np.roll(np.asarray(signals.coview_neighbors), 1, axis=1)  # another order
    changed = dataclasses.replace(
        replay,
        signals=dataclasses.replace(signals, coview_neighbors=shifted),  # type: ignore[type-var]
    )
    for params in (BlendParams(), BlendParams(coview_weight=10.0, popularity_weight=0.0)):
        lists = replay_lists(
            changed, "hybrid", params=params, similarity=similarity, popular_tick=TICK
        )
        expected = score_lists(changed, lists).ranks
        np.testing.assert_array_equal(table.with_replay(changed).ranks(params), expected)
        assert not np.array_equal(table.ranks(params), expected)


def test_table_refuses_settings_it_was_not_built_for(replay: Replay) -> None:
    table = CandidateTable(replay, BlendParams(), 100, _QuerySimilarity(replay.similarity), TICK)
    with pytest.raises(ValueError, match="fewer popular candidates"):
        table.ranks(BlendParams(popular_candidates=300))
    with pytest.raises(ValueError, match="popular_min_similarity"):
        table.ranks(BlendParams(popular_candidates=100, popular_min_similarity=0.5))


def _cut_lists(replay: Replay, keep: int):  # type: ignore[no-untyped-def]
    """The replay's signals with content lists of ``keep`` entries and no co-view."""
    signals = replay.signals
    neighbors = np.array(signals.content_neighbors, copy=True)
    neighbors[:, keep:] = -1
    return dataclasses.replace(signals, content_neighbors=neighbors, has_coview=False)  # type: ignore[type-var]
