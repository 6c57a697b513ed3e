"""Large archives (issue 14): incremental against full training, and Dask against one process.

Usage::

    .venv/bin/python bench/scale.py --articles 50000 --new 5000
    .venv/bin/python bench/scale.py --skip-incremental --dask-articles 20000
    .venv/bin/python bench/scale.py --articles 45000 --new 5000 --source 105000
    .venv/bin/python bench/scale.py --skip-incremental --skip-dask \
        --log-events 10000000,30000000 --log-whole 10000000,30000000
    .venv/bin/python bench/scale.py --big 1000000 --new 5000 --big-step base

Incremental part: a generated archive of ``--articles + --new`` articles (``newsrec
generate-sample``, cached in ``bench/out/scale-<n>``); ``--new`` of them, drawn at random (so
they continue the archive's stories, as most of a day's articles do), are held back as the
new ones. It trains the archive fully (LATEST), then times:

* one incremental run adding all ``--new`` articles at once, and a full rebuild of the same
  catalogue (``newsrec train``), each in a fresh process, with its peak RSS;
* a chain of 7 daily incremental runs adding a seventh each, then recall@10 of the final
  incremental lists against (a) a full rebuild with the same vocabulary and (b) the full
  rebuild with a refitted vocabulary.

Dask part: ``newsrec train`` on a ``--dask-articles`` sample whose view log is a directory of
daily files, in one process and with ``--dask local:2``, alternated ``--repeat`` times; the
ratio and the per-block times the command prints.

Big-log part (``--log-events 10000000,30000000 --log-whole 10000000``): generated logs of
that many view events as daily CSV files (cached in ``bench/out/log-<n>``) over a
``--log-articles`` catalogue, trained with ``--stream-views`` in one process and on
``--dask local:2``, and with the in-memory reader for the ``--log-whole`` sizes: the
log's stages (load views, co-view, popularity) and the peak RSS of the largest process.

Big-archive part (``--big 1000000``; issue 14's 1M figures), in steps (``--big-step``):
``base`` builds LATEST of the archive without ``--new`` random articles (generated over 365
days with ``--big-sessions`` sessions, cached in ``bench/out/big-<n>``) with the real TF-IDF
fit but lists among blocks of ``--big-block`` consecutive articles only (a full run's
all-pairs product cannot run here; the manifest says so); ``incremental`` rolls LATEST back
to that base and times ``newsrec train --incremental`` adding the ``--new``;
``project`` times blocks of ``--project-rows`` rows against every article, from which
bench/RESULTS.md projects the full rebuild. Figures in ``bench/out/scale-big-<n>.json``.

Every run is ``--no-calibrate`` (calibration is a separate stage, timed by bench/train.py).
The 1-minute load average is recorded before each run: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
NEWSREC = Path(sys.executable).parent / "newsrec"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(argv: list[str], timeout: float) -> dict[str, Any]:
    """One command in a fresh process: wall seconds, peak RSS (GiB), stdout, load before."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    wall = time.perf_counter() - start
    # the child is reaped by communicate(); its peak RSS is in RUSAGE_CHILDREN only as the
    # maximum over all children so far, so read it from /usr/bin/time when present
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}): {err[-4000:]}")
    peak = _peak_gib(err)
    return {"seconds": round(wall, 2), "peak_gib": peak, "load_1m": round(load, 2), "out": out}


def _peak_gib(stderr: str) -> float | None:
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return round(int(match.group(1)) / 2**20, 2) if match else None


def timed(argv: list[str]) -> list[str]:
    return ["/usr/bin/time", "-v", *argv] if Path("/usr/bin/time").exists() else argv


