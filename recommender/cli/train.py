"""``newsrec train``: build a model bundle, optionally behind the promotion gate."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from statistics import median
from typing import Any

from recommender.cli._args import (
    datetime_arg,
    non_negative_float,
    non_negative_int,
    positive_int,
    table,
)
from recommender.cli.exits import EXIT_GATE_REFUSED, EXIT_OK, EXIT_USAGE

# The library is imported inside the handlers: ``newsrec`` builds every command's parser
# at start-up, and scikit-learn and pyarrow would cost every command seconds to import.


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec train``."""
    p = sub.add_parser(
        "train",
        help="build a model bundle from articles and views",
        description="Read articles and views, fit content, co-view and popularity models, and "
        "publish a versioned bundle into --out atomically (LATEST is replaced last).",
    )
    p.add_argument(
        "--articles", required=True, type=Path, help="articles file: .jsonl or .csv, optionally .gz"
    )
    p.add_argument(
        "--views",
        type=Path,
        action="append",
        help="views file: events (session_id or user_id, article_id, timestamp) or "
        "counts (article_id, views, optional date); .jsonl or .csv, optionally .gz, or "
        ".parquet; a "
        "directory is all its view files (the service's event log); repeat to read several "
        "as one log (--views history.csv --views events/)",
    )
    p.add_argument(
        "--out", type=Path, default=Path("models"), help="models directory (default: models)"
    )
    p.add_argument(
        "--config",
        type=Path,
        help="TOML file: its [train] table sets the training parameters, its [blend] table the "
        "ranking settings the bundle is served with (newsrec tune --out writes one); the "
        "settings it sets are not calibrated",
    )
    p.add_argument(
        "--no-calibrate",
        action="store_true",
        help="no self-calibration: train with the given settings (by default, when the view "
        "log is rich enough, the run picks the blend and co-view settings on its own last day "
        "of sessions first; see recommender/evaluation/calibrate.py)",
    )
    p.add_argument(
        "--now",
        type=datetime_arg,
        help="end of the popularity windows, ISO 8601 (default: last view's time)",
    )
    p.add_argument(
        "--max-invalid",
        type=non_negative_int,
        default=None,
        help="skip up to N bad rows per file, counted in the summary (default 0)",
    )
    p.add_argument(
        "--keep", type=positive_int, default=None, help="bundles to keep in --out (default 5)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a TTY")
    p.add_argument(
        "--gate",
        action="store_true",
        help="promotion gate: publish only if hit rate at 10 on the last day's "
        "sessions has not dropped against LATEST (see recommender/evaluation/gate.py)",
    )
    p.add_argument(
        "--gate-tolerance",
        type=non_negative_float,
        default=0.02,
        metavar="X",
        help="absolute drop of hit rate at 10 the gate allows (default 0.02)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="publish even if the view log is far thinner than LATEST's (fewer than half its "
        "sessions or view rows), or, with --gate, if the gate refuses (the verdict is recorded)",
    )
    scale = p.add_argument_group("large archives (docs/scale.md)")
    scale.add_argument(
        "--incremental",
        action="store_true",
        help="start from the bundle in --out/LATEST: keep its vocabulary, vectorise only new and "
        "changed articles and update the lists they enter (no calibration: LATEST's settings); "
        "refits instead when LATEST is missing or incompatible, the vocabulary is older than "
        "--refit-after or new terms pass --max-new-terms (the summary says which and why)",
    )
    scale.add_argument(
        "--full",
        action="store_true",
        help="with --incremental: refit the vocabulary and every list (the weekly run)",
    )
    scale.add_argument(
        "--max-new-terms",
        type=non_negative_float,
        default=0.25,
        metavar="SHARE",
        help="with --incremental: refit when this share of the words of the new and changed "
        "articles is unknown to the vocabulary (default 0.25)",
    )
    scale.add_argument(
        "--refit-after",
        type=non_negative_float,
        default=7.0,
        metavar="DAYS",
        help="with --incremental: refit when the vocabulary is older (default 7)",
    )
    scale.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=os.environ.get("NEWSREC_DASK_ADDRESS") or None,
        help="run the content, co-view and view-log stages on a Dask cluster: a scheduler "
        "address (tcp://host:8786) or local[:N] (a local cluster of N workers, default 2); "
        "default: $NEWSREC_DASK_ADDRESS, else one process. Needs newsrec[dask]",
    )
    scale.add_argument(
        "--stream-views",
        action="store_true",
        help="read a log of view events file by file in bounded memory, reduced to what "
        "co-view and popularity need (with --dask, on the workers); the same bundle. No "
        "calibration (it replays the whole log) and no --gate",
    )
    scale.add_argument(
        "--spill-dir",
        metavar="DIR",
        default=None,
        help="with --stream-views: where the log's files are spilled by session between the "
        "two passes (about the log's size in binary; on a cluster, a directory every worker "
        "shares); default: the system's temporary directory",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.stream_views and args.gate:
        print("--stream-views cannot go with --gate: it replays the whole log", file=sys.stderr)
        return EXIT_USAGE
    if args.dask:
        from recommender.distributed import dask_mapper

        with dask_mapper(args.dask) as mapper:
            print(f"dask: {args.dask}, {mapper.n_workers} workers")
            code = _prepare(args, mapper)
            for stage, seconds in mapper.block_seconds.items():
                print(
                    f"dask blocks of {stage}: {len(seconds)}, median {median(seconds):.3f} s, "
                    f"max {max(seconds):.3f} s, sum {sum(seconds):.1f} s"
                )
            return code
    return _prepare(args, None)


def _prepare(args: argparse.Namespace, mapper: Any) -> int:
    from recommender.blend import BlendParams
    from recommender.config import read_config
    from recommender.evaluation.calibrate import calibrate
    from recommender.evaluation.gate import ThinLogError
    from recommender.incremental import plan_incremental
    from recommender.train import train

    run = read_config(args.config, max_invalid=args.max_invalid, keep=args.keep)
    if args.stream_views and run.train.coview_next_weight > 0:
        print(
            "--stream-views does not count read-next pairs yet: set coview_next_weight = 0",
            file=sys.stderr,
        )
        return EXIT_USAGE
    progress = sys.stderr.isatty() and not args.no_progress
    common: dict[str, Any] = {
        "config": run.train,
        "params": BlendParams(**run.blend),
        "fixed": run.fixed,
        "calibrator": None if args.no_calibrate or args.stream_views else calibrate,
        "now": args.now,
        "progress": progress,
        "log": print,
        "check_views": lambda views: _check_volume(args, views),
        "mapper": mapper,
        "stream_views": args.stream_views,
        "spill_dir": args.spill_dir,
    }
    if args.incremental and not args.full:
        plan = plan_incremental(
            args.out,
            config=run.train if args.config else None,
            params=common["params"] if args.config else None,
            overrides={"max_invalid": args.max_invalid, "keep": args.keep},
            max_new_terms=args.max_new_terms,
            refit_after_days=args.refit_after,
            mapper=mapper,
        )
        common.update(
            config=plan.config, params=plan.params, calibrator=None, content_fitter=plan.fitter
        )
    views = args.views[0] if args.views and len(args.views) == 1 else args.views
    try:
        return _train(args, common, views, train)
    except ThinLogError as exc:
        print(exc, file=sys.stderr)
        return EXIT_GATE_REFUSED


def _check_volume(args: argparse.Namespace, views: Any) -> None:
    """The thin-log check: refuse before any model is fitted, unless --force."""
    from recommender.evaluation.gate import ThinLogError, log_volume

    thin = log_volume(args.out, views)
    if thin is None:
        return
    reason, version = thin
    if args.force:
        print(f"gate: {reason}; publishing anyway (--force)", file=sys.stderr)
        return
    raise ThinLogError(
        f"gate refused: {reason}. A bundle trained on it would replace a richer model: give "
        "every view source (--views history.csv --views events/), or --force to publish it "
        f"anyway. Nothing was written; LATEST still names {version}."
    )


def _train(args: argparse.Namespace, common: dict[str, Any], views: Any, train: Any) -> int:
    from recommender.incremental import describe

    gate = None
    if args.gate:
        from recommender.evaluation.gate import train_with_gate

        result, gate = train_with_gate(
            args.articles,
            views,
            args.out,
            tolerance=args.gate_tolerance,
            force=args.force,
            gate_log=lambda message: print(message, file=sys.stderr),
            **common,
        )
    else:
        result = train(args.articles, views, args.out, **common)
    if args.no_calibrate:
        print("calibration: off (--no-calibrate)")
    elif args.stream_views:
        print("calibration: off (--stream-views: it replays the whole log)")
    counts = result.manifest["counts"]
    published = gate is None or gate.published
    print(
        f"{'published' if published else 'wrote, NOT published'} {result.version} -> {result.path}"
    )
    print(table([(k, v) for k, v in counts.items()], ("count", "value")))
    print()
    total = sum(r.seconds for r in result.stages) or 1.0
    print(
        table(
            [
                (r.name, f"{r.seconds:.2f}", f"{100 * r.seconds / total:.0f}%", f"{r.peak_mib:.0f}")
                for r in result.stages
            ],
            ("stage", "seconds", "share", "peak MiB"),
        )
    )
    print(f"co-view: {result.manifest['coview']}")
    training = result.manifest.get("training")
    if training is None and args.full:
        training = {"mode": "full", "reason": "--full"}
    print(describe(training))
    if gate is not None:
        print(gate.message(), file=sys.stdout if gate.passed else sys.stderr)
        if not gate.passed:
            print(
                f"gate: {gate.reason}; "
                + (
                    "published anyway (--force)"
                    if gate.forced
                    else f"LATEST still names {gate.incumbent_version}"
                ),
                file=sys.stderr,
            )
            return EXIT_OK if gate.forced else EXIT_GATE_REFUSED
    return EXIT_OK
