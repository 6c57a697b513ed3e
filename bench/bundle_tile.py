"""Write a bundle again, in a given bundle format, optionally tiled into a larger catalogue.

Run from the repository root::

    .venv/bin/python bench/bundle_tile.py bench/out/models-100000 bench/out/tab/f1-100k --format 1
    .venv/bin/python bench/bundle_tile.py bench/out/models-100000 bench/out/tab/f2-1m --times 10

``--times K`` repeats the source's N articles K times with new ids (``t<k>-<id>``, so each
copy stays in article id order and the copies follow each other): K x N rows whose
neighbour lists, stories, content vectors, counts and metadata are the source's, each copy's
neighbours pointing into its own copy. It is a catalogue of the right size for serving
benchmarks (start-up, memory per worker), not a trained one: every title appears K times and
nothing links the copies. The vectorizer file is copied unchanged.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recommender.bundle import (  # noqa: E402
    MANIFEST,
    VECTORIZER,
    Bundle,
    BundleContents,
    latest_version,
    publish,
)

#: Arrays whose values are rows (-1: none): each copy's point into that copy.
ROW_ARRAYS = ("content_neighbors", "coview_neighbors", "story_clusters")
#: Manifest keys the writer sets itself.
WRITTEN = ("format_version", "arrays", "n_articles", "libraries", "articles", "version")


def tiled_arrays(bundle: Bundle, times: int) -> dict[str, np.ndarray]:
    """The bundle's arrays repeated ``times`` times (see the module docstring)."""
    n = len(bundle)
    out: dict[str, np.ndarray] = {}
    arrays = bundle.arrays
    nnz = int(arrays["content_matrix_indptr"][-1])
    for name, array in arrays.items():
        if name in ("content_matrix_data", "content_matrix_indices"):
            out[name] = np.tile(np.asarray(array), times)
        elif name == "content_matrix_indptr":
            indptr = np.asarray(array, dtype=np.int64)
            parts = [indptr[:-1] + k * nnz for k in range(times)] + [np.array([times * nnz])]
            joined = np.concatenate(parts)
            out[name] = joined.astype(array.dtype) if joined[-1] < 2**31 else joined
        elif name in ROW_ARRAYS:
            copies = [np.where(array >= 0, array + k * n, array) for k in range(times)]
            out[name] = np.concatenate(copies).astype(array.dtype)
        elif array.shape[:1] == (n,):
            out[name] = np.concatenate([np.asarray(array)] * times)
        else:
            raise SystemExit(f"array {name} of shape {array.shape}: no rule to tile it")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a bundle, or a models directory (its LATEST)")
    parser.add_argument("out", type=Path, help="models directory to write into")
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--format", type=int, default=2, choices=(1, 2))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    source = args.source
    if not (source / MANIFEST).is_file():
        version = latest_version(source)
        if version is None:
            raise SystemExit(f"{source}: neither a bundle nor a models directory")
        source = source / version
    bundle = Bundle.load(source)
    times = args.times
    width = len(str(times - 1))
    columns = [c for c in bundle.manifest.get("articles", {}).get("columns", {}) or ()]
    if not columns:  # a format-1 source: its articles.json's columns
        columns = [
            c
            for c in (
                "id",
                "title",
                "url",
                "category",
                "published_at",
                "image_url",
                "status",
                "author",
                "image_srcset",
            )
            if bundle.has_meta(c)
        ]
    ids = bundle.meta("id")
    if times > 1:
        ids = [f"t{k:0{width}d}-{a}" for k in range(times) for a in ids]
    meta = {c: bundle.meta(c) * times for c in columns if c != "id"}
    arrays = tiled_arrays(bundle, times) if times > 1 else dict(bundle.arrays)
    manifest = {k: v for k, v in bundle.manifest.items() if k not in WRITTEN}
    if times > 1:
        manifest["tiled"] = {"source": bundle.version, "times": times}
    contents = BundleContents(ids, meta, arrays, None, manifest)
    suffix = f"f{args.format}" + (f"-x{times}" if times > 1 else "")
    path = publish(
        contents,
        args.out,
        version=f"{bundle.version}-{suffix}",
        keep=1,
        format_version=args.format,
    )
    if (source / VECTORIZER).is_file():
        shutil.copyfile(source / VECTORIZER, path / VECTORIZER)
    print(
        f"wrote {path} ({len(ids):,} articles, format {args.format}) in "
        f"{time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
