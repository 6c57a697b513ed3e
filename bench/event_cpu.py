"""In-process CPU per ``POST /v1/events`` (views, impressions, clicks; single and batched),
of one or several work trees, in interleaved rounds.

Run from the repository root (Redis at 127.0.0.1:6379; the bundle of ``bench/ingest.py``)::

    .venv/bin/python bench/event_cpu.py --trees /work/wt-before . [--rounds 5] [--profile]

Each tree measures itself in a fresh process (``cwd`` the tree, its ``service`` package first
on the path, this interpreter): the app is built by ``create_app`` with ``bench/ingest.py``'s
settings (Redis on ``--redis-db``, flushed first, the event log and ``PROMETHEUS_MULTIPROC_DIR``
on, as under ``python -m service``), and the same bodies ``bench/ingest.py`` posts (a browser
user agent, every event a new session; impressions and clicks of the ``most-viewed`` list) go
through ``app.wsgi_app`` directly: no gunicorn, no sockets of HTTP, no wrk. Per request it
reports the process's CPU time (user + system) and, separately, redis-server's (from ``INFO
cpu``; other clients of the same Redis add to it). Rounds alternate the trees, so both see
the same load; medians over rounds. Sync workers answer one request at a time, so a
worker's CPU per request bounds what it can ingest; gunicorn's own cost per request comes on
top (``GET /healthz``'s in ``bench/ingest.py``).

``--profile`` prints, for the last tree, cProfile's top functions of a single view, impression
and click.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "bench" / "out" / "ingest-5000" / "models"
CASES = (("view", 1), ("impression", 1), ("click", 1), ("view", 100), ("impression", 100))

_CHILD = r"""
import cProfile, hashlib, io, json, os, pstats, sys, tempfile, time
sys.path.insert(0, os.getcwd())
models, redis_url, requests, profile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cases = json.loads(sys.argv[5])
work = tempfile.mkdtemp(prefix="newsrec-event-cpu-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(dir=work)
os.environ.update({
    "NEWSREC_MODELS_DIR": models, "NEWSREC_REDIS_URL": redis_url,
    "NEWSREC_SESSION_KEY": "bench-session-key-0123456789",
    "NEWSREC_EVENT_LOG_DIR": work + "/events", "NEWSREC_LOG_LEVEL": "ERROR",
    "NEWSREC_DEDUP_MINUTES": "1", "NEWSREC_RULES_DB": work + "/rules.sqlite3",
    "NEWSREC_SECRET_KEY": "bench-secret-key-0123456789",
})
import redis
client = redis.Redis.from_url(redis_url)
client.flushdb()
from service.app import create_app
from service.settings import Settings
app = create_app(Settings.from_env())
from recommender.bundle import Bundle
bundle = Bundle.load_latest(models)  # either bundle format
meta = {"id": bundle.meta("id"), "status": bundle.meta("status")}
ids = [i for i, s in zip(meta["id"], meta["status"]) if s == "published"]
code = hashlib.sha256(b"\0most-viewed").hexdigest()[:6]
agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
counter = 0
def body(kind, batch):
    global counter
    events = []
    for _ in range(batch):
        counter += 1
        extra = "" if kind == "view" else (
            f',"type":"{kind}","list_id":"{code}{"0" * 10}","position":{counter % 10 + 1}'
        )
        events.append(
            f'{{"article_id":"{ids[counter * 7919 % len(ids)]}","session_id":"w-{counter}"{extra}}}'
        )
    return (events[0] if batch == 1 else "[" + ",".join(events) + "]").encode()
def post(data):
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/v1/events", "QUERY_STRING": "",
        "CONTENT_TYPE": "text/plain;charset=UTF-8", "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data), "HTTP_USER_AGENT": agent, "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "bench", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    status = []
    b"".join(app.wsgi_app(environ, lambda s, h, e=None: status.append(s)))
    assert status[0].startswith("202"), status
def redis_cpu():
    info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]
out = {}
for kind, batch in cases:
    n = max(requests // batch, 30)
    bodies = [body(kind, batch) for _ in range(n + 50)]
    for data in bodies[:50]:
        post(data)
    r0, c0 = redis_cpu(), time.process_time()
    for data in bodies[50:]:
        post(data)
    c1, r1 = time.process_time(), redis_cpu()
    out[f"{kind} x{batch}"] = {"service_us": 1e6 * (c1 - c0) / n, "redis_us": 1e6 * (r1 - r0) / n}
if profile == "1":
    for kind in ("view", "impression", "click"):
        bodies = [body(kind, 1) for _ in range(2000)]
        prof = cProfile.Profile()
        prof.enable()
        for data in bodies:
            post(data)
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(15)
        print(f"--- {kind}, single events, by own time", file=sys.stderr)
        print(text.getvalue(), file=sys.stderr)
client.flushdb()
print(json.dumps(out))
"""


def measure(tree: Path, args: argparse.Namespace, profile: bool) -> dict[str, dict[str, float]]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(args.models),
            f"redis://127.0.0.1:6379/{args.redis_db}",
            str(args.requests),
            "1" if profile else "0",
            json.dumps(CASES),
        ],
        cwd=tree,
        env={k: v for k, v in os.environ.items() if not k.startswith(("NEWSREC_", "PROMETHEUS_"))},
        capture_output=True,
        text=True,
        check=True,
    )
    if profile:
        print(done.stderr, file=sys.stderr)
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", type=Path, nargs="+", default=[ROOT])
    parser.add_argument("--models", type=Path, default=MODELS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="single posts per case")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not (args.models / "LATEST").exists():
        sys.exit(f"no bundle in {args.models}: run bench/ingest.py once (it builds it)")
    trees = [tree.resolve() for tree in args.trees]
    runs: dict[Path, list[dict[str, dict[str, float]]]] = {tree: [] for tree in trees}
    loads = []
    for round_ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for tree in trees:
            print(f"round {round_ + 1} of {args.rounds}: {tree}", file=sys.stderr, flush=True)
            last = round_ == args.rounds - 1 and tree == trees[-1]
            runs[tree].append(measure(tree, args, args.profile and last))
    header = "| case | " + " | ".join(f"`{tree}` service / Redis us" for tree in trees)
    if len(trees) == 2:
        header += " | service ratio (2nd / 1st) |"
    lines = [
        f"Command: `python bench/event_cpu.py {' '.join(sys.argv[1:])}` "
        f"({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; 1-minute load average at the "
        f"rounds' starts {', '.join(f'{load:.2f}' for load in loads)}). CPU microseconds per "
        f"request, medians of {args.rounds} rounds.",
        "",
        header,
        "|---" * (len(trees) + 1 + (len(trees) == 2)) + "|",
    ]
    for kind, batch in CASES:
        case = f"{kind} x{batch}"
        cells = []
        medians = []
        for tree in trees:
            service = statistics.median(r[case]["service_us"] for r in runs[tree])
            redis_us = statistics.median(r[case]["redis_us"] for r in runs[tree])
            medians.append(service)
            cells.append(f"{service:,.0f} / {redis_us:,.0f}")
        row = f"| {case} | " + " | ".join(cells) + (" |" if len(trees) != 2 else "")
        if len(trees) == 2:
            row += f" | {medians[1] / medians[0]:.2f}x |"
        lines.append(row)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
