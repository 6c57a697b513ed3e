"""``newsrec convert-mind``: MIND's files into the files ``newsrec train`` reads."""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender.cli.exits import EXIT_OK

# The library is imported inside the handlers: ``newsrec`` builds every command's parser
# at start-up, and scikit-learn and pyarrow would cost every command seconds to import.


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec convert-mind``."""
    p = sub.add_parser(
        "convert-mind",
        help="turn MIND's news.tsv + behaviors.tsv into files newsrec train reads",
        description="Convert a MIND (Microsoft News Dataset) folder into articles.jsonl and "
        "views.csv. See recommender/sources/mind.py for the replay rule.",
    )
    p.add_argument("mind_dir", type=Path, help="folder with news.tsv and behaviors.tsv")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--include-history",
        action="store_true",
        help="also emit each user's click history as a session",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from recommender.sources.mind import convert_mind

    articles, views = convert_mind(args.mind_dir, args.out, include_history=args.include_history)
    print(f"wrote {articles} and {views}")
    return EXIT_OK
