"""Cache contract, run against every backend, and Redis failure behaviour on a Redis we kill.

The contract suite runs on :class:`LocalCache`, :class:`RedisCache` on the machine's Redis
(DB 15, flushed before and after) and :class:`TwoLevelCache`. The failure tests start their
own ``redis-server`` on a free port, then kill, pause (SIGSTOP) and restart it.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis

from service.cache import (
    KEY_PREFIX,
    Cache,
    LocalCache,
    RedisCache,
    TwoLevelCache,
    build_cache,
    redis_ping,
)
from tests.support import CACHE_REDIS_URL, flushed_redis, free_port, unavailable

MACHINE_REDIS_URL = CACHE_REDIS_URL


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def machine_redis() -> Iterator[redis.Redis]:
    yield from flushed_redis(MACHINE_REDIS_URL)


@dataclass
class RedisServer:
    """A ``redis-server`` of this test's own, on a fixed port, that can die and come back."""

    binary: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.2, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 5
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.01)
            finally:
                client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (Debian package redis-server)")
        raise AssertionError  # unreachable: pytest.skip and pytest.fail raise
    server = RedisServer(binary)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.resume()
        server.kill()


# --- the contract every backend meets ----------------------------------------------------


@dataclass
class Backend:
    cache: Cache
    advance: Callable[[float], None]


