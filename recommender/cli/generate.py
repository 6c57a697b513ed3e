"""``newsrec generate-sample``: deterministic news-like sample data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recommender.cli._args import datetime_or_now_arg, non_negative_int, positive_int
from recommender.cli.exits import EXIT_OK

# The library is imported inside the handlers: ``newsrec`` builds every command's parser
# at start-up, and scikit-learn and pyarrow would cost every command seconds to import.


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec generate-sample``."""
    p = sub.add_parser(
        "generate-sample",
        help="write deterministic news-like sample data",
        description="Generate articles.jsonl, views.csv and topics.csv (ground truth) in --out.",
    )
    p.add_argument("--articles", type=positive_int, default=3000, help="articles (default 3000)")
    p.add_argument("--days", type=positive_int, default=30, help="days covered (default 30)")
    p.add_argument(
        "--sessions",
        type=positive_int,
        default=None,
        help="reader sessions (default: 20 per article)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--words", type=positive_int, default=400, help="words per article body (default 400)"
    )
    p.add_argument(
        "--now",
        type=datetime_or_now_arg,
        default=None,
        help="end of the period, ISO 8601, or 'now' for the clock (make demo: the demo's "
        "24-hour windows then have views; default 2026-11-01T12:00:00Z, so the output does "
        "not depend on the clock)",
    )
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from recommender.sources.sample import generate_sample

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