def sample(n_articles: int, days: int, name: str, source: int | None) -> tuple[Path, Path]:
    """A generated sample of ``n_articles``; with ``source``, drawn at random (seed 2) from
    the cached sample of ``source`` articles (its whole view log: views of the others count
    as views of unknown articles), which saves generating one per size."""
    from recommender.sources.sample import generate_sample

    if source is not None and source > n_articles:
        big_articles, big_views = sample(source, days, f"scale-{source}", None)
        folder = OUT / f"{name}-of-{source}"
        if not (folder / "articles.jsonl").exists():
            folder.mkdir(parents=True, exist_ok=True)
            lines = big_articles.read_text(encoding="utf-8").splitlines()
            keep = np.sort(np.random.default_rng(2).choice(len(lines), n_articles, replace=False))
            write_lines(folder / "articles.jsonl", [lines[i] for i in keep.tolist()])
        return folder / "articles.jsonl", big_views
    folder = OUT / name
    if not (folder / "articles.jsonl").exists():
        log(f"generating {n_articles} articles into {folder}")
        start = time.perf_counter()
        generate_sample(folder, n_articles=n_articles, days=days, seed=0, sessions=5 * n_articles)
        log(f"  {time.perf_counter() - start:.0f} s")
    return folder / "articles.jsonl", folder / "views.csv"


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def train_argv(articles: Path, views: Path, models: Path, *extra: str) -> list[str]:
    command = [str(NEWSREC), "train", "--articles", str(articles), "--views", str(views)]
    return timed([*command, "--out", str(models), "--no-calibrate", "--no-progress", *extra])


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    hits = total = 0
    for a, b in zip(found[:, :k].tolist(), truth[:, :k].tolist(), strict=True):
        want = {c for c in b if c >= 0}
        total += len(want)
        hits += len(want & set(a))
    return hits / total if total else 1.0


def incremental_part(args: argparse.Namespace) -> dict[str, Any]:
    import scipy.sparse as sp

    from recommender._topk import cosine_topn
    from recommender.bundle import Bundle
    from recommender.content import compose_document
    from recommender.data.articles import read_articles

    n_total = args.articles + args.new
    articles, views = sample(n_total, args.days, f"scale-{n_total}", args.source)
    work = OUT / f"scale-{n_total}-runs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    lines = articles.read_text(encoding="utf-8").splitlines()
    rng = np.random.default_rng(1)
    new = np.zeros(len(lines), dtype=bool)
    new[rng.choice(len(lines), args.new, replace=False)] = True
    old_lines = [line for line, flag in zip(lines, new.tolist(), strict=True) if not flag]
    new_lines = [line for line, flag in zip(lines, new.tolist(), strict=True) if flag]
    yesterday = write_lines(work / "yesterday.jsonl", old_lines)
    batches = np.array_split(np.arange(len(new_lines)), 7)
    days = [
        write_lines(
            work / f"day{d + 1}.jsonl",
            old_lines + [new_lines[i] for b in batches[: d + 1] for i in b],
        )
        for d in range(7)
    ]
    result: dict[str, Any] = {"archive": args.articles, "new": args.new}
    chain = work / "chain"
    log("full training of the archive (LATEST)")
    result["archive_full"] = run(train_argv(yesterday, views, chain), args.timeout)
    once = work / "once"
    shutil.copytree(chain, once)
    log(f"incremental: {args.new} new at once")
    result["incremental"] = run(train_argv(days[-1], views, once, "--incremental"), args.timeout)
    log("full rebuild of the same catalogue")
    full = work / "full"
    result["full"] = run(train_argv(days[-1], views, full), args.timeout)
    log("7 daily increments")
    result["chain"] = [
        run(train_argv(day, views, chain, "--incremental"), args.timeout) for day in days
    ]
    final = Bundle.load_latest(chain)
    refit = Bundle.load_latest(full)
    assert final.meta("id") == refit.meta("id")
    table = read_articles(days[-1])
    docs = [compose_document(a, 3) for a in table.articles]
    matrix = sp.csr_matrix(final.vectorizer.transform(docs), dtype=np.float32)
    published = np.flatnonzero(final.is_published)
    log("oracle: every list with the same vocabulary")
    same_vocab, _ = cosine_topn(
        matrix, matrix[published], 10, candidate_rows=published, self_offset=0
    )
    result["recall10_same_vocabulary"] = round(recall_at(final.content_neighbors, same_vocab), 4)
    result["recall10_refitted"] = round(
        recall_at(final.content_neighbors, np.asarray(refit.content_neighbors)), 4
    )
    result["chain_training"] = [
        json.loads((chain / v / "manifest.json").read_text()).get("training")
        for v in sorted(p.name for p in chain.iterdir() if (p / "manifest.json").exists())
    ][-1]
    return result


