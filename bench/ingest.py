"""Ingestion benchmark: ``POST /v1/events`` under wrk, and ``related``'s latency meanwhile.

Run from the repository root (Redis must run at 127.0.0.1:6379)::

    .venv/bin/python bench/ingest.py            # 3 repeats of 10 s per scenario

What it does:

1. builds (once; reused from ``bench/out/ingest-<N>/``) a bundle of N articles (default 5,000)
   with ``newsrec generate-sample --days 30`` and ``newsrec train``;
2. starts the service as deployed (``python -m service``: gunicorn sync workers, 4 of them)
   with ``NEWSREC_REDIS_URL`` on a Redis DB of its own (``--redis-db``, default 10, flushed
   before each scenario and at the end), a shared ``NEWSREC_SESSION_KEY`` and the event log in
   a temporary directory;
3. per repeat, loads it with wrk (Lua scripts POST JSON as ``text/plain``, like sendBeacon, with
   a browser user agent; every event a new session, so every event is counted):

   - *related idle*: ``GET /v1/articles/<id>/related`` over 100 warm articles, 4 connections
     each pausing 5 ms between requests (a steady light load, not a saturating one);
   - *single max* / *batch max*: single-event posts (32 connections) and batches of 100
     (16 connections) as fast as they go: events accepted per second;
   - *related + single* / *related + batch*: the same related load while single posts run at
     about 2,000 per second, then batches at about 200 per second (20,000 events per second),
     paced with wrk's ``delay()``; the related p99 is compared with the idle one.

4. prints medians and writes ``bench/RESULTS-ingest.md``. Exit status 0 when every target is
   met (2,000 single posts/s, 20,000 events/s in batches, related p99 within 2x idle).

Every wrk runs on the same two cores as the service and Redis: figures are lower bounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from _harness import free_port, idle_fraction, log
from _results import RESULTS_DIR, Figure, write_result

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS-ingest.md"
BIN = Path(sys.executable).parent
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
SINGLE_TARGET = 2_000.0
BATCH_TARGET = 20_000.0
P99_RATIO_TARGET = 2.0
#: Seconds to wait after a run before reading Redis's counts: the workers write theirs every
#: NEWSREC_LIVE_FLUSH_SECONDS (default 1 s).
FLUSH_WAIT = 2.0

RELATED_LUA = """\
local counter = 0
function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
end
function init(args)
  ids = {}
  for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
  position = first
