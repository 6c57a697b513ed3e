"""The ``newsrec`` command line.

Exit codes: 0 success, 2 bad usage or bad data (a :class:`DataError`, a bad bundle), 3 the
promotion gate (``train --gate``) refused the new bundle, 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from recommender.errors import BundleError, DataError
from recommender.evaluate import add_parser as _add_evaluate
from recommender.tune import add_parser as _add_tune
from recommender.wordpress import add_parser as _add_import_wordpress

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_GATE_REFUSED = 0, 1, 2, 3


def _datetime(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def _non_negative_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def _table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- train -------------------------------------------------------------------------------


def _add_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        help="views file: events (session_id or user_id, article_id, timestamp) or "
        "counts (article_id, views, optional date); .jsonl or .csv, optionally .gz",
    )
    p.add_argument(
        "--out", type=Path, default=Path("models"), help="models directory (default: models)"
    )
    p.add_argument(
        "--config", type=Path, help="TOML file whose [train] table sets parameters (see README)"
    )
    p.add_argument(
        "--now",
        type=_datetime,
        help="end of the popularity windows, ISO 8601 (default: last view's time)",
    )
    p.add_argument(
        "--max-invalid",
        type=_non_negative_int,
        default=None,
        help="skip up to N bad rows per file, counted in the summary (default 0)",
    )
    p.add_argument(
        "--keep", type=_positive_int, default=None, help="bundles to keep in --out (default 5)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a TTY")
    p.add_argument(
        "--gate",
        action="store_true",
        help="promotion gate: publish only if hit rate at 10 on the last day's "
        "sessions has not dropped against LATEST (see recommender/gate.py)",
    )
    p.add_argument(
        "--gate-tolerance",
        type=_non_negative_float,
        default=0.02,
        metavar="X",
        help="absolute drop of hit rate at 10 the gate allows (default 0.02)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="with --gate: publish even if the gate refuses (the verdict is recorded)",
    )
    p.set_defaults(handler=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from recommender.train import TrainConfig, train

    overrides = {"max_invalid": args.max_invalid, "keep": args.keep}
    if args.config is not None:
        config = TrainConfig.from_toml(args.config, **overrides)
    else:
        config = TrainConfig(**{k: v for k, v in overrides.items() if v is not None})
    progress = sys.stderr.isatty() and not args.no_progress
    gate = None
    if args.gate:
        from recommender.gate import train_with_gate
        from recommender.tune import load_blend_params

        result, gate = train_with_gate(
            args.articles,
            args.views,
            args.out,
            config=config,
            now=args.now,
            progress=progress,
            params=load_blend_params(args.config) if args.config else None,
            tolerance=args.gate_tolerance,
            force=args.force,
            log=lambda message: print(message, file=sys.stderr),
        )
    else:
        result = train(
            args.articles, args.views, args.out, config=config, now=args.now, progress=progress
        )
    counts = result.manifest["counts"]
    published = gate is None or gate.published
    print(
        f"{'published' if published else 'wrote, NOT published'} {result.version} -> {result.path}"
    )
    print(_table([(k, v) for k, v in counts.items()], ("count", "value")))
    print()
    total = sum(r.seconds for r in result.stages) or 1.0
    print(
        _table(
            [
                (r.name, f"{r.seconds:.2f}", f"{100 * r.seconds / total:.0f}%", f"{r.peak_mib:.0f}")
                for r in result.stages
            ],
            ("stage", "seconds", "share", "peak MiB"),
        )
    )
    print(f"co-view: {result.manifest['coview']}")
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


# --- generate-sample ------------------------------------------------------------------------


def _add_generate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "generate-sample",
        help="write deterministic news-like sample data",
        description="Generate articles.jsonl, views.csv and topics.csv (ground truth) in --out.",
    )
    p.add_argument("--articles", type=_positive_int, default=3000, help="articles (default 3000)")
    p.add_argument("--days", type=_positive_int, default=30, help="days covered (default 30)")
    p.add_argument(
        "--sessions",
        type=_positive_int,
        default=None,
        help="reader sessions (default: 20 per article)",
    )
    p.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--words", type=_positive_int, default=400, help="words per article body (default 400)"
    )
    p.add_argument(
        "--now",
        type=_datetime,
        default=None,
        help="end of the period, ISO 8601 (default 2026-11-01T12:00:00Z)",
    )
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.set_defaults(handler=_cmd_generate)


def _cmd_generate(args: argparse.Namespace) -> int:
    from recommender.sample import generate_sample

    info = generate_sample(
        args.out,
        n_articles=args.articles,
        days=args.days,
        seed=args.seed,
        sessions=args.sessions,
        now=args.now,
        words_per_article=args.words,
        show_progress=sys.stderr.isatty(),
    )
    print(
        f"wrote {info.n_articles} articles, {info.n_events} views in {info.n_sessions} "
        f"sessions to {args.out} (period ends {info.now.isoformat()})"
    )
    return EXIT_OK


# --- models ----------------------------------------------------------------------------------


def _add_models(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "models",
        help="list bundles or roll back to one",
        description="Manage the bundles in a models directory.",
    )
    p.add_argument(
        "--models", type=Path, default=Path("models"), help="models directory (default: models)"
    )
    msub = p.add_subparsers(dest="models_command", required=True)
    ls = msub.add_parser("list", help="bundles, newest last; * marks LATEST")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=_cmd_models_list)
    rb = msub.add_parser("rollback", help="point LATEST at an older bundle (checked first)")
    rb.add_argument("version", help="a version from 'newsrec models list'")
    rb.set_defaults(handler=_cmd_models_rollback)


def _cmd_models_list(args: argparse.Namespace) -> int:
    from recommender.bundle import MANIFEST, latest_version, list_versions

    current = latest_version(args.models)
    rows = []
    for version in list_versions(args.models):
        manifest = json.loads((args.models / version / MANIFEST).read_text())
        rows.append(
            {
                "version": version,
                "latest": version == current,
                "created_at": manifest.get("created_at"),
                "articles": manifest.get("n_articles"),
                "coview": manifest.get("has_coview"),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no bundles in {args.models}")
    else:
        print(
            _table(
                [
                    (
                        "*" if r["latest"] else "",
                        r["version"],
                        r["created_at"],
                        r["articles"],
                        "yes" if r["coview"] else "no",
                    )
                    for r in rows
                ],
                ("", "version", "created_at", "articles", "co-view"),
            )
        )
    return EXIT_OK


def _cmd_models_rollback(args: argparse.Namespace) -> int:
    from recommender.bundle import rollback

    rollback(args.models, args.version)
    print(f"LATEST -> {args.version}")
    return EXIT_OK


# --- convert ---------------------------------------------------------------------------------


def _add_convert(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "convert-mind",
        help="turn MIND's news.tsv + behaviors.tsv into files newsrec train reads",
        description="Convert a MIND (Microsoft News Dataset) folder into articles.jsonl and "
        "views.csv. See recommender/mind.py for the replay rule.",
    )
    p.add_argument("mind_dir", type=Path, help="folder with news.tsv and behaviors.tsv")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--include-history",
        action="store_true",
        help="also emit each user's click history as a session",
    )
    p.set_defaults(handler=_cmd_convert_mind)


def _cmd_convert_mind(args: argparse.Namespace) -> int:
    from recommender.mind import convert_mind

    articles, views = convert_mind(args.mind_dir, args.out, include_history=args.include_history)
    print(f"wrote {articles} and {views}")
    return EXIT_OK


# --- serve -----------------------------------------------------------------------------------


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the HTTP service under gunicorn",
        description="Start the Flask service (service.wsgi:app) under gunicorn. Settings come "
        "from NEWSREC_* environment variables; these flags override the common ones.",
        add_help=True,
    )
    p.add_argument("--models", type=Path, help="models directory (NEWSREC_MODELS_DIR)")
    p.add_argument("--host", default=None, help="bind address (NEWSREC_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=_positive_int, default=None, help="port (NEWSREC_PORT, 8000)")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="gunicorn workers (NEWSREC_WORKERS, default: 2 per core)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="demo mode: editor login demo/demo unless NEWSREC_EDITOR_* are set",
    )
    p.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    # The service lives in its own package (it imports Flask); run it in a fresh interpreter so
    # this library never imports Flask or Redis.
    env = dict(os.environ)
    for flag, name in (
        ("models", "NEWSREC_MODELS_DIR"),
        ("host", "NEWSREC_HOST"),
        ("port", "NEWSREC_PORT"),
        ("workers", "NEWSREC_WORKERS"),
    ):
        value = getattr(args, flag)
        if value is not None:
            env[name] = str(value)
    if args.demo:
        env.setdefault("NEWSREC_DEMO", "1")
    os.execvpe(sys.executable, [sys.executable, "-m", "service"], env)
    return EXIT_UNEXPECTED  # pragma: no cover - exec does not return


COMMANDS = (
    _add_train,
    _add_generate,
    _add_models,
    _add_convert,
    _add_serve,
    _add_import_wordpress,
    _add_evaluate,
    _add_tune,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsrec",
        description="Related articles and most viewed for news sites: train models offline, "
        "serve them over HTTP.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except (DataError, BundleError) as exc:
        print(f"newsrec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("newsrec: interrupted; nothing was published", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
