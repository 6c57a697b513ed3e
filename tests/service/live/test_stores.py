"""The live store contract, run on the in-process store and on Redis (DB 14, flushed before and
after), plus what only Redis shows (keys, memory bounds, failures).

Times are built around ``NOW``, an hour boundary plus 30 minutes of the real clock: Redis
expires keys by its own clock, so expiry is tested with view timestamps placed in the past
(the injectable clock of the in-process store is the real one here, as Redis's is).
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from recommender.bundle import Bundle
from service.live.catalogue import build_catalogue
from service.live.counts import (
    DAY,
    HOUR,
    Interaction,
    LiveUnavailable,
    View,
    category_label,
    day_label,
    hour_label,
    window_buckets,
)
from service.live.redis_store import RedisLiveStore
from service.live.sqlite_store import SqliteLiveStore
from service.live.stores import LiveStore, LocalLiveStore
from service.live.view import Live
from tests.support import LIVE_REDIS_URL, flushed_redis

ROOT = Path(__file__).resolve().parents[3]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
PREFIX = "nr:live:"


@pytest.fixture
def live_redis() -> Iterator[redis.Redis]:
    """The machine's Redis, DB 14 (live signals), flushed before and after."""
    yield from flushed_redis(LIVE_REDIS_URL)


def _now() -> int:
    """Half past the current hour (so 'this hour' and 'last hour' are both well inside)."""
    now = int(time.time())
    return now - now % HOUR + HOUR // 2 if now % HOUR >= HOUR // 2 else now - now % HOUR - HOUR // 2


NOW = _now()


@pytest.fixture(
    params=[
        "local",
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-buffered", marks=pytest.mark.redis),
    ]
)
def make_store(request: pytest.FixtureRequest) -> Callable[..., LiveStore]:
    """Build a store of the parametrised kind (``dedup_seconds`` as keyword); the buffered
    Redis store writes its counts only when asked (its thread waits a minute)."""
    if request.param == "local":
        return lambda dedup_seconds=1800.0: LocalLiveStore(dedup_seconds=dedup_seconds)
    if request.param == "sqlite":
        path = request.getfixturevalue("tmp_path") / "state" / "live.sqlite3"
        return lambda dedup_seconds=1800.0: SqliteLiveStore(path, dedup_seconds=dedup_seconds)
    request.getfixturevalue("live_redis")
    flush = 60.0 if request.param == "redis-buffered" else 0.0
    return lambda dedup_seconds=1800.0: RedisLiveStore(
        LIVE_REDIS_URL, dedup_seconds=dedup_seconds, timeout_ms=1000, flush_seconds=flush
    )


def view(article_id: str, session: str = "s1", category: str = "news", at: int = NOW) -> View:
    return View(session, article_id, category, at)


def overall(store: LiveStore, *labels: str) -> dict[str, float]:
    return store.counts([([(label, 1.0) for label in labels], None)])[0]


def test_live_store_counts_a_session_once_per_article_within_the_window(
    make_store: Callable[..., LiveStore],
) -> None:
    store = make_store(dedup_seconds=0.4)
    assert store.record([view("a"), view("a"), view("b")], NOW) == [True, False, True]
    assert store.record([view("a")], NOW) == [False]
    assert store.record([view("a", session="s2")], NOW) == [True]
    assert overall(store, hour_label(NOW)) == {"a": 2.0, "b": 1.0}
    time.sleep(0.5)  # the window is over: the same session counts again
    assert store.record([view("a")], NOW + 1) == [True]
    assert overall(store, hour_label(NOW)) == {"a": 3.0, "b": 1.0}


def test_live_store_buckets_by_hour_day_and_section(make_store: Callable[..., LiveStore]) -> None:
    store = make_store()
    store.record(
        [
            view("a", "s1", "news", NOW),
            view("b", "s2", "sports", NOW),
            view("a", "s3", "news", NOW - HOUR),
            view("c", "s4", "", NOW - HOUR),  # no section: overall only
        ],
        NOW,
    )
    this_hour, last_hour = hour_label(NOW), hour_label(NOW - HOUR)
    assert overall(store, this_hour) == {"a": 1.0, "b": 1.0}
    assert overall(store, last_hour) == {"a": 1.0, "c": 1.0}
    # NOW - 1 h may fall on the day before (just after midnight): sum the distinct days
    assert overall(store, *{day_label(NOW), day_label(NOW - HOUR)}) == {
        "a": 2.0,
        "b": 1.0,
        "c": 1.0,
    }
    sections = store.counts(
        [
            ([(this_hour, 1.0), (last_hour, 1.0)], "news"),
            ([(this_hour, 1.0), (last_hour, 1.0)], "sports"),
            ([], None),
        ]
    )
    assert sections == [{"a": 2.0}, {"b": 1.0}, {}]


