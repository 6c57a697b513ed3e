"""Run the service under gunicorn, programmatically (``python -m service``).

sync workers (measured: the tightest latency tail; gthread with two workers was unstable),
2 per core unless ``NEWSREC_WORKERS`` says otherwise, and no ``preload_app``: each worker builds
its own app after the fork and memory-maps the same bundle files, so the pages are shared.

Prometheus: several processes cannot share in-memory counters, so unless the environment names
a ``PROMETHEUS_MULTIPROC_DIR`` this creates an empty temporary one (removed on exit) *before*
anything imports prometheus-client, and tells prometheus-client when a worker dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from recommender.cli.exits import EXIT_USAGE
from service.settings import Settings, SettingsError

log = logging.getLogger("service")
#: gunicorn's limits on what it reads before the app sees a request: the longest request line
#: (its maximum; the default 4094 refused ``exclude`` lists the API documents) and the longest
#: header. Over them gunicorn answers 414 and 431 itself, in the API's JSON error shape
#: (:func:`json_write_error`).
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELD_SIZE = 8190


def worker_count(settings: Settings) -> int:
    """``NEWSREC_WORKERS``, or 2 per CPU core this process may use."""
    if settings.workers is not None:
        return settings.workers
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return 2 * cores


def _child_exit(server: Any, worker: Any) -> None:
    # deferred: prometheus-client must first be imported after PROMETHEUS_MULTIPROC_DIR is set
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def json_write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answers (a request line or header over its limits, a request it
    cannot parse) in the API's JSON error shape instead of its HTML page; installed in place
    of ``gunicorn.util.write_error``, which its workers call for these."""
    from gunicorn.util import write_nonblock

    from service.errors import error_body

    code = re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_") or "error"
    body = error_body(code, mesg or reason)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    write_nonblock(sock, head.encode("latin1") + body)


def close_unless_unread(graceful: Callable[..., None]) -> Callable[..., None]:
    """gunicorn's close of a finished connection, lingering only when the client sent more.

    Recent gunicorn (27 here) ends every connection with ``util.close_graceful``: a half-close,
    then a wait of up to 2 s for the client's own close, so that request bytes the app left
    unread cannot make the kernel answer with a reset that cuts the answer short (RFC 9112
    9.6). A sync worker pays that wait on every request, unread bytes or not: four more
    system calls and a sleep and wake-up per request, a fifth to a quarter of the CPU of a bare
    WSGI request and of a Flask route under wrk on this project's 2-core machine
    (``bench/server_floor.py``).
    The close returned here first looks without waiting (a non-blocking peek): bytes waiting
    get ``graceful`` as before; none, and the socket is closed at once (nginx's
    ``lingering_close on`` does the same: it lingers only when the client may send more).
    """

    def close(sock: Any, timeout: float = 2.0, max_drain: int = 65536) -> None:
        if sock.gettimeout() is not None:  # Python would wait before peeking: as before
            graceful(sock, timeout, max_drain)
            return
        try:
            pending = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:  # nothing unread: close at once
            pending = b""
        except ValueError:  # a TLS socket takes no flags: gunicorn's own close
            pending = b"?"
        except OSError:  # reset or gone: nothing to protect
            pending = b""
        if pending:
            graceful(sock, timeout, max_drain)
            return
        with contextlib.suppress(OSError):
            sock.close()

    return close


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn settings for these service settings."""
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": worker_count(settings),
        "worker_class": "sync" if settings.threads == 1 else "gthread",
        "threads": settings.threads,
        "preload_app": False,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 2,
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "accesslog": "-" if settings.log_level == "DEBUG" else None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "proc_name": "newsrec",
        "child_exit": _child_exit,
    }


def _application(settings: Settings, options: Mapping[str, Any]) -> Any:
    # deferred: gunicorn only when serving (the tests build options without it)
    import gunicorn.util
    from gunicorn.app.base import BaseApplication

    # the workers call this module attribute for the answers they write themselves
    gunicorn.util.write_error = json_write_error
    graceful = getattr(gunicorn.util, "close_graceful", None)
    if graceful is not None and getattr(graceful, "__name__", "") != "close":
        # and this one to close every connection (gunicorn >= 24; not wrapped twice)
        gunicorn.util.close_graceful = close_unless_unread(graceful)

    class NewsrecApplication(BaseApplication):  # type: ignore[misc]
        """gunicorn with our options and our factory (no command line, no config file)."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25 opens ~/.gunicorn/gunicorn.ctl by default: one per user, so
                # two services (or a test server) would fight over it; nothing here uses it
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            # deferred: the app (and prometheus-client) after PROMETHEUS_MULTIPROC_DIR is set
            from service.app import create_app

            return create_app(settings)

    return NewsrecApplication()


