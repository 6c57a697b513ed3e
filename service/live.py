"""Live signals: view counts in time buckets, deduplicated, shared by every worker and instance.

The store
---------
:class:`LiveStore` is the small interface; :class:`RedisLiveStore` keeps everything in Redis
(shared by all workers and instances, survives restarts), :class:`LocalLiveStore` in the
process (a laptop without Redis: counts and lifecycle changes are then per worker process).
Both pass the same contract tests. What they keep (Redis keys, all under ``nr:live:``):

- ``seen:<session hash>:<article id>``: one key per (session, article) pair seen within the
  dedup window, ``SET NX PX`` with the window as its lifetime: no row per view, and the
  session appears only as its keyed hash.
- ``h:<YYYYMMDDHH>`` and ``h:<YYYYMMDDHH>:cat:<section>``: sorted sets of views per article in
  one UTC hour of the view's timestamp, overall and per section (the section the article had
  when it was viewed); each expires 49 hours after its hour ends.
- ``d:<YYYYMMDD>``: views per article per UTC day, kept 8 days after the day ends (the
  trending baseline).
- ``gen`` and ``articles``: the lifecycle generation and overlay (see :mod:`service.lifecycle`).
- ``writer:<random id>``: the number of the last buffered write a worker process applied
  (see :meth:`RedisLiveStore.flush`), kept an hour after it.

Recording a request's views is one Lua script call (one round trip): per view, ``SET NX PX``
on its dedup key, which decides at once whether it counts. The counted views go to a buffer
of the worker process, which its thread writes every ``NEWSREC_LIVE_FLUSH_SECONDS`` (1 s):
one ``ZINCRBY`` per bucket and article (hour, hour-and-section, day) however many views it
had, and each bucket touched gets its absolute expiry (``EXPIREAT``). Redis is single-threaded
and shares the cores with the page workers, so its time per view is what ingestion costs page
reads (``bench/ingest.py``): the increments were two thirds of it, and a popular article
takes one per second instead of one per view. The price: counts reach Redis up to a second
late (well inside a refresh tick), and a worker killed without a graceful stop loses its last
second of counts (its event log lines stay, so the next training has them). With the setting
at 0, the increments go in the same script as the dedup keys.

Windows and the bundle (the merge rule)
---------------------------------------
A view is counted either by the bundle or live, never both: the bundle counts views up to its
``now`` (the end of its popularity windows), the live buckets count those after it.

- ``1h`` and ``24h`` are sliding windows ending at the current time ``T``: the part after the
  bundle's ``now`` comes from the live buckets (a bucket only partly inside the window counts
  in proportion, assuming its views are spread evenly over the part of the hour that has
  passed); the part before ``now``, if any (a bundle less than a day old), from the bundle's
  windows, assuming views spread evenly within each of its windows (the last day, the 6 days
  before, the 23 before those). With a bundle older than the window, only live counts.
- ``1d``, ``7d``, ``30d`` and ``all`` are the bundle's windows (ending at its ``now``) plus
  every live view after ``now``: counts only grow between two trainings, and a daily training
  slides the windows on. Live views older than the day buckets (8 days) are gone: train at
  least weekly.
- Trending compares the last 24 hours with the 7 days before, both merged by the same rule,
  through :func:`recommender.popularity.trending_score`; an article needs
  ``NEWSREC_TRENDING_MIN_VIEWS`` views in the last 24 hours to trend.

Each worker computes these per refresh *tick* (``NEWSREC_LIVE_REFRESH_SECONDS``, default 5):
one pipelined round trip of weighted ``ZUNION`` commands per tick, never one per request. Ticks
are aligned to the clock, so every worker's snapshot of a tick uses the same ``T`` and their
answers agree; responses that show live counts are cached for at most one tick.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import math
import os
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

import numpy as np

from recommender.blend import Popular, Signals, popular_from_views
from recommender.bundle import Bundle
from recommender.windows import WINDOWS, rank, trending_score

if TYPE_CHECKING:
    import redis

    from service.lifecycle import Catalogue
    from service.settings import Settings

log = logging.getLogger("service")

HOUR = 3_600
DAY = 86_400
#: Sliding windows ending now, on top of the bundle's :data:`recommender.popularity.WINDOWS`.
LIVE_WINDOWS = ("1h", "24h")
LIVE_WINDOW_SECONDS = {"1h": HOUR, "24h": DAY}
#: Buckets live this long after their hour or day ends.
HOUR_KEEP = 49 * HOUR
DAY_KEEP = 8 * DAY
#: Oldest timestamp an event may carry: its hour bucket must still be there to count it.
MAX_EVENT_AGE = 48 * HOUR
#: Clock skew allowed between a browser and the service.
FUTURE_TOLERANCE = 300
TRENDING_BASELINE_DAYS = 7
KEY_PREFIX = "nr:live:"

_Owner = TypeVar("_Owner")

#: ``(bucket label, weight)``: ``"h:2026112719"`` or ``"d:20261127"``.
Bucket = tuple[str, float]
#: A weighted union of buckets, overall (``None``) or of one section.
CountQuery = tuple[Sequence[Bucket], str | None]


class LiveUnavailable(Exception):
    """The live store cannot be reached (the events route answers 503)."""


class View(NamedTuple):
    """One view to count: the keyed session hash, the article, its section, unix seconds."""

    session: str
    article_id: str
    category: str
    timestamp: int


@functools.lru_cache(maxsize=256)
def _hour_label(hour: int) -> str:
    return "h:" + time.strftime("%Y%m%d%H", time.gmtime(hour * HOUR))


@functools.lru_cache(maxsize=64)
def _day_label(day: int) -> str:
    return "d:" + time.strftime("%Y%m%d", time.gmtime(day * DAY))


def hour_label(timestamp: float) -> str:
    """``h:YYYYMMDDHH`` of the UTC hour holding ``timestamp``."""
    return _hour_label(int(timestamp // HOUR))


def day_label(timestamp: float) -> str:
    """``d:YYYYMMDD`` of the UTC day holding ``timestamp``."""
    return _day_label(int(timestamp // DAY))


def category_label(label: str, category: str) -> str:
    """The per-section bucket of an hour bucket."""
    return f"{label}:cat:{category}"


def dedup_key(view: View) -> str:
    """The dedup key of a (session, article) pair: the session is already a keyed hash of
    fixed length, so the pair needs no more hashing."""
    return f"{view.session}:{view.article_id}"


@functools.lru_cache(maxsize=512)
def bucket_expiry(label: str) -> int:
    """Unix seconds at which a bucket is dropped: 49 h after its hour, 8 days after its day."""
    if label.startswith("h:"):
        start = dt.datetime.strptime(label[2:12], "%Y%m%d%H").replace(tzinfo=dt.UTC)
        return int(start.timestamp()) + HOUR + HOUR_KEEP
    start = dt.datetime.strptime(label[2:10], "%Y%m%d").replace(tzinfo=dt.UTC)
    return int(start.timestamp()) + DAY + DAY_KEEP


def window_buckets(start: float, end: float, now: float, unit: int = HOUR) -> list[Bucket]:
    """The buckets covering ``[start, end]`` with the share of each inside it.

    A bucket's views are taken as spread evenly over the part of it that has passed at
    ``now``; buckets already dropped (older than their retention) are left out.
    """
    end = min(end, now)
    keep = HOUR_KEEP if unit == HOUR else DAY_KEEP
    start = max(start, now - keep - unit)
    buckets: list[Bucket] = []
    if end <= start:
        return buckets
    label = hour_label if unit == HOUR else day_label
    first = int(start // unit) * unit
    for bucket_start in range(first, int(end) + 1, unit):
        covered_end = min(bucket_start + unit, now)
        span = covered_end - bucket_start
        overlap = min(end, covered_end) - max(start, bucket_start)
        if span > 0 and overlap > 0:
            buckets.append((label(bucket_start), min(overlap / span, 1.0)))
    return buckets


def interval_buckets(start: float, end: float, now: float) -> list[Bucket]:
    """Hour buckets while they last (48 h), day buckets for longer ago."""
    unit = HOUR if start >= now - MAX_EVENT_AGE else DAY
    return window_buckets(start, end, now, unit)


class LiveStore(Protocol):
    """Live counts, dedup and the lifecycle overlay, shared by the workers that use one store."""

    def record(self, views: Sequence[View], now: float) -> list[bool]:
        """Count each view unless its (session, article) pair was seen within the dedup
        window; returns, per view, whether it was counted.

        Raises :class:`LiveUnavailable`; then nothing was counted.
        """
        ...

    def counts(self, queries: Sequence[CountQuery]) -> list[dict[str, float]]:
        """Weighted sums of buckets per article, one dict per query (one round trip)."""
        ...

    def generation(self) -> int:
        """The lifecycle generation: bumped by every change of the overlay."""
        ...

    def overlay(self) -> tuple[int, dict[str, str]]:
        """The generation and every overlay record (article id to JSON), read together."""
        ...

    def put_overlay(self, article_id: str, record: str) -> int:
        """Store an article's overlay record; returns the new generation."""
        ...

    def drop_overlay(self, records: Mapping[str, str]) -> None:
        """Remove records that are still exactly as given (superseded by a new bundle)."""
        ...


