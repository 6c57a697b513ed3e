"""Serving benchmark: the service under gunicorn against a bare WSGI app, loaded by wrk.

Run from the repository root::

    .venv/bin/python bench/serve.py            # 3 interleaved repeats of 10 s per scenario

What it does:

1. builds (once; reused from ``bench/out/serve-<N>/``, git-ignored) a bundle of N articles
   (default 100,000) with ``newsrec generate-sample --words 60`` and ``newsrec train``; short
   bodies keep training practical and serving does not read bodies;
2. for each repeat, starts gunicorn on a free port of 127.0.0.1 with the bare app of
   ``bench/_wsgi_baseline.py`` (a fixed 1 KB JSON body) and measures it, then starts the
   service as deployed (``python -m service``: gunicorn sync workers, 4 of them, like the
   baseline), times start to ``/readyz`` 200, and measures ``related`` with cold caches (every
   request a different article: a fresh server per repeat, ids walked in a shuffled order),
   ``related`` with warm caches (100 articles, after a warm-up) and ``most-viewed`` (after a
   warm-up);
3. loads each with ``wrk -t2 -c32 -d10s --latency`` from a second process on the same two
   cores, prints the medians and ratios to the baseline, checks the targets of issue 3 and
   writes ``bench/RESULTS-serve.md``.

wrk is installed with ``apt-get install -y wrk`` when missing and running as root. Until the
service exists (``service/wsgi.py``), or with ``--baseline-only``, only the baseline runs.
Exit status: 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from _harness import free_port, idle_fraction, log
from _results import RESULTS_DIR, Figure, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS-serve.md"
BIN = Path(sys.executable).parent

WRK_LUA = """\
-- each thread walks the id list from its own offset with a stride of the thread count,
-- so no two requests of a run ask for the same article (until the list wraps)
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
  local id = ids[(position %% #ids) + 1]
  position = position + %(threads)d
  return wrk.format("GET", "/v1/articles/" .. id .. "/related")
end
"""


@dataclass(frozen=True)
class Target:
    min_ratio: float
    max_p99_ms: float | None


TARGETS = {
    "related-warm": Target(0.6, 10.0),
    "related-cold": Target(0.3, 25.0),
    "most-viewed": Target(0.6, None),
}
READY_TARGET_S = 2.0


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    #: CPU seconds per request of gunicorn (master and workers) and of wrk, in microseconds:
    #: unlike req/s these hardly move when other work shares the cores
    server_cpu_us: float = 0.0
    wrk_cpu_us: float = 0.0

    @property
    def cpu_us(self) -> float:
        return self.server_cpu_us + self.wrk_cpu_us


@dataclass
class Runs:
    results: dict[str, list[WrkResult]] = field(default_factory=dict)
    ready_s: list[float] = field(default_factory=list)
    service_command: str = ""
    idle_before: float = 1.0
    #: per repeat, after its runs: the master's and each worker's memory (MiB)
    memory: list[dict[str, list[dict[str, float]]]] = field(default_factory=list)

    def add(self, scenario: str, result: WrkResult) -> None:
        self.results.setdefault(scenario, []).append(result)


# --- set-up --------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is missing: install Debian's package (sudo apt-get install -y wrk)")
    log("installing wrk (apt-get install -y wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        sys.exit("apt-get installed wrk but it is not on PATH")
    return found


def ensure_bundle(n_articles: int, days: int, words: int) -> Path:
    """A models directory with a LATEST bundle of ``n_articles``, built once and reused."""
    base = OUT / f"serve-{n_articles}"
    data, models = base / "data", base / "models"
    latest = models / "LATEST"
    if latest.exists():
        manifest = json.loads((models / latest.read_text().strip() / "manifest.json").read_text())
        if manifest.get("n_articles") == n_articles:
            log(f"reusing the bundle in {models}")
            return models
    newsrec = str(BIN / "newsrec")
    if not (data / "views.csv").exists():
        log(f"generating {n_articles:,} articles into {data} (a minute or two)")
        subprocess.run(
            [
                newsrec,
                "generate-sample",
                "--articles",
                str(n_articles),
                "--days",
                str(days),
                "--words",
                str(words),
                "--out",
                str(data),
            ],
            check=True,
        )
    log(f"training on them into {models} (a few minutes)")
    subprocess.run(
        [
            newsrec,
            "train",
            "--articles",
            str(data / "articles.jsonl"),
            "--views",
            str(data / "views.csv"),
            "--out",
            str(models),
        ],
        check=True,
    )
    return models


def write_ids(models: Path, work: Path) -> tuple[Path, Path]:
    """Files of URL-escaped article ids: all of them shuffled (cold), and 100 (warm)."""
    from recommender.bundle import Bundle

    ids: list[str] = Bundle.load_latest(models).meta("id")  # either bundle format
    escaped = [quote(i, safe="") for i in ids]
    random.Random(0).shuffle(escaped)
    cold, warm = work / "ids-all.txt", work / "ids-warm.txt"
    cold.write_text("\n".join(escaped) + "\n")
    warm.write_text("\n".join(escaped[:100]) + "\n")
    return cold, warm


def wait_for_idle(minutes: float, threshold: float = 0.85) -> None:
    """Wait up to ``minutes`` until the cores are at least ``threshold`` idle."""
    deadline = time.monotonic() + minutes * 60
    while True:
        idle = idle_fraction()
        if idle >= threshold:
            log(f"cores {idle:.0%} idle: starting")
            return
        if time.monotonic() > deadline:
            log(f"cores only {idle:.0%} idle after {minutes:g} min: starting anyway")
            return
        log(f"cores {idle:.0%} idle: waiting for other work to finish")
        time.sleep(25)


def app_available() -> bool:
    wsgi = ROOT / "service" / "wsgi.py"
    app = ROOT / "service" / "app.py"
    return wsgi.exists() and app.exists() and "def create_app" in app.read_text()


# --- servers and load ----------------------------------------------------------------------


class Server:
    """A server in a child process on a free port, stopped by its pid."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.command = command
        self._port = 0
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def port(self) -> int:
        return self._port

    @classmethod
    def baseline(cls, workers: int, log_path: Path) -> Server:
        """The bare WSGI app under gunicorn: sync workers and the connection close the service
        uses (``bench/_quick_close.py``), as the service runs them."""
        port = free_port()
        pythonpath = os.pathsep.join(
            p for p in (str(ROOT / "bench"), os.environ.get("PYTHONPATH")) if p
        )
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "30",
            "--log-level",
            "warning",
            "--config",
            "python:_quick_close",
            "_wsgi_baseline:app",
        ]
        server = cls("baseline", command, {"PYTHONPATH": pythonpath}, log_path)
        server._port = port
        return server

    @classmethod
    def service(cls, workers: int, env: dict[str, str], log_path: Path) -> Server:
        """The service as deployed (``python -m service``: gunicorn sync workers, Prometheus
        multiprocess mode), or ``gunicorn service.wsgi:app`` before service/serve.py exists."""
        port = free_port()
        env = {
            **env,
            "NEWSREC_HOST": "127.0.0.1",
            "NEWSREC_PORT": str(port),
            "NEWSREC_WORKERS": str(workers),
            "NEWSREC_THREADS": "1",
        }
        if (ROOT / "service" / "serve.py").exists():
            command = [sys.executable, "-m", "service"]
        else:
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--timeout",
                "30",
                "--log-level",
                "warning",
                "service.wsgi:app",
            ]
        server = cls("service", command, env, log_path)
        server._port = port
        return server

    def wait_ready(self, path: str = "/readyz", timeout: float = 60.0) -> float:
        """Seconds from start until ``path`` answered 200."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self._log.name}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", path)
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} not ready within {timeout} s; see {self._log.name}")

    def cpu_seconds(self) -> float:
        """User and system CPU seconds of the gunicorn master and its live workers so far."""
        pids = {self.process.pid}
        stats: dict[int, list[str]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:  # the process ended meanwhile
                continue
            # fields after the parenthesised command name: state ppid ... utime(14) stime(15)
            fields = text[text.rindex(")") + 2 :].split()
            stats[int(stat.parent.name)] = fields
        for pid, fields in stats.items():
            if int(fields[1]) == self.process.pid:
                pids.add(pid)
        ticks = os.sysconf("SC_CLK_TCK")
        return sum(int(stats[p][11]) + int(stats[p][12]) for p in pids if p in stats) / ticks

    def children(self) -> list[int]:
        """The pids of the gunicorn master's children (its workers)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            if int(text[text.rindex(")") + 2 :].split()[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def memory(self) -> dict[str, list[dict[str, float]]]:
        """RSS, PSS and USS (private pages) in MiB of the master and of each worker, from
        ``/proc/<pid>/smaps_rollup``: the bundle's memory-mapped arrays are shared pages,
        counted in every worker's RSS but split between them in PSS."""
        return {
            "master": [m for m in [_smaps(self.process.pid)] if m],
            "workers": [m for m in (_smaps(p) for p in self.children()) if m],
        }

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _smaps(pid: int) -> dict[str, float]:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    kib = {m[0]: int(m[1]) for m in re.findall(r"^(\w+):\s+(\d+) kB", text, re.M)}
    private = kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)
    return {
        "rss": kib.get("Rss", 0) / 1024,
        "pss": kib.get("Pss", 0) / 1024,
        "uss": private / 1024,
        # the heap: USS also counts file pages (the bundle's) only this process has touched
        "anon": kib.get("Anonymous", 0) / 1024,
    }


