"""The content stage's two parts (TF-IDF fit, top-50 product) at several ``max_df``, and what
keeping only each row's strongest terms would save and cost (recall@10 of the pruned lists
against the full ones), on the 20,000 generated articles of ``bench/out/sample-20000``
(``bench/train.py --articles 20000`` makes them).

    .venv/bin/python bench/content_density.py

Figures are printed; bench/RESULTS.md ("Training") records them by hand.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recommender._topk import cosine_topn  # noqa: E402
from recommender.content import ContentModel, compose_document  # noqa: E402
from recommender.data.articles import read_articles  # noqa: E402

ARTICLES = ROOT / "bench" / "out" / "sample-20000" / "articles.jsonl"


def strongest_terms(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's ``k`` largest weights, the row L2-normalised again."""
    keep = np.zeros(matrix.nnz, dtype=bool)
    for row in range(matrix.shape[0]):
        start, stop = matrix.indptr[row], matrix.indptr[row + 1]
        weights = matrix.data[start:stop]
        if weights.size <= k:
            keep[start:stop] = True
        else:
            keep[start + np.argpartition(-weights, k)[:k]] = True
    data = np.where(keep, matrix.data, 0)
    pruned = sp.csr_matrix((data, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)
    pruned.eliminate_zeros()
    norms = np.sqrt(np.asarray(pruned.multiply(pruned).sum(axis=1)).ravel())
    scaled = sp.diags(1 / np.maximum(norms, 1e-12)) @ pruned
    return sp.csr_matrix(scaled, dtype=np.float32)


def recall_at_10(full: np.ndarray, other: np.ndarray) -> float:
    """Share of each (7th) row's full top 10 that ``other``'s top 10 keeps."""
    shares = []
    for row in range(0, full.shape[0], 7):
        wanted = full[row][full[row] >= 0]
        shares.append(len(set(wanted.tolist()) & set(other[row].tolist())) / max(wanted.size, 1))
    return float(np.mean(shares))


def main() -> None:
    articles = sorted(read_articles(ARTICLES).articles, key=lambda a: a.id)
    for max_df in (0.5, 0.2, 0.1):
        model = ContentModel(max_df=max_df)
        docs = [compose_document(a, model.title_weight, model.author_weight) for a in articles]
        began = time.perf_counter()
        vectorizer = model._vectorizer(len(docs))
        matrix = sp.csr_matrix(vectorizer.fit_transform(docs), dtype=np.float32)
        matrix.sort_indices()
        fit = time.perf_counter() - began
        began = time.perf_counter()
        neighbors, _ = cosine_topn(matrix, matrix, 50, self_offset=0)
        product = time.perf_counter() - began
        print(
            f"max_df {max_df}: TF-IDF fit {fit:.1f} s, top-50 product {product:.1f} s, "
            f"vocabulary {len(vectorizer.vocabulary_)}, terms per row "
            f"{matrix.nnz / matrix.shape[0]:.0f}"
        )
        if max_df != 0.5:
            continue
        for k in (128, 64):
            pruned = strongest_terms(matrix, k)
            began = time.perf_counter()
            kept, _ = cosine_topn(pruned, pruned, 50, self_offset=0)
            seconds = time.perf_counter() - began
            print(
                f"  strongest {k} terms a row: product {seconds:.1f} s "
                f"({seconds / product:.2f}x), recall@10 against the full lists "
                f"{recall_at_10(neighbors[:, :10], kept[:, :10]):.3f}"
            )


if __name__ == "__main__":
    main()