def test_live_store_days_sum_their_hours(make_store: Callable[..., LiveStore]) -> None:
    store = make_store()
    at = [NOW - i * HOUR for i in range(30)]
    store.record([view("a", f"s{i}", at=t) for i, t in enumerate(at)], NOW)
    days: dict[str, float] = {}
    for t in at:
        days[day_label(t)] = days.get(day_label(t), 0.0) + 1.0
    for label, count in days.items():
        assert overall(store, label) == {"a": count}


def test_live_store_weighted_union(make_store: Callable[..., LiveStore]) -> None:
    store = make_store()
    store.record([view("a", f"s{i}") for i in range(4)], NOW)
    store.record([view("a", f"t{i}", at=NOW - HOUR) for i in range(2)], NOW)
    store.record([view("b", "u", at=NOW - HOUR)], NOW)
    # the last hour as seen at NOW: half of the previous hour and all of this one
    buckets = window_buckets(NOW - HOUR, NOW, NOW)
    assert buckets == [(hour_label(NOW - HOUR), 0.5), (hour_label(NOW), 1.0)]
    assert store.counts([(buckets, None)]) == [{"a": 4.0 + 1.0, "b": 0.5}]


def test_live_store_buckets_expire_after_their_retention(
    make_store: Callable[..., LiveStore],
) -> None:
    store = make_store()
    kept_hour, gone_hour = NOW - 47 * HOUR, NOW - 51 * HOUR
    kept_day, gone_day = NOW - 7 * DAY, NOW - 10 * DAY
    store.record(
        [
            view("a", "s1", at=kept_hour),
            view("b", "s2", at=gone_hour),
            view("c", "s3", at=kept_day),
            view("d", "s4", at=gone_day),
        ],
        NOW,
    )
    assert overall(store, hour_label(kept_hour)) == {"a": 1.0}
    assert overall(store, hour_label(gone_hour)) == {}  # 49 h after its hour: gone
    assert overall(store, day_label(gone_hour))["b"] == 1.0  # its day is kept 8 days
    assert overall(store, day_label(kept_day)) == {"c": 1.0}
    assert overall(store, day_label(gone_day)) == {}


def test_live_store_overlay_bumps_the_generation(make_store: Callable[..., LiveStore]) -> None:
    store = make_store()
    assert store.generation() == 0
    assert store.overlay() == (0, {})
    assert store.put_overlay("a", '{"v": 1}') == 1
    assert store.put_overlay("b", '{"v": 2}') == 2
    assert store.put_overlay("a", '{"v": 3}') == 3
    assert store.overlay() == (3, {"a": '{"v": 3}', "b": '{"v": 2}'})
    # dropping compares values: a record changed meanwhile stays
    store.drop_overlay({"a": '{"v": 1}', "b": '{"v": 2}'})
    assert store.overlay() == (3, {"a": '{"v": 3}'})
    assert store.generation() == 3


