"""Training benchmarks for issue 2: end to end, content top-n, co-view, views reading, scaling.

Run from the repository root (about 20 minutes on 2 cores; data is cached in bench/out/):

    .venv/bin/python bench/train.py [--articles 100000] [--repeat 3]
    .venv/bin/python bench/train.py --coview-only --repeat 3   # co-view vs implicit alone

Every comparison is against a baseline measured in the same run (a ratio), and timings are
medians of ``--repeat`` runs. Figures are printed, the details go into bench/RESULTS.md by
hand, and the headline figures into ``bench/results/train.json`` (``train-coview.json`` with
``--coview-only``), which bench/summary.py turns into the summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from _results import Figure, command_line, write_result

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
NEWSREC = [sys.executable, "-m", "recommender.cli"]


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ensure_sample(n_articles: int, days: int = 30) -> Path:
    folder = OUT / f"sample-{n_articles}"
    if not (folder / "views.csv").is_file():
        print(f"generating {n_articles} articles into {folder} ...", flush=True)
        subprocess.run(
            [
                *NEWSREC,
                "generate-sample",
                "--articles",
                str(n_articles),
                "--days",
                str(days),
                "--out",
                str(folder),
            ],
            check=True,
        )
    return folder


def train_end_to_end(folder: Path, models: Path, *extra: str) -> dict[str, Any]:
    """Run `newsrec train` (with its self-calibration unless ``extra`` says
    ``--no-calibrate``) in a fresh process; return wall time, peak RSS and the manifest."""
    start = time.perf_counter()
    proc = subprocess.run(
        [
            "/usr/bin/time",
            "-f",
            "%M",
            *NEWSREC,
            "train",
            "--articles",
            str(folder / "articles.jsonl"),
            "--views",
            str(folder / "views.csv"),
            "--out",
            str(models),
            "--no-progress",
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    version = (models / "LATEST").read_text().strip()
    manifest = json.loads((models / version / "manifest.json").read_text())
    return {"wall": wall, "peak_gib": peak_kib / 2**20, "manifest": manifest}


def bench_end_to_end(n_articles: int, repeat: int, *extra: str) -> dict[str, Any]:
    folder = ensure_sample(n_articles)
    runs = [train_end_to_end(folder, OUT / f"models-{n_articles}", *extra) for _ in range(repeat)]
    wall = statistics.median(r["wall"] for r in runs)
    peak = max(r["peak_gib"] for r in runs)
    manifest = runs[-1]["manifest"]
    return {
        "n": n_articles,
        "wall": wall,
        "peak_gib": peak,
        "timings": manifest["timings"],
        "counts": manifest["counts"],
        "calibration": manifest.get("calibration", {}),
        "load": os.getloadavg()[0],
    }


def print_end_to_end(e2e: dict[str, Any], label: str) -> None:
    print(f"\n== newsrec train{label}, {e2e['n']} articles, {e2e['counts'].get('view_rows')} views")
    total = sum(e2e["timings"].values())
    for stage, seconds in e2e["timings"].items():
        print(f"  {stage:14s} {seconds:7.1f} s  {100 * seconds / total:4.0f}%")
    print(f"  wall {e2e['wall']:.1f} s (target <= 180), peak {e2e['peak_gib']:.2f} GiB (<= 4)")
    calibration = e2e["calibration"]
    if calibration.get("status") == "calibrated":
        held = calibration["held_out"]
        print(
            f"  calibration: {held['sampled']} pairs replayed, prepared in "
            f"{held['prepare_seconds']:.1f} s, {len(calibration['tried'])} settings tried, "
            f"{calibration['seconds']:.1f} s in all; chose {calibration['chosen']}"
        )
        for note in calibration["notes"]:
            print(f"  calibration: {note}")
    elif calibration:
        print(f"  calibration: {calibration.get('status')} {calibration.get('reason', '')}")
    print(f"  1-minute load average after the run: {e2e['load']:.2f}")


def bench_content_topn(folder: Path, repeat: int, queries: int) -> dict[str, Any]:
    """Our chunked top-n against one sparse_dot_topn call (2 threads) on the same matrix."""
    from sparse_dot_topn import sp_matmul_topn

    from recommender._topk import cosine_topn
    from recommender.bundle import Bundle

    bundle = Bundle.load_latest(OUT / f"models-{folder.name.split('-')[1]}", mmap=False)
    source = bundle.content_matrix
    matrix = sp.csr_matrix(
        (np.array(source.data), np.array(source.indices), np.array(source.indptr)),
        shape=source.shape,
    )
    q = matrix[:queries]
    n = 50

    def ours() -> Any:
        return cosine_topn(q, matrix, n, self_offset=0, chunk_size=2048, n_threads=2)

    candidates_t = matrix.T.tocsr()

    def baseline() -> Any:
        return sp_matmul_topn(q, candidates_t, top_n=n + 1, threshold=0.0, n_threads=2)

    base_t, _ = median_time(baseline, repeat)
    ours_t, _ = median_time(ours, repeat)
    return {
        "queries": queries,
        "candidates": matrix.shape[0],
        "ours": ours_t,
        "sparse_dot_topn": base_t,
        "ratio": ours_t / base_t,
    }


def bench_max_df(
    folder: Path, repeat: int, values: tuple[float, ...] = (0.1, 0.5)
) -> dict[str, Any]:
    """The content stage (TF-IDF fit and top-50 neighbours of every article, 2 threads) at each
    ``max_df``, on the same articles; runs alternate between the values so that a change in
    the machine's load hits each of them. Returns the median seconds, the vocabulary and the
    stored neighbour entries per value."""
    from recommender.content import ContentModel
    from recommender.data.articles import read_articles

    articles = read_articles(folder / "articles.jsonl").articles
    times: dict[float, list[float]] = {v: [] for v in values}
    sizes: dict[float, int] = {}
    for _ in range(repeat):
        for value in values:
            start = time.perf_counter()
            model = ContentModel(max_df=value).fit(articles)
            times[value].append(time.perf_counter() - start)
            sizes[value] = model.vocabulary_size_
    return {
        "articles": len(articles),
        "seconds": {v: statistics.median(t) for v, t in times.items()},
        "vocabulary": sizes,
        "load": os.getloadavg()[0],
    }


def bench_fit(folder: Path, repeat: int) -> dict[str, Any]:
    """The TF-IDF fit alone, scikit-learn's ``fit_transform`` against :func:`fit_tfidf` with
    its terms counted in two processes, alternated on the same documents; median seconds."""
    from recommender.content import ContentModel, compose_document, fit_tfidf
    from recommender.data.articles import read_articles

    articles = sorted(read_articles(folder / "articles.jsonl").articles, key=lambda a: a.id)
    model = ContentModel()
    docs = [compose_document(a, model.title_weight, model.author_weight) for a in articles]
    times: dict[str, list[float]] = {"sequential": [], "two processes": []}
    for _ in range(repeat):
        for name, jobs in (("sequential", 1), ("two processes", 2)):
            start = time.perf_counter()
            fit_tfidf(model._vectorizer(len(docs)), docs, n_jobs=jobs)
            times[name].append(time.perf_counter() - start)
    return {
        "articles": len(docs),
        "seconds": {name: statistics.median(t) for name, t in times.items()},
        "load": os.getloadavg()[0],
    }


def bench_coview(n_articles: int, n_events: int, repeat: int) -> dict[str, Any]:
    """Our co-view model against implicit's CosineRecommender (fit + similar items for all).

    Both start from the same event arrays and build the same session matrix. Runs alternate
    (theirs, ours, theirs, ...) so that a change in the machine's load hits both sides; the
    1-minute load average is recorded before and after. ``overlap`` is the share of our
    neighbours that implicit lists too (ties at the end of a list may be cut differently).
    """
    from implicit.nearest_neighbours import CosineRecommender

    from recommender.coview import CoviewModel, session_matrix

    rng = np.random.default_rng(0)
    n_sessions = n_events // 5
    popularity = 1.0 / np.arange(1, n_articles + 1) ** 0.9
    popularity /= popularity.sum()
    sessions = rng.integers(0, n_sessions, n_events)
    articles = rng.choice(n_articles, n_events, p=popularity)

    def ours() -> Any:
        x = session_matrix(sessions, articles, n_sessions, n_articles)
        return CoviewModel(n_neighbors=50, min_count=1).fit(x)

    def theirs() -> Any:
        x = session_matrix(sessions, articles, n_sessions, n_articles)
        model = CosineRecommender(K=51, num_threads=2)
        model.fit(x, show_progress=False)
        return model.similar_items(np.arange(n_articles), N=51)

    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {"ours": [], "implicit": []}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in (("implicit", theirs), ("ours", ours)):
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    load_after = os.getloadavg()[0]
    model, (their_ids, _) = results["ours"], results["implicit"]
    flat = model.neighbors_.ravel()
    listed = np.flatnonzero(flat >= 0)
    mine = listed // model.neighbors_.shape[1] * n_articles + flat[listed]
    rows = np.repeat(np.arange(n_articles, dtype=np.int64), their_ids.shape[1])
    their_keys = rows * n_articles + their_ids.ravel()
    ours_t, theirs_t = statistics.median(times["ours"]), statistics.median(times["implicit"])
    return {
        "articles": n_articles,
        "events": n_events,
        "ours": ours_t,
        "implicit": theirs_t,
        "ratio": ours_t / theirs_t,
        "ratios": [o / t for o, t in zip(times["ours"], times["implicit"], strict=True)],
        "overlap": np.isin(mine, their_keys).mean(),
        "load_before": load_before,
        "load_after": load_after,
    }


def print_coview(cv: dict[str, Any]) -> None:
    print(
        f"\n== co-view, {cv['events']} events over {cv['articles']} articles: ours "
        f"{cv['ours']:.1f} s, implicit {cv['implicit']:.1f} s, ratio {cv['ratio']:.2f} (<= 1.0; "
        f"per run {', '.join(f'{r:.2f}' for r in cv['ratios'])}), lists overlap "
        f"{cv['overlap']:.3f}, 1-minute load {cv['load_before']:.2f} before, "
        f"{cv['load_after']:.2f} after"
    )


def coview_figure(cv: dict[str, Any]) -> Figure:
    """The co-view headline figure (issue 2: <= 1.2x; issue 19: <= 1.0x implicit)."""
    return Figure(
        "train.coview",
        "2, 19",
        f"co-view, {cv['events']:,} events / {cv['articles']:,} articles vs implicit "
        "CosineRecommender fit + similar_items",
        "<= 1.0x",
        f"{cv['ratio']:.2f}x ({cv['ours']:.1f} s vs {cv['implicit']:.1f} s; per run "
        f"{', '.join(f'{r:.2f}' for r in cv['ratios'])})",
        cv["ratio"] <= 1.0,
    )


def topn_figure(ct: dict[str, Any]) -> Figure:
    return Figure(
        "train.topn",
        "2",
        f"content top-50 of {ct['queries']:,} rows x {ct['candidates']:,} articles vs "
        "sparse-dot-topn (2 threads), same TF-IDF matrix",
        "<= 1.1x",
        f"{ct['ratio']:.2f}x ({ct['ours']:.1f} s vs {ct['sparse_dot_topn']:.1f} s)",
        ct["ratio"] <= 1.1,
    )


def end_to_end_figures(e2e: dict[str, Any], wall_target_s: float | None) -> list[Figure]:
    """Wall and peak memory of ``newsrec train`` (issue 2's targets hold at 100,000 articles;
    ``wall_target_s`` states the one this size is judged by, ``None``: reported only)."""
    views = e2e["counts"].get("view_rows", 0)
    wall = e2e["wall"]
    return [
        Figure(
            "train.e2e-wall",
            "2",
            f"`newsrec train`, {e2e['n']:,} articles + {views:,} views, wall (self-calibration on)",
            "report" if wall_target_s is None else f"<= {wall_target_s:g} s",
            f"{wall:.0f} s (content stage {e2e['timings'].get('content', 0.0):.0f} s)",
            None if wall_target_s is None else wall <= wall_target_s,
        ),
        Figure(
            "train.e2e-peak",
            "2",
            f"same, peak memory ({e2e['n']:,} articles)",
            "<= 4 GiB",
            f"{e2e['peak_gib']:.2f} GiB",
            e2e["peak_gib"] <= 4.0,
        ),
    ]


def bench_read_views(folder: Path, repeat: int) -> dict[str, Any]:
    from recommender.data.views import read_views

    t, views = median_time(lambda: read_views(folder / "views.csv"), repeat)
    return {"rows": int(views.article_codes.size), "seconds": t}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--topn-queries", type=int, default=20_000)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument(
        "--coview-only", action="store_true", help="only co-view against implicit (~1 minute)"
    )
    parser.add_argument(
        "--end-to-end-only",
        action="store_true",
        help="only newsrec train end to end, with and without its self-calibration",
    )
    parser.add_argument(
        "--max-df-only",
        action="store_true",
        help="only the content stage at max_df 0.1 and 0.5 (the default) on --articles",
    )
    parser.add_argument(
        "--fit-only",
        action="store_true",
        help="only the TF-IDF fit, sequential against two processes, on --articles",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    command = command_line("train.py")
    if args.fit_only:
        fit = bench_fit(ensure_sample(args.articles), args.repeat)
        one, two = fit["seconds"]["sequential"], fit["seconds"]["two processes"]
        print(
            f"== TF-IDF fit, {fit['articles']} articles (median of {args.repeat}, load "
            f"{load_before:.2f} before, {fit['load']:.2f} after): sequential {one:.1f} s, "
            f"two processes {two:.1f} s ({two / one:.2f}x)"
        )
        return
    if args.max_df_only:
        md = bench_max_df(ensure_sample(args.articles), args.repeat)
        base = md["seconds"][0.1]
        print(f"== content stage, {md['articles']} articles (median of {args.repeat}):")
        for value, seconds in md["seconds"].items():
            print(
                f"  max_df {value}: {seconds:.1f} s ({seconds / base:.2f}x max_df 0.1), "
                f"vocabulary {md['vocabulary'][value]}"
            )
        print(f"  1-minute load average after the run: {md['load']:.2f}")
        return
    if args.coview_only:
        cv = bench_coview(50_000, 10_000_000, args.repeat)
        print_coview(cv)
        write_result("train-coview", command, [coview_figure(cv)], load_before=load_before)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    results: dict[str, Any] = {}

    # the default run calibrates; the same run without it gives the time calibration adds
    results["end_to_end"] = e2e = bench_end_to_end(args.articles, 1)
    print_end_to_end(e2e, " (self-calibration on, the default)")
    results["end_to_end_no_calibrate"] = plain = bench_end_to_end(
        args.articles, 1, "--no-calibrate"
    )
    print_end_to_end(plain, " --no-calibrate")
    print(
        f"\n== calibration adds {e2e['wall'] - plain['wall']:.1f} s of wall time "
        f"({e2e['timings'].get('calibrate', 0.0):.1f} s in its stage)"
    )
    figures = end_to_end_figures(e2e, 180.0 if args.articles == 100_000 else None)
    if args.end_to_end_only:
        (OUT / "train-results.json").write_text(json.dumps(results, indent=2, default=float))
        write_result("train-end-to-end", command, figures, load_before=load_before)
        return
    folder = ensure_sample(args.articles)

    results["read_views"] = rv = bench_read_views(folder, args.repeat)
    print(f"\n== read views CSV: {rv['rows']} rows in {rv['seconds']:.1f} s (median; <= 15)")

    results["content_topn"] = ct = bench_content_topn(folder, args.repeat, args.topn_queries)
    print(
        f"\n== content top-50, {ct['queries']} query rows x {ct['candidates']} articles: "
        f"ours {ct['ours']:.1f} s, sparse_dot_topn {ct['sparse_dot_topn']:.1f} s, "
        f"ratio {ct['ratio']:.2f} (<= 1.1)"
    )

    results["coview"] = cv = bench_coview(50_000, 10_000_000, args.repeat)
    print_coview(cv)

    if not args.skip_scaling:
        sizes = [10_000, 30_000, args.articles]
        walls = []
        for size in sizes:
            run = e2e if size == args.articles else bench_end_to_end(size, 1)
            walls.append(run["wall"])
        slope = np.polyfit(np.log(sizes), np.log(walls), 1)[0]
        results["scaling"] = {"sizes": sizes, "walls": walls, "exponent": slope}
        print(
            "\n== scaling: "
            + ", ".join(f"{s}: {w:.1f} s" for s, w in zip(sizes, walls, strict=True))
            + f"; time ~ N^{slope:.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\n(benchmark process peak {peak:.2f} GiB)")
    (OUT / "train-results.json").write_text(json.dumps(results, indent=2, default=float))
    figures += [
        topn_figure(ct),
        coview_figure(cv),
        Figure(
            "train.read-views",
            "2",
            f"read a {rv['rows']:,}-row views CSV",
            "<= 15 s",
            f"{rv['seconds']:.1f} s",
            rv["seconds"] <= 15,
        ),
    ]
    if "scaling" in results:
        scaling = results["scaling"]
        figures.append(
            Figure(
                "train.scaling",
                "2",
                f"growth from {scaling['sizes'][0]:,} to {scaling['sizes'][-1]:,} articles",
                "report",
                f"time ~ N^{scaling['exponent']:.2f}",
                None,
            )
        )
    write_result("train", command, figures, load_before=load_before)


if __name__ == "__main__":
    main()
