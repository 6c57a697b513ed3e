"""The Redis live store on the events route's path: experiment tallies buffered per worker like
the view counts (decided at once, written every ``flush_seconds``, at exit and on ``close``),
and the request path's own connection surviving what Redis does to it (a closed connection,
its scripts flushed). Redis DB 14 (or the slot's), flushed before and after."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import redis

from service.live.counts import FIELD_SEP, Interaction, hour_label
from service.live.redis_store import RedisLiveStore
from tests.service.live.test_stores import (  # noqa: F401 - live_redis is a fixture
    LIVE_REDIS_URL,
    NOW,
    ROOT,
    live_redis,
    overall,
    view,
)

pytestmark = pytest.mark.redis

TODAY = time.strftime("%Y-%m-%d", time.gmtime(NOW))
TALLY_KEY = "nr:live:x:" + time.strftime("%Y%m%d", time.gmtime(NOW))


def _shown(session: str, position: int) -> Interaction:
    return Interaction("impression", "exp1", "B", position, NOW, once=f"i:{session}:L1:{position}")


def _buffered(flush_seconds: float = 60.0) -> RedisLiveStore:
    return RedisLiveStore(LIVE_REDIS_URL, timeout_ms=1000, flush_seconds=flush_seconds)


def test_buffered_tallies_reach_other_workers_within_the_flush_interval(
    live_redis: redis.Redis,  # noqa: F811
) -> None:
    writer = _buffered(flush_seconds=0.05)
    reader = RedisLiveStore(LIVE_REDIS_URL, timeout_ms=1000)  # another worker
    shown = writer.record_interactions([_shown(f"s{i}", 1) for i in range(20)], NOW)
    assert shown == [True] * 20  # decided at once, in Redis
    # a repeat is refused at once, by this worker and by another
    assert writer.record_interactions([_shown("s3", 1)], NOW) == [False]
    assert reader.record_interactions([_shown("s4", 1)], NOW) == [False]
    deadline = time.monotonic() + 3
    while reader.tally("exp1") == {} and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reader.tally("exp1") == {("exp1", "B", 1, TODAY): {"impression": 20}}
    writer.close()
    reader.close()


def test_buffered_tallies_wait_for_the_flush_as_one_increment_per_day_and_field(
    live_redis: redis.Redis,  # noqa: F811
) -> None:
    store = _buffered()
    store.record_interactions([_shown(f"s{i}", 1) for i in range(30)], NOW)
    store.record_interactions([_shown(f"s{i}", 2) for i in range(10)], NOW)
    click = Interaction("click", "exp1", "B", 2, NOW, once="k:s1:L1:2")
    marker = Interaction("click_session", "exp1", "B", 0, NOW, once="c:s1", ttl=86400)
    after = Interaction("after_click", "exp1", "B", 0, NOW, after="c:s1")
    assert store.record_interactions([click, marker, after, after], NOW) == [True] * 4
    assert not live_redis.exists(TALLY_KEY)  # nothing written before the flush
    # positions 1 and 2 shown, one click, its session marker, the views after it
    assert store.flush() == 5
    assert store.flush() == 0
    assert live_redis.hgetall(TALLY_KEY) == {
        FIELD_SEP.join(("exp1", "B", "1", "impression")).encode(): b"30",
        FIELD_SEP.join(("exp1", "B", "2", "impression")).encode(): b"10",
        FIELD_SEP.join(("exp1", "B", "2", "click")).encode(): b"1",
        FIELD_SEP.join(("exp1", "B", "0", "click_session")).encode(): b"1",
        FIELD_SEP.join(("exp1", "B", "0", "after_click")).encode(): b"2",
    }
    assert live_redis.ttl(TALLY_KEY) > 0  # kept for its 400 days, then dropped


def test_buffered_tallies_are_written_when_the_process_exits(
    live_redis: redis.Redis,  # noqa: F811
) -> None:
    program = textwrap.dedent(
        f"""
        from service.live.counts import Interaction
        from service.live.redis_store import RedisLiveStore
        store = RedisLiveStore({LIVE_REDIS_URL!r}, flush_seconds=3600)
        items = [
            Interaction("impression", "exp1", "B", 1, {NOW}, once="i:s" + str(i) + ":L1:1")
            for i in range(7)
        ]
        assert store.record_interactions(items, {NOW}) == [True] * 7
        """
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=ROOT, timeout=60)
    reader = RedisLiveStore(LIVE_REDIS_URL)
    assert reader.tally("exp1") == {("exp1", "B", 1, TODAY): {"impression": 7}}
    reader.close()


def test_closing_a_buffered_store_writes_its_tallies(
    live_redis: redis.Redis,  # noqa: F811
) -> None:
    store = _buffered(flush_seconds=3600)
    store.record_interactions([_shown(f"s{i}", 3) for i in range(4)], NOW)
    store.close()
    reader = RedisLiveStore(LIVE_REDIS_URL)
    assert reader.tally("exp1") == {("exp1", "B", 3, TODAY): {"impression": 4}}
    reader.close()


@pytest.mark.parametrize("flush_seconds", [0.0, 60.0])
def test_the_request_path_connects_again_after_redis_closed_its_connection(
    live_redis: redis.Redis,  # noqa: F811
    flush_seconds: float,
) -> None:
    store = RedisLiveStore(LIVE_REDIS_URL, timeout_ms=1000, flush_seconds=flush_seconds)
    assert store.record([view("a", session="s1")], NOW) == [True]
    assert store.record_interactions([_shown("s1", 1)], NOW) == [True]
    # what a Redis restart or its idle timeout does to every connection of the worker
    live_redis.client_kill_filter(_type="normal", skipme=True)
    # the next request counts (no 503), and dedup still holds
    assert store.record([view("a", session="s2"), view("a", session="s1")], NOW) == [True, False]
    assert store.record([view("a", session="s3")], NOW) == [True]
    assert store.record_interactions([_shown("s1", 1), _shown("s2", 1)], NOW) == [False, True]
    assert overall(store, hour_label(NOW)) == {"a": 3.0}
    assert store.tally("exp1") == {("exp1", "B", 1, TODAY): {"impression": 2}}
    store.close()


def test_the_request_path_loads_its_scripts_again_after_redis_lost_them(
    live_redis: redis.Redis,  # noqa: F811
) -> None:
    store = _buffered()
    assert store.record([view("a", session=f"s{i}") for i in range(2)], NOW) == [True, True]
    live_redis.script_flush()  # what a restarted Redis without persistence has
    assert store.record([view("a", session=f"s{i}") for i in range(1, 4)], NOW) == [
        False,
        True,
        True,
    ]
    click = Interaction("click", "exp1", "B", 2, NOW, once="k:s1:L1:2")
    marker = Interaction("click_session", "exp1", "B", 0, NOW, once="c:s1", ttl=86400)
    live_redis.script_flush()
    assert store.record_interactions([click, marker], NOW) == [True, True]
    store.flush()
    assert overall(store, hour_label(NOW)) == {"a": 4.0}
    store.close()


def test_a_thread_that_ends_leaves_no_connection_open(
    live_redis: redis.Redis,  # noqa: F811
) -> None:
    store = _buffered()
    db = live_redis.connection_pool.connection_kwargs["db"]

    def connections() -> int:
        return sum(1 for client in live_redis.client_list() if int(client["db"]) == db)

    before = connections()
    for i in range(20):  # e.g. a threaded development server: a thread per request
        thread = threading.Thread(target=store.record, args=([view("a", session=f"t{i}")], NOW))
        thread.start()
        thread.join()
    gc.collect()
    assert connections() <= before + 1
    store.close()