@pytest.mark.redis
def test_redis_live_keys_are_bounded_and_hold_no_session_id(
    live_redis: redis.Redis, make_app: Callable[..., Flask]
) -> None:
    app = make_app(live_redis_url=LIVE_REDIS_URL, event_log_dir=None, dedup_minutes=1.0)
    events = [
        {"article_id": "n1", "session_id": "reader-42"},
        {"article_id": "s1", "session_id": "reader-42"},
    ]
    response = app.test_client().post("/v1/events", json=events, headers={"User-Agent": BROWSER})
    assert response.status_code == 202
    app.extensions["newsrec"].live.store.flush()  # (counts are written every second)
    keys = sorted(k.decode() for k in live_redis.keys("*"))
    assert all(k.startswith(PREFIX) for k in keys)
    assert not any("reader-42" in k for k in keys)
    now = time.time()
    hour = hour_label(now)
    assert {f"{PREFIX}{hour}", f"{PREFIX}{hour}:cat:news", f"{PREFIX}{day_label(now)}"} <= set(keys)
    seen = [k for k in keys if k.startswith(PREFIX + "seen:")]
    assert len(seen) == 2  # one per (session, article) pair, for the dedup window only
    assert all(0 < live_redis.pttl(k) <= 60_000 for k in seen)
    for key in keys:  # everything expires: no row per view lives on
        assert live_redis.ttl(key) > 0, key
    # an hour bucket goes 49 h after its hour ends, a day bucket 8 days after its day
    assert 49 * HOUR <= live_redis.ttl(f"{PREFIX}{hour}") <= 50 * HOUR
    assert 8 * DAY <= live_redis.ttl(f"{PREFIX}{day_label(now)}") <= 9 * DAY


def test_redis_live_store_unreachable_raises_and_backs_off() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisLiveStore(f"redis://127.0.0.1:{port}/14", timeout_ms=50, failure_threshold=2)
    for _ in range(2):
        with pytest.raises(LiveUnavailable):
            store.record([view("a")], NOW)
    started = time.perf_counter()
    with pytest.raises(LiveUnavailable, match="skipped"):
        store.counts([([(hour_label(NOW), 1.0)], None)])
    assert time.perf_counter() - started < 0.01


def test_sqlite_live_store_is_shared_by_processes_and_kept_across_restarts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "live.sqlite3"
    store = SqliteLiveStore(path)
    store.record([view("a")], NOW)
    store.put_overlay("a", '{"v": 1}')
    # another worker of the host (a process of its own): the same counts, dedup and overlay
    program = textwrap.dedent(
        f"""
        from service.live.counts import View, hour_label
        from service.live.sqlite_store import SqliteLiveStore
        store = SqliteLiveStore({str(path)!r})
        views = [View("s1", "a", "news", {NOW}), View("s1", "b", "news", {NOW})]
        assert store.record(views, {NOW}) == [False, True]
        hour = [(hour_label({NOW}), 1.0)]
        assert store.counts([(hour, None)]) == [{{"a": 1.0, "b": 1.0}}]
        assert store.put_overlay("b", '{{"v": 2}}') == 2
        """
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=ROOT, timeout=60)
    store.close()
    again = SqliteLiveStore(path)  # a restart
    assert again.overlay() == (2, {"a": '{"v": 1}', "b": '{"v": 2}'})
    assert overall(again, hour_label(NOW)) == {"a": 1.0, "b": 1.0}
    assert again.record([view("a")], NOW) == [False]


def test_sqlite_live_store_refuses_a_path_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(LiveUnavailable, match="live store"):
        SqliteLiveStore(blocker / "live.sqlite3")


# --- the live layer's looks at the lifecycle generation ---------------------------------------


class WatchedStore(RedisLiveStore):
    """A Redis live store that notes which thread asked for the generation."""

    def __init__(self) -> None:
        super().__init__(LIVE_REDIS_URL, timeout_ms=1000)
        self.askers: list[int] = []

    def generation(self) -> int:
        self.askers.append(threading.get_ident())
        return super().generation()


def _background_live(store: LiveStore) -> Live:
    # the catalogue ignores overlay records: these tests watch the generation only
    return Live(
        store,
        background=True,
        generation_interval=0.02,
        build_catalogue=lambda bundle, records: (build_catalogue(bundle, {})[0], {}),
    )