def dask_part(args: argparse.Namespace) -> dict[str, Any]:
    articles, views = sample(
        args.dask_articles, args.days, f"scale-dask-{args.dask_articles}", args.source
    )
    log_dir = articles.parent / "events"
    if not log_dir.exists():
        lines = views.read_text(encoding="utf-8").splitlines()
        by_day: dict[str, list[str]] = {}
        for row in lines[1:]:
            by_day.setdefault(row.split(",")[2][:10], []).append(row)
        log_dir.mkdir()
        for day, rows in by_day.items():
            write_lines(log_dir / f"events-{day}-bench.csv", [lines[0], *rows])
    work = OUT / f"scale-dask-{args.dask_articles}-runs"
    shutil.rmtree(work, ignore_errors=True)
    single: list[dict[str, Any]] = []
    dask: list[dict[str, Any]] = []
    for i in range(args.repeat):
        log(f"dask part, round {i + 1}: one process")
        single.append(run(train_argv(articles, log_dir, work / f"single{i}"), args.timeout))
        log(f"dask part, round {i + 1}: --dask local:2")
        dask.append(
            run(train_argv(articles, log_dir, work / f"dask{i}", "--dask", "local:2"), args.timeout)
        )
    blocks = re.findall(
        r"dask blocks of (\w+): (\d+), median ([\d.]+) s, max ([\d.]+) s, sum ([\d.]+) s",
        dask[-1]["out"],
    )
    one = median(r["seconds"] for r in single)
    many = median(r["seconds"] for r in dask)
    return {
        "articles": args.dask_articles,
        "partitions": len(list(log_dir.iterdir())),
        "single_seconds": [r["seconds"] for r in single],
        "dask_seconds": [r["seconds"] for r in dask],
        "loads": [r["load_1m"] for r in single + dask],
        "speed_ratio": round(one / many, 3),
        "blocks": [
            {"stage": s, "n": int(n), "median_s": float(m), "max_s": float(x), "sum_s": float(t)}
            for s, n, m, x, t in blocks
        ],
        "single_stages": _stages(single[-1]["out"]),
        "dask_stages": _stages(dask[-1]["out"]),
    }