def main() -> int:
    """Validate the settings, prepare metrics, run gunicorn until it is stopped."""
    environ = os.environ
    # Keys every worker must share (editor sessions, session-id hashes): drawn once here when
    # unset, so they hold across workers; they still change on restart, hence the warning.
    generated = []
    for name in ("NEWSREC_SECRET_KEY", "NEWSREC_SESSION_KEY"):
        if not environ.get(name):
            environ[name] = secrets.token_hex(32)
            generated.append(name)
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        print(f"newsrec serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s",
    )
    for name in generated:
        log.warning("%s is unset: using a random key until this server stops", name)
    for name in Settings.unknown_variables(environ):
        log.warning("%s is set but no setting reads it (a typo?)", name)
    if not (settings.live_redis_url or settings.redis_url):
        # the workers' shared live store: made here once, so a path that cannot be written
        # stops the start with one clear line rather than every worker failing to boot
        from service.live.counts import LiveUnavailable
        from service.live.sqlite_store import SqliteLiveStore

        try:
            SqliteLiveStore(settings.live_db).close()
        except LiveUnavailable as exc:
            print(f"newsrec serve: error: NEWSREC_STATE_DIR: {exc}", file=sys.stderr)
            return EXIT_USAGE
    created = None
    if not environ.get("PROMETHEUS_MULTIPROC_DIR"):
        created = tempfile.mkdtemp(prefix="newsrec-metrics-")
        environ["PROMETHEUS_MULTIPROC_DIR"] = created
    options = gunicorn_options(settings)
    log.info(
        "newsrec on http://%s with %d %s worker(s), models from %s",
        options["bind"],
        options["workers"],
        options["worker_class"],
        settings.models_dir,
    )
    # Import the app's modules (Flask, scikit-learn, pyarrow...) once here: the forked workers
    # inherit them and start in a fraction of the time; each still builds its own app.
    if settings.events_port is not None and settings.events_port == settings.port:
        print(
            "newsrec serve: error: NEWSREC_EVENTS_PORT must differ from NEWSREC_PORT",
            file=sys.stderr,
        )
        return EXIT_USAGE
    import service.app  # noqa: F401

    events_pool = _start_events_pool(settings) if settings.events_port is not None else None
    try:
        _application(settings, options).run()
    finally:
        if events_pool is not None:
            _stop(events_pool)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
    return 0


def _start_events_pool(settings: Settings) -> subprocess.Popen[bytes]:
    """The second pool (``NEWSREC_EVENTS_PORT``): the same service, its own workers and port.

    gunicorn's sync workers take connections from one accept queue in arrival order, so
    under a stream of view beacons a page read waits behind the beacons queued before it;
    a pool of its own for ``/v1/events`` keeps reads out of that queue (measured in
    ``bench/ingest.py``), and at a higher niceness (``NEWSREC_EVENTS_NICE``) it yields the
    cores to page reads. It shares the environment (keys, Redis, metrics directory).
    """
    env = {
        **os.environ,
        "NEWSREC_PORT": str(settings.events_port),
        "NEWSREC_WORKERS": str(settings.events_workers),
        "NEWSREC_EVENTS_PORT": "",
    }
    log.info(
        "events pool on http://%s:%d with %d worker(s) at nice %d",
        settings.host,
        settings.events_port,
        settings.events_workers,
        settings.events_nice,
    )
    nice = settings.events_nice
    return subprocess.Popen(
        [sys.executable, "-m", "service"], env=env, preexec_fn=lambda: os.nice(nice)
    )


def _stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
