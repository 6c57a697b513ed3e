"""Response caches: an in-process LRU per worker and a shared Redis level behind one interface.

The app builds its keys and stores ready-made response bytes. Keys should carry the model
version (``related:<version>:<article_id>:...``), so a new bundle invalidates old answers
without a flush.

Redis is an optimisation, never a failure source: every Redis error or timeout is a logged
(rate-limited) cache miss, and after ``failure_threshold`` consecutive failures Redis is not
asked at all for ``backoff_seconds``, so a dead or hung Redis costs a request nothing; the next
request after the back-off tries it again, which is how a Redis that comes back is picked up.

Keeping Redis memory bounded:

- Every key the service writes to Redis starts with :data:`KEY_PREFIX` (``nr:v1:``):
  :class:`RedisCache` prepends it to keys that do not already start with it (the app's
  ``cache_key`` builds ``nr:v1:<model version>:<route>:...`` itself). ``redis-cli --scan
  --pattern 'nr:v1:*'`` lists everything the service wrote, and bumping the prefix's version
  abandons an old key layout.
- Every key is written with ``SET key value EX ttl``: nothing the service writes lives forever.
- Give the cache its own Redis (or at least its own instance settings) with a memory cap and
  an eviction policy, so a burst of distinct keys evicts old entries instead of failing
  writes: ``maxmemory 256mb`` and ``maxmemory-policy allkeys-lru`` in ``redis.conf`` (or
  ``redis-cli config set maxmemory 256mb`` and ``config set maxmemory-policy allkeys-lru``).
  Under the default ``noeviction`` a full Redis answers writes with an error, which this
  module turns into misses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import redis

__all__ = [
    "KEY_PREFIX",
    "Cache",
    "CacheFactory",
    "CacheSettings",
    "LocalCache",
    "RedisBreaker",
    "RedisCache",
    "TwoLevelCache",
    "build_cache",
    "local_level",
    "redis_ping",
]

log = logging.getLogger(__name__)

#: Prepended by :class:`RedisCache` to every key it writes; bump ``v1`` when the layout changes.
KEY_PREFIX = "nr:v1:"

#: ``on_event(level, outcome)``: level ``"local"`` or ``"redis"``; outcome ``"hit"``,
#: ``"miss"``, ``"error"`` (Redis failed: counted as a miss) or ``"skipped"`` (Redis in
#: back-off: not asked). One event per level consulted by a ``get``; ``set`` emits none.
EventHook = Callable[[str, str], None]
Clock = Callable[[], float]


class Cache(Protocol):
    """What the app needs from a response cache: ready-made JSON bytes by string key, each
    entry with a lifetime. The one response-cache protocol: :class:`LocalCache`,
    :class:`RedisCache` and :class:`TwoLevelCache` implement it, and so may a cache handed to
    :func:`service.app.create_app` (``cache_factory``)."""

    def get(self, key: str) -> bytes | None:
        """The value stored under ``key``, or None when absent, expired or unreachable."""
        ...

    def set(self, key: str, value: bytes, ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (at least 1); never raises."""
        ...


class CacheSettings(Protocol):
    """The attributes of ``service.settings.Settings`` that :func:`build_cache` reads."""

    @property
    def redis_url(self) -> str | None: ...

    @property
    def redis_timeout_ms(self) -> int: ...

    @property
    def local_cache_size(self) -> int: ...

    @property
    def cache_ttl(self) -> int: ...


def _check_ttl(ttl: float) -> None:
    if not ttl > 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")