def big_log(n_events: int, articles: Path, days: int) -> Path:
    """A generated log of ``n_events`` view events over ``days`` daily CSV files (cached in
    bench/out): sessions of about 4 views a minute or so apart, starting anywhere in the
    period (a session begun before midnight goes on in the next day's file), articles drawn
    from the catalogue by a Zipf law; session ids are strings, times Unix seconds."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    folder = OUT / f"log-{n_events}"
    if (folder / "done").exists():
        return folder / "events"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "events").mkdir(parents=True)
    log(f"generating a log of {n_events:,} events into {folder}")
    start = time.perf_counter()
    ids = [json.loads(line)["id"] for line in articles.read_text(encoding="utf-8").splitlines()]
    rng = np.random.default_rng(14)
    lengths = rng.geometric(0.25, size=n_events // 4 + 1)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_events) + 1]
    lengths[-1] -= int(lengths.sum()) - n_events
    session = np.repeat(np.arange(lengths.size), lengths)
    begin = 1_790_000_000 - days * 86_400
    first = rng.integers(begin, begin + days * 86_400, size=lengths.size)
    gaps = rng.exponential(70.0, size=n_events).astype(np.int64)
    gaps[np.cumsum(lengths) - lengths] = 0
    times = first[session] + (
        np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[np.cumsum(lengths) - lengths], lengths)
    )
    rank = np.minimum(rng.zipf(1.3, size=n_events), len(ids)) - 1
    perm = rng.permutation(len(ids))
    article = perm[rank]
    order = np.argsort(times, kind="stable")
    day = (times[order] - begin) // 86_400
    bounds = np.searchsorted(day, np.arange(int(day.max()) + 2))
    catalogue = pa.array(ids, pa.string())
    for d in range(bounds.size - 1):
        at = order[bounds[d] : bounds[d + 1]]
        if not at.size:
            continue
        table = pa.table(
            {
                "session_id": pc.binary_join_element_wise(
                    "s", pc.cast(pa.array(session[at]), pa.string()), ""
                ),
                "article_id": catalogue.take(pa.array(article[at])),
                "timestamp": pa.array(times[at]),
            }
        )
        pa_csv.write_csv(table, folder / "events" / f"events-{d:03d}.csv")
    (folder / "done").write_text(f"{n_events}\n")
    log(f"  {time.perf_counter() - start:.0f} s")
    return folder / "events"


def log_part(args: argparse.Namespace) -> dict[str, Any]:
    """Co-view and popularity of big logs: ``--stream-views`` in one process and on
    ``local:2``, and the in-memory reader for the sizes in ``--log-whole``."""
    articles, _ = sample(args.log_articles, 30, f"scale-{args.log_articles}", None)
    results: dict[str, Any] = {"articles": args.log_articles, "runs": []}
    for n_events in args.log_events:
        events = big_log(n_events, articles, 30)
        size = sum(p.stat().st_size for p in events.iterdir())
        modes = [
            ("stream", ["--stream-views"]),
            ("stream-dask", ["--stream-views", "--dask", "local:2"]),
        ]
        if n_events in args.log_whole:
            modes.append(("whole", []))
        for mode, extra in modes:
            models = OUT / f"log-{n_events}-runs" / mode
            shutil.rmtree(models, ignore_errors=True)
            log(f"log of {n_events:,} events: {mode}")
            spill = ["--spill-dir", str(OUT / "spill")] if "--stream-views" in extra else []
            try:
                done = run(train_argv(articles, events, models, *extra, *spill), args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:  # recorded, not hidden
                results["runs"].append({"events": n_events, "mode": mode, "failed": _why(exc)})
                log(f"  failed: {_why(exc)}")
                continue
            stages = _stages(done["out"])
            results["runs"].append(
                {
                    "events": n_events,
                    "csv_gib": round(size / 2**30, 2),
                    "files": len(list(events.iterdir())),
                    "mode": mode,
                    "wall_s": done["seconds"],
                    "peak_gib": done["peak_gib"],
                    "load_1m": done["load_1m"],
                    "log_stages_s": round(
                        sum(stages.get(k, 0.0) for k in ("load views", "co-view", "popularity")), 2
                    ),
                    "stages": stages,
                }
            )
            log(json.dumps(results["runs"][-1]))
        if n_events in args.log_whole:  # the streamed bundles are the in-memory one's
            if not (OUT / f"log-{n_events}-runs" / "whole" / "LATEST").exists():
                continue
            whole = _latest(OUT / f"log-{n_events}-runs" / "whole")
            for mode in ("stream", "stream-dask"):
                if not (OUT / f"log-{n_events}-runs" / mode / "LATEST").exists():
                    continue
                other = _latest(OUT / f"log-{n_events}-runs" / mode)
                same = all(
                    (whole / p.name).read_bytes() == (other / p.name).read_bytes()
                    for p in whole.iterdir()
                    if p.suffix == ".npy"
                )
                results.setdefault("same_arrays_as_whole", {})[f"{n_events}-{mode}"] = same
    return results


def _why(exc: Exception) -> str:
    """The end of a failed run's own stderr (before /usr/bin/time's report)."""
    return str(exc).split("\tCommand being timed")[0][-800:]


def _latest(models: Path) -> Path:
    return models / (models / "LATEST").read_text().strip()


def _stages(out: str) -> dict[str, float]:
    return {
        m.group(1).strip(): float(m.group(2))
        for m in re.finditer(r"^([a-z][a-z -]*?)\s+([\d.]+)\s+\d+%\s+\d+\s*$", out, re.M)
    }


# --- the big archive (1,000,000 articles): an incremental run, a projected full rebuild ---


def big_sample(n_articles: int, sessions: int) -> tuple[Path, Path]:
    """The big archive: ``generate_sample`` of ``n_articles`` over 365 days (an archive, not a
    month) with ``sessions`` reader sessions (about 5 views each), cached in bench/out."""
    from recommender.sources.sample import generate_sample

    folder = OUT / f"big-{n_articles}"
    if not (folder / "views.csv").exists():
        log(f"generating {n_articles} articles into {folder}")
        start = time.perf_counter()
        generate_sample(folder, n_articles=n_articles, days=365, seed=0, sessions=sessions)
        log(f"  {time.perf_counter() - start:.0f} s")
    return folder / "articles.jsonl", folder / "views.csv"


def big_split(articles: Path, n_new: int, work: Path) -> Path:
    """Yesterday's archive: the sample without ``n_new`` articles drawn at random (seed 1);
    today's is the whole sample. Streamed: the file is gigabytes."""
    yesterday = work / "yesterday.jsonl"
    if yesterday.exists():
        return yesterday
    with articles.open("rb") as f:
        n = sum(1 for _ in f)
    new = np.zeros(n, dtype=bool)
    new[np.random.default_rng(1).choice(n, n_new, replace=False)] = True
    partial = yesterday.with_suffix(".tmp")
    with articles.open("rb") as src, partial.open("wb") as dst:
        for line, flag in zip(src, new.tolist(), strict=True):
            if not flag:
                dst.write(line)
    partial.rename(yesterday)
    return yesterday