_LATENCY_RE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = {m[0]: float(m[1]) * _UNIT_MS[m[2]] for m in _LATENCY_RE.findall(output)}
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        rps=rps,
        p50_ms=latency["50"],
        p99_ms=latency["99"],
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def run_wrk(
    wrk: str,
    server: Server,
    path: str,
    *,
    threads: int,
    connections: int,
    duration: int,
    script: Path | None = None,
) -> WrkResult:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(f"http://127.0.0.1:{server.port}{path}")
    server_cpu = server.cpu_seconds()
    wrk_cpu = _children_cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = parse_wrk(done.stdout)
    if result.requests:
        result.server_cpu_us = (server.cpu_seconds() - server_cpu) / result.requests * 1e6
        result.wrk_cpu_us = (_children_cpu_seconds() - wrk_cpu) / result.requests * 1e6
    return result


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- the benchmark -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument(
        "--redis-url",
        default=None,
        help="also give the service this NEWSREC_REDIS_URL (default: none)",
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=None,
        help="serve this models directory instead of building the bundle",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="MINUTES",
        help="first wait up to this long for the cores to be 85%% idle (default: do not wait)",
    )
    parser.add_argument("--baseline-only", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS_DIR / "serve.json",
        help="the headline figures for bench/summary.py (default: bench/results/serve.json)",
    )
    args = parser.parse_args(argv)

    wrk = ensure_wrk()
    with_app = app_available() and not args.baseline_only
    if not with_app and not args.baseline_only:
        log("service/wsgi.py or create_app is missing: measuring the baseline only")
    work = OUT / "serve-run"
    work.mkdir(parents=True, exist_ok=True)
    server_log = work / "gunicorn.log"
    server_log.write_bytes(b"")
    cold_script = warm_script = None
    models = None
    if with_app:
        models = args.models or ensure_bundle(args.articles, args.days, args.words)
        cold_ids, warm_ids = write_ids(models, work)
        cold_script, warm_script = work / "cold.lua", work / "warm.lua"
        for script, ids in ((cold_script, cold_ids), (warm_script, warm_ids)):
            script.write_text(WRK_LUA % {"ids": ids, "threads": args.threads})

    if args.wait_idle:
        wait_for_idle(args.wait_idle)
    load = {"threads": args.threads, "connections": args.connections, "duration": args.duration}
    runs = Runs()
    load_average = os.getloadavg()
    idle_before = idle_fraction(2)
    for repeat in range(1, args.repeats + 1):
        log(f"repeat {repeat}/{args.repeats}: baseline")
        server = Server.baseline(args.workers, server_log)
        try:
            server.wait_ready("/")
            runs.add("baseline", run_wrk(wrk, server, "/", **load))
        finally:
            server.stop()
        if not with_app:
            continue
        assert models is not None and cold_script and warm_script
        env = {"NEWSREC_MODELS_DIR": str(models), "NEWSREC_LOG_LEVEL": "WARNING"}
        if args.redis_url:
            env["NEWSREC_REDIS_URL"] = args.redis_url
        server = Server.service(args.workers, env, server_log)
        runs.service_command = shlex.join(["python", *server.command[1:]])
        try:
            ready = server.wait_ready("/readyz")
            runs.ready_s.append(ready)
            log(f"  service ready in {ready:.2f} s; related, cold caches")
            runs.add("related-cold", run_wrk(wrk, server, "/", script=cold_script, **load))
            log("  related, warm caches")
            run_wrk(wrk, server, "/", script=warm_script, **{**load, "duration": 2})
            runs.add("related-warm", run_wrk(wrk, server, "/", script=warm_script, **load))
            log("  most-viewed")
            status, body = server.get("/v1/most-viewed")
            if status != 200:
                raise RuntimeError(f"/v1/most-viewed answered {status}: {body[:300]!r}")
            run_wrk(wrk, server, "/v1/most-viewed", **{**load, "duration": 2})
            runs.add("most-viewed", run_wrk(wrk, server, "/v1/most-viewed", **load))
            runs.memory.append(server.memory())
        finally:
            server.stop()

    runs.idle_before = idle_before
    report = render(runs, args, (load_average[0], os.getloadavg()[0]), with_app)
    print(report)
    args.results.write_text(report)
    log(f"wrote {args.results}")
    if with_app:
        write_result(
            "serve",
            command_line("serve.py", list(argv) if argv is not None else None),
            figures(runs, args),
            load_before=load_average[0],
            idle_before=idle_before,
            path=args.json,
        )
    return 0 if passed(runs, with_app) else 1


