"""The service as it runs in production: ``python -m service`` (gunicorn, 2 sync workers)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HAND_RANKED_ENV, IDS, N1_HYBRID, publish_bundle
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = [f"2026110{i}T120000Z-v{i}" for i in range(1, 5)]


def _get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _service_env(models: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSREC_", "PROMETHEUS_"))}
    env.update(
        {
            "NEWSREC_MODELS_DIR": str(models),
            "NEWSREC_HOST": "127.0.0.1",
            "NEWSREC_PORT": str(port),
            "NEWSREC_WORKERS": "2",
            "NEWSREC_RELOAD_INTERVAL": "0.2",
            "NEWSREC_LOG_LEVEL": "WARNING",
            **HAND_RANKED_ENV,
            **extra,
        }
    )
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real server on a free port serving ``models`` (VERSION 1 published)."""
    models = tmp_path / "models"
    publish_bundle(models, VERSIONS[0])
    port = free_port()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "service"],
        env=_service_env(models, port),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, tmp_path / "server.log")
        yield base, models
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _check_consistent(data: dict[str, Any]) -> None:
    """One response, one bundle: every title carries the tag of the version named."""
    tag = "[" + data["model_version"].rsplit("-", 1)[-1] + "]"
    assert {item["title"].split(" ")[0] for item in data["items"]} == {tag}, data
    if data["article_id"] == "n1":
        assert [item["id"] for item in data["items"]][:5] == N1_HYBRID


