"""``newsrec models``: list the bundles of a models directory, roll back to one, prune."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from recommender.cli._args import positive_int, table
from recommender.cli.exits import EXIT_OK, EXIT_USAGE

# The library is imported inside the handlers: ``newsrec`` builds every command's parser
# at start-up, and scikit-learn and pyarrow would cost every command seconds to import.


def _add_models_option(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument(
        "--models", type=Path, default=default, help="models directory (default: models)"
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec models list``, ``newsrec models rollback`` and ``newsrec models prune``."""
    p = sub.add_parser(
        "models",
        help="list bundles, roll back to one, or prune",
        description="Manage the bundles in a models directory. --models DIR may come before "
        "or after the subcommand.",
    )
    _add_models_option(p, Path("models"))
    msub = p.add_subparsers(dest="models_command", required=True)
    ls = msub.add_parser(
        "list",
        help="bundles, newest last; * marks LATEST; exits 2 if LATEST's bundle is broken",
    )
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=_list)
    rb = msub.add_parser("rollback", help="point LATEST at an older bundle (checked first)")
    rb.add_argument("version", help="a version from 'newsrec models list'")
    rb.set_defaults(handler=_rollback)
    pr = msub.add_parser(
        "prune",
        help="remove old bundles and staging folders left by killed runs",
        description="Remove all but the --keep newest bundles (never the one LATEST names), "
        "and staging folders (.tmp-<version>-*) older than an hour that no running train holds.",
    )
    pr.add_argument(
        "--keep", type=positive_int, default=5, help="bundles to keep (default 5, as train)"
    )
    pr.set_defaults(handler=_prune)
    for child in (ls, rb, pr):
        # only set when given after the subcommand: it then overrides the one before it
        _add_models_option(child, argparse.SUPPRESS)


def _list(args: argparse.Namespace) -> int:
    import json

    from recommender.bundle import Bundle, latest_version, list_versions
    from recommender.errors import BundleError

    current = latest_version(args.models)
    versions = list_versions(args.models)
    if current is not None and current not in versions:
        versions.append(current)
    rows = []
    for version in versions:
        manifest: dict[str, Any] = {}
        error = None
        try:
            manifest = Bundle.load(args.models / version).manifest
        except BundleError as exc:
            error = str(exc)
        rows.append(
            {
                "version": version,
                "latest": version == current,
                "created_at": manifest.get("created_at"),
                "articles": manifest.get("n_articles"),
                "coview": manifest.get("has_coview"),
                "error": error,
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
                        r["created_at"] or "-",
                        "-" if r["articles"] is None else r["articles"],
                        "-" if r["error"] else ("yes" if r["coview"] else "no"),
                        f"broken: {r['error']}" if r["error"] else "ok",
                    )
                    for r in rows
                ],
                ("", "version", "created_at", "articles", "co-view", "status"),
            )
        )
    # the service refuses a broken LATEST: so does this check (cron, monitoring)
    return EXIT_USAGE if any(r["latest"] and r["error"] for r in rows) else EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    from recommender.bundle import rollback

    rollback(args.models, args.version)
    print(f"LATEST -> {args.version}")
    return EXIT_OK


def _prune(args: argparse.Namespace) -> int:
    from recommender.bundle import prune

    removed = prune(args.models, args.keep)
    for name in removed:
        print(f"removed {args.models / name}")
    if not removed:
        print(f"nothing to remove in {args.models}")
    return EXIT_OK