def figures(runs: Runs, args: argparse.Namespace) -> list[Figure]:
    """The headline figures of issue 3: each scenario's req/s as a ratio to the bare app."""
    out = []
    names = {
        "related-warm": "`related`, warm caches, vs a bare WSGI app under the same gunicorn",
        "related-cold": f"`related`, cold caches, {args.articles:,}-article bundle, vs bare app",
        "most-viewed": "`most-viewed` vs the bare app",
    }
    base = _median([r.rps for r in runs.results["baseline"]])
    for scenario, (ratio, p99, ok) in verdicts(runs).items():
        target = TARGETS[scenario]
        rps = _median([r.rps for r in runs.results[scenario]])
        out.append(
            Figure(
                f"serve.{scenario}",
                "3",
                names[scenario],
                f">= {target.min_ratio}x"
                + (f", p99 <= {target.max_p99_ms:g} ms" if target.max_p99_ms else ""),
                f"{ratio:.2f}x, p99 {p99:.1f} ms ({rps:,.0f} vs {base:,.0f} req/s)",
                ok,
            )
        )
    if runs.ready_s:
        out.append(
            Figure(
                "serve.ready",
                "3",
                f"{args.articles:,}-article bundle: start to `/readyz` 200",
                f"<= {READY_TARGET_S:g} s",
                f"{_median(runs.ready_s):.2f} s (max {max(runs.ready_s):.2f})",
                max(runs.ready_s) <= READY_TARGET_S,
            )
        )
    return out