# --- Redis ------------------------------------------------------------------------------------

# KEYS: the B bucket keys, then one dedup key per view (in group order).
# ARGV: dedup lifetime in ms, B, B expiry times, then per group of views sharing their buckets:
# the group's size, its hour, hour-and-section (0: none) and day bucket numbers, its members.
# Returns 1 (counted) or 0 (a repeat) per view, in group order.
_RECORD_SCRIPT = """
local ttl = ARGV[1]
local b = tonumber(ARGV[2])
local a = 3 + b
local e = b
local out = {}
local touched = {}
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local h, c, d = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  touched[h], touched[d] = true, true
  if c > 0 then touched[c] = true end
  for i = 1, n do
    e = e + 1
    if redis.call('SET', KEYS[e], '1', 'NX', 'PX', ttl) then
      local member = ARGV[a]
      redis.call('ZINCRBY', KEYS[h], 1, member)
      if c > 0 then redis.call('ZINCRBY', KEYS[c], 1, member) end
      redis.call('ZINCRBY', KEYS[d], 1, member)
      out[e - b] = 1
    else
      out[e - b] = 0
    end
    a = a + 1
  end
end
for k in pairs(touched) do
  redis.call('EXPIREAT', KEYS[k], ARGV[2 + k])
end
return out
"""

# The same without the counters: KEYS one dedup key per view, ARGV[1] the lifetime in ms.
_DEDUP_SCRIPT = """
local out = {}
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[1]) then out[i] = 1 else out[i] = 0 end
end
return out
"""

