"""``newsrec import wordpress``: an articles file from a WordPress site."""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender.cli.exits import EXIT_OK
from recommender.sources.wordpress import import_rest_export
from recommender.sources.wordpress_db import import_database


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec import wordpress``."""
    p = sub.add_parser(
        "import",
        help="write an articles file from a CMS",
        description="Turn a CMS's content into the articles file 'newsrec train' reads.",
    )
    isub = p.add_subparsers(dest="import_source", required=True, metavar="SOURCE")
    wp = isub.add_parser(
        "wordpress",
        help="published posts of a WordPress site (database or REST export)",
        description="Write the published posts of a WordPress site as articles JSON Lines: "
        "from its MySQL/MariaDB database (--db) or from saved pages of /wp-json/wp/v2/posts "
        "(--rest-export; fetch them with ?_embed for author, category and tag names).",
    )
    source = wp.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--db", metavar="URL", help="mysql://user:password@host[:port]/database (read-only use)"
    )
    source.add_argument(
        "--rest-export",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="JSON files saved from /wp-json/wp/v2/posts?_embed",
    )
    wp.add_argument(
        "--table-prefix",
        default="wp_",
        help="$table_prefix from wp-config.php (default wp_; --db only)",
    )
    wp.add_argument("--out", type=Path, required=True, help="articles file to write (.jsonl)")
    wp.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.db is not None:
        summary = import_database(args.db, args.out, table_prefix=args.table_prefix)
    else:
        summary = import_rest_export(args.rest_export, args.out)
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.skipped.items()))
    print(
        f"wrote {summary.written} published posts to {summary.path}"
        + (f" (left out: {skipped})" if skipped else "")
    )
    for note in summary.notes:
        print(f"note: {note}")
    return EXIT_OK