def memory_line(memory: list[dict[str, list[dict[str, float]]]]) -> str:
    """The service's memory after each repeat's runs, medians over the repeats."""
    workers = [w for m in memory for w in m["workers"]]
    masters = [w for m in memory for w in m["master"]]
    if not workers:
        return "Memory: no worker found."
    total_pss = _median([sum(w["pss"] for w in m["workers"] + m["master"]) for m in memory])

    def mib(key: str, items: list[dict[str, float]]) -> str:
        return f"{_median([w[key] for w in items]):,.0f}"

    return (
        f"Memory after the runs (`/proc/<pid>/smaps_rollup`, MiB, medians over "
        f"{len(memory)} repeat(s)): per worker RSS {mib('rss', workers)}, PSS "
        f"{mib('pss', workers)}, USS (private) {mib('uss', workers)} of which anonymous "
        f"(heap) {mib('anon', workers)}; master RSS "
        f"{mib('rss', masters) if masters else '-'}; master and workers together PSS "
        f"{total_pss:,.0f} (what they cost the machine: shared pages counted once)."
    )


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdicts(runs: Runs) -> dict[str, tuple[float, float, bool]]:
    """scenario -> (ratio to baseline, median p99, target met)."""
    base = _median([r.rps for r in runs.results["baseline"]])
    out = {}
    for scenario, target in TARGETS.items():
        results = runs.results.get(scenario)
        if not results:
            continue
        ratio = _median([r.rps for r in results]) / base
        p99 = _median([r.p99_ms for r in results])
        clean = all(r.non_2xx == 0 for r in results)
        ok = (
            ratio >= target.min_ratio
            and clean
            and (target.max_p99_ms is None or p99 <= target.max_p99_ms)
        )
        out[scenario] = (ratio, p99, ok)
    return out


