"""What a request costs under gunicorn, part by part: server, Flask, the service, its events path.

Run from the repository root (Redis at 127.0.0.1:6379; the bundle of ``bench/ingest.py``)::

    .venv/bin/python bench/server_floor.py [--repeats 3] [--duration 4] [--redis-db 10]

Every scenario runs under gunicorn with 4 sync workers on 127.0.0.1, loaded by
``wrk -t2 -c32`` on the same two cores, the scenarios interleaved in each repeat, medians:

- *bare WSGI* (``bench/_wsgi_baseline.py``, ``bench/serve.py``'s baseline) and *bare Flask*
  (``bench/_flask_baseline.py``, one route answering the same 1 KB), each under gunicorn as
  it comes (*stock close*: ``gunicorn.util.close_graceful`` after every request) and with the
  service's close (:func:`service.serve.close_unless_unread`, set by a gunicorn config file);
- *service healthz* and *service single view* (``python -m service`` as ``bench/ingest.py``
  starts it: Redis, the event log; single-event posts as ``bench/ingest.py`` sends them).

*CPU us/request* is the user + system time of gunicorn's master and workers over the run per
request (not wrk's, not Redis's): what each layer adds is the difference of two rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import ingest
import redis
from _harness import free_port, log

ROOT = Path(__file__).resolve().parent.parent
#: gunicorn config file giving a bare app the service's close
QUICK_CLOSE = ROOT / "bench" / "_quick_close.py"
SCENARIOS = (
    "bare WSGI, stock close",
    "bare WSGI, service's close",
    "bare Flask, stock close",
    "bare Flask, service's close",
    "service healthz",
    "service single view",
)


def bare_server(
    module: str, config: Path | None, log_file: Path
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "4"]
    command += ["--worker-class", "sync", "--timeout", "30", "--log-level", "warning"]
    if config is not None:
        command += ["-c", str(config)]
    pythonpath = os.pathsep.join((str(ROOT / "bench"), str(ROOT)))
    env = {**os.environ, "PYTHONPATH": pythonpath}
    out = open(log_file, "ab")  # noqa: SIM115 - the server's log, kept open while it runs
    process = subprocess.Popen([*command, f"{module}:app"], env=env, stdout=out, stderr=out)
    try:
        ingest.wait_ready(port, process=process)
    except RuntimeError:
        stop(process)
        raise
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(wrk: str, pid: int, port: int, script: Path, duration: int) -> ingest.WrkResult:
    ingest.CHARGED[:] = [(pid, True)]
    command = ingest.wrk_command(wrk, port, script, threads=2, connections=32, duration=duration)
    return ingest.run_wrk(command)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--articles", type=int, default=5_000, help="bench/ingest.py's bundle")
    parser.add_argument("--redis-db", type=int, default=10, help="flushed before and after")
    args = parser.parse_args()

    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    models = ingest.ensure_bundle(args.articles, 30)
    work = Path(tempfile.mkdtemp(prefix="newsrec-floor-"))
    from recommender.bundle import Bundle

    bundle = Bundle.load_latest(models)  # either bundle format
    meta = {"id": bundle.meta("id"), "status": bundle.meta("status")}
    # views of unpublished articles are refused (400): post only published ones
    ids = [i for i, status in zip(meta["id"], meta["status"], strict=True) if status == "published"]
    (work / "ids.txt").write_text("\n".join(ids) + "\n")
    get = work / "get.lua"
    get.write_text('wrk.method = "GET"\n')
    healthz = work / "healthz.lua"
    healthz.write_text('wrk.method = "GET"\nwrk.path = "/healthz"\n')
    single = work / "single.lua"
    single.write_text(
        ingest.EVENTS_LUA
        % {"ids": work / "ids.txt", "agent": ingest.BROWSER, "batch": 1, "extra": "''", "delay": ""}
    )
    config = QUICK_CLOSE
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    client = redis.Redis.from_url(redis_url)
    env = {
        "NEWSREC_MODELS_DIR": str(models),
        "NEWSREC_WORKERS": "4",
        "NEWSREC_REDIS_URL": redis_url,
        "NEWSREC_SESSION_KEY": "bench-session-key-0123456789",
        "NEWSREC_SECRET_KEY": "bench-secret-key-0123456789",
        "NEWSREC_EVENT_LOG_DIR": str(work / "events"),
        "NEWSREC_LOG_LEVEL": "WARNING",
        "NEWSREC_DEDUP_MINUTES": "1",
        "NEWSREC_RULES_DB": str(work / "rules.sqlite3"),
        "NEWSREC_STATE_DIR": str(work / "state"),
    }
    load_before = os.getloadavg()[0]
    runs: dict[str, list[ingest.WrkResult]] = {name: [] for name in SCENARIOS}
    server_log = work / "servers.log"
    for repeat in range(1, args.repeats + 1):
        log(f"repeat {repeat}/{args.repeats}")
        for name, module, conf in (
            ("bare WSGI, stock close", "_wsgi_baseline", None),
            ("bare WSGI, service's close", "_wsgi_baseline", config),
            ("bare Flask, stock close", "_flask_baseline", None),
            ("bare Flask, service's close", "_flask_baseline", config),
        ):
            process, port = bare_server(module, conf, server_log)
            try:
                runs[name].append(measure(wrk, process.pid, port, get, args.duration))
            finally:
                stop(process)
        client.flushdb()
        service = ingest.Service(env, server_log)
        try:
            pid = service.process.pid
            runs["service healthz"].append(measure(wrk, pid, service.port, healthz, args.duration))
            runs["service single view"].append(
                measure(wrk, pid, service.port, single, args.duration)
            )
        finally:
            service.stop()
            client.flushdb()
    load_after = os.getloadavg()[0]

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/server_floor.py " + " ".join(sys.argv[1:])
    lines = [
        f"Command: `{command}` ({now}, commit {commit}, 1-minute load average {load_before:.2f} "
        f"before and {load_after:.2f} after; {args.repeats} repeats of {args.duration} s, "
        "medians; gunicorn sync x4, `wrk -t2 -c32`).",
        "",
        "| scenario | req/s | CPU us/request (gunicorn) | p99 ms | every run (req/s, us) |",
        "|---|---|---|---|---|",
    ]
    for name in SCENARIOS:
        results = runs[name]
        rps = statistics.median(r.rps for r in results)
        cpu = statistics.median(r.cpu_us for r in results)
        p99 = statistics.median(r.p99_ms for r in results)
        bad = sum(r.non_2xx + r.socket_errors for r in results)
        every = "; ".join(f"{r.rps:,.0f}, {r.cpu_us:,.0f}" for r in results)
        lines.append(
            f"| {name} | {rps:,.0f} | {cpu:,.0f} | {p99:.2f} | {every}"
            f"{f' ({bad} non-2xx or socket errors)' if bad else ''} |"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
