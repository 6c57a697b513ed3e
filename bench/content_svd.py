"""Would a dense semantic component help the content similarity? (issue 13: "a dense semantic
component of the content similarity, e.g. scikit-learn's TruncatedSVD over the TF-IDF matrix,
blended with the sparse cosine ... dropped if it does not help")

On the two real sets whose truth is about text (``../shared/data``, read in place by
``bench/_real_data.py``): Lee (each text's other half must rank first; MRR@10) and Amazon Gift
Cards (a product's in-file also-viewed list; hit@10 on content alone). The project's own
TF-IDF rows (``content_model(TrainConfig())``, the defaults) give the sparse cosine ``S``;
``TruncatedSVD(k)`` of the same rows, L2-normalised, gives the dense cosine ``D``; a query's
scores are ``(1 - w) S + w D`` over every other item. ``k`` and ``w`` are chosen on the
validation half (Lee: odd texts; Amazon: a hash of the asin, as ``bench/quality_real.py``
splits them) and scored once on the test half, beside the sparse cosine alone.

    .venv/bin/python bench/content_svd.py

Figures are printed; bench/RESULTS-quality-real.md records them by hand.
"""

from __future__ import annotations

import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _real_data as data  # noqa: E402
from sklearn.decomposition import TruncatedSVD  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

from recommender.config import TrainConfig  # noqa: E402
from recommender.data.articles import read_articles  # noqa: E402
from recommender.train import content_model  # noqa: E402

OUT = ROOT / "bench" / "out" / "real"
K = (50, 100, 200, 400)
W = (0.1, 0.25, 0.5, 0.75, 1.0)


def score(
    ids: list[str], relevant: dict[str, frozenset[str]], queries: list[str], sims: np.ndarray
) -> tuple[float, float]:
    """hit@10 and MRR@10 of the lists ``sims`` ranks (the query itself left out)."""
    row = {a: i for i, a in enumerate(ids)}
    hits = mrr = 0.0
    for query in queries:
        v = sims[row[query]].copy()
        v[row[query]] = -np.inf
        top = np.argsort(-v, kind="stable")[:10]
        ranks = [r for r, j in enumerate(top, 1) if ids[j] in relevant[query]]
        hits += bool(ranks)
        mrr += 1.0 / ranks[0] if ranks else 0.0
    return hits / len(queries), mrr / len(queries)


def run(name: str, converted: data.Converted, validation: Callable[[str], bool]) -> None:
    articles = sorted(read_articles(converted.articles).articles, key=lambda a: a.id)
    ids = [a.id for a in articles]
    matrix = content_model(TrainConfig()).fit(articles).matrix_.tocsr()
    queries = sorted(converted.relevant)
    val = [q for q in queries if validation(q)]
    test = [q for q in queries if not validation(q)]
    sparse = (matrix @ matrix.T).toarray()
    key = 1 if name == "lee" else 0  # the deciding figure: MRR@10 on Lee, hit@10 on Amazon
    print(
        f"\n== {name}: {len(ids)} items, {matrix.shape[1]} terms; {len(val)} validation, "
        f"{len(test)} test queries"
    )
    print("| k | w | validation hit@10 | validation MRR@10 | test hit@10 | test MRR@10 |")
    print("|---|---|---|---|---|---|")
    base_val, base_test = (
        score(ids, converted.relevant, val, sparse),
        score(ids, converted.relevant, test, sparse),
    )
    print(
        f"| - | 0 (sparse only) | {base_val[0]:.3f} | {base_val[1]:.3f} | {base_test[0]:.3f} | "
        f"{base_test[1]:.3f} |"
    )
    best = (base_val[key], "sparse only", base_test)
    for k in K:
        if k >= min(matrix.shape):
            continue
        started = time.perf_counter()
        dense = normalize(TruncatedSVD(k, random_state=0).fit_transform(matrix))
        seconds = time.perf_counter() - started
        dense_sims = dense @ dense.T
        for w in W:
            sims = (1 - w) * sparse + w * dense_sims
            v, t = (
                score(ids, converted.relevant, val, sims),
                score(ids, converted.relevant, test, sims),
            )
            print(
                f"| {k} | {w} | {v[0]:.3f} | {v[1]:.3f} | {t[0]:.3f} | {t[1]:.3f} |"
                + (f" (SVD {seconds:.1f} s)" if w == W[0] else "")
            )
            if v[key] > best[0]:
                best = (v[key], f"k={k} w={w}", t)
    figure = ("hit@10", "MRR@10")[key]
    print(
        f"chosen on validation: {best[1]}; test {figure} {best[2][key]:.3f} against the sparse "
        f"cosine's {base_test[key]:.3f} ({best[2][key] / base_test[key]:.3f}x)"
    )


def main() -> None:
    run("lee", data.lee(OUT), lambda q: int(q[3:6]) % 2 == 1)
    run("amazon", data.amazon(OUT), lambda q: zlib.crc32(q.encode()) % 2 == 0)


if __name__ == "__main__":
    main()