end
function request()
  position = position + 1
  return wrk.format("GET", "/v1/articles/" .. ids[(position %% #ids) + 1] .. "/related")
end
function delay()
  return %(delay)d
end
"""

EVENTS_LUA = """\
-- every event a new session (thread, connection-independent counter), so none is deduplicated
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  ids = {}
  for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
  math.randomseed(tid * 7919 + 17)
  n = 0
  headers = {["Content-Type"] = "text/plain;charset=UTF-8", ["User-Agent"] = "%(agent)s"}
end
function request()
  local events = {}
  for i = 1, %(batch)d do
    n = n + 1
    events[i] = '{"article_id":"' .. ids[math.random(#ids)] .. '","session_id":"w' .. tid
      .. "-" .. n .. '"' .. %(extra)s .. '}'
  end
  local body = events[1]
  if %(batch)d > 1 then body = "[" .. table.concat(events, ",") .. "]" end
  return wrk.format("POST", "/v1/events", headers, body)
end
%(delay)s
"""


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    #: CPU microseconds per request of the service (gunicorn and workers) and of Redis
    cpu_us: float = 0.0


_LATENCY_RE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> WrkResult:
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if found is None or total is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    latency = {m[0]: float(m[1]) * _UNIT_MS[m[2]] for m in _LATENCY_RE.findall(output)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        rps=float(found.group(1)),
        p50_ms=latency["50"],
        p99_ms=latency["99"],
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def wrk_command(
    wrk: str, port: int, script: Path, *, threads: int, connections: int, duration: int
) -> list[str]:
    return [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/",
    ]


#: pids whose CPU time is charged to a run: the service (with its workers) and Redis
CHARGED: list[tuple[int, bool]] = []


def run_wrk(command: list[str]) -> WrkResult:
    before = sum(cpu_seconds(pid, children) for pid, children in CHARGED)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = parse_wrk(done.stdout)
    spent = sum(cpu_seconds(pid, children) for pid, children in CHARGED) - before
    result.cpu_us = 1e6 * spent / max(result.requests, 1)
    return result


def run_together(first: list[str], second: list[str]) -> tuple[WrkResult, WrkResult]:
    """Two wrk runs at once (the second started first, so the first sees it running)."""
    results: dict[int, WrkResult] = {}

    def run(index: int, command: list[str]) -> None:
        results[index] = run_wrk(command)

    background = threading.Thread(target=run, args=(1, second))
    background.start()
    time.sleep(0.5)
    run(0, first)
    background.join()
    return results[0], results[1]


def ensure_bundle(n_articles: int, days: int) -> Path:
    """A models directory with a LATEST bundle of ``n_articles``, built once and reused."""
    base = OUT / f"ingest-{n_articles}"
    data, models = base / "data", base / "models"
    if (models / "LATEST").exists():
        log(f"reusing the bundle in {models}")
        return models
    newsrec = str(BIN / "newsrec")
    log(f"generating {n_articles:,} articles over {days} days into {data}")
    subprocess.run(
        [
            *(newsrec, "generate-sample", "--articles", str(n_articles)),
            *("--days", str(days), "--out", str(data)),
        ],
        check=True,
    )
    log(f"training into {models}")
    subprocess.run(
        [
            *(newsrec, "train", "--articles", str(data / "articles.jsonl")),
            *("--views", str(data / "views.csv"), "--out", str(models), "--no-progress"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return models


class Service:
    """``python -m service`` on a free port, stopped by its pid."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSREC_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=ROOT,
            env={**clean, **env, "NEWSREC_PORT": str(self.port), "NEWSREC_HOST": "127.0.0.1"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(self.port, process=self.process)
        except RuntimeError:
            raise RuntimeError(f"the service did not start; see {log_path}") from None

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            conn.close()
            return response.status, body
        except OSError:
            return 0, b""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def proc_stats() -> dict[int, list[str]]:
    """Every process's ``/proc/<pid>/stat`` fields after the command name (ppid first)."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        stats[int(stat.parent.name)] = text[text.rindex(")") + 2 :].split()
    return stats


def cpu_seconds(root_pid: int, with_children: bool) -> float:
    """User and system CPU seconds of a process (and its live children) so far."""
    pids = {root_pid}
    stats = proc_stats()
    if with_children:
        pids |= {pid for pid, fields in stats.items() if int(fields[1]) == root_pid}
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(stats[p][11]) + int(stats[p][12]) for p in pids if p in stats) / ticks


def wait_for_idle(minutes: float, threshold: float = 0.8) -> float:
    """Wait up to ``minutes`` until the cores are at least ``threshold`` idle; the last share."""
    deadline = time.monotonic() + minutes * 60
    while True:
        idle = idle_fraction()
        if idle >= threshold or time.monotonic() > deadline:
            log(f"cores {idle:.0%} idle: starting")
            return idle
        log(f"cores {idle:.0%} idle: waiting for other work to finish")
        time.sleep(10)


def event_fields(kind: str) -> str:
    """Lua appending an impression's or click's fields to an event (views: none). The list is
    one of ``most-viewed`` (its list id: the variant's code, any list part)."""
    if kind == "view":
        return "''"
    code = hashlib.sha256(b"\0most-viewed").hexdigest()[:6]
    return f'\',"type":"{kind}","list_id":"{code}{"0" * 10}","position":\' .. (n % 10 + 1)'


def counted_interactions(client: redis.Redis) -> int:
    """Impressions and clicks in the tallies of every day."""
    return sum(
        int(value) for key in client.scan_iter(match="nr:live:x:*") for value in client.hvals(key)
    )


def counted_today(client: redis.Redis) -> int:
    """Views in today's (and yesterday's, around midnight) day buckets."""
    now = time.time()
    total = 0.0
    for stamp in (now, now - 86_400):
        key = "nr:live:d:" + time.strftime("%Y%m%d", time.gmtime(stamp))
        total += sum(score for _, score in client.zrange(key, 0, -1, withscores=True))
    return int(total)


#: Impressions and clicks have their sections after the views' one.
KIND_HEADING = "## Impressions and clicks"
VIEWS_HEADING = "## Ingestion (issue 4)"


def results_file(section: str, kind: str, path: Path = RESULTS) -> str:
    """RESULTS-ingest.md (``path``) with ``section`` in place: the views' section first, then
    one per kind of list event, each replaced by its own next run; any other ``## `` section
    (written by hand: comparisons, notes) is kept after them."""
    old = path.read_text() if path.exists() else ""
    views, kinds, others = "", {}, []
    for part in re.split(r"\n(?=## )", "\n" + old):
        if not part.strip():
            continue
        if part.startswith(f"{KIND_HEADING} ("):
            kinds[part[len(KIND_HEADING) + 2 :].split("s,", 1)[0]] = part
        elif part.startswith(VIEWS_HEADING):
            views = part
        else:
            others.append(part)
    if kind == "view":
        views = section
    else:
        kinds[kind] = section
    out = views.rstrip("\n") + "\n"
    for name in ("impression", "click"):
        if name in kinds:
            out += "\n" + kinds[name].rstrip("\n") + "\n"
    for part in others:
        out += "\n" + part.rstrip("\n") + "\n"
    return out.lstrip("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument(
        "--kind",
        choices=("view", "impression", "click"),
        default="view",
        help="the events posted: views (default), or impressions or clicks of a list "
        "(positions 1 to 10; results in their own section of RESULTS-ingest.md)",
    )
    parser.add_argument(
        "--wait", type=float, default=3.0, help="minutes to wait for idle cores (default 3)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS_DIR / "ingest.json",
        help="the headline figures for bench/summary.py (default: bench/results/ingest.json)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="the detailed report (Markdown)"
    )
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    client = redis.Redis.from_url(redis_url)
    client.ping()
    models = ensure_bundle(args.articles, args.days)
    from recommender.bundle import Bundle

    bundle = Bundle.load_latest(models)  # either bundle format
    meta = {"id": bundle.meta("id"), "status": bundle.meta("status")}
    # views of unpublished articles are refused (400): post only published ones
    ids = [i for i, status in zip(meta["id"], meta["status"], strict=True) if status == "published"]
    work = Path(tempfile.mkdtemp(prefix="newsrec-ingest-"))
    (work / "ids.txt").write_text("\n".join(ids) + "\n")
    (work / "warm.txt").write_text("\n".join(ids[::50][:100]) + "\n")

    def script(name: str, template: str, **values: object) -> Path:
        path = work / f"{name}.lua"
        path.write_text(template % values)
        return path

    related = script("related", RELATED_LUA, ids=work / "warm.txt", delay=5)
    events: dict[str, Path] = {}
    for name, batch, pace in (
        ("single-max", 1, ""),
        ("batch-max", 100, ""),
        ("single-paced", 1, "function delay()\n  return 10\nend"),
        ("batch-paced", 100, "function delay()\n  return 20\nend"),
    ):
        events[name] = script(
            name,
            EVENTS_LUA,
            ids=work / "ids.txt",
            agent=BROWSER,
            batch=batch,
            delay=pace,
            extra=event_fields(args.kind),
        )
    env = {
        "NEWSREC_MODELS_DIR": str(models),
        "NEWSREC_WORKERS": str(args.workers),
        "NEWSREC_REDIS_URL": redis_url,
        "NEWSREC_SESSION_KEY": "bench-session-key-0123456789",
        "NEWSREC_EVENT_LOG_DIR": str(work / "events"),
        "NEWSREC_LOG_LEVEL": "WARNING",
        # every event is a new session: short dedup keys keep Redis small between runs
        "NEWSREC_DEDUP_MINUTES": "1",
        "NEWSREC_RULES_DB": str(work / "rules.sqlite3"),
    }
    command_line = "python bench/ingest.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    d = args.duration
    results: dict[str, list[WrkResult]] = {}
    counted: list[tuple[int, int]] = []  # (events wrk sent with a 202, views Redis counted)
    client.flushdb()
    idle_before = wait_for_idle(args.wait)
    load_before = os.getloadavg()[0]
    service = Service(env, work / "service.log")
    CHARGED[:] = [
        (service.process.pid, True),
        (int(client.info("server")["process_id"]), False),
    ]
    healthz = script("healthz", 'wrk.method = "GET"\nwrk.path = "/healthz"\n')
    try:
        for path in [f"/v1/articles/{i}/related" for i in ids[::50][:100]]:
            service.get(path)
        for repeat in range(args.repeats):
            log(f"repeat {repeat + 1} of {args.repeats}")

            def related_cmd() -> list[str]:
                return wrk_command(wrk, service.port, related, threads=1, connections=4, duration=d)

            results.setdefault("healthz max", []).append(
                run_wrk(
                    wrk_command(wrk, service.port, healthz, threads=2, connections=32, duration=d)
                )
            )
            results.setdefault("related idle", []).append(run_wrk(related_cmd()))
            for name, batch, connections in (("single", 1, 32), ("batch", 100, 16)):
                client.flushdb()
                result = run_wrk(
                    wrk_command(
                        wrk,
                        service.port,
                        events[f"{name}-max"],
                        threads=2,
                        connections=connections,
                        duration=d,
                    )
                )
                results.setdefault(f"{name} max", []).append(result)
                time.sleep(FLUSH_WAIT)  # the workers write their counts every second
                found = (
                    counted_today(client) if args.kind == "view" else counted_interactions(client)
                )
                counted.append(((result.requests - result.non_2xx) * batch, found))
            for name, connections in (("single", 24), ("batch", 5)):
                client.flushdb()
                ingest = wrk_command(
                    wrk,
                    service.port,
                    events[f"{name}-paced"],
                    threads=1,
                    connections=connections,
                    duration=d + 1,
                )
                with_load, paced = run_together(related_cmd(), ingest)
                results.setdefault(f"related + {name}", []).append(with_load)
                results.setdefault(f"{name} paced", []).append(paced)
    finally:
        service.stop()
    # The same load with view beacons sent to a pool of their own (NEWSREC_EVENTS_PORT), the
    # same number of workers in all: half for pages, half for events.
    page_workers = max(1, args.workers // 2)
    events_port = free_port()
    split_env = {
        **env,
        "NEWSREC_WORKERS": str(page_workers),
        "NEWSREC_EVENTS_PORT": str(events_port),
        "NEWSREC_EVENTS_WORKERS": str(max(1, args.workers - page_workers)),
    }
    # The baseline of the same run: the same pool with each request's counters written in
    # its own script (NEWSREC_LIVE_FLUSH_SECONDS=0, the behaviour before buffered counts).
    for label, extra in (
        ("pool", {}),
        ("pool, counters per request", {"NEWSREC_LIVE_FLUSH_SECONDS": "0"}),
    ):
        client.flushdb()
        service = Service({**split_env, **extra}, work / f"service-{len(extra)}.log")
        try:
            wait_ready(events_port)
            CHARGED[:] = [
                (service.process.pid, True),
                *((pid, True) for pid in child_pids(service.process.pid)),
                (int(client.info("server")["process_id"]), False),
            ]
            for path in [f"/v1/articles/{i}/related" for i in ids[::50][:100]]:
                service.get(path)
            kinds = ("single", "batch") if not extra else ("batch",)
            for repeat in range(args.repeats):
                log(f"{label}: repeat {repeat + 1} of {args.repeats}")
                related_split = wrk_command(
                    wrk, service.port, related, threads=1, connections=4, duration=d
                )
                results.setdefault(f"{label}: related idle", []).append(run_wrk(related_split))
                for name in kinds:
                    connections = 24 if name == "single" else 5
                    client.flushdb()
                    ingest = wrk_command(
                        wrk,
                        events_port,
                        events[f"{name}-paced"],
                        threads=1,
                        connections=connections,
                        duration=d + 1,
                    )
                    with_load, paced = run_together(related_split, ingest)
                    results.setdefault(f"{label}: related + {name}", []).append(with_load)
                    results.setdefault(f"{label}: {name} paced", []).append(paced)
        finally:
            service.stop()
    client.flushdb()
    shutil.rmtree(work, ignore_errors=True)

    def median(name: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results[name])

    idle_p99 = median("related idle", "p99_ms")
    single = median("single max", "rps")
    batch = 100 * median("batch max", "rps")
    ratios = {
        name: median(f"related + {name}", "p99_ms") / idle_p99 for name in ("single", "batch")
    }
    pool_idle_p99 = median("pool: related idle", "p99_ms")
    pool_ratios = {
        name: median(f"pool: related + {name}", "p99_ms") / pool_idle_p99
        for name in ("single", "batch")
    }
    base = "pool, counters per request"
    sync_ratio = median(f"{base}: related + batch", "p99_ms") / median(
        f"{base}: related idle", "p99_ms"
    )
    scenarios = [
        ("healthz max", 0, None),
        ("related idle", 0, None),
        ("single max", 1, None),
        ("batch max", 100, None),
        ("single paced", 1, None),
        ("related + single", 0, ratios["single"]),
        ("batch paced", 100, None),
        ("related + batch", 0, ratios["batch"]),
        ("pool: related idle", 0, None),
        ("pool: single paced", 1, None),
        ("pool: related + single", 0, pool_ratios["single"]),
        ("pool: batch paced", 100, None),
        ("pool: related + batch", 0, pool_ratios["batch"]),
        (f"{base}: related idle", 0, None),
        (f"{base}: batch paced", 100, None),
        (f"{base}: related + batch", 0, sync_ratio),
    ]
    checks = [
        (
            f"single-event posts/s >= {SINGLE_TARGET:,.0f}",
            f"{single:,.0f}",
            single >= SINGLE_TARGET,
        ),
        (
            f"events/s in batches of 100 >= {BATCH_TARGET:,.0f}",
            f"{batch:,.0f}",
            batch >= BATCH_TARGET,
        ),
    ]
    for name in ("single", "batch"):
        paced_events = median(f"{name} paced", "rps") * (1 if name == "single" else 100)
        checks.append(
            (
                f"related p99 during {name} ingestion ({paced_events:,.0f} events/s) "
                f"<= {P99_RATIO_TARGET:g}x idle",
                f"{ratios[name]:.2f}x",
                ratios[name] <= P99_RATIO_TARGET,
            )
        )
    for name in ("single", "batch"):
        paced_events = median(f"pool: {name} paced", "rps") * (1 if name == "single" else 100)
        checks.append(
            (
                f"with an events pool: related p99 during {name} ingestion "
                f"({paced_events:,.0f} events/s) <= {P99_RATIO_TARGET:g}x idle",
                f"{pool_ratios[name]:.2f}x",
                pool_ratios[name] <= P99_RATIO_TARGET,
            )
        )
    errors = sum(r.non_2xx + r.socket_errors for rs in results.values() for r in rs)
    title = (
        f"{VIEWS_HEADING}: POST /v1/events, and related's latency meanwhile"
        if args.kind == "view"
        else f"{KIND_HEADING} ({args.kind}s, issue 18)"
    )
    what = (
        ""
        if args.kind == "view"
        else f" Every event is a{'n' if args.kind == 'impression' else ''} {args.kind} of "
        "the `most-viewed` list (position 1 to 10), so it goes through the list checks and "
        "`record_interactions` instead of the view counters: its dedup keys decided in the "
        "request's round trip, the tally increments buffered like the views' (with "
        "`NEWSREC_LIVE_FLUSH_SECONDS=0`, *counters per request*: the tally script per "
        "request)."
    )
    lines = [
        title,
        "",
        f"Command: `{command_line}` ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; 1-minute load average "
        f"{load_before:.2f} before the run and {os.getloadavg()[0]:.2f} after it, cores "
        f"{idle_before:.0%} idle just before: anything much above 1 or below ~90% means other "
        "work shared the cores).",
        "",
        f"Service: `python -m service`, {args.workers} sync workers, NEWSREC_REDIS_URL on Redis "
        f"DB {args.redis_db} (flushed before each ingestion run), event log on, bundle of "
        f"{args.articles:,} articles (`newsrec generate-sample --articles {args.articles} --days "
        f"{args.days}` + `newsrec train`). wrk on the same cores, {args.repeats} repeats of "
        f"{d} s, medians. Events: JSON sent as text/plain (as sendBeacon sends it), a browser "
        "user agent, published articles at random, every event a new session (all counted). "
        "*healthz max*: `GET /healthz`, the floor of any Flask route in this run. *related*: "
        "100 warm articles, 1 thread, 4 connections pausing 5 ms between requests. *max*: wrk "
        "without pauses (32 connections for single events, 16 for batches). *paced*: single "
        "posts at up to ~2,000/s (24 connections, 10 ms pauses), batches at up to ~200/s (5 "
        "connections, 20 ms pauses), while the related load runs. *CPU*: user + system time "
        "of gunicorn (master and workers) and of redis-server during the run, per request; "
        "unlike req/s it hardly moves when other work shares the machine. *pool:* the same "
        "related and paced loads against `python -m service` with "
        f"`NEWSREC_WORKERS={page_workers}` and an events pool of its own (`NEWSREC_EVENTS_PORT`, "
        f"`NEWSREC_EVENTS_WORKERS={max(1, args.workers - page_workers)}`): the events go to "
        "that port, as a proxy routing `/v1/events` there would send them. Counted views "
        "reach Redis's counters as buffered increments every second (the default "
        "`NEWSREC_LIVE_FLUSH_SECONDS=1`); *pool, counters per request*: the same pool with "
        "`NEWSREC_LIVE_FLUSH_SECONDS=0` (each request's increments in its own script, as "
        "before buffering), the baseline of this run for that change." + what,
        "",
        "| scenario | req/s | events/s | p50 ms | p99 ms | CPU us/request | CPU us/event "
        "| related p99 / idle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, per_request, ratio in scenarios:
        rps = median(name, "rps")
        cpu = median(name, "cpu_us")
        lines.append(
            f"| {name} | {rps:,.0f} | {f'{rps * per_request:,.0f}' if per_request else '-'} | "
            f"{median(name, 'p50_ms'):.2f} | {median(name, 'p99_ms'):.2f} | {cpu:,.0f} | "
            f"{f'{cpu / per_request:,.1f}' if per_request else '-'} | "
            f"{'-' if ratio is None else f'{ratio:.2f}x'} |"
        )
    floor = median("healthz max", "rps")
    floor_cpu = median("healthz max", "cpu_us")
    lines += [
        "",
        f"Against the Flask floor of this run (`GET /healthz`, {floor:,.0f} req/s, "
        f"{floor_cpu:,.0f} us CPU per request): single-event posts reach "
        f"{single / floor:.2f}x its req/s at {median('single max', 'cpu_us') / floor_cpu:.2f}x "
        f"its CPU per request; batches of 100 carry {batch / floor:.1f} events per healthz "
        "request. For scale: the project's reference figures (an idle machine of this kind) "
        "give a Flask route with one Redis GET ~5,200 req/s and a bare Flask route ~7,400.",
    ]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in checks]
    sent = sum(s for s, _ in counted)
    seen = sum(c for _, c in counted)
    lines += [
        "",
        f"Check: the max runs sent {sent:,} events answered 202; Redis's day buckets counted "
        f"{seen:,} {'views' if args.kind == 'view' else args.kind + 's'} "
        f"({seen / max(sent, 1):.1%}). Non-2xx answers and socket errors over "
        f"all runs: {errors}.",
        "",
        "Every run (req/s, p99 ms):",
        "",
    ]
    for name, rs in results.items():
        runs = "; ".join(f"{r.rps:,.0f} req/s, {r.p99_ms:.2f} ms" for r in rs)
        lines.append(f"- {name}: {runs}")
    text = "\n".join(lines) + "\n"
    print(text)
    args.results.write_text(results_file(text, args.kind, args.results))
    log(f"wrote {args.results}")
    if args.kind != "view":  # the headline figures (bench/summary.py) are the views'
        return 0 if all(ok for _, _, ok in checks) else 1
    single_cpu = median("single max", "cpu_us") / floor_cpu
    headline = [
        Figure(
            "ingest.batch",
            "4",
            "events in batches of 100",
            f">= {BATCH_TARGET:,.0f}/s",
            f"{batch:,.0f}/s ({batch / floor:.1f} events per `GET /healthz` of the same run)",
            batch >= BATCH_TARGET,
        ),
        Figure(
            "ingest.single",
            "4",
            "single-event posts",
            f">= {SINGLE_TARGET:,.0f}/s",
            f"{single:,.0f}/s ({single / floor:.2f}x `GET /healthz`'s req/s, {single_cpu:.2f}x "
            "its CPU per request, same run)",
            single >= SINGLE_TARGET,
        ),
    ]
    for name in ("single", "batch"):
        headline.append(
            Figure(
                f"ingest.pool-related-{name}",
                "4",
                f"`related` p99 during {name} ingestion against idle, views on a pool of their "
                "own (`NEWSREC_EVENTS_PORT`)",
                f"<= {P99_RATIO_TARGET:g}x",
                f"{pool_ratios[name]:.2f}x",
                pool_ratios[name] <= P99_RATIO_TARGET,
            )
        )
    write_result(
        "ingest",
        command_line,
        headline,
        load_before=load_before,
        idle_before=idle_before,
        path=args.json,
    )
    return 0 if all(ok for _, _, ok in checks) else 1


def wait_ready(
    port: int, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until ``/readyz`` on ``port`` answers 200 (``process`` exiting ends the wait)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"nothing ready on port {port}")
        time.sleep(0.05)


def child_pids(parent: int) -> list[int]:
    """Processes whose parent is ``parent`` and that run ``-m service`` (the events pool)."""
    found = []
    for pid, fields in proc_stats().items():
        if int(fields[1]) != parent:
            continue
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"service" in args and b"-m" in args:
            found.append(pid)
    return found


if __name__ == "__main__":
    sys.exit(main())