@pytest.fixture(
    params=[
        "local",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("two_level", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "local":
        clock = FakeClock()
        return Backend(LocalCache(100, clock=clock), clock.advance)
    request.getfixturevalue("machine_redis")
    remote = RedisCache(MACHINE_REDIS_URL, timeout_ms=1000)
    if request.param == "redis":
        return Backend(remote, time.sleep)
    # both levels must expire, so the local one runs on the real clock too
    return Backend(TwoLevelCache(LocalCache(100), remote), time.sleep)


def test_cache_get_returns_what_set_stored(backend: Backend) -> None:
    backend.cache.set("related:v1:a1:10", b'{"items": []}', ttl=60)
    assert backend.cache.get("related:v1:a1:10") == b'{"items": []}'


def test_cache_get_misses_unknown_key(backend: Backend) -> None:
    backend.cache.set("a", b"1", ttl=60)
    assert backend.cache.get("b") is None
    assert backend.cache.get("a:") is None
    assert backend.cache.get("") is None


def test_cache_overwrite_replaces_value(backend: Backend) -> None:
    backend.cache.set("k", b"old", ttl=60)
    backend.cache.set("k", b"new", ttl=60)
    assert backend.cache.get("k") == b"new"


def test_cache_keeps_binary_values_exactly(backend: Backend) -> None:
    values = {
        "all-bytes": bytes(range(256)) * 4,
        "empty": b"",
        "nul": b"\x00\x00",
        "utf8 key é": "tête-à-tête".encode(),
        "large": b"x" * 200_000,
    }
    for key, value in values.items():
        backend.cache.set(key, value, ttl=60)
    assert {key: backend.cache.get(key) for key in values} == values


def test_cache_entry_expires_after_ttl(backend: Backend) -> None:
    backend.cache.set("short", b"1", ttl=1)
    backend.cache.set("long", b"2", ttl=60)
    assert backend.cache.get("short") == b"1"
    backend.advance(1.1)
    assert backend.cache.get("short") is None
    assert backend.cache.get("long") == b"2"


def test_cache_overwrite_restarts_ttl(backend: Backend) -> None:
    backend.cache.set("k", b"old", ttl=1)
    backend.cache.set("k", b"new", ttl=60)
    backend.advance(1.1)
    assert backend.cache.get("k") == b"new"


@pytest.mark.parametrize("ttl", [0, -5])
def test_cache_rejects_non_positive_ttl(backend: Backend, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        backend.cache.set("k", b"v", ttl=ttl)
    assert backend.cache.get("k") is None


# --- local level ---------------------------------------------------------------------------


def test_local_cache_evicts_least_recently_used() -> None:
    cache = LocalCache(2)
    cache.set("a", b"1", ttl=60)
    cache.set("b", b"2", ttl=60)
    assert cache.get("a") == b"1"  # now "b" is the least recently used
    cache.set("c", b"3", ttl=60)
    assert [cache.get(k) for k in ("a", "b", "c")] == [b"1", None, b"3"]
    assert len(cache) == 2


def test_local_cache_overwrite_counts_as_use() -> None:
    cache = LocalCache(2)
    cache.set("a", b"1", ttl=60)
    cache.set("b", b"2", ttl=60)
    cache.set("a", b"1'", ttl=60)
    cache.set("c", b"3", ttl=60)
    assert [cache.get(k) for k in ("a", "b", "c")] == [b"1'", None, b"3"]


def test_local_cache_expires_exactly_at_ttl() -> None:
    clock = FakeClock()
    cache = LocalCache(10, clock=clock)
    cache.set("k", b"v", ttl=30)
    clock.advance(29.999)
    assert cache.get("k") == b"v"
    clock.advance(0.001)
    assert cache.get("k") is None
    assert len(cache) == 0  # an expired entry found by get is dropped


def test_local_cache_of_size_zero_stores_nothing() -> None:
    cache = LocalCache(0)
    cache.set("k", b"v", ttl=60)
    assert cache.get("k") is None


def test_local_cache_reports_hits_and_misses() -> None:
    events: list[tuple[str, str]] = []
    cache = LocalCache(10, on_event=lambda level, outcome: events.append((level, outcome)))
    cache.get("k")
    cache.set("k", b"v", ttl=60)
    cache.get("k")
    assert events == [("local", "miss"), ("local", "hit")]


# --- Redis level on the machine's Redis ----------------------------------------------------


@pytest.mark.redis
def test_redis_cache_writes_every_key_prefixed_with_a_ttl(machine_redis: redis.Redis) -> None:
    cache = TwoLevelCache(LocalCache(10), RedisCache(MACHINE_REDIS_URL, timeout_ms=1000))
    for i in range(20):
        cache.set(f"related:v1:a{i}:10", b"x", ttl=300)
    cache.set("most-viewed:v1:7d", b"y", ttl=5)
    keys = sorted(machine_redis.scan_iter(match="*"))
    assert len(keys) == 21
    assert all(key.startswith(KEY_PREFIX.encode()) for key in keys)
    ttls = {key: machine_redis.ttl(key) for key in keys}
    assert all(0 < ttl <= 300 for ttl in ttls.values()), ttls
    assert machine_redis.ttl(KEY_PREFIX + "most-viewed:v1:7d") <= 5


@pytest.mark.redis
def test_redis_cache_never_doubles_the_prefix(machine_redis: redis.Redis) -> None:
    cache = RedisCache(MACHINE_REDIS_URL, timeout_ms=1000)
    cache.set(KEY_PREFIX + "20261101T000000Z:related:a1", b"1", ttl=60)
    cache.set("bare", b"2", ttl=60)
    assert sorted(machine_redis.scan_iter(match="*")) == [
        b"nr:v1:20261101T000000Z:related:a1",
        b"nr:v1:bare",
    ]
    assert cache.get(KEY_PREFIX + "bare") == b"2"  # one key, whichever way it is named


@pytest.mark.redis
def test_redis_cache_reports_hits_and_misses(machine_redis: redis.Redis) -> None:
    events: list[tuple[str, str]] = []
    cache = RedisCache(
        MACHINE_REDIS_URL,
        timeout_ms=1000,
        on_event=lambda level, outcome: events.append((level, outcome)),
    )
    cache.get("k")
    cache.set("k", b"v", ttl=60)
    cache.get("k")
    assert events == [("redis", "miss"), ("redis", "hit")]


@pytest.mark.redis
def test_two_level_cache_redis_hit_fills_local_level(machine_redis: redis.Redis) -> None:
    events: list[tuple[str, str]] = []
    record = lambda level, outcome: events.append((level, outcome))  # noqa: E731
    # another worker wrote the key: only Redis has it
    RedisCache(MACHINE_REDIS_URL, timeout_ms=1000).set("k", b"shared", ttl=60)
    local = LocalCache(10, on_event=record)
    cache = TwoLevelCache(local, RedisCache(MACHINE_REDIS_URL, timeout_ms=1000, on_event=record))
    assert cache.get("k") == b"shared"
    assert events == [("local", "miss"), ("redis", "hit")]
    machine_redis.flushdb()
    events.clear()
    assert cache.get("k") == b"shared"
    assert events == [("local", "hit")]


@pytest.mark.redis
def test_two_level_cache_local_copy_never_outlives_redis_entry(
    machine_redis: redis.Redis,
) -> None:
    RedisCache(MACHINE_REDIS_URL, timeout_ms=1000).set("k", b"v", ttl=100)
    clock = FakeClock()
    local = LocalCache(10, clock=clock)
    cache = TwoLevelCache(local, RedisCache(MACHINE_REDIS_URL, timeout_ms=1000), fill_ttl=1000)
    assert cache.get("k") == b"v"
    clock.advance(98)
    assert local.get("k") == b"v"
    clock.advance(3)
    assert local.get("k") is None


@pytest.mark.redis
def test_two_level_cache_uses_fill_ttl_for_keys_without_expiry(
    machine_redis: redis.Redis,
) -> None:
    machine_redis.set(KEY_PREFIX + "k", b"v")  # not written by us: no TTL
    clock = FakeClock()
    local = LocalCache(10, clock=clock)
    cache = TwoLevelCache(local, RedisCache(MACHINE_REDIS_URL, timeout_ms=1000), fill_ttl=30)
    assert cache.get("k") == b"v"
    clock.advance(29)
    assert local.get("k") == b"v"
    clock.advance(2)
    assert local.get("k") is None


# --- Redis failures, on a Redis of our own -------------------------------------------------


def _timed_get(cache: Cache, key: str) -> tuple[bytes | None, float]:
    start = time.perf_counter()
    value = cache.get(key)
    return value, time.perf_counter() - start


def test_redis_cache_survives_redis_death_and_picks_it_up_again(own_redis: RedisServer) -> None:
    events: list[str] = []
    cache = RedisCache(
        own_redis.url,
        timeout_ms=50,
        failure_threshold=3,
        backoff_seconds=0.2,
        on_event=lambda level, outcome: events.append(outcome),
    )
    cache.set("k", b"v", ttl=60)
    assert cache.get("k") == b"v"

    own_redis.kill()
    assert cache.get("k") is None  # failure 1: a miss, not an exception
    cache.set("k", b"v2", ttl=60)  # failure 2: does not raise
    assert cache.get("k") is None  # failure 3: back-off starts
    assert events == ["hit", "error", "error"]
    assert cache.in_backoff

    timings = []
    for _ in range(3):
        value, elapsed = _timed_get(cache, "k")
        assert value is None
        timings.append(elapsed)
    assert min(timings) < 0.001, timings
    assert events[-3:] == ["skipped"] * 3
    backoff_started = time.monotonic()

    own_redis.start()  # same port, empty
    time.sleep(max(0.0, 0.25 - (time.monotonic() - backoff_started)))
    assert not cache.in_backoff
    cache.set("k", b"back", ttl=60)
    assert cache.get("k") == b"back"
    assert events[-1] == "hit"
    assert cache.failures == 0


def test_redis_cache_hung_redis_costs_one_timeout_then_nothing(own_redis: RedisServer) -> None:
    events: list[str] = []
    cache = RedisCache(
        own_redis.url,
        timeout_ms=50,
        failure_threshold=3,
        backoff_seconds=60,
        on_event=lambda level, outcome: events.append(outcome),
    )
    cache.set("k", b"v", ttl=60)
    own_redis.pause()
    try:
        for _ in range(3):
            value, elapsed = _timed_get(cache, "k")
            assert value is None
            assert 0.04 < elapsed < 0.5, "a hung Redis costs the socket timeout, no more"
        assert events == ["error"] * 3
        timings = [_timed_get(cache, "k")[1] for _ in range(3)]
        assert min(timings) < 0.001, timings
        assert events[-1] == "skipped"
        start = time.perf_counter()
        cache.set("k", b"v", ttl=60)
        assert time.perf_counter() - start < 0.01
    finally:
        own_redis.resume()


def test_two_level_cache_serves_local_level_while_redis_is_dead(own_redis: RedisServer) -> None:
    remote = RedisCache(own_redis.url, timeout_ms=50, failure_threshold=3, backoff_seconds=60)
    cache = TwoLevelCache(LocalCache(10), remote)
    cache.set("k", b"v", ttl=60)
    own_redis.kill()
    assert cache.get("k") == b"v"
    assert cache.get("other") is None
    cache.set("new", b"n", ttl=60)
    assert cache.get("new") == b"n"


def test_redis_cache_failure_warnings_are_rate_limited(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    cache = RedisCache(
        own_redis.url, timeout_ms=50, failure_threshold=1000, clock=clock, log_interval=60
    )
    own_redis.kill()
    with caplog.at_level(logging.WARNING, logger="service.cache"):
        for _ in range(10):
            assert cache.get("k") is None
            clock.advance(1)
        assert len(caplog.records) == 1
        assert f"127.0.0.1:{own_redis.port}" in caplog.records[0].getMessage()
        clock.advance(60)
        cache.get("k")
    assert len(caplog.records) == 2
    assert "9 similar messages suppressed" in caplog.records[1].getMessage()


def test_redis_cache_warning_hides_the_password(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:s3cret@127.0.0.1:{own_redis.port}/0"
    cache = RedisCache(url, timeout_ms=50)
    own_redis.kill()
    with caplog.at_level(logging.WARNING, logger="service.cache"):
        assert cache.get("k") is None
    assert len(caplog.records) == 1
    assert "s3cret" not in caplog.records[0].getMessage()
    assert ":***@127.0.0.1" in caplog.records[0].getMessage()


# --- build_cache and redis_ping --------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The four attributes of service.settings.Settings that the cache reads."""

    redis_url: str | None = None
    redis_timeout_ms: int = 50
    local_cache_size: int = 100
    cache_ttl: int = 300


def test_build_cache_is_local_only_without_redis_url() -> None:
    cache = build_cache(Settings(redis_url=None, local_cache_size=7))
    assert isinstance(cache, LocalCache)
    assert cache.max_items == 7


@pytest.mark.redis
def test_build_cache_is_two_level_with_redis_url(machine_redis: redis.Redis) -> None:
    events: list[tuple[str, str]] = []
    cache = build_cache(
        Settings(redis_url=MACHINE_REDIS_URL, redis_timeout_ms=1000),
        on_event=lambda level, outcome: events.append((level, outcome)),
    )
    assert isinstance(cache, TwoLevelCache)
    assert cache.get("k") is None
    cache.set("k", b"v", ttl=60)
    assert cache.get("k") == b"v"
    assert machine_redis.get(KEY_PREFIX + "k") == b"v"
    assert events == [("local", "miss"), ("redis", "miss"), ("local", "hit")]


def test_build_cache_does_not_connect_at_start() -> None:
    # nothing listens on this port: building must still succeed, quickly
    start = time.perf_counter()
    cache = build_cache(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    assert time.perf_counter() - start < 0.1
    assert cache.get("k") is None


def test_redis_ping_answers_for_live_dead_and_hung_redis(own_redis: RedisServer) -> None:
    settings = Settings(redis_url=own_redis.url, redis_timeout_ms=50)
    assert redis_ping(settings) is True
    own_redis.pause()
    try:
        start = time.perf_counter()
        assert redis_ping(settings) is False
        assert time.perf_counter() - start < 0.5
    finally:
        own_redis.resume()
    own_redis.kill()
    assert redis_ping(settings) is False
    assert redis_ping(Settings(redis_url=None)) is True


def test_cache_module_leaves_redis_py_unimported_without_redis() -> None:
    # the embedded default starts every worker faster without importing redis-py
    code = (
        "import sys, types; from service.cache import build_cache; "
        "build_cache(types.SimpleNamespace(redis_url=None, redis_timeout_ms=50, "
        "local_cache_size=10, cache_ttl=300)); print('redis' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