def _seen_within(live: Live, bundle: Bundle, generation: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if live.view(bundle).generation == generation:
            return True
        time.sleep(0.01)
    return False


@pytest.mark.redis
def test_background_live_layer_sees_changes_without_requests_asking_redis(
    live_redis: redis.Redis, app: Flask
) -> None:
    bundle = app.extensions["newsrec"].store.current().bundle
    store = WatchedStore()
    live = _background_live(store)
    request_thread = threading.get_ident()
    assert live.view(bundle).generation == 0  # the first look is the request's own
    assert store.askers == [request_thread]
    RedisLiveStore(LIVE_REDIS_URL).put_overlay("elsewhere", "{}")  # another worker publishes
    assert _seen_within(live, bundle, 1)
    assert len(store.askers) > 1
    assert request_thread not in store.askers[1:]  # the thread looked, no request waited
    # after this worker's own change the next request looks at once (reads its own writes)
    RedisLiveStore(LIVE_REDIS_URL).put_overlay("here", "{}")
    live.refresh_now()
    assert live.view(bundle).generation == 2
    assert store.askers.count(request_thread) == 2
    live.close()


@pytest.mark.redis
def test_background_live_layer_looks_again_in_a_forked_worker(
    live_redis: redis.Redis, app: Flask
) -> None:
    bundle = app.extensions["newsrec"].store.current().bundle
    live = _background_live(RedisLiveStore(LIVE_REDIS_URL, timeout_ms=1000))
    live.view(bundle)  # the parent's thread is running; a fork does not copy it
    pid = os.fork()
    if pid == 0:  # the worker: it must start its own looks
        code = 1
        try:
            live.view(bundle)
            RedisLiveStore(LIVE_REDIS_URL).put_overlay("late", "{}")
            code = 0 if _seen_within(live, bundle, 1) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    live.close()


@pytest.mark.redis
def test_background_looks_end_with_their_live_layer(live_redis: redis.Redis, app: Flask) -> None:
    def watchers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "newsrec-live"}

    bundle = app.extensions["newsrec"].store.current().bundle
    before = watchers()
    live = _background_live(RedisLiveStore(LIVE_REDIS_URL, timeout_ms=1000))
    live.view(bundle)
    (thread,) = watchers() - before
    del live
    deadline = time.monotonic() + 2
    while thread.is_alive() and time.monotonic() < deadline:
        gc.collect()  # (the thread may hold the layer while a collection runs)
        time.sleep(0.01)
    assert not thread.is_alive()


# --- buffered counts ---------------------------------------------------------------------------


def _buffered(flush_seconds: float = 60.0) -> RedisLiveStore:
    return RedisLiveStore(LIVE_REDIS_URL, timeout_ms=1000, flush_seconds=flush_seconds)


@pytest.mark.redis
def test_buffered_counts_reach_other_workers_within_the_flush_interval(
    live_redis: redis.Redis,
) -> None:
    writer = _buffered(flush_seconds=0.05)
    reader = RedisLiveStore(LIVE_REDIS_URL, timeout_ms=1000)  # another worker
    counted = writer.record([view("a", session=f"s{i}") for i in range(50)], NOW)
    assert counted == [True] * 50  # decided at once, in Redis
    assert writer.record([view("a", session="s7")], NOW) == [False]  # also across workers
    assert RedisLiveStore(LIVE_REDIS_URL).record([view("a", session="s8")], NOW) == [False]
    deadline = time.monotonic() + 3
    while overall(reader, hour_label(NOW)) != {"a": 50.0} and time.monotonic() < deadline:
        time.sleep(0.02)
    assert overall(reader, hour_label(NOW)) == {"a": 50.0}
    assert overall(reader, day_label(NOW)) == {"a": 50.0}
    assert overall(reader, category_label(hour_label(NOW), "news")) == {"a": 50.0}
    writer.close()


@pytest.mark.redis
def test_buffered_counts_go_as_one_increment_per_bucket_and_article(
    live_redis: redis.Redis,
) -> None:
    store = _buffered()
    store.record([view("a", session=f"s{i}") for i in range(40)], NOW)
    store.record([view("b", session=f"s{i}", category="") for i in range(10)], NOW)
    # a: its hour, day and section buckets; b (no section): hour and day
    assert store.flush() == 5
    assert store.flush() == 0
    assert overall(store, hour_label(NOW)) == {"a": 40.0, "b": 10.0}


