"""Same-story clusters: the threshold on real news, and what detecting them costs in training.

Run from the repository root::

    .venv/bin/python bench/stories.py [--articles 100000] [--repeat 5]

1. Threshold (real data): the MIND sample's 1,916 news rows (titles and abstracts, read in
   place from /work/shared/data/mind-sample) are fitted with the training's content model;
   for each threshold it prints how many articles share a story, the largest story, and the
   first stories at the chosen threshold (titles) to judge by eye.
2. Cost: ``newsrec train --no-calibrate`` on a generated sample of ``--articles`` articles
   (bench/train.py's data in bench/out/), then :func:`recommender.stories.story_clusters` on
   that bundle's stored neighbours, median of ``--repeat``, against the same run's training
   wall time (the ratio is the share it adds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train import OUT, ensure_sample, train_end_to_end

from recommender.bundle import Bundle
from recommender.stories import STORY_THRESHOLD, story_clusters

MIND = Path("/work/shared/data/mind-sample")
THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8)


def threshold_table() -> None:
    from recommender.content import ContentModel
    from recommender.data.articles import read_articles
    from recommender.sources.mind import convert_mind

    with tempfile.TemporaryDirectory() as tmp:
        articles_path, _ = convert_mind(MIND, Path(tmp))
        articles = read_articles(articles_path).articles
    model = ContentModel().fit(articles)
    print(f"\n== thresholds on the MIND sample ({len(articles)} articles)")
    print("threshold | articles in a shared story | stories of 2+ | largest")
    for threshold in THRESHOLDS:
        sizes = np.bincount(story_clusters(model.neighbors_, model.scores_, threshold))
        print(
            f"{threshold:.1f} | {int(sizes[sizes > 1].sum())} | {int((sizes > 1).sum())} | "
            f"{int(sizes.max())}"
        )
    clusters = story_clusters(model.neighbors_, model.scores_, STORY_THRESHOLD)
    sizes = np.bincount(clusters)
    print(f"\nstories at {STORY_THRESHOLD} (titles):")
    for story in np.flatnonzero(sizes > 1).tolist():
        rows = np.flatnonzero(clusters == story)
        print(" - " + " | ".join(articles[r].title[:60] for r in rows[:4]))


def cost(n_articles: int, repeat: int) -> None:
    folder = ensure_sample(n_articles)
    models = OUT / f"models-stories-{n_articles}"
    run = train_end_to_end(folder, models, "--no-calibrate")
    bundle = Bundle.load_latest(models)
    neighbors = np.asarray(bundle.content_neighbors)
    scores = np.asarray(bundle.content_scores)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        clusters = story_clusters(neighbors, scores)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    sizes = np.bincount(clusters)
    print(f"\n== cost at {n_articles} articles (load {os.getloadavg()[0]:.2f})")
    print(f"newsrec train --no-calibrate wall: {run['wall']:.1f} s (one run)")
    print(f"story_clusters, median of {repeat}: {seconds * 1000:.1f} ms")
    print(f"ratio: {seconds / run['wall']:.5f} of the training's wall time")
    print(
        f"stories: {int((sizes > 0).sum())}, articles in a shared story: "
        f"{int(sizes[sizes > 1].sum())}, largest: {int(sizes.max())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-mind", action="store_true")
    args = parser.parse_args()
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}")
    if not args.skip_mind:
        threshold_table()
    cost(args.articles, args.repeat)


if __name__ == "__main__":
    main()
