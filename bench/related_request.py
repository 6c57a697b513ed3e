"""In-process cost of one whole ``related`` request, WSGI entry to JSON bytes.

Run from the repository root after ``bench/serve.py`` built its bundle (or give ``--models``)::

    .venv/bin/python bench/related_request.py --models bench/out/serve-20000/models

Builds the app as deployed (:func:`service.app.create_app` with default settings: the
in-process response cache, no Redis, no live layer) and calls it as gunicorn does, one WSGI
call per request, for ``--queries`` different articles (*cold*: every answer computed, a fresh
app per round) and then for 100 articles already answered (*warm*: the fast path's bytes).
Prints the median and p99 CPU time of a request in microseconds (the thread's CPU clock: on a
shared machine, wall time mostly measures the neighbours), the median over ``--repeats``
rounds.
``--profile`` instead prints the cProfile of one cold round (``--sort``, top ``--top``).

What :mod:`bench.related_compute` leaves out is here: the fast path, the snapshot, the cache
keys and lookups, the answer's cards and its JSON encoding.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.test import create_environ

from recommender.bundle import Bundle

ROOT = Path(__file__).resolve().parents[1]


def _app(models: Path) -> Callable[..., Any]:
    from service.app import create_app
    from service.settings import Settings

    env = {"NEWSREC_MODELS_DIR": str(models), "NEWSREC_LOG_LEVEL": "WARNING"}
    return create_app(Settings.from_env(env))


def _environs(ids: list[str]) -> list[dict[str, Any]]:
    return [create_environ(f"/v1/articles/{a}/related") for a in ids]


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    if not status.startswith("200"):
        raise RuntimeError(f"answered {status}")


def _round(app: Callable[..., Any], environs: list[dict[str, Any]]) -> list[float]:
    times = []
    for environ in environs:
        environ = dict(environ)
        start = time.thread_time()
        b"".join(app(environ, _start_response))
        times.append(time.thread_time() - start)
    return times


def _summary(rounds: list[list[float]]) -> tuple[float, float]:
    medians, p99s = [], []
    for times in rounds:
        times = sorted(times)
        medians.append(statistics.median(times))
        p99s.append(times[int(len(times) * 0.99)])
    return statistics.median(medians) * 1e6, statistics.median(p99s) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "bench/out/serve-20000/models")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    os.environ.pop("NEWSREC_REDIS_URL", None)
    ids = list(Bundle.load_latest(args.models).meta("id"))
    random.Random(0).shuffle(ids)
    cold = _environs(ids[1 : args.queries + 1])
    warm = cold[:100]
    print(f"{len(ids):,} articles, {len(cold):,} cold queries, {args.repeats} rounds")
    if args.profile:
        app = _app(args.models)
        _round(app, cold[-50:])  # first-call state (memoised per bundle) out of the profile
        profile = cProfile.Profile()
        profile.enable()
        _round(app, cold[:-50])
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
        return 0
    cold_rounds, warm_rounds = [], []
    for _ in range(args.repeats):
        app = _app(args.models)
        _round(app, [create_environ(f"/v1/articles/{ids[0]}/related")])  # per-bundle state
        cold_rounds.append(_round(app, cold))
        _round(app, warm)
        warm_rounds.append(_round(app, warm * 10))
    for name, rounds in (("cold (uncached)", cold_rounds), ("warm (cached)", warm_rounds)):
        median, p99 = _summary(rounds)
        print(f"related {name:16s} median {median:6.0f} us  p99 {p99:6.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