@pytest.mark.redis
def test_a_failed_flush_is_retried_and_applied_once(live_redis: redis.Redis) -> None:
    store = _buffered()
    store.record([view("a", session=f"s{i}") for i in range(3)], NOW)
    real = store._add
    calls: list[str] = []

    def applied_but_timed_out(**kwargs: Any) -> Any:
        calls.append("timeout")
        real(**kwargs)  # Redis ran it; the answer never came back
        raise redis.TimeoutError("Timeout reading from socket")

    def refused(**kwargs: Any) -> Any:
        calls.append("refused")
        raise redis.ConnectionError("Connection refused")

    for failure in (refused, applied_but_timed_out):
        store._add = failure  # type: ignore[method-assign]
        with pytest.raises(LiveUnavailable):
            store.flush()
    store._add = real  # type: ignore[method-assign]
    store.record([view("a", session="late")], NOW)  # more views meanwhile
    assert calls == ["refused", "timeout"]
    store.flush()
    assert overall(store, hour_label(NOW)) == {"a": 4.0}  # not 7: the timed-out flush ran once
    assert overall(store, day_label(NOW)) == {"a": 4.0}


@pytest.mark.redis
def test_buffered_counts_are_written_when_the_process_exits(live_redis: redis.Redis) -> None:
    program = textwrap.dedent(
        f"""
        from service.live.counts import View
        from service.live.redis_store import RedisLiveStore
        store = RedisLiveStore({LIVE_REDIS_URL!r}, flush_seconds=3600)
        views = [View("s" + str(i), "a", "news", {NOW}) for i in range(7)]
        assert store.record(views, {NOW}) == [True] * 7
        """
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=ROOT, timeout=60)
    assert overall(RedisLiveStore(LIVE_REDIS_URL), hour_label(NOW)) == {"a": 7.0}


@pytest.mark.redis
def test_a_forked_worker_writes_only_its_own_buffered_counts(live_redis: redis.Redis) -> None:
    store = _buffered()
    store.record([view("a", session=f"p{i}") for i in range(5)], NOW)  # the parent's
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            store.record([view("a", session=f"c{i}") for i in range(2)], NOW)
            code = 0 if store.flush() == 3 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert overall(RedisLiveStore(LIVE_REDIS_URL), hour_label(NOW)) == {"a": 2.0}
    store.flush()
    assert overall(store, hour_label(NOW)) == {"a": 7.0}


def _shown(session: str, position: int, variant: str = "B", at: int = NOW) -> Interaction:
    return Interaction(
        "impression", "exp1", variant, position, at, once=f"i:{session}:L1:{position}"
    )


def test_live_store_tally_counts_impressions_and_clicks_once_per_session_and_position(
    make_store: Callable[..., LiveStore],
) -> None:
    store = make_store()
    shown = store.record_interactions(
        [_shown("s1", 1), _shown("s1", 2), _shown("s1", 1), _shown("s2", 1, "A")], NOW
    )
    assert shown == [True, True, False, True]
    click = Interaction("click", "exp1", "B", 2, NOW, once="k:s1:L1:2")
    marker = Interaction("click_session", "exp1", "B", 0, NOW, once="c:s1", ttl=86400)
    after = Interaction("after_click", "exp1", "B", 0, NOW, after="c:s1")
    other_after = Interaction("after_click", "exp1", "B", 0, NOW, after="c:s9")
    assert store.record_interactions([click, marker, after, click, other_after], NOW) == [
        True,
        True,
        True,
        False,
        False,
    ]
    store.record_interactions([Interaction("click", "exp2", "A", 1, NOW - DAY)], NOW)
    today = time.strftime("%Y-%m-%d", time.gmtime(NOW))
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(NOW - DAY))
    assert store.tally("exp1") == {
        ("exp1", "B", 1, today): {"impression": 1},
        ("exp1", "B", 2, today): {"impression": 1, "click": 1},
        ("exp1", "A", 1, today): {"impression": 1},
        ("exp1", "B", 0, today): {"click_session": 1, "after_click": 1},
    }
    everything = store.tally()
    assert everything[("exp2", "A", 1, yesterday)] == {"click": 1}
    assert len(everything) == 5


def test_live_store_tally_once_keys_expire_after_their_lifetime(
    make_store: Callable[..., LiveStore],
) -> None:
    store = make_store()
    item = Interaction("impression", "e", "A", 1, NOW, once="i:s1:L:1", ttl=0.3)
    assert store.record_interactions([item], time.time()) == [True]
    time.sleep(0.5)
    assert store.record_interactions([item], time.time()) == [True]
    today = time.strftime("%Y-%m-%d", time.gmtime(NOW))
    assert store.tally("e") == {("e", "A", 1, today): {"impression": 2}}
