"""What editorial rules cost the public API: the per-request check and applying rules.

Run from the repository root::

    .venv/bin/python bench/rules.py            # about 20 s; writes bench/RESULTS-rules.md

Measured in one process on a generated catalogue (``newsrec generate-sample`` + ``train``,
reused from ``bench/out/rules-<N>/``):

1. ``RulesStore.active()`` + its cache-key part, the work every related and most-viewed
   request adds: without a rules file, with a file of 200 rules; and, for scale, re-reading
   the rules after a change (what one request pays once per change); the same check on the
   PostgreSQL store (``NEWSREC_RULES_URL``, a scratch database on ``--postgres``) and how long
   a change made through one store takes to reach another;
2. a cached ``GET /v1/articles/{id}/related`` through Flask's test client, with and without
   the rules store (the hot path);
3. an uncached ``related_response`` for an article with a pin and a block, against the same
   article without rules.

Every figure is the median of 7 repeats (pairs interleaved); ratios are against the baseline
measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "RESULTS-rules.md"
REPEATS = 7


def _time(fn: Callable[[], object], number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - started) / number


def _per_call(fn: Callable[[], object], number: int) -> float:
    """Median seconds per call over REPEATS runs of ``number`` calls."""
    return statistics.median(_time(fn, number) for _ in range(REPEATS))


def _pair(
    baseline: Callable[[], object], other: Callable[[], object], number: int
) -> tuple[float, float]:
    """Medians of both, runs interleaved so that a busy machine slows both alike."""
    runs = [(_time(baseline, number), _time(other, number)) for _ in range(REPEATS)]
    return statistics.median(a for a, _ in runs), statistics.median(b for _, b in runs)


def _bundle(articles: int) -> Path:
    out = ROOT / "bench" / "out" / f"rules-{articles}"
    models = out / "models"
    if not (models / "LATEST").exists():
        newsrec = str(ROOT / ".venv" / "bin" / "newsrec")
        data = out / "data"
        generate = f"generate-sample --articles {articles} --days 20 --out {data}"
        subprocess.run([newsrec, *generate.split()], check=True)
        train = f"train --articles {data}/articles.jsonl --views {data}/views.csv --out {models}"
        subprocess.run([newsrec, *train.split()], check=True, stdout=subprocess.DEVNULL)
    return models


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server to measure the multi-host store on (a scratch database is "
        "created and dropped); 'none' skips it",
    )
    args = parser.parse_args()

    from recommender.bundle import Bundle
    from service.app import create_app
    from service.editorial.rules import NewRule
    from service.editorial.sqlite_store import RulesStore
    from service.params import RelatedParams
    from service.ranking import RankingOptions, related_response
    from service.settings import Settings

    models = _bundle(args.articles)
    bundle = Bundle.load_latest(models)
    ids = bundle.meta("id")
    query, pinned, blocked = ids[0], ids[10], ids[20]
    rows: list[tuple[str, float, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        empty = RulesStore(Path(tmp) / "none.sqlite3")
        t_empty = _per_call(lambda: empty.active().key, 20_000)
        store = RulesStore(Path(tmp) / "rules.sqlite3")
        for i in range(200):  # rules on other articles: the common case of a list
            store.create(
                NewRule(
                    kind="pin" if i % 2 else "block",
                    target_id=ids[100 + i],
                    article_id=ids[300 + i],
                    slot=1 if i % 2 else None,
                    author="bench",
                    note="bench",
                )
            )
        t_check = _per_call(lambda: store.active().key, 20_000)

        def reload() -> None:
            store._data_version = None  # as after a change by another worker
            store.active()

        t_reload = _per_call(reload, 200)
        rows += [
            ("per request: no rules file (stat)", t_empty, "baseline"),
            ("per request: 200 rules, unchanged (PRAGMA data_version)", t_check, ""),
            ("once per change: re-read 200 rules", t_reload, ""),
        ]

        def client(rules: bool) -> Callable[[], object]:
            settings = Settings(models_dir=models, rules_db=Path(tmp) / "rules.sqlite3")
            app = create_app(settings)
            if not rules:
                app.extensions["newsrec"].rules = None
            test = app.test_client()
            url = f"/v1/articles/{query}/related"
            test.get(url)  # fill the cache
            return lambda: test.get(url).close()

        t_plain, t_rules = _pair(client(False), client(True), 2000)
        rows += [
            ("cached GET related, no rules store", t_plain, "baseline"),
            (
                "cached GET related, rules store with 200 rules",
                t_rules,
                f"{t_rules / t_plain:.2f}x",
            ),
        ]

        page_store = RulesStore(Path(tmp) / "page.sqlite3")
        page_store.create(
            NewRule(kind="pin", target_id=pinned, article_id=query, slot=2, author="b", note="b")
        )
        page_store.create(
            NewRule(kind="block", target_id=blocked, article_id=query, author="b", note="b")
        )
        active = page_store.active()
        options = RankingOptions()
        params = RelatedParams(n=6, explain=True)
        t_organic, t_ruled = _pair(
            lambda: related_response(bundle, query, params, options),
            lambda: related_response(bundle, query, params, options, active),
            300,
        )
        rows += [
            ("uncached related_response, no rules", t_organic, "baseline"),
            (
                "uncached related_response, a pin and a block",
                t_ruled,
                f"{t_ruled / t_organic:.2f}x",
            ),
        ]

    if args.postgres != "none":
        rows += _postgres_rows(args.postgres, ids)

    lines = [
        "## Editorial rules (issue 5)",
        "",
        f"Command: `.venv/bin/python bench/rules.py --articles {args.articles}` "
        f"({dt.date.today().isoformat()}, Python {platform.python_version()}, "
        f"{platform.machine()}); medians of {REPEATS} repeats, one process.",
        "",
        "| What | Median per call | Ratio |",
        "|---|---|---|",
    ]
    for name, seconds, note in rows:
        lines.append(f"| {name} | {seconds * 1e6:.1f} µs | {note} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    args.results.write_text(text)
    return 0


def _postgres_rows(admin_url: str, ids: list[str]) -> list[tuple[str, float, str]]:
    """The PostgreSQL store (``NEWSREC_RULES_URL``): its per-request cost, and how long a change
    made through one store (one host) takes to reach another's ``active()``."""
    import os

    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from service.editorial.postgres_store import PostgresRulesStore
    from service.editorial.rules import NewRule

    name = f"newsrec_bench_rules_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = make_conninfo("", **{**conninfo_to_dict(admin_url), "dbname": name})
    here, there = PostgresRulesStore(url), PostgresRulesStore(url)
    try:
        for i in range(200):
            here.create(
                NewRule(
                    kind="pin" if i % 2 else "block",
                    target_id=ids[100 + i],
                    article_id=ids[300 + i],
                    slot=1 if i % 2 else None,
                    author="bench",
                    note="bench",
                )
            )
        t_check = _per_call(lambda: there.active().key, 20_000)
        delays = []
        for i in range(REPEATS):
            rule = here.create(
                NewRule(kind="block", target_id=ids[600 + i], author="bench", note="bench")
            )
            started = time.perf_counter()
            while not any(r.id == rule.id for r in there.book().rules):
                time.sleep(0.0005)
            delays.append(time.perf_counter() - started)
        return [
            ("PostgreSQL store: per request, 200 rules, unchanged (no I/O)", t_check, ""),
            (
                "PostgreSQL store: a change through one store seen by another (NOTIFY)",
                statistics.median(delays),
                "",
            ),
        ]
    finally:
        here.close()
        there.close()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
