"""Text statistics of the generated articles against real news prose (the Lee corpus).

Run from the repository root (about 5 minutes on 2 cores; samples are cached in
bench/out/text_stats/, keyed by a hash of recommender/sources/*sample*.py):

    .venv/bin/python bench/text_stats.py [--sizes 10000 30000 100000] [--lee-seeds 0 1 2]
                                         [--query-rows 2000] [--repeat 3] [--json PATH]
                                         [--save-documents X.npz]
    .venv/bin/python bench/text_stats.py --time-saved BEFORE.npz AFTER.npz [--repeat 7]

The second form only times the top-51 search on matrices saved by the first (for example by
two versions of the generator: run the first with PYTHONPATH pointing at a copy of the older
``recommender`` package), taking turns so that other load on the shared cores falls on both.

Corpora: the Lee background corpus (300 Australian news articles, one per line, read in place
from ../shared/data/lee-corpus), ``generate_sample`` at Lee's size and mean length (300
articles of 200 words, several seeds) and at larger sizes (400-word bodies, 30 days, seed 0).
Generated bodies are read with ``read_articles`` (HTML stripped), as training reads them.

For each corpus it prints:

* vocabulary growth: raw tokens (``[a-z]{2,}`` of the lower-cased text) and distinct types over
  growing sets of documents (in a fixed random order), with Heaps' exponent fitted on the
  log-log points from 10 documents to all of them, and over the last decade only (N/10 to N),
  for generated articles also in publication order;
* TF-IDF with the project's settings (``ContentModel`` defaults: sublinear tf, English stop
  words, min_df 2, max_df 0.1): vocabulary size, non-zeros per row, pair density
  ``nnz(X Xt) / N^2`` (exact up to 3,000 documents, else from ``--query-rows`` random rows
  against all), the multiply-adds of ``X Xt`` over ``N^2`` (sum of squared document
  frequencies) and the mean off-diagonal cosine (exact, from the column sums);
* at the largest size, the same figures for the documents training builds
  (``compose_document``: the title three times, the body, section and tag tokens), and the
  time of ``sparse_dot_topn.sp_matmul_topn`` (top_n 51, 2 threads, median of ``--repeat``)
  for the query rows against all rows, on both matrices.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

import recommender.sources.sample
from recommender.content import ContentModel, compose_document
from recommender.data.articles import read_articles
from recommender.sources.sample import generate_sample

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "text_stats"
LEE = ROOT.parent / "shared" / "data" / "lee-corpus" / "lee_background.cor"
LEE_WORDS = 200  # Lee's mean words per article (199.6 by whitespace; 193.9 [a-z]{2,} tokens)
TOKEN = re.compile(r"[a-z]{2,}")
EXACT_DENSITY_UP_TO = 3000
PRODUCT_CHUNK = 250


@dataclass
class Stats:
    corpus: str
    docs: int
    tokens: int
    types: int
    heaps: float  # fitted from 10 documents to all
    heaps_last_decade: float  # fitted from N/10 to N documents
    heaps_in_order: float | None  # same, in publication order
    vocab: int
    nnz_per_row: float
    pair_density: float
    density_rows: int
    macs_over_n2: float
    mean_cosine: float
    topn_seconds: float | None = None


def growth(texts: Sequence[str], order: Sequence[int]) -> tuple[int, int, float, float]:
    """Raw tokens, types, Heaps' exponent (10 docs to all) and over the last decade, reading
    the documents in ``order``."""
    n = len(texts)
    marks = set(np.unique(np.geomspace(10, n, 25).astype(int)).tolist()) | {n}
    seen: set[str] = set()
    tokens = 0
    points: list[tuple[int, int, int]] = []  # (docs, tokens, types)
    for i, index in enumerate(order, start=1):
        words = TOKEN.findall(texts[index].lower())
        tokens += len(words)
        seen.update(words)
        if i in marks:
            points.append((i, tokens, len(seen)))

    def fit(lo_docs: float) -> float:
        sel = [(t, v) for d, t, v in points if d >= lo_docs]
        x = np.log([t for t, _ in sel])
        y = np.log([v for _, v in sel])
        return float(np.polyfit(x, y, 1)[0])

    return tokens, len(seen), fit(10), fit(n / 10)


def vectorize(texts: Sequence[str]) -> sp.csr_matrix:
    """TF-IDF as ContentModel builds it, with its default parameters."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    model = ContentModel()
    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        stop_words=model.stop_words,
        min_df=model.min_df,
        max_df=model.max_df,
        max_features=model.max_features,
        dtype=np.float32,
        norm="l2",
    )
    matrix = sp.csr_matrix(vectorizer.fit_transform(texts), dtype=np.float32)
    matrix.sort_indices()
    return matrix


