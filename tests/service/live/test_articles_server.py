"""A real 2-worker server (``python -m service``) sharing Redis DB 14 (responses and live
state): unpublishing reaches the warm caches of every worker, and a graceful stop writes the
view counts the workers still buffer."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service.live.counts import day_label, hour_label
from tests.conftest import publish_bundle
from tests.service.live.test_stores import BROWSER, LIVE_REDIS_URL, live_redis  # noqa: F401 - a fixture
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "cms-token-of-the-test-site"


def _request(url: str, method: str = "GET") -> tuple[int, bytes, str]:
    """Status, body and the answering worker (the per-process prefix of X-Request-ID)."""
    headers = {"Authorization": f"Bearer {TOKEN}"} if method != "GET" else {}
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers["X-Request-ID"][:16]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("X-Request-ID", "")[:16]


@contextlib.contextmanager
def serving(tmp_path: Path, **extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m service`` with 2 workers on DB 14: its base URL and process (stopped
    gracefully at the end); ``extra`` adds or replaces environment variables (an empty
    ``NEWSREC_REDIS_URL``: no Redis)."""
    models = tmp_path / "models"
    publish_bundle(models, "20261101T120000Z-v1")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSREC_", "PROMETHEUS_"))}
    env.update(
        NEWSREC_MODELS_DIR=str(models),
        NEWSREC_PORT=str(port),
        NEWSREC_WORKERS="2",
        NEWSREC_REDIS_URL=LIVE_REDIS_URL,
        NEWSREC_CMS_TOKEN=TOKEN,
        NEWSREC_SESSION_KEY="a-shared-session-key-of-the-site",
        NEWSREC_EVENT_LOG_DIR="off",
        NEWSREC_RULES_DB=str(tmp_path / "rules.sqlite3"),
        NEWSREC_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "service"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _request(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start:\n{(tmp_path / 'server.log').read_text()}")
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def server(tmp_path: Path, live_redis: redis.Redis) -> Iterator[str]:  # noqa: F811
    with serving(tmp_path) as (base, _):
        yield base


URLS = ("/v1/articles/n1/related", "/v1/most-viewed?n=20", "/v1/articles/n4/related?n=8")


@pytest.mark.slow
@pytest.mark.redis
def test_unpublish_reaches_cached_answers_of_every_worker(server: str) -> None:
    workers: set[str] = set()
    deadline = time.monotonic() + 20
    while len(workers) < 2:  # both workers answer (and cache) every URL
        for url in URLS:
            status, data, worker = _request(server + url)
            assert status == 200 and b'"n2"' in data
            workers.add(worker)
        assert time.monotonic() < deadline, "only one worker ever answered"
    status, data, _ = _request(f"{server}/v1/articles/n2", method="DELETE")
    assert status == 200, data
    deleted_at = time.monotonic()
    first_clean: dict[str, float] = {}
    clean: dict[str, int] = {}
    while min(clean.get(w, 0) for w in workers) < 5:
        assert time.monotonic() - deleted_at < 5, f"n2 still served 5 s later ({clean})"
        for url in URLS:
            status, data, worker = _request(server + url)
            assert status == 200
            if b'"n2"' in data:
                assert worker not in clean, f"{worker} served n2 again after a clean answer"
            else:
                first_clean.setdefault(worker, time.monotonic() - deleted_at)
                clean[worker] = clean.get(worker, 0) + 1
        time.sleep(0.01)
    # each worker sees the new generation within one poll (0.1 s) of its next request
    assert max(first_clean.values()) < 1.0, first_clean
    assert _request(f"{server}/v1/articles/n2")[0] == 404
    body = json.loads(_request(server + URLS[0])[1])
    assert "n2" not in [item["id"] for item in body["items"]]


@pytest.mark.slow
@pytest.mark.redis
def test_a_graceful_stop_writes_the_counts_workers_still_buffer(
    tmp_path: Path,
    live_redis: redis.Redis,  # noqa: F811
) -> None:
    events = [{"article_id": "n1", "session_id": f"reader-{i}"} for i in range(30)]
    with serving(tmp_path, NEWSREC_LIVE_FLUSH_SECONDS="3600") as (base, proc):
        for chunk in (events[:10], events[10:20], events[20:]):  # likely both workers
            request = urllib.request.Request(
                f"{base}/v1/events",
                data=json.dumps(chunk).encode(),
                headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read())["counted"] == 10
        assert not live_redis.keys(f"nr:live:h:{hour_label(time.time())}")  # still buffered
        proc.terminate()  # what a deploy or a restart does
        proc.wait(timeout=15)
    views = live_redis.zscore(f"nr:live:{day_label(time.time())}", "n1")
    assert views == 30.0


@pytest.mark.slow
@pytest.mark.redis
def test_a_graceful_stop_writes_the_impressions_and_clicks_workers_still_buffer(
    tmp_path: Path,
    live_redis: redis.Redis,  # noqa: F811
) -> None:
    with serving(tmp_path, NEWSREC_LIVE_FLUSH_SECONDS="3600") as (base, proc):
        status, data, _ = _request(f"{base}/v1/most-viewed?n=3")
        assert status == 200
        shown = json.loads(data)
        events = [
            {
                "type": "impression",
                "list_id": shown["list_id"],
                "position": position,
                "article_id": item["id"],
                "session_id": f"reader-{reader}",
            }
            for reader in range(4)
            for position, item in enumerate(shown["items"], start=1)
        ]
        events.append({**events[0], "type": "click"})
        for chunk in (events[:6], events[6:]):  # likely both workers
            request = urllib.request.Request(
                f"{base}/v1/events",
                data=json.dumps(chunk).encode(),
                headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read())["counted"] == len(chunk)
        assert not live_redis.keys("nr:live:x:*")  # still buffered
        proc.terminate()  # what a deploy or a restart does
        proc.wait(timeout=15)
    tally = {
        key.decode().split("\x1f", 2)[2]: int(value)
        for key, value in live_redis.hgetall(f"nr:live:x:{day_label(time.time())[2:]}").items()
    }
    assert tally == {
        "1\x1fimpression": 4,
        "2\x1fimpression": 4,
        "3\x1fimpression": 4,
        "1\x1fclick": 1,
    }
