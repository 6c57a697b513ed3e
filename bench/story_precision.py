"""What the hybrid's popularity settings cost in topic: same-story precision against hit rate.

Run from the repository root, on samples ``bench/quality.py`` generated (their ``topics.csv``
gives each article's true story)::

    .venv/bin/python bench/story_precision.py bench/out/quality/sample-3000-seed{0,1,2,3,4}

For every sample it trains at the split of ``newsrec evaluate --test-days 3``, replays the test
period with the hybrid under five settings (no popularity; the 24-hour prior only; prior and
popular candidates with a similarity floor of 0, 0.25 (the default) and 0.5) and prints hit
rate at 10 (all pairs, new query articles) and the share of each list's first 5 items that are
in the query article's own story (all pairs, new), the medians over samples last.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from recommender.blend import BlendParams
from recommender.config import TrainConfig
from recommender.evaluation.evaluate import _ranks
from recommender.evaluation.lists import replay_lists
from recommender.evaluation.metrics import hit_rate_at_k
from recommender.evaluation.replay import known_times, prepare_replay
from recommender.evaluation.split import load_events, prepare_split, resolve_split, train_at_split

SETTINGS = {
    "no popularity": BlendParams(popularity_weight=0, popular_candidates=0),
    "24-hour prior only": BlendParams(popular_candidates=0),
    "prior + candidates, floor 0": BlendParams(popular_min_similarity=0),
    "prior + candidates, floor 0.25 (default)": BlendParams(),
    "prior + candidates, floor 0.5": BlendParams(popular_min_similarity=0.5),
}
COLUMNS = ("hit@10", "hit@10 new", "story@5", "story@5 new")


def measure(folder: Path) -> dict[str, tuple[float, ...]]:
    config = TrainConfig()
    views = folder / "views.csv"
    events = load_events(views, session_gap_minutes=config.session_gap_minutes)
    split = resolve_split(events, test_days=3)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepared = prepare_split(folder / "articles.jsonl", views, split, work, events=events)
        bundle = train_at_split(prepared.inputs, work / "models", config)
        replay = prepare_replay(bundle, prepared.pairs, prepared.articles, now_ts=split.test_from)
    known = known_times(bundle, prepared.articles, prepared.pairs)
    last = int(prepared.pairs.timestamps.max())
    row_ids = [*bundle.meta("id"), *sorted(a for a, t in known.items() if t <= last)]
    with open(folder / "topics.csv", newline="") as handle:
        topic_of = {r["article_id"]: r["topic"] for r in csv.DictReader(handle)}
    story = np.array([topic_of.get(a, "") for a in row_ids], dtype=object)
    new = replay.query_new[replay.pair_query]
    out: dict[str, tuple[float, ...]] = {}
    for name, params in SETTINGS.items():
        lists = replay_lists(replay, "hybrid", params=params)
        ranks = _ranks(replay, lists)
        precision = np.zeros(replay.n_pairs)
        for i in range(replay.n_pairs):
            query = int(replay.query_rows[replay.pair_query[i]])
            shown = lists.for_pair(i)[:5]
            if shown:
                precision[i] = float(np.mean([story[r] == story[query] for r in shown]))
        out[name] = (
            hit_rate_at_k(ranks, 10),
            hit_rate_at_k(ranks[new], 10),
            float(precision.mean()),
            float(precision[new].mean()),
        )
        print(f"{folder.name}  {name:42s} " + "  ".join(f"{v:.3f}" for v in out[name]), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", nargs="+", type=Path)
    args = parser.parse_args(argv)
    results = {folder.name: measure(folder) for folder in args.samples}
    print("\n| setting | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for name in SETTINGS:
        medians = [statistics.median(r[name][c] for r in results.values()) for c in range(4)]
        print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in medians) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