def query_rows(n: int, count: int) -> np.ndarray:
    if n <= EXACT_DENSITY_UP_TO:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=min(count, n), replace=False))


def matrix_stats(
    corpus: str, texts: Sequence[str], rows: np.ndarray, in_order: bool = True
) -> tuple[Stats, Any]:
    """Every figure of one corpus (``in_order``: it has a publication order) and its matrix.

    Vocabulary growth is measured over documents in a fixed random order, as the Lee corpus's
    line order is unrelated to time or topic (adjacent articles are no more alike than any
    two); generated articles are also measured in publication order, the order a growing
    catalogue sees, where stories come and go.
    """
    n = len(texts)
    tokens, types, heaps, heaps_last = growth(texts, np.random.default_rng(0).permutation(n))
    in_time = growth(texts, range(n))[3] if in_order else None
    x = vectorize(texts)
    xt = x.T.tocsr()
    pairs = 0
    for lo in range(0, rows.size, PRODUCT_CHUNK):
        pairs += (x[rows[lo : lo + PRODUCT_CHUNK]] @ xt).nnz
    df = np.diff(x.tocsc().indptr).astype(np.float64)
    column_sum = np.asarray(x.sum(axis=0, dtype=np.float64)).ravel()
    self_sum = float(x.multiply(x).sum(dtype=np.float64))
    mean_cosine = (column_sum @ column_sum - self_sum) / (n * (n - 1))
    stats = Stats(
        corpus=corpus,
        docs=n,
        tokens=tokens,
        types=types,
        heaps=heaps,
        heaps_last_decade=heaps_last,
        heaps_in_order=in_time,
        vocab=x.shape[1],
        nnz_per_row=x.nnz / n,
        pair_density=pairs / (rows.size * n),
        density_rows=int(rows.size),
        macs_over_n2=float(df @ df) / n**2,
        mean_cosine=float(mean_cosine),
    )
    return stats, x


def topn_once(x: sp.csr_matrix, rows: np.ndarray) -> float:
    from sparse_dot_topn import sp_matmul_topn

    q = x[rows]
    candidates_t = x.T.tocsr()
    start = time.perf_counter()
    sp_matmul_topn(q, candidates_t, top_n=51, threshold=0.0, n_threads=2)
    return time.perf_counter() - start


def topn_seconds(x: sp.csr_matrix, rows: np.ndarray, repeat: int) -> float:
    return statistics.median(topn_once(x, rows) for _ in range(repeat))


def time_saved(paths: list[Path], query_rows_: int, repeat: int) -> None:
    """Time the top-51 of the same query rows on saved matrices, taking turns, so that other
    load on the machine falls on all of them alike."""
    matrices = [sp.load_npz(p).tocsr() for p in paths]
    rows = query_rows(matrices[0].shape[0], query_rows_)
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(repeat):
        for i, x in enumerate(matrices):
            times[i].append(topn_once(x, rows))
    for p, x, t in zip(paths, matrices, times, strict=True):
        runs = ", ".join(f"{v:.2f}" for v in t)
        print(f"{p}: {x.shape[0]:,} x {x.shape[1]:,}, median {statistics.median(t):.2f} s ({runs})")


