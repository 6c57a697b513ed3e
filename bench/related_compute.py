"""In-process cost of one uncached ``related`` answer, by hybrid popularity setting.

Run from the repository root after ``bench/serve.py`` built its bundle (or give ``--models``)::

    .venv/bin/python bench/related_compute.py [--models bench/out/serve-100000/models] [--repeats 3]

Calls :func:`service.ranking.related_response` (no cache, no live layer: the bundle's last day
stands in for the 24 hours) for 3,000 different articles per setting, after one untimed pass
over them (the memory-mapped arrays read in), and prints the median and p99 in microseconds,
each the median over ``--repeats`` rounds of all settings. The first setting comes again last,
so drift of a noisy machine shows as a difference between the two.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from recommender.blend import BlendParams
from recommender.bundle import Bundle
from service.params import RelatedParams
from service.ranking import RankingOptions, related_response

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = (
    ("no popularity", BlendParams(popularity_weight=0, popular_candidates=0)),
    ("prior only", BlendParams(popular_candidates=0)),
    ("prior + 300 popular candidates (default)", BlendParams()),
    ("no popularity, again", BlendParams(popularity_weight=0, popular_candidates=0)),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "bench/out/serve-100000/models")
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    bundle = Bundle.load_latest(args.models)
    ids = list(bundle.meta("id"))
    random.Random(0).shuffle(ids)
    print(f"{len(bundle):,} articles, {args.queries:,} queries per setting, {args.repeats} rounds")
    queries = ids[1 : args.queries + 1]
    warm = RankingOptions(blend=SETTINGS[0][1])
    for article_id in queries:
        related_response(bundle, article_id, RelatedParams(n=6), warm)
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in SETTINGS}
    for _ in range(args.repeats):
        for name, params in SETTINGS:
            options = RankingOptions(blend=params)
            related_response(bundle, ids[0], RelatedParams(n=6), options)  # per-bundle state
            times = []
            for article_id in queries:
                start = time.perf_counter()
                related_response(bundle, article_id, RelatedParams(n=6), options)
                times.append(time.perf_counter() - start)
            times.sort()
            figures[name].append((statistics.median(times), times[int(len(times) * 0.99)]))
    for name, runs in figures.items():
        median = statistics.median(m for m, _ in runs) * 1e6
        p99 = statistics.median(p for _, p in runs) * 1e6
        print(f"{name:42s} median {median:6.0f} us  p99 {p99:6.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
