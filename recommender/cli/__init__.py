"""The ``newsrec`` command line: argparse only, one module per command or group.

``train`` (:mod:`~recommender.cli.train`), ``generate-sample``
(:mod:`~recommender.cli.generate`), ``models`` (:mod:`~recommender.cli.models`),
``convert-mind`` (:mod:`~recommender.cli.convert`), ``serve`` (:mod:`~recommender.cli.serve`),
``import wordpress`` (:mod:`~recommender.cli.wordpress`), ``evaluate`` and ``tune``
(:mod:`~recommender.cli.evaluation`). Every handler calls library functions with plain
arguments. Exit codes: :mod:`recommender.cli.exits` (0 success, 2 bad usage or bad data, 3
the promotion gate refused, 1 anything unexpected).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from recommender.cli import convert, evaluation, generate, models, serve, train, wordpress
from recommender.cli.exits import EXIT_INTERRUPTED, EXIT_USAGE
from recommender.errors import BundleError, DataError

COMMANDS = (
    train.add_parser,
    generate.add_parser,
    models.add_parser,
    convert.add_parser,
    serve.add_parser,
    wordpress.add_parser,
    evaluation.add_evaluate_parser,
    evaluation.add_tune_parser,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``newsrec`` parser with every command."""
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
    """Run ``newsrec`` with ``argv`` (default: the process's arguments); returns the exit code."""
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
        return EXIT_INTERRUPTED