def passed(runs: Runs, with_app: bool) -> bool:
    if not with_app:
        return True
    ready_ok = bool(runs.ready_s) and max(runs.ready_s) <= READY_TARGET_S
    return ready_ok and all(ok for _, _, ok in verdicts(runs).values())


def render(
    runs: Runs, args: argparse.Namespace, load_average: tuple[float, float], with_app: bool
) -> str:
    command = "python bench/serve.py" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "")
    lines = [
        "## Serving (issue 3): service under gunicorn against a bare WSGI app",
        "",
        f"Command: `{command}` ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; cores "
        f"{runs.idle_before:.0%} idle just before the run, 1-minute load average "
        f"{load_average[0]:.2f} before and {load_average[1]:.2f} after: well under 100% idle "
        "before means other work shared the cores).",
        "",
        f"gunicorn sync x{args.workers} on 127.0.0.1 for both apps; "
        f"`wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency` on the same "
        f"cores; {args.repeats} repeats, service runs interleaved with the baseline; medians.",
    ]
    if with_app:
        lines += [
            (
                f"Bundle: {args.models}. "
                if args.models
                else f"Bundle: {args.articles:,} articles (`newsrec generate-sample --articles "
                f"{args.articles} --days {args.days} --words {args.words}`, then `newsrec train`). "
            )
            + f"Service: `{runs.service_command}` with NEWSREC_WORKERS={args.workers}, "
            "other settings default (in-process cache only"
            + (f", Redis {args.redis_url}" if args.redis_url else "")
            + ").",
            "Scenarios: *related-cold* = a fresh server, every request a different article "
            "(all ids, shuffled); *related-warm* = 100 articles after a 2 s warm-up; "
            "*most-viewed* = `/v1/most-viewed` after a 2 s warm-up.",
        ]
    lines += [
        "",
        "| scenario | req/s | ratio to baseline | p50 ms | p99 ms | target | met "
        "| CPU us/req server + wrk | CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base = _median([r.rps for r in runs.results["baseline"]])
    base_cpu = _median([r.cpu_us for r in runs.results["baseline"]])
    checks = verdicts(runs) if with_app else {}
    for scenario, results in runs.results.items():
        rps = _median([r.rps for r in results])
        p50 = _median([r.p50_ms for r in results])
        p99 = _median([r.p99_ms for r in results])
        target = TARGETS.get(scenario)
        goal = "-"
        met = "-"
        if target is not None:
            goal = f">= {target.min_ratio}x" + (
                f", p99 <= {target.max_p99_ms:g} ms" if target.max_p99_ms else ""
            )
            met = "yes" if checks[scenario][2] else "**no**"
        server_cpu = _median([r.server_cpu_us for r in results])
        wrk_cpu = _median([r.wrk_cpu_us for r in results])
        cpu = _median([r.cpu_us for r in results])
        lines.append(
            f"| {scenario} | {rps:,.0f} | {rps / base:.2f} | {p50:.2f} | {p99:.2f} | "
            f"{goal} | {met} | {server_cpu:,.0f} + {wrk_cpu:,.0f} | {base_cpu / cpu:.2f} |"
        )
    if with_app:
        ready = _median(runs.ready_s)
        lines.append(
            f"| start to `/readyz` 200 | - | - | - | - | <= {READY_TARGET_S:g} s | "
            f"{'yes' if max(runs.ready_s) <= READY_TARGET_S else '**no**'} | - | - |"
        )
        lines += [
            "",
            f"Start to `/readyz` 200: median {ready:.2f} s, max "
            f"{max(runs.ready_s):.2f} s ({', '.join(f'{s:.2f}' for s in runs.ready_s)}).",
        ]
    if runs.memory:
        lines += ["", memory_line(runs.memory)]
    lines += [
        "",
        "*CPU ratio* = the baseline's CPU time per request (gunicorn master and workers, plus "
        "wrk) over the scenario's: what the throughput ratio would be on cores doing nothing "
        "else. It moves less than req/s when other work shares the machine (not zero: "
        "caches and context switches suffer too); the targets are judged on req/s.",
        "",
        "Every run (req/s, p99 ms, non-2xx, socket errors):",
        "",
    ]
    for scenario, results in runs.results.items():
        cells = "; ".join(
            f"{r.rps:,.0f} req/s, {r.p99_ms:.2f} ms, {r.non_2xx}, {r.socket_errors}"
            for r in results
        )
        lines.append(f"- {scenario}: {cells}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