def generated(n_articles: int, words: int, seed: int) -> Path:
    """A generated sample (articles only: no sessions), cached per version of the generator."""
    # the generator and its private modules (_sample_text.py, _sample_views.py)
    folder = Path(recommender.sources.sample.__file__).parent
    source = b"".join(p.read_bytes() for p in sorted(folder.glob("*sample*.py")))
    digest = hashlib.sha256(source).hexdigest()[:10]
    folder = OUT / f"{digest}-{n_articles}-w{words}-seed{seed}"
    if not (folder / "articles.jsonl").is_file():
        print(f"generating {n_articles} articles ({words} words, seed {seed}) ...", flush=True)
        generate_sample(
            folder, n_articles=n_articles, days=30, seed=seed, sessions=0, words_per_article=words
        )
    return folder / "articles.jsonl"


def row(s: Stats) -> list[str]:
    def secs(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    sampled = s.density_rows < s.docs

    return [
        s.corpus,
        f"{s.docs:,}",
        f"{s.tokens:,}",
        f"{s.types:,}",
        f"{s.heaps:.2f}",
        f"{s.heaps_last_decade:.2f}",
        "-" if s.heaps_in_order is None else f"{s.heaps_in_order:.2f}",
        f"{s.vocab:,}",
        f"{s.nnz_per_row:.1f}",
        f"{s.pair_density:.3f}" + (f" ({s.density_rows:,} rows)" if sampled else ""),
        f"{s.macs_over_n2:.3f}",
        f"{s.mean_cosine:.4f}",
        secs(s.topn_seconds),
    ]


HEADER = [
    "corpus",
    "docs",
    "tokens",
    "types",
    "Heaps, 10 to N docs",
    "Heaps, N/10 to N",
    "Heaps, N/10 to N, publication order",
    "TF-IDF terms",
    "nnz/row",
    "pair density",
    "MACs / N^2",
    "mean cosine",
    "top-51 of the query rows, s",
]


def table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 30_000, 100_000])
    parser.add_argument("--words", type=int, default=400, help="body length at --sizes")
    parser.add_argument("--lee-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--query-rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (median)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--save-documents",
        type=Path,
        help="save the training-document matrix of the largest size (.npz)",
    )
    parser.add_argument(
        "--time-saved",
        type=Path,
        nargs="+",
        help="only time the top-51 on these saved matrices, in turns (to compare generators)",
    )
    args = parser.parse_args()
    if args.time_saved:
        time_saved(args.time_saved, args.query_rows, args.repeat)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)

    results: list[Stats] = []
    lee = LEE.read_text(encoding="utf-8").splitlines()
    lee_stats, _ = matrix_stats("Lee corpus", lee, query_rows(len(lee), 0), in_order=False)
    results.append(lee_stats)
    print(table([row(lee_stats)]), flush=True)

    for seed in args.lee_seeds:
        path = generated(len(lee), LEE_WORDS, seed)
        bodies = [a.body for a in read_articles(path).articles]
        s, _ = matrix_stats(
            f"generated, {LEE_WORDS} words, seed {seed}", bodies, query_rows(len(bodies), 0)
        )
        results.append(s)
        print(table([row(s)]), flush=True)

    for i, n_articles in enumerate(args.sizes):
        path = generated(n_articles, args.words, 0)
        articles = read_articles(path).articles
        rows = query_rows(len(articles), args.query_rows)
        label = f"generated, {args.words} words"
        s, x = matrix_stats(label, [a.body for a in articles], rows)
        last = i == len(args.sizes) - 1
        if last:
            s.topn_seconds = topn_seconds(x, rows, args.repeat)
        del x
        results.append(s)
        print(table([row(s)]), flush=True)
        if last:
            title_weight = ContentModel().title_weight
            docs = [compose_document(a, title_weight) for a in articles]
            s, x = matrix_stats(f"{label}, training documents", docs, rows)
            del docs
            s.topn_seconds = topn_seconds(x, rows, args.repeat)
            if args.save_documents:
                sp.save_npz(args.save_documents, x)
            del x
            results.append(s)
            print(table([row(s)]), flush=True)

    print()
    print(table([row(s) for s in results]))
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in results], indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