class LocalCache:
    """In-process LRU cache of one worker, bounded by entry count, honouring each entry's ttl.

    Parameters
    ----------
    max_items : int
        Most entries kept; the least recently used one is dropped first. 0 keeps nothing.
    clock : callable, optional
        Monotonic seconds (default :func:`time.monotonic`); tests pass a fake one.
    on_event : callable, optional
        Called with ``("local", "hit" | "miss")`` on every :meth:`get`.
    """

    def __init__(
        self, max_items: int, *, clock: Clock = time.monotonic, on_event: EventHook | None = None
    ) -> None:
        if max_items < 0:
            raise ValueError(f"max_items must be 0 or more, got {max_items}")
        self.max_items = max_items
        self._clock = clock
        self._on_event = on_event
        # key -> (expires_at, value); order is recency, oldest first
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        # gthread workers share one instance between threads
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> bytes | None:
        """The value under ``key`` if present and not expired, else None."""
        value = self.peek(key)
        if self._on_event is not None:
            self._on_event("local", "miss" if value is None else "hit")
        return value

    def peek(self, key: str) -> bytes | None:
        """:meth:`get` without the event: for a caller that counts its own level (the fast
        path keeps its entries here, by raw request)."""
        value: bytes | None = None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if self._clock() < entry[0]:
                    self._entries.move_to_end(key)
                    value = entry[1]
                else:
                    del self._entries[key]
        return value

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, evicting the least recently used entries."""
        _check_ttl(ttl)
        if self.max_items == 0:
            return
        expires_at = self._clock() + ttl
        with self._lock:
            self._entries[key] = (expires_at, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_items:
                self._entries.popitem(last=False)


def _redact(url: str) -> str:
    """``url`` without its password, for log lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class RedisBreaker:
    """The one Redis circuit breaker: after ``failure_threshold`` consecutive failed commands
    Redis is not asked at all for ``backoff_seconds``, so a dead or hung Redis costs a request
    nothing; the next command after the back-off tries it again, and one more failure starts
    another back-off straight away. Failures are logged at most once per ``log_interval``
    (the next message says how many were suppressed); the recovery once.

    Used by the response cache (:class:`RedisCache`) and the live store
    (:class:`service.live.redis_store.RedisLiveStore`).

    Parameters
    ----------
    name : str
        What talks to Redis, for log lines (``"Redis cache"``).
    url : str
        Redis URL, logged without its password.
    consequence : str
        What a failure means for the caller, for log lines (``"treated as a miss"``).
    failure_threshold : int
        Consecutive failures that start a back-off (at least 1).
    backoff_seconds : float
    clock : callable
        Monotonic seconds (default :func:`time.monotonic`).
    log_interval : float
    logger : logging.Logger
        Where the warnings go (the caller's module logger).
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        consequence: str,
        failure_threshold: int = 3,
        backoff_seconds: float = 5.0,
        clock: Clock = time.monotonic,
        log_interval: float = 60.0,
        logger: logging.Logger = log,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        self.name = name
        self.url = url
        self.consequence = consequence
        self.failure_threshold = failure_threshold
        self.backoff_seconds = backoff_seconds
        self._clock = clock
        self._log_interval = log_interval
        self._log = logger
        self.failures = 0  # consecutive
        self._skip_until = float("-inf")
        self._last_log = float("-inf")
        self._suppressed = 0

    @property
    def open(self) -> bool:
        """True while Redis is being skipped after repeated failures."""
        return self._clock() < self._skip_until

    def succeeded(self) -> None:
        """A command succeeded: the failure count starts again."""
        if self.failures:
            self._log.info(
                "%s at %s answers again after %d failed commands",
                self.name,
                _redact(self.url),
                self.failures,
            )
            self.failures = 0

    def failed(self, exc: BaseException, what: str = "") -> None:
        """A command failed with ``exc`` (``what``: which command, for the log line)."""
        self.failures += 1
        now = self._clock()
        backoff = self.failures >= self.failure_threshold
        if backoff:
            self._skip_until = now + self.backoff_seconds
        if now - self._last_log < self._log_interval:
            self._suppressed += 1
            return
        suppressed = ""
        if self._suppressed:
            suppressed = f" ({self._suppressed} similar messages suppressed)"
        if backoff:
            action = (
                f"skipping Redis for {self.backoff_seconds:g} s after "
                f"{self.failures} consecutive failures"
            )
        else:
            action = (
                f"failure {self.failures} of {self.failure_threshold} before Redis is "
                f"skipped for {self.backoff_seconds:g} s"
            )
        self._log.warning(
            "%s at %s failed (%s%s: %s); %s, %s%s",
            self.name,
            _redact(self.url),
            f"{what}, " if what else "",
            type(exc).__name__,
            exc,
            self.consequence,
            action,
            suppressed,
        )
        self._last_log = now
        self._suppressed = 0


class RedisCache:
    """Shared cache level in Redis that degrades to misses when Redis fails.

    Parameters
    ----------
    url : str
        ``redis://[:password@]host:port/db``.
    timeout_ms : int
        Connect and read timeout for every command (default 50 ms): the most a hung Redis
        can add to a request before the back-off starts.
    failure_threshold : int
        Consecutive failed commands after which Redis is skipped (default 3).
    backoff_seconds : float
        How long Redis is skipped (default 5 s); then the next command tries it again, and
        one more failure starts another back-off straight away.
    key_prefix : str
        Prepended to every key that does not start with it already (default
        :data:`KEY_PREFIX`).
    on_event : callable, optional
        Called with ``("redis", "hit" | "miss" | "error" | "skipped")`` on every :meth:`get`.
    clock : callable, optional
        Monotonic seconds for the back-off (default :func:`time.monotonic`).
    log_interval : float
        At most one warning per this many seconds (default 60 s) while Redis keeps failing;
        the next one says how many were suppressed.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_ms: int = 50,
        failure_threshold: int = 3,
        backoff_seconds: float = 5.0,
        key_prefix: str = KEY_PREFIX,
        on_event: EventHook | None = None,
        clock: Clock = time.monotonic,
        log_interval: float = 60.0,
    ) -> None:
        self.url = url
        self.key_prefix = key_prefix
        self._on_event = on_event
        self.breaker = RedisBreaker(
            "Redis cache",
            url,
            consequence="treated as a miss",
            failure_threshold=failure_threshold,
            backoff_seconds=backoff_seconds,
            clock=clock,
            log_interval=log_interval,
            logger=log,
        )
        timeout = timeout_ms / 1000
        # imported here: the embedded default (no Redis) starts faster without redis-py
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        # redis-py retries a failed command up to 10 times with growing sleeps by default:
        # one attempt only, the back-off below is our retry policy
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
        )

    @property
    def failures(self) -> int:
        """Consecutive failed commands."""
        return self.breaker.failures

    @property
    def in_backoff(self) -> bool:
        """True while Redis is being skipped after repeated failures."""
        return self.breaker.open

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None when absent, or when Redis fails or is skipped."""
        found = self.get_with_ttl(key, with_ttl=False)
        return None if found is None else found[0]

    def get_with_ttl(self, key: str, *, with_ttl: bool = True) -> tuple[bytes, float] | None:
        """The value under ``key`` and its remaining lifetime in seconds, or None.

        The lifetime comes in the same round trip (a pipelined ``PTTL``) and is ``-1.0`` when
        the key has no expiry (written by someone else) or was not asked for.
        """
        if self.breaker.open:
            self._emit("skipped")
            return None
        full_key = self._full_key(key)
        try:
            if with_ttl:
                pipe = self.client.pipeline(transaction=False)
                pipe.get(full_key)
                pipe.pttl(full_key)
                value, pttl = pipe.execute()
            else:
                value, pttl = self.client.get(full_key), -1
        except self._errors as exc:
            self.breaker.failed(exc)
            self._emit("error")
            return None
        self.breaker.succeeded()
        if value is None:
            self._emit("miss")
            return None
        self._emit("hit")
        return bytes(value), (pttl / 1000 if pttl > 0 else -1.0)

    def set(self, key: str, value: bytes, ttl: int) -> None:
        """``SET key value EX ttl``; a failure is logged and counted, never raised."""
        _check_ttl(ttl)
        if self.breaker.open:
            return
        try:
            self.client.set(self._full_key(key), value, ex=max(1, int(ttl)))
        except self._errors as exc:
            self.breaker.failed(exc)
        else:
            self.breaker.succeeded()

    def _full_key(self, key: str) -> str:
        # the app's keys may already carry the prefix: never write it twice
        return key if key.startswith(self.key_prefix) else self.key_prefix + key

    def _emit(self, outcome: str) -> None:
        if self._on_event is not None:
            self._on_event("redis", outcome)


class TwoLevelCache:
    """This worker's :class:`LocalCache` first, then the shared :class:`RedisCache`.

    A Redis hit is copied into the local level for the key's remaining Redis lifetime (never
    longer), so popular keys are answered from process memory. ``set`` writes both levels.

    Parameters
    ----------
    local : LocalCache
    remote : RedisCache
    fill_ttl : int
        Local lifetime of a Redis hit whose key has no expiry (not one this service wrote).
    """

    def __init__(self, local: LocalCache, remote: RedisCache, *, fill_ttl: int = 60) -> None:
        self.local = local
        self.remote = remote
        self.fill_ttl = fill_ttl

    def get(self, key: str) -> bytes | None:
        """Local value, else Redis value (then kept locally), else None."""
        value = self.local.get(key)
        if value is not None:
            return value
        found = self.remote.get_with_ttl(key)
        if found is None:
            return None
        value, remaining = found
        self.local.set(key, value, remaining if remaining > 0 else self.fill_ttl)
        return value

    def set(self, key: str, value: bytes, ttl: int) -> None:
        """Store in both levels for ``ttl`` seconds."""
        self.local.set(key, value, ttl)
        self.remote.set(key, value, ttl)


#: ``(settings, on_event) -> cache``: how :func:`service.app.create_app` builds its cache
#: (default :func:`build_cache`).
CacheFactory = Callable[["CacheSettings", "EventHook | None"], Cache]


def local_level(cache: Cache) -> LocalCache | None:
    """The in-process level of ``cache``, if it has one (the fast path keeps its entries
    there, so a worker has one LRU)."""
    if isinstance(cache, LocalCache):
        return cache
    if isinstance(cache, TwoLevelCache):
        return cache.local
    return None


def build_cache(settings: CacheSettings, on_event: EventHook | None = None) -> Cache:
    """The cache ``settings`` ask for.

    Parameters
    ----------
    settings : CacheSettings
        Reads ``redis_url``, ``redis_timeout_ms``, ``local_cache_size`` and ``cache_ttl``.
    on_event : callable, optional
        ``on_event(level, outcome)`` for every level a ``get`` consults (see :data:`EventHook`),
        for the app's Prometheus counters.

    Returns
    -------
    Cache
        A :class:`LocalCache` when ``settings.redis_url`` is None (the embedded default),
        else a :class:`TwoLevelCache` of a :class:`LocalCache` and a :class:`RedisCache`.
        Nothing connects yet: Redis is first contacted by the first ``get`` or ``set``.
    """
    local = LocalCache(settings.local_cache_size, on_event=on_event)
    if settings.redis_url is None:
        return local
    remote = RedisCache(settings.redis_url, timeout_ms=settings.redis_timeout_ms, on_event=on_event)
    return TwoLevelCache(local, remote, fill_ttl=settings.cache_ttl)


def redis_ping(settings: CacheSettings) -> bool:
    """Whether the configured Redis answers ``PING`` now (for ``/readyz``).

    Uses a fresh connection with a timeout of ``redis_timeout_ms`` but at least 100 ms, so it
    returns within about that even when Redis hangs. True when ``redis_url`` is None: there is
    no Redis to wait for.
    """
    if settings.redis_url is None:
        return True
    timeout = max(settings.redis_timeout_ms, 100) / 1000
    # deferred like RedisCache's: only a service with a Redis loads redis-py
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