@pytest.mark.slow
def test_hot_swap_under_concurrent_requests(server: tuple[str, Path]) -> None:
    base, models = server
    failures: list[str] = []
    seen: dict[str, int] = {}
    stop = threading.Event()
    lock = threading.Lock()

    def hammer(worker: int) -> None:
        i = worker
        while not stop.is_set():
            article_id = IDS[i % len(IDS)]
            i += 1
            try:
                status, raw = _get(f"{base}/v1/articles/{article_id}/related?n=6&explain=1")
                data = json.loads(raw)
                if status != 200:
                    raise AssertionError(f"status {status}: {raw[:300]!r}")
                assert data["article_id"] == article_id
                assert data["model_version"] in VERSIONS
                assert len(data["items"]) == 6
                _check_consistent(data)
            except Exception as exc:  # every failure is recorded, none stops the hammering
                with lock:
                    failures.append(f"{article_id}: {exc!r}")
                continue
            with lock:
                seen[data["model_version"]] = seen.get(data["model_version"], 0) + 1

    threads = [threading.Thread(target=hammer, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        for new in VERSIONS[1:]:
            time.sleep(0.6)
            publish_bundle(models, new)
        # both workers reach the last version within a few reload intervals
        deadline = time.monotonic() + 10
        last = VERSIONS[-1]
        while time.monotonic() < deadline:
            versions = {json.loads(_get(f"{base}/v1/model")[1])["version"] for _ in range(8)}
            if versions == {last}:
                break
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert failures == []
    assert set(seen) >= {VERSIONS[0], VERSIONS[-1]}
    assert sum(seen.values()) > 100
    assert versions == {last}
    # metrics aggregate both workers (multiprocess mode)
    status, raw = _get(f"{base}/metrics")
    metrics = raw.decode()
    assert status == 200
    assert f'newsrec_model_info{{version="{last}"}} 1.0' in metrics
    assert f'newsrec_model_info{{version="{VERSIONS[0]}"}} 0.0' in metrics
    requests = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("newsrec_http_requests_total{")
        and 'route="/v1/articles/<article_id>/related"' in line
        and 'status="200"' in line
    ]
    assert sum(requests) == sum(seen.values())


def test_serve_refuses_a_bad_setting_naming_the_variable(tmp_path: Path) -> None:
    env = _service_env(tmp_path, free_port(), NEWSREC_WORKERS="many")
    done = subprocess.run(
        [sys.executable, "-m", "service"], env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"NEWSREC_WORKERS='many': expected an integer from 1 to 256" in done.stderr


def test_serve_refuses_a_state_dir_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = _service_env(tmp_path, free_port(), NEWSREC_STATE_DIR=str(blocker))
    env.pop("NEWSREC_REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "service"], env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"NEWSREC_STATE_DIR" in done.stderr and b"live store" in done.stderr


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if _get(f"{base}/readyz", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"server did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _niceness(pid: int) -> int:
    return int(_stat(pid)[16])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int(_stat(int(entry.name))[1]) == pid:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _post_event(base: str, article_id: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base}/v1/events",
        data=json.dumps({"article_id": article_id, "session_id": "s-1"}).encode(),
        headers={"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_serve_runs_a_separate_events_pool_and_stops_it(tmp_path: Path) -> None:
    models = tmp_path / "models"
    publish_bundle(models, VERSIONS[0])
    port, events_port = free_port(), free_port()
    log_path = tmp_path / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    env = _service_env(
        models,
        port,
        NEWSREC_EVENTS_PORT=str(events_port),
        NEWSREC_EVENTS_WORKERS="1",
        NEWSREC_EVENTS_NICE="7",
        NEWSREC_EVENT_LOG_DIR=str(tmp_path / "events"),
        NEWSREC_RULES_DB=str(tmp_path / "rules.sqlite3"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "service"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    base, events = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{events_port}"
    try:
        _wait_ready(base, proc, log_path)
        _wait_ready(events, proc, log_path)
        status, answer = _post_event(events, "n1")
        assert status == 202 and answer["accepted"] == 1
        assert _get(f"{base}/v1/articles/n1/related")[0] == 200
        # the events pool (a child of the service, with workers of its own) runs at
        # NEWSREC_EVENTS_NICE; the service and its page workers do not
        assert _niceness(proc.pid) == 0
        nice = {pid: _niceness(pid) for pid in _children(proc.pid)}
        (pool,) = [pid for pid, value in nice.items() if value == 7]
        assert [value for pid, value in nice.items() if pid != pool] == [0, 0]  # 2 page workers
        pool_workers = _children(pool)
        assert len(pool_workers) == 1 and _niceness(pool_workers[0]) == 7
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        finally:
            log.close()
    assert proc.returncode == 0
    # stopping the service stops its events pool too
    deadline = time.monotonic() + 10
    while True:
        try:
            _get(f"{events}/healthz", timeout=1)
        except OSError:
            break
        assert time.monotonic() < deadline, "the events pool outlived the service"
        time.sleep(0.1)


def test_serve_refuses_an_events_port_equal_to_its_port(tmp_path: Path) -> None:
    port = free_port()
    env = _service_env(tmp_path, port, NEWSREC_EVENTS_PORT=str(port))
    done = subprocess.run(
        [sys.executable, "-m", "service"], env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"NEWSREC_EVENTS_PORT must differ from NEWSREC_PORT" in done.stderr


def _raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer: status, headers (lower-cased names), body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, payload


def test_over_long_request_line_and_headers_answer_the_api_json_errors(
    server: tuple[str, Path],
) -> None:
    base, _ = server
    # 100 excluded ids of 60 characters: a 6 KB request line, inside the limit (8190)
    ids = ",".join(f"{i:060d}" for i in range(100))
    line = f"GET /v1/articles/n1/related?exclude={ids} HTTP/1.1\r\n".encode()
    assert 6_000 < len(line) < 8_190
    status, headers, payload = _raw(base, line + b"Host: x\r\nConnection: close\r\n\r\n")
    assert status == 200, payload[:300]
    cases = [
        (f"GET /v1/most-viewed?n={'1' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (
            f"GET /v1/most-viewed HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 9000}\r\n\r\n",
            431,
            "request_header_fields_too_large",
        ),
        ("NOT A REQUEST\r\n\r\n", 400, "bad_request"),
    ]
    for request, expected, code in cases:
        status, headers, payload = _raw(base, request.encode())
        assert status == expected, payload[:300]
        assert headers["content-type"] == "application/json"
        assert headers["x-content-type-options"] == "nosniff"
        assert int(headers["content-length"]) == len(payload)
        error = json.loads(payload)["error"]
        assert error["code"] == code and error["message"]
    assert _get(f"{base}/readyz")[0] == 200  # the workers are fine


def _connected() -> tuple[socket.socket, socket.socket]:
    """A served connection's two ends on 127.0.0.1: (client, server), both blocking."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    server.setblocking(True)
    return client, server


def test_close_is_at_once_when_the_request_was_read_and_lingers_when_bytes_wait() -> None:
    from service.serve import close_unless_unread

    lingered: list[socket.socket] = []

    def graceful(sock: socket.socket, timeout: float, max_drain: int) -> None:
        lingered.append(sock)
        sock.close()

    close = close_unless_unread(graceful)
    # the request read whole: the answer arrives complete, then the end of the stream
    client, server = _connected()
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert server.recv(100) == b"GET / HTTP/1.1\r\n\r\n"
    server.sendall(b"answer")
    close(server)
    assert lingered == [] and server.fileno() == -1
    client.settimeout(5)
    assert client.recv(100) == b"answer" and client.recv(100) == b""
    client.close()
    # bytes the app left unread: gunicorn's lingering close, given the same socket
    client, server = _connected()
    client.sendall(b"GET / HTTP/1.1\r\n\r\nmore")
    assert server.recv(18) == b"GET / HTTP/1.1\r\n\r\n"
    time.sleep(0.05)  # "more" reaches the server's receive buffer
    close(server)
    assert lingered == [server]
    client.close()
    # a socket with a timeout (Python would wait before the peek): gunicorn's close too
    client, server = _connected()
    server.settimeout(1.0)
    close(server)
    assert lingered[-1] is server and len(lingered) == 2
    client.close()