# Buffered counts, applied once: KEYS the writing process's sequence key, then the buckets;
# ARGV[1] the write's sequence number, then per bucket its expiry and number of members, then
# (member, views) pairs, bucket after bucket. A process numbers its writes and retries them in
# order, so a write retried after a timeout that Redis had in fact applied finds its number
# already recorded and does nothing. One key per process, kept an hour after its last write.
_ADD_SCRIPT = """
local seq = tonumber(ARGV[1])
if seq <= tonumber(redis.call('GET', KEYS[1]) or '0') then return 0 end
redis.call('SET', KEYS[1], seq, 'EX', 3600)
local a = 2
for k = 2, #KEYS do
  local expiry, n = ARGV[a], tonumber(ARGV[a + 1])
  a = a + 2
  for i = 1, n do
    redis.call('ZINCRBY', KEYS[k], ARGV[a + 1], ARGV[a])
    a = a + 2
  end
  redis.call('EXPIREAT', KEYS[k], expiry)
end
return 1
"""

_DROP_SCRIPT = """
local dropped = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    dropped = dropped + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return dropped
"""


class RedisLiveStore:
    """:class:`LiveStore` in Redis.

    Parameters
    ----------
    url : str
        ``redis://host:port/db``. Give live counts a Redis (or DB) without
        ``allkeys-lru`` eviction, or they may be evicted like cache entries.
    dedup_seconds : float
        The dedup window.
    timeout_ms : int
        Connect and read timeout per command.
    key_prefix : str
        Prepended to every key.
    failure_threshold, backoff_seconds
        After this many consecutive failures Redis is not asked for this long (every call
        raises :class:`LiveUnavailable` at once), so a dead Redis costs requests nothing.
    flush_seconds : float
        0: a view's counters are incremented in the same script as its dedup key. Above 0:
        :meth:`record` checks the dedup keys in Redis (so what it answers is exact) and adds
        the counted views to this process's buffer, which a thread writes to Redis every
        ``flush_seconds``, one ``ZINCRBY`` per bucket and article however many views it
        had (see :meth:`flush`).
    """

    def __init__(
        self,
        url: str,
        *,
        dedup_seconds: float = 1800.0,
        timeout_ms: int = 200,
        key_prefix: str = KEY_PREFIX,
        failure_threshold: int = 3,
        backoff_seconds: float = 5.0,
        flush_seconds: float = 0.0,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        self.prefix = key_prefix
        self.dedup_ms = max(int(dedup_seconds * 1000), 1)
        self.failure_threshold = failure_threshold
        self.backoff_seconds = backoff_seconds
        timeout = timeout_ms / 1000
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._record = self.client.register_script(_RECORD_SCRIPT)
        self._drop = self.client.register_script(_DROP_SCRIPT)
        self._dedup = self.client.register_script(_DEDUP_SCRIPT)
        self._add = self.client.register_script(_ADD_SCRIPT)
        self.flush_seconds = flush_seconds
        self._buffer = _CountBuffer()
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()
        #: flush scripts not applied yet, in order: (number, bucket keys, arguments, increments)
        self._unsent: list[tuple[int, list[str], list[Any], int]] = []
        self._writer = secrets.token_hex(8)  # names this process's sequence key
        self._sequence = 0
        self._flusher_pid = 0
        self._stopped = threading.Event()
        self._failures = 0
        self._skip_until = 0.0
        self._last_log = 0.0

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        if self._failures >= self.failure_threshold and time.monotonic() < self._skip_until:
            raise LiveUnavailable(f"live store {what}: Redis skipped after repeated failures")
        try:
            result = action()
        except self._errors as exc:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._skip_until = time.monotonic() + self.backoff_seconds
            if time.monotonic() - self._last_log > 10:
                self._last_log = time.monotonic()
                log.warning("live store %s failed (%s): %s", what, self.url.split("@")[-1], exc)
            raise LiveUnavailable(f"live store {what} failed: {exc}") from exc
        self._failures = 0
        return result

    def record(self, views: Sequence[View], now: float) -> list[bool]:
        """See :meth:`LiveStore.record`."""
        if not views:
            return []
        if self.flush_seconds > 0:
            return self._record_buffered(views)
        buckets: dict[str, int] = {}

        def index(label: str) -> int:
            found = buckets.get(label)
            if found is None:
                found = buckets[label] = len(buckets) + 1
            return found

        # views sharing their buckets (hour, section, day) go as one group: few arguments
        groups: dict[tuple[int, int, int], list[int]] = {}
        for position, view in enumerate(views):
            hour = hour_label(view.timestamp)
            section = index(category_label(hour, view.category)) if view.category else 0
            group = (index(hour), section, index(day_label(view.timestamp)))
            groups.setdefault(group, []).append(position)
        p = self.prefix
        keys = [p + label for label in buckets]
        args: list[Any] = [self.dedup_ms, len(buckets)]
        args += [bucket_expiry(label) for label in buckets]
        order: list[int] = []
        for group, positions in groups.items():
            args += (len(positions), *group)
            for position in positions:
                view = views[position]
                keys.append(p + "seen:" + dedup_key(view))
                args.append(view.article_id)
            order += positions
        result = self._call("record", lambda: self._record(keys=keys, args=args))
        counted = [False] * len(views)
        for position, flag in zip(order, result, strict=True):
            counted[position] = bool(flag)
        return counted

    def _record_buffered(self, views: Sequence[View]) -> list[bool]:
        self._ensure_flusher()
        p = self.prefix
        keys = [p + "seen:" + dedup_key(view) for view in views]
        flags = self._call("record", lambda: self._dedup(keys=keys, args=[self.dedup_ms]))
        counted = [bool(flag) for flag in flags]
        self._buffer.add(views, counted)
        return counted

    def _ensure_flusher(self) -> None:
        pid = os.getpid()
        if self._flusher_pid == pid:
            return
        with self._start_lock:
            if self._flusher_pid == pid:
                return
            if self._flusher_pid:
                # a forked child: the parent writes what it buffered; fresh locks, as the
                # parent's thread may have held one at the fork
                self._buffer = _CountBuffer()
                self._flush_lock = threading.Lock()
                self._unsent = []
                self._writer = secrets.token_hex(8)
                self._sequence = 0
            self._flusher_pid = pid
            ref = _start_every(
                self, self._stopped, self.flush_seconds, RedisLiveStore.flush, "newsrec-live-flush"
            )
            atexit.register(_flush_at_exit, ref)

    def flush(self) -> int:
        """Write the buffered counts to Redis now; the number of (bucket, article) increments.

        Called every ``flush_seconds`` by this process's thread, before :meth:`counts` (a
        process reads its own views) and when the process exits normally. The buffer goes
        in scripts of about :data:`FLUSH_CHUNK` increments, each applied at most once (numbered
        per process). A script Redis does not answer stays queued, first in line for the next
        flush, and :class:`LiveUnavailable` is raised: a view counted by :meth:`record` is
        written once, or lost with a process that is killed first (its event log line stays).
        """
        with self._flush_lock:
            taken = self._buffer.take(self.prefix)
            for keys, args, size in _add_calls(taken, FLUSH_CHUNK):
                self._sequence += 1
                self._unsent.append((self._sequence, keys, args, size))
            done = 0
            sequence_key = self.prefix + "writer:" + self._writer
            while self._unsent:
                number, keys, args, size = self._unsent[0]
                self._call(
                    "flush",
                    functools.partial(self._add, keys=[sequence_key, *keys], args=[number, *args]),
                )
                del self._unsent[0]
                done += size
            return done

    def counts(self, queries: Sequence[CountQuery]) -> list[dict[str, float]]:
        """See :meth:`LiveStore.counts`."""
        if self.flush_seconds > 0:
            self.flush()
        wanted = [
            {
                self.prefix + (label if section is None else category_label(label, section)): w
                for label, w in buckets
            }
            for buckets, section in queries
        ]
        if not any(wanted):
            return [{} for _ in queries]

        def run() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for weights in wanted:
                if weights:
                    pipe.zunion(weights, withscores=True)
            return list(pipe.execute())

        results = iter(self._call("counts", run))
        out: list[dict[str, float]] = []
        for weights in wanted:
            pairs = next(results) if weights else []
            out.append({member.decode(): float(score) for member, score in pairs})
        return out

    def generation(self) -> int:
        """See :meth:`LiveStore.generation`."""
        value = self._call("generation", lambda: self.client.get(self.prefix + "gen"))
        return int(value or 0)

    def overlay(self) -> tuple[int, dict[str, str]]:
        """See :meth:`LiveStore.overlay`."""

        def run() -> list[Any]:
            pipe = self.client.pipeline(transaction=True)
            pipe.get(self.prefix + "gen")
            pipe.hgetall(self.prefix + "articles")
            return list(pipe.execute())

        generation, records = self._call("overlay", run)
        return int(generation or 0), {k.decode(): v.decode() for k, v in records.items()}

    def put_overlay(self, article_id: str, record: str) -> int:
        """See :meth:`LiveStore.put_overlay`."""

        def run() -> list[Any]:
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(self.prefix + "articles", article_id, record)
            pipe.incr(self.prefix + "gen")
            return list(pipe.execute())

        return int(self._call("put_overlay", run)[1])

    def drop_overlay(self, records: Mapping[str, str]) -> None:
        """See :meth:`LiveStore.drop_overlay`."""
        if records:
            args = [part for pair in records.items() for part in pair]
            self._call(
                "drop_overlay", lambda: self._drop(keys=[self.prefix + "articles"], args=args)
            )

    def close(self) -> None:
        """Write what is buffered (if Redis answers) and stop."""
        self._stopped.set()
        if self.flush_seconds > 0:
            with contextlib.suppress(LiveUnavailable):
                self.flush()
        self.client.close()


#: Most (bucket, article) increments per flush script: Redis runs one script at a time, so a
#: long one would hold every other client (about 2.5 us each: ~5 ms).
FLUSH_CHUNK = 2_000


class _CountBuffer:
    """Views counted by this process and not yet written, per (hour, section) and article;
    expanded into bucket keys (hour, day, hour-and-section) only when taken."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._groups: dict[tuple[int, str], dict[str, int]] = {}

    def add(self, views: Sequence[View], counted: Sequence[bool]) -> None:
        # the request path: one dict update per counted view
        with self.lock:
            groups = self._groups
            for view, flag in zip(views, counted, strict=True):
                if flag:
                    key = (view.timestamp // HOUR, view.category)
                    group = groups.get(key)
                    if group is None:
                        group = groups[key] = {}
                    group[view.article_id] = group.get(view.article_id, 0) + 1

    def take(self, prefix: str) -> dict[str, tuple[int, dict[str, int]]]:
        """Everything buffered (bucket key to expiry and counts), leaving the buffer empty."""
        with self.lock:
            groups, self._groups = self._groups, {}
        taken: dict[str, tuple[int, dict[str, int]]] = {}
        for (hour, category), group in groups.items():
            label = hour_label(hour * HOUR)
            labels = [label, day_label(hour * HOUR)]
            if category:
                labels.append(category_label(label, category))
            for name in labels:
                key = prefix + name
                found = taken.get(key)
                if found is None:
                    found = taken[key] = (bucket_expiry(name), {})
                counts = found[1]
                for article_id, views in group.items():
                    counts[article_id] = counts.get(article_id, 0) + views
        return taken


def _add_calls(
    taken: Mapping[str, tuple[int, dict[str, int]]], chunk: int
) -> Iterator[tuple[list[str], list[Any], int]]:
    """``(keys, args, increments)`` of the flush scripts: whole buckets, about ``chunk``
    increments per script (a larger bucket goes alone)."""
    keys: list[str] = []
    args: list[Any] = []
    size = 0
    for key, (expiry, part) in taken.items():
        if keys and size + len(part) > chunk:
            yield keys, args, size
            keys, args, size = [], [], 0
        keys.append(key)
        args += (expiry, len(part))
        for member, views in part.items():
            args += (member, views)
        size += len(part)
    if keys:
        yield keys, args, size


def _start_every(
    owner: _Owner,
    stopped: threading.Event,
    seconds: float,
    act: Callable[[_Owner], object],
    name: str,
) -> weakref.ref[_Owner]:
    """Start a daemon thread that calls ``act(owner)`` every ``seconds`` until ``stopped``;
    the weak reference it holds ``owner`` by."""
    ref = weakref.ref(owner)
    threading.Thread(
        target=_every, args=(ref, stopped, seconds, act), name=name, daemon=True
    ).start()
    return ref


def _every(
    ref: weakref.ref[_Owner],
    stopped: threading.Event,
    seconds: float,
    act: Callable[[_Owner], object],
) -> None:
    # holds the owner only while acting: an owner nobody uses any more ends its thread
    while not stopped.wait(seconds):
        owner = ref()
        if owner is None:
            return
        try:
            act(owner)
        except LiveUnavailable:
            pass  # logged by the store; the next turn tries again
        except Exception:  # a bug must not end this process's turns
            log.exception("%s failed", threading.current_thread().name)
        del owner


def _flush_at_exit(ref: weakref.ref[RedisLiveStore]) -> None:
    store = ref()
    if store is not None and store._flusher_pid == os.getpid():
        try:
            store.flush()
        except LiveUnavailable:
            log.error("live store: Redis did not answer at exit; buffered counts are lost")


# --- in process -------------------------------------------------------------------------------


class LocalLiveStore:
    """:class:`LiveStore` in this process: for one worker without Redis (a laptop, tests).

    Parameters
    ----------
    dedup_seconds : float
        The dedup window.
    clock : callable
        Unix seconds; buckets whose expiry has passed by it are dropped, as Redis would.
    """

    def __init__(
        self, *, dedup_seconds: float = 1800.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.dedup_seconds = dedup_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self._seen_order: deque[tuple[float, str]] = deque()
        self._buckets: dict[str, dict[str, float]] = {}
        self._expiry: dict[str, int] = {}
        self._generation = 0
        self._overlay: dict[str, str] = {}

    def _prune(self, now: float) -> None:
        while self._seen_order and self._seen_order[0][0] <= now:
            expires, key = self._seen_order.popleft()
            if self._seen.get(key) == expires:
                del self._seen[key]
        clock = self._clock()
        for label in [k for k, at in self._expiry.items() if at <= clock]:
            del self._expiry[label]
            self._buckets.pop(label, None)

    def record(self, views: Sequence[View], now: float) -> list[bool]:
        """See :meth:`LiveStore.record`."""
        out = []
        with self._lock:
            self._prune(now)
            for view in views:
                key = dedup_key(view)
                if self._seen.get(key, -1.0) > now:
                    out.append(False)
                    continue
                expires = now + self.dedup_seconds
                self._seen[key] = expires
                self._seen_order.append((expires, key))
                hour = hour_label(view.timestamp)
                labels = [hour, day_label(view.timestamp)]
                if view.category:
                    labels.append(category_label(hour, view.category))
                for label in labels:
                    bucket = self._buckets.setdefault(label, {})
                    bucket[view.article_id] = bucket.get(view.article_id, 0.0) + 1.0
                    self._expiry[label] = bucket_expiry(label)
                out.append(True)
            self._prune(now)  # a bucket already past its expiry is gone at once, as in Redis
        return out

    def counts(self, queries: Sequence[CountQuery]) -> list[dict[str, float]]:
        """See :meth:`LiveStore.counts`."""
        out = []
        with self._lock:
            self._prune(float("-inf"))
            for buckets, section in queries:
                total: dict[str, float] = {}
                for label, weight in buckets:
                    key = label if section is None else category_label(label, section)
                    for article_id, count in self._buckets.get(key, {}).items():
                        total[article_id] = total.get(article_id, 0.0) + weight * count
                out.append(total)
        return out

    def generation(self) -> int:
        """See :meth:`LiveStore.generation`."""
        return self._generation

    def overlay(self) -> tuple[int, dict[str, str]]:
        """See :meth:`LiveStore.overlay`."""
        with self._lock:
            return self._generation, dict(self._overlay)

    def put_overlay(self, article_id: str, record: str) -> int:
        """See :meth:`LiveStore.put_overlay`."""
        with self._lock:
            self._overlay[article_id] = record
            self._generation += 1
            return self._generation

    def drop_overlay(self, records: Mapping[str, str]) -> None:
        """See :meth:`LiveStore.drop_overlay`."""
        with self._lock:
            for article_id, record in records.items():
                if self._overlay.get(article_id) == record:
                    del self._overlay[article_id]


# --- per-worker snapshots ---------------------------------------------------------------------


def manifest_time(bundle: Bundle, field: str) -> float | None:
    """A manifest time (``now``, ``created_at``) as unix seconds, None when absent."""
    try:
        return dt.datetime.fromisoformat(str(bundle.manifest[field])).timestamp()
    except (KeyError, ValueError):
        return None


def _overlap(a: float, b: float, c: float, d: float) -> float:
    return max(0.0, min(b, d) - max(a, c))


def bundle_share(bundle: Bundle, start: float, end: float) -> np.ndarray:
    """The bundle's views per row within ``[start, end]``, from its nested windows, assuming
    views spread evenly within each window's own part (last day, the 6 before, the 23 before).

    Zero after the bundle's ``now``, and for undated counts (they have no time to place).
    """
    now = manifest_time(bundle, "now")
    views = bundle.popularity_views
    if now is None or not bundle.manifest.get("popularity_dated", True) or start >= now:
        return np.zeros(len(bundle), dtype=np.float64)
    c1, c7, c30 = (views[:, WINDOWS.index(w)].astype(np.float64) for w in ("1d", "7d", "30d"))
    share = np.zeros(len(bundle), dtype=np.float64)
    for piece, first, last in ((c1, 0, 1), (c7 - c1, 1, 7), (c30 - c7, 7, 30)):
        fraction = _overlap(start, end, now - last * DAY, now - first * DAY) / (
            (last - first) * DAY
        )
        if fraction > 0:
            share += fraction * piece
    return share


class LiveCounts:
    """The raw live counts of one tick (article id to views), fetched once and shared by the
    views of that tick; a failed fetch leaves them empty (bundle counts only) for the tick."""

    def __init__(self, store: LiveStore, tick_time: float, bundle_now: float | None) -> None:
        self.store = store
        self.time = tick_time
        self.bundle_now = bundle_now
        self._lock = threading.Lock()
        self._overall: dict[str, dict[str, float]] | None = None
        self._sections: dict[tuple[str, str], dict[str, float]] = {}
        self.failed = False

    def _spans(self) -> dict[str, tuple[float, float]]:
        t = self.time
        after = -np.inf if self.bundle_now is None else self.bundle_now
        spans = {w: (max(t - s, after), t) for w, s in LIVE_WINDOW_SECONDS.items()}
        spans["since"] = (max(after, t - DAY_KEEP), t)
        spans["baseline"] = (
            max(t - (1 + TRENDING_BASELINE_DAYS) * DAY, after),
            t - DAY,
        )
        return spans

    def overall(self) -> dict[str, dict[str, float]]:
        """Live counts after the bundle's ``now``: of the live windows, since ``now`` and of
        the trending baseline."""
        found = self._overall
        if found is not None:
            return found
        with self._lock:
            if self._overall is None:
                spans = self._spans()
                queries: list[CountQuery] = [
                    (interval_buckets(a, b, self.time), None) for a, b in spans.values()
                ]
                try:
                    counts = self.store.counts(queries)
                except LiveUnavailable:
                    self.failed = True
                    counts = [{} for _ in queries]
                self._overall = dict(zip(spans, counts, strict=True))
            return self._overall

    def section(self, window: str, category: str) -> dict[str, float]:
        """Live counts of one section (its own buckets) in a live window."""
        key = (window, category)
        found = self._sections.get(key)
        if found is None:
            a, b = self._spans()[window]
            try:
                found = self.store.counts([(window_buckets(a, b, self.time), category)])[0]
            except LiveUnavailable:
                self.failed = True
                found = {}
            self._sections[key] = found
        return found


class LiveView:
    """What one request sees: a bundle with the lifecycle overlay and the tick's live counts.

    Satisfies :class:`service.ranking.Source`. Built by :meth:`Live.view` at most once per
    (bundle, generation, tick) per worker and shared by the requests of that tick.
    """

    def __init__(
        self,
        bundle: Bundle,
        catalogue: Catalogue,
        generation: int,
        tick: int,
        counts: LiveCounts,
        trending_min_views: int,
    ) -> None:
        self.bundle = bundle
        self.catalogue = catalogue
        self.generation = generation
        self.tick = tick
        self.counts = counts
        self.trending_min_views = trending_min_views
        #: The model version in cache keys: a lifecycle change makes new keys everywhere.
        self.version = bundle.version if generation == 0 else f"{bundle.version}~g{generation}"
        self._vectors: dict[tuple[str, str | None], np.ndarray] = {}
        self._popular: dict[tuple[str, str | None], np.ndarray] = {}
        self._populars: dict[tuple[str, int], Popular] = {}
        self._lock = threading.Lock()

    # -- the catalogue (see service.lifecycle.Catalogue) --

    @property
    def categories(self) -> Sequence[str]:
        return self.catalogue.categories

    @property
    def published_ts(self) -> np.ndarray:
        return self.catalogue.published_ts

    def row(self, article_id: str) -> int:
        return self.catalogue.row(article_id)

    def has(self, article_id: str) -> bool:
        return self.catalogue.has(article_id)

    def article(self, row: int) -> dict[str, Any]:
        return self.catalogue.article(row)

    def status(self, row: int) -> str:
        return self.catalogue.status(row)

    def known_categories(self) -> frozenset[str]:
        return self.catalogue.known_categories()

    def signals(self, row: int) -> Signals:
        return self.catalogue.signals(row)

    # -- counts --

    def _catalogue_vector(self, counts: Mapping[str, float]) -> np.ndarray:
        vector = np.zeros(len(self.catalogue), dtype=np.float64)
        row_of = self.catalogue.row_or_none
        for article_id, count in counts.items():
            row = row_of(article_id)
            if row is not None:
                vector[row] += count
        return vector

    def _bundle_part(self, start: float, end: float) -> np.ndarray:
        share = bundle_share(self.bundle, start, end)
        return self.catalogue.pad(share)

    def window_views(self, window: str, category: str | None = None) -> np.ndarray:
        """Views per catalogue row in ``window`` (merged), rounded to whole views; for a live
        window and a section, the section's own live buckets."""
        key = (window, category if window in LIVE_WINDOWS else None)
        found = self._vectors.get(key)
        if found is not None:
            return found
        overall = self.counts.overall()
        if window in LIVE_WINDOWS:
            t = self.counts.time
            live = overall[window] if category is None else self.counts.section(window, category)
            merged = self._catalogue_vector(live) + self._bundle_part(
                t - LIVE_WINDOW_SECONDS[window], t
            )
        else:
            column = self.bundle.popularity_views[:, WINDOWS.index(window)]
            merged = self.catalogue.pad(column.astype(np.float64))
            if overall["since"]:
                merged = merged + self._catalogue_vector(overall["since"])
        rounded: np.ndarray = np.rint(merged).astype(np.int64)
        self._vectors[key] = rounded
        return rounded

    def popular(self, limit: int) -> Popular:
        """What readers open now, for the hybrid: merged views of the last 24 hours and the
        ``limit`` most read published rows (per tick); when no row has a view in them (a site
        that sends no view events), the bundle's last day."""
        key = ("popular", limit)
        found = self._populars.get(key)
        if found is None:
            similarity = self.catalogue.similarity
            published = self.catalogue.is_published
            found = popular_from_views(
                self.window_views("24h").astype(np.float64), published, similarity, limit
            )
            if found.quiet:
                day = self.bundle.popularity_views[:, WINDOWS.index("1d")]
                found = popular_from_views(
                    self.catalogue.pad(day.astype(np.float64)), published, similarity, limit
                )
            # the same rows for every request of the tick: their vectors in one small matrix
            found = dataclasses.replace(found, similarity=similarity.among(found.rows))
            self._populars[key] = found
        return found

    def views(self, row: int) -> dict[str, int]:
        """One row's views in every window of :data:`WINDOWS` (merged)."""
        return {w: int(self.window_views(w)[row]) for w in WINDOWS}

    def recent_views(self, row: int) -> dict[str, int]:
        """One row's views in the live windows (``1h``, ``24h``)."""
        return {w: int(self.window_views(w)[row]) for w in LIVE_WINDOWS}

    def popular_rows(self, window: str = "7d", category: str | None = None) -> np.ndarray:
        """Published, not suppressed rows by merged views in ``window``, ties by article id;
        optionally one section. The bundle's own ranking while nothing is live."""
        key = (window, category)
        found = self._popular.get(key)
        if found is not None:
            return found
        overall = self.counts.overall()
        if window not in LIVE_WINDOWS and not overall["since"] and self.catalogue.trivial:
            found = self.bundle.popular_rows(window, category)
        else:
            mask = self.catalogue.is_published
            if category is not None:
                mask = mask & self.catalogue.in_category(category)
            found = rank(self.window_views(window, category).astype(np.float64), mask)
        self._popular[key] = found
        return found

    def trending(self) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, recent views)`` per catalogue row (see the module docstring)."""
        key = ("trending", None)
        found = self._vectors.get(key)
        if found is None:
            t = self.counts.time
            overall = self.counts.overall()
            recent = self.window_views("24h").astype(np.float64)
            start, end = t - (1 + TRENDING_BASELINE_DAYS) * DAY, t - DAY
            baseline = self._catalogue_vector(overall["baseline"]) + self._bundle_part(start, end)
            found = trending_score(
                recent, baseline, TRENDING_BASELINE_DAYS, self.trending_min_views
            ).astype(np.float64)
            self._vectors[key] = found
        return found, self.window_views("24h")

    def trending_rows(self, category: str | None = None) -> np.ndarray:
        """Published rows with a trending score above 0, best first, ties by article id."""
        scores, _ = self.trending()
        mask = self.catalogue.is_published & (scores > 0)
        if category is not None:
            mask = mask & self.catalogue.in_category(category)
        return rank(scores, mask)


class Live:
    """The live layer of one app (one worker): its store and its snapshots.

    Parameters
    ----------
    store : LiveStore
    refresh_seconds : float
        Length of a tick: live counts are fetched at most once per tick.
    trending_min_views : int
        Views in the last 24 hours an article needs to trend.
    generation_interval : float
        Seconds between two looks at the lifecycle generation (one cheap ``GET``).
    background : bool
        Look from a thread of this process (started by the first :meth:`view` in each
        process, so it survives a fork) instead of from the request that finds a look due:
        requests then never wait on the store, which matters when view beacons keep Redis
        busy (a request's ``GET`` queues behind their scripts). The first look of a process,
        and the one after :meth:`refresh_now`, stay in the request.
    clock, monotonic : callable
        Wall-clock and monotonic seconds (replaceable in tests).
    build_catalogue : callable
        ``(bundle, records) -> (catalogue, superseded records)``; default
        :func:`service.lifecycle.build_catalogue`.
    """

    def __init__(
        self,
        store: LiveStore,
        *,
        refresh_seconds: float = 5.0,
        trending_min_views: int = 5,
        generation_interval: float = 0.1,
        background: bool = False,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        build_catalogue: Callable[[Bundle, Mapping[str, str]], tuple[Catalogue, dict[str, str]]]
        | None = None,
    ) -> None:
        if build_catalogue is None:
            from service.lifecycle import build_catalogue as default_build

            build_catalogue = default_build
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.trending_min_views = trending_min_views
        self.generation_interval = generation_interval
        self.clock = clock
        self._monotonic = monotonic
        self._build_catalogue = build_catalogue
        self._lock = threading.Lock()
        self._next_check = float("-inf")
        self._generation = -1
        self._records: dict[str, str] = {}
        self._catalogue: tuple[Bundle, int, Catalogue] | None = None
        self._counts: LiveCounts | None = None
        self._view: LiveView | None = None
        self._background = background
        self._watcher_pid = 0
        self._stopped = threading.Event()

    def _look(self) -> None:
        with self._lock:
            self._check_generation()

    def _ensure_watcher(self) -> None:
        pid = os.getpid()
        if self._watcher_pid == pid:
            return
        with self._lock:
            if self._watcher_pid != pid:
                self._watcher_pid = pid
                _start_every(
                    self, self._stopped, self.generation_interval, Live._look, "newsrec-live"
                )

    def close(self) -> None:
        """Stop the background looks (if any)."""
        self._stopped.set()

    def _check_generation(self) -> None:
        try:
            generation = self.store.generation()
            if generation != self._generation:
                generation, records = self.store.overlay()
                self._records, self._generation = records, generation
        except LiveUnavailable:
            if self._generation < 0:
                self._generation = 0  # serve the bundle alone until the store answers

    def refresh_now(self) -> None:
        """Look at the generation at once (after this worker changed it)."""
        self._next_check = float("-inf")

    def view(self, bundle: Bundle) -> LiveView:
        """The live view of ``bundle`` for a request now (cheap: usually the cached one)."""
        if self._background:
            self._ensure_watcher()
        now = self._monotonic()
        # one thread looks while the others keep the view they have; all wait for the first
        # look, and for the one refresh_now asks (this worker's own change must show)
        must = self._generation < 0 or self._next_check == -math.inf
        if now >= self._next_check and self._lock.acquire(blocking=must):
            try:
                # with a watcher, requests look again only when refresh_now asks
                self._next_check = math.inf if self._background else now + self.generation_interval
                self._check_generation()
            finally:
                self._lock.release()
        generation = self._generation
        tick = int(self.clock() // self.refresh_seconds)
        view = self._view
        if (
            view is not None
            and view.bundle is bundle
            and view.generation == generation
            and view.tick == tick
        ):
            return view
        view = LiveView(
            bundle,
            self._catalogue_for(bundle, generation),
            generation,
            tick,
            self._counts_for(bundle, tick),
            self.trending_min_views,
        )
        self._view = view
        return view

    def _catalogue_for(self, bundle: Bundle, generation: int) -> Catalogue:
        cached = self._catalogue
        if cached is not None and cached[0] is bundle and cached[1] == generation:
            return cached[2]
        catalogue, superseded = self._build_catalogue(bundle, self._records)
        self._catalogue = (bundle, generation, catalogue)
        if superseded:
            # on failure another worker, or a later build, clears them
            with contextlib.suppress(LiveUnavailable):
                self.store.drop_overlay(superseded)
        return catalogue

    def _counts_for(self, bundle: Bundle, tick: int) -> LiveCounts:
        tick_time = tick * self.refresh_seconds
        bundle_now = manifest_time(bundle, "now")
        cached = self._counts
        if cached is not None and cached.time == tick_time and cached.bundle_now == bundle_now:
            return cached
        counts = LiveCounts(self.store, tick_time, bundle_now)
        self._counts = counts
        return counts


def build_live(settings: Settings) -> Live:
    """The live layer ``settings`` ask for: in Redis when a URL is set, else in process."""
    url = settings.live_redis_url or settings.redis_url
    dedup_seconds = settings.dedup_minutes * 60
    store: LiveStore
    if url:
        # ZUNIONs over a day of buckets take longer than a cache GET: allow them 200 ms
        timeout = max(settings.redis_timeout_ms, 200)
        store = RedisLiveStore(
            url,
            dedup_seconds=dedup_seconds,
            timeout_ms=timeout,
            flush_seconds=settings.live_flush_seconds,
        )
    else:
        log.info("no NEWSREC_REDIS_URL: live counts and lifecycle changes are per process")
        store = LocalLiveStore(dedup_seconds=dedup_seconds)
    return Live(
        store,
        refresh_seconds=settings.live_refresh_seconds,
        trending_min_views=settings.trending_min_views,
        background=bool(url),
    )
