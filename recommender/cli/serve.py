"""``newsrec serve``: run the HTTP service (``service/``) in a fresh interpreter."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from recommender.cli._args import positive_int
from recommender.cli.exits import EXIT_UNEXPECTED


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec serve``."""
    p = sub.add_parser(
        "serve",
        help="run the HTTP service under gunicorn",
        description="Start the Flask service (service.wsgi:app) under gunicorn. Settings come "
        "from NEWSREC_* environment variables; these flags override the common ones.",
        add_help=True,
    )
    p.add_argument("--models", type=Path, help="models directory (NEWSREC_MODELS_DIR)")
    p.add_argument("--host", default=None, help="bind address (NEWSREC_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=positive_int, default=None, help="port (NEWSREC_PORT, 8000)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="gunicorn workers (NEWSREC_WORKERS, default: 2 per core)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="demo mode: editor login demo/demo unless NEWSREC_EDITOR_* are set",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
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