class BlockBase:
    """Bench only: the content stage of the big archive's base bundle (LATEST), which a full
    rebuild cannot make here (the all-pairs product of 10^12 pairs takes hours on 2 cores).

    The vocabulary, IDF, document matrix and text digests are a full run's (the real
    ``TfidfVectorizer`` fit on every article); only the lists are cheaper: each article's
    top-n among the articles of its block of ``block`` consecutive ids (the archive's ids
    follow publication time, so a block is a day or two of news). The incremental run that
    starts from it does the same work as from an exact bundle: it vectorises the new
    articles, multiplies them with every article and merges into the old lists whatever
    they hold.
    """

    def __init__(self, block: int) -> None:
        self.block = block
        self.seconds: dict[str, float] = {}

    def __call__(self, articles: Any, published: np.ndarray, config: Any) -> Any:
        import scipy.sparse as sp

        from recommender._topk import cosine_topn
        from recommender.content import compose_document, document_digests
        from recommender.train import content_model

        model = content_model(config)
        start = time.perf_counter()
        docs = [compose_document(a, config.title_weight, config.author_weight) for a in articles]
        model.digests_ = document_digests(docs)
        self.seconds["compose_and_digest"] = time.perf_counter() - start
        start = time.perf_counter()
        model.vectorizer_ = model._vectorizer(len(docs))
        matrix = model.vectorizer_.fit_transform(docs)
        del docs
        model.matrix_ = sp.csr_matrix(matrix, dtype=np.float32)
        model.matrix_.sort_indices()
        self.seconds["tfidf_fit"] = time.perf_counter() - start
        log(f"  TF-IDF fit {self.seconds['tfidf_fit']:.0f} s, nnz {model.matrix_.nnz:,}")
        start = time.perf_counter()
        n, width = len(articles), config.n_neighbors
        neighbors = np.full((n, width), -1, dtype=np.int32)
        scores = np.zeros((n, width), dtype=np.float32)
        for first in range(0, n, self.block):
            rows = np.arange(first, min(first + self.block, n))
            candidates = rows[published[rows]]
            neighbors[rows], scores[rows] = cosine_topn(
                model.matrix_[rows],
                model.matrix_[candidates],
                width,
                candidate_rows=candidates,
                self_rows=rows,
                chunk_size=config.chunk_size,
                n_threads=config.n_threads,
            )
        self.seconds["block_lists"] = time.perf_counter() - start
        model.neighbors_, model.scores_ = neighbors, scores
        model.training_ = {
            "mode": "full",
            "reason": (
                f"bench/scale.py base of the big archive: real TF-IDF fit; lists among "
                f"blocks of {self.block} consecutive articles only (not a full run's)"
            ),
            "vocabulary_fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return model


def build_base(articles: Path, views: Path, models: Path, block: int) -> None:
    """The base bundle (run in its own process by :func:`big_part`): prints a JSON line."""
    from recommender.train import train

    fitter = BlockBase(block)
    result = train(articles, views, models, content_fitter=fitter, progress=False)
    print(
        json.dumps(
            {
                "version": result.version,
                "stages": result.manifest["timings"],
                "content_parts": {k: round(v, 2) for k, v in fitter.seconds.items()},
                "counts": result.manifest.get("counts"),
            }
        )
    )


def project_blocks(models: Path, rows_per_block: int, blocks: int, n_threads: int) -> None:
    """Time ``blocks`` blocks of ``rows_per_block`` random rows against every published
    article of LATEST's matrix, as a full run's content stage computes them (run in its own
    process by :func:`big_part`): prints a JSON line."""
    from recommender._topk import cosine_topn
    from recommender.bundle import Bundle

    bundle = Bundle.load_latest(models)
    matrix = bundle.content_matrix
    published = np.flatnonzero(bundle.is_published)
    start = time.perf_counter()
    candidates = matrix[published]
    transposed = candidates.T.tocsr()  # what cosine_topn makes once per call
    setup = time.perf_counter() - start
    del transposed
    rng = np.random.default_rng(3)
    seconds = []
    for _ in range(blocks):
        rows = np.sort(rng.choice(matrix.shape[0], rows_per_block, replace=False))
        start = time.perf_counter()
        cosine_topn(
            matrix[rows],
            candidates,
            bundle.content_neighbors.shape[1],
            candidate_rows=published,
            self_rows=rows,
            n_threads=n_threads,
        )
        seconds.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "articles": int(matrix.shape[0]),
                "candidates": int(published.size),
                "nnz": int(matrix.nnz),
                "rows_per_block": rows_per_block,
                "n_threads": n_threads,
                "block_seconds": [round(s, 2) for s in seconds],
                "setup_seconds": round(setup, 2),
                "load_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


def big_part(args: argparse.Namespace) -> dict[str, Any]:
    """Steps ``base``, ``incremental``, ``project`` of the big archive; results merged into
    ``bench/out/scale-big-<n>.json``."""
    n = args.big
    articles, views = big_sample(n, args.big_sessions)
    work = OUT / f"big-{n}-runs"
    work.mkdir(parents=True, exist_ok=True)
    models = work / "models"
    record_path = OUT / f"scale-big-{n}.json"
    record: dict[str, Any] = (
        json.loads(record_path.read_text()) if record_path.exists() else {"articles": n}
    )
    here = [sys.executable, str(Path(__file__).resolve())]
    if "base" in args.big_step:
        yesterday = big_split(articles, args.new, work)
        shutil.rmtree(models, ignore_errors=True)
        log(f"base bundle of {n - args.new} articles (real TF-IDF fit, block lists)")
        argv = [*here, "--build-base", str(yesterday), str(views), str(models)]
        done = run(timed([*argv, "--block", str(args.big_block)]), args.timeout)
        record["base"] = {**json.loads(done.pop("out").splitlines()[-1]), **done}
        record["base"]["block"] = args.big_block
    if "incremental" in args.big_step:
        base_version = record["base"]["version"]
        log(f"LATEST -> the base bundle {base_version}")
        subprocess.run(
            [str(NEWSREC), "models", "--models", str(models), "rollback", base_version],
            check=True,
            capture_output=True,
        )
        log(f"incremental: {args.new} new articles on {n - args.new}")
        argv = train_argv(articles, views, models, "--incremental", "--keep", "20")
        done = run(argv, args.timeout)
        version = (models / "LATEST").read_text().strip()
        manifest = json.loads((models / version / "manifest.json").read_text())
        done.pop("out")
        done["stages"] = manifest["timings"]
        done["training"] = manifest["training"]
        done["version"] = version
        record.setdefault("incremental_runs", []).append(
            {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **done}
        )
    if "project" in args.big_step:
        log("blocks of a full rebuild's content product, against every article")
        argv = [*here, "--project-blocks", str(models), "--block", str(args.project_rows)]
        done = run(timed([*argv, "--blocks", str(args.project_count)]), args.timeout)
        record["project"] = {**json.loads(done.pop("out").splitlines()[-1]), **done}
    record_path.write_text(json.dumps(record, indent=2))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--new", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--dask-articles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--source",
        type=int,
        default=None,
        help="draw the samples from the cached sample of this many articles",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="cap per command (seconds)")
    parser.add_argument(
        "--big",
        type=int,
        default=None,
        metavar="N",
        help="the big-archive part only (issue 14: 1,000,000): --big-step's steps",
    )
    parser.add_argument("--big-sessions", type=int, default=2_000_000)
    parser.add_argument("--big-step", default="base,incremental,project")
    parser.add_argument(
        "--big-block", type=int, default=4096, help="base lists among this many consecutive ids"
    )
    parser.add_argument("--project-rows", type=int, default=2048)
    parser.add_argument("--project-count", type=int, default=3)
    parser.add_argument("--build-base", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--project-blocks", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--block", type=int, default=4096, help=argparse.SUPPRESS)
    parser.add_argument("--blocks", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument(
        "--log-events",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[],
        help="big-log part: comma-separated event counts (e.g. 10000000,30000000)",
    )
    parser.add_argument("--log-articles", type=int, default=5_000)
    parser.add_argument(
        "--log-whole",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[],
        help="big-log sizes also trained with the in-memory reader (the baseline)",
    )
    parser.add_argument("--json", type=Path, default=OUT / "scale.json")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.build_base:
        build_base(*args.build_base, block=args.block)
        return
    if args.project_blocks:
        project_blocks(args.project_blocks, args.block, args.blocks, n_threads=2)
        return
    if args.big:
        print(json.dumps(big_part(args), indent=2))
        return
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if not args.skip_incremental:
        result["incremental"] = incremental_part(args)
    if not args.skip_dask:
        result["dask"] = dask_part(args)
    if args.log_events:
        result["log"] = log_part(args)
    for part in ("incremental", "dask"):
        for value in (result.get(part) or {}).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    item.pop("out", None)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
