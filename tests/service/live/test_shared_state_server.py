"""A real 4-worker server (``python -m service``) without Redis: publish, unpublish and view
counts reach every worker of the host within the stated time, through the embedded live store
(an SQLite file in ``NEWSREC_STATE_DIR``), and never alternate between workers afterwards.

Before the shared store, each worker kept its own: a ``DELETE`` answered 200 and reads then
alternated 404/200 between workers, and view counts differed per worker.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.service.live.test_articles_server import TOKEN, _request, serving
from tests.service.live.test_stores import BROWSER

WORKERS = 4
#: A lifecycle change reaches every worker within one generation poll (0.1 s) of its next
#: request: allowed here with room for two shared cores.
LIFECYCLE_WITHIN = 1.0
REFRESH = 1.0
#: A view counted by one worker shows on every worker within two refresh ticks (the tick's
#: counts, then answers cached for at most one tick), plus the same room.
COUNT_WITHIN = 2 * REFRESH + 1.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with serving(
        tmp_path,
        NEWSREC_REDIS_URL="",
        NEWSREC_WORKERS=str(WORKERS),
        NEWSREC_STATE_DIR=str(tmp_path / "state"),
        NEWSREC_LIVE_REFRESH_SECONDS=str(REFRESH),
    ) as (base, _):
        yield base


def _all_workers(base: str) -> set[str]:
    workers: set[str] = set()
    deadline = time.monotonic() + 30
    while len(workers) < WORKERS:
        assert time.monotonic() < deadline, f"only {len(workers)} workers ever answered"
        status, _, worker = _request(f"{base}/v1/articles/n1")
        assert status == 200
        workers.add(worker)
    return workers


def _reaches_every_worker(
    base: str, path: str, holds: Callable[[int, bytes], bool], workers: set[str], within: float
) -> dict[str, float]:
    """Ask ``path`` (a new connection each time) until every worker answered 3 times as
    ``holds``. No worker may answer otherwise ``within`` seconds or more after the change, nor
    after it once answered as ``holds`` (no alternation). The seconds of each worker's last
    stale answer (0 for none)."""
    started = time.monotonic()
    stale: dict[str, float] = dict.fromkeys(workers, 0.0)
    good: dict[str, int] = {}
    while min(good.get(w, 0) for w in workers) < 3:
        elapsed = time.monotonic() - started
        assert elapsed < within + 30, f"not every worker answered: {good}"
        status, data, worker = _request(base + path)
        assert worker in workers
        if holds(status, data):
            good[worker] = good.get(worker, 0) + 1
        else:
            assert worker not in good, f"{worker} went back on {path}: {status} {data[:200]!r}"
            assert elapsed < within, f"{worker} still stale {elapsed:.2f} s later: {data[:200]!r}"
            stale[worker] = elapsed
        time.sleep(0.005)
    return stale


def _post_view(base: str, article_id: str, session: str) -> dict[str, int]:
    request = urllib.request.Request(
        f"{base}/v1/events",
        data=json.dumps({"article_id": article_id, "session_id": session}).encode(),
        headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, int] = json.loads(response.read())
        return answer


def _views_1h(expected: int) -> Callable[[int, bytes], bool]:
    return lambda status, data: status == 200 and json.loads(data)["recent_views"]["1h"] == expected


@pytest.mark.slow
def test_every_worker_sees_publish_unpublish_and_counts_without_redis(server: str) -> None:
    workers = _all_workers(server)

    # unpublish an article of the bundle
    status, data, _ = _request(f"{server}/v1/articles/n2", method="DELETE")
    assert status == 200, data
    _reaches_every_worker(
        server, "/v1/articles/n2", lambda s, _: s == 404, workers, LIFECYCLE_WITHIN
    )
    related = json.loads(_request(f"{server}/v1/articles/n1/related")[1])
    assert "n2" not in [item["id"] for item in related["items"]]

    # publish a new article, then unpublish it
    request = urllib.request.Request(
        f"{server}/v1/articles/x1",
        data=json.dumps({"title": "A new article", "category": "news"}).encode(),
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json",
        },
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["new"] is True
    _reaches_every_worker(
        server, "/v1/articles/x1", lambda s, _: s == 200, workers, LIFECYCLE_WITHIN
    )
    assert _request(f"{server}/v1/articles/x1", method="DELETE")[0] == 200
    _reaches_every_worker(
        server, "/v1/articles/x1", lambda s, _: s == 404, workers, LIFECYCLE_WITHIN
    )

    # a view counted by one worker is counted on every worker, and once
    assert _views_1h(0)(*_request(f"{server}/v1/articles/n1")[:2])
    assert _post_view(server, "n1", "reader-1")["counted"] == 1
    _reaches_every_worker(server, "/v1/articles/n1", _views_1h(1), workers, COUNT_WITHIN)
    for _ in range(2 * WORKERS):  # the same reader again, on any worker: a repeat
        assert _post_view(server, "n1", "reader-1")["counted"] == 0
    assert _post_view(server, "n1", "reader-2")["counted"] == 1
    _reaches_every_worker(server, "/v1/articles/n1", _views_1h(2), workers, COUNT_WITHIN)
