"""``newsrec models``: list the bundles of a models directory, or roll back to one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from recommender.cli._args import table
from recommender.cli.exits import EXIT_OK

# The library is imported inside the handlers: ``newsrec`` builds every command's parser
# at start-up, and scikit-learn and pyarrow would cost every command seconds to import.


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec models list`` and ``newsrec models rollback``."""
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
    ls.set_defaults(handler=_list)
    rb = msub.add_parser("rollback", help="point LATEST at an older bundle (checked first)")
    rb.add_argument("version", help="a version from 'newsrec models list'")
    rb.set_defaults(handler=_rollback)


def _list(args: argparse.Namespace) -> int:
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
            table(
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


def _rollback(args: argparse.Namespace) -> int:
    from recommender.bundle import rollback

    rollback(args.models, args.version)
    print(f"LATEST -> {args.version}")
    return EXIT_OK
