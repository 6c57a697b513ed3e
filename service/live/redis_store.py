"""The live store in Redis: shared by every worker and instance, survives restarts.

See :mod:`service.live` for the keys and how buffered counting works.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import secrets
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from recommender.windows import HOUR
from service.cache import RedisBreaker
from service.live.counts import (
    FIELD_SEP,
    KEY_PREFIX,
    CountQuery,
    Interaction,
    LiveUnavailable,
    Tally,
    View,
    add_to_tally,
    bucket_expiry,
    category_label,
    day_label,
    dedup_key,
    hour_label,
    tally_day,
    tally_expiry,
    tally_field,
)
from service.live.stores import start_every

if TYPE_CHECKING:
    import redis

log = logging.getLogger("service")


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
# ARGV[1] the write's sequence number, then per key its expiry, its type (z: a bucket's sorted
# set, h: a day's experiment tally hash) and number of members, then (member, count) pairs,
# key after key. A process numbers its writes and retries them in order, so a write retried
# after a timeout that Redis had in fact applied finds its number already recorded and does
# nothing. One key per process, kept an hour after its last write.
_ADD_SCRIPT = """
local seq = tonumber(ARGV[1])
if seq <= tonumber(redis.call('GET', KEYS[1]) or '0') then return 0 end
redis.call('SET', KEYS[1], seq, 'EX', 3600)
local a = 2
for k = 2, #KEYS do
  local expiry, kind, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  if kind == 'h' then
    for i = 1, n do
      redis.call('HINCRBY', KEYS[k], ARGV[a], ARGV[a + 1])
      a = a + 2
    end
  else
    for i = 1, n do
      redis.call('ZINCRBY', KEYS[k], ARGV[a + 1], ARGV[a])
      a = a + 2
    end
  end
  redis.call('EXPIREAT', KEYS[k], expiry)
end
return 1
"""

# Experiment tallies: per item three KEYS (its day's tally hash, its ``once`` key or "", its
# ``after`` key or "") and three ARGV (the field, the once key's lifetime in ms, the tally's
# expiry). Returns 1 (counted) or 0 per item.
_TALLY_SCRIPT = """
local out = {}
local touched = {}
for i = 1, #KEYS / 3 do
  local t, o, a = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local ok = a == '' or redis.call('EXISTS', a) == 1
  if ok and o ~= '' then
    ok = redis.call('SET', o, '1', 'NX', 'PX', ARGV[3 * i - 1]) and true or false
  end
  if ok then
    redis.call('HINCRBY', t, ARGV[3 * i - 2], 1)
    touched[t] = ARGV[3 * i]
    out[i] = 1
  else
    out[i] = 0
  end
end
for t, at in pairs(touched) do redis.call('EXPIREAT', t, at) end
return out
"""

# The conditions of buffered tally items (their increments wait in the buffer): per item two
# KEYS (its ``once`` key or "", its ``after`` key or "") and one ARGV (the once key's lifetime
# in ms). Returns 1 (counted) or 0 per item.
_CHECK_SCRIPT = """
local out = {}
for i = 1, #KEYS / 2 do
  local o, a = KEYS[2 * i - 1], KEYS[2 * i]
  local ok = a == '' or redis.call('EXISTS', a) == 1
  if ok and o ~= '' then
    ok = redis.call('SET', o, '1', 'NX', 'PX', ARGV[i]) and true or false
  end
  if ok then out[i] = 1 else out[i] = 0 end
end
return out
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
        had (see :meth:`flush`). Experiment tallies alike: :meth:`record_interactions`
        checks the ``once`` and ``after`` keys in Redis and buffers the increments, one
        ``HINCRBY`` per day and field per write.
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
        # deferred: only a service with a Redis loads redis-py (the embedded default starts
        # without it)
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url = url
        self.prefix = key_prefix
        self.dedup_ms = max(int(dedup_seconds * 1000), 1)
        self.breaker = RedisBreaker(
            "live store",
            url,
            consequence="answered without live data",
            failure_threshold=failure_threshold,
            backoff_seconds=backoff_seconds,
            log_interval=10.0,
            logger=log,
        )
        timeout = timeout_ms / 1000
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._no_script: type[Exception] = redis.exceptions.NoScriptError
        self._record = self.client.register_script(_RECORD_SCRIPT)
        self._drop = self.client.register_script(_DROP_SCRIPT)
        self._dedup = self.client.register_script(_DEDUP_SCRIPT)
        self._add = self.client.register_script(_ADD_SCRIPT)
        self._tally = self.client.register_script(_TALLY_SCRIPT)
        self._check = self.client.register_script(_CHECK_SCRIPT)
        #: the request path's idle connections, of process ``_idle_pid`` (see :meth:`_command`)
        self._idle: list[Any] = []
        self._idle_pid = os.getpid()
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

    def _call(self, what: str, action: Callable[[], Any]) -> Any:
        if self.breaker.open:
            raise LiveUnavailable(f"live store {what}: Redis skipped after repeated failures")
        try:
            result = action()
        except self._errors as exc:
            self.breaker.failed(exc, what)
            raise LiveUnavailable(f"live store {what} failed: {exc}") from exc
        self.breaker.succeeded()
        return result

    def _command(self, what: str, *args: Any) -> Any:
        """One command on a connection of the store's own: the events route's round trip.

        redis-py's ``execute_command`` costs about 70 us of CPU per command around the round
        trip itself (pool checkout and return, retry wrapper, observability hooks: measured
        with redis-py 8.1, about a sixth of a single-event post); here a command costs a
        ``send`` and a ``read`` on a connection taken from a plain list (one per thread
        asking at once; a sync worker keeps one). Errors are those of :meth:`_call`; a
        broken connection is closed and connects again on its next use.
        """
        if self.breaker.open:
            raise LiveUnavailable(f"live store {what}: Redis skipped after repeated failures")
        pid = os.getpid()
        if self._idle_pid != pid:  # a forked child never uses its parent's sockets
            self._idle, self._idle_pid = [], pid
        idle = self._idle
        try:
            conn = idle.pop()  # atomic: no two threads get one connection
        except IndexError:
            pool = self.client.connection_pool
            conn = pool.connection_class(**pool.connection_kwargs)
        try:
            return self._send(conn, what, args)
        finally:
            idle.append(conn)

    def _send(self, conn: Any, what: str, args: Sequence[Any]) -> Any:
        try:
            # as redis-py's pool checks a connection it hands out: one Redis closed (a
            # restart, a timeout) reads as readable; connect again rather than fail a request
            if conn.is_connected and conn.can_read(timeout=0):
                conn.disconnect()
        except self._errors:
            conn.disconnect()
        try:
            conn.send_command(*args)
            result = conn.read_response()
        except self._no_script:
            raise
        except self._errors as exc:
            conn.disconnect()
            self.breaker.failed(exc, what)
            raise LiveUnavailable(f"live store {what} failed: {exc}") from exc
        self.breaker.succeeded()
        return result

    def _run(self, what: str, script: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """``script`` (registered) by :meth:`_command`; loaded first when Redis lacks it (a
        restarted Redis, ``SCRIPT FLUSH``)."""
        try:
            return self._command(what, "EVALSHA", script.sha, len(keys), *keys, *args)
        except self._no_script:
            self._command(what, "SCRIPT", "LOAD", script.script)
            return self._command(what, "EVALSHA", script.sha, len(keys), *keys, *args)

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
        if len(keys) == 1:  # a beacon's one view: a plain command, no script
            flags = [self._command("record", "SET", keys[0], "1", "NX", "PX", self.dedup_ms)]
        else:
            flags = self._run("record", self._dedup, keys, [self.dedup_ms])
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
            ref = start_every(
                self, self._stopped, self.flush_seconds, RedisLiveStore.flush, "newsrec-live-flush"
            )
            atexit.register(_flush_at_exit, ref)

    def flush(self) -> int:
        """Write the buffered counts to Redis now; the number of increments ((bucket, article)
        and (tally day, field)).

        Called every ``flush_seconds`` by this process's thread, before :meth:`counts` and
        :meth:`tally` (a process reads its own views and tallies) and when the process exits
        normally. The buffer goes
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

    def record_interactions(self, items: Sequence[Interaction], now: float) -> list[bool]:
        """See :meth:`LiveStore.record_interactions`. Whether an item counts is decided at
        once, across hosts (its ``once`` and ``after`` keys, in Redis); with ``flush_seconds``
        above 0 the tally increments then wait in this process's buffer, like the views'."""
        if not items:
            return []
        if self.flush_seconds > 0:
            return self._record_interactions_buffered(items)
        p = self.prefix
        keys: list[str] = []
        args: list[Any] = []
        for item in items:
            day = tally_day(item.timestamp)
            keys += (
                f"{p}x:{day}",
                "" if item.once is None else p + "seen:" + item.once,
                "" if item.after is None else p + "seen:" + item.after,
            )
            args += (tally_field(item), max(int(item.ttl * 1000), 1), tally_expiry(day))
        result = self._call("record_interactions", lambda: self._tally(keys=keys, args=args))
        return [bool(flag) for flag in result]

    def _record_interactions_buffered(self, items: Sequence[Interaction]) -> list[bool]:
        self._ensure_flusher()
        p = self.prefix
        checked = [i for i, item in enumerate(items) if item.once or item.after]
        counted = [True] * len(items)  # an item without conditions always counts
        ttls = {items[i].ttl for i in checked}
        if len(ttls) == 1 and not any(items[i].after for i in checked):
            # impressions: dedup keys of one lifetime, as views' (one, without a script)
            keys = [p + "seen:" + str(items[i].once) for i in checked]
            ttl = max(int(ttls.pop() * 1000), 1)
            if len(keys) == 1:
                flags = [self._command("record_interactions", "SET", keys[0], "1", "NX", "PX", ttl)]
            else:
                flags = self._run("record_interactions", self._dedup, keys, [ttl])
            for i, flag in zip(checked, flags, strict=True):
                counted[i] = bool(flag)
        elif checked:
            keys = []
            args: list[Any] = []
            for i in checked:
                item = items[i]
                keys += (
                    "" if item.once is None else p + "seen:" + item.once,
                    "" if item.after is None else p + "seen:" + item.after,
                )
                args.append(max(int(item.ttl * 1000), 1))
            flags = self._run("record_interactions", self._check, keys, args)
            for i, flag in zip(checked, flags, strict=True):
                counted[i] = bool(flag)
        self._buffer.add_tally(items, counted)
        return counted

    def tally(self, experiment: str | None = None) -> Tally:
        """See :meth:`LiveStore.tally`: one ``HGETALL`` per day kept."""
        if self.flush_seconds > 0:
            self.flush()  # a process reads its own tallies
        prefix = self.prefix + "x:"

        def run() -> list[tuple[str, dict[bytes, bytes]]]:
            days = sorted(k.decode() for k in self.client.scan_iter(match=prefix + "*"))
            pipe = self.client.pipeline(transaction=False)
            for key in days:
                pipe.hgetall(key)
            return list(zip((d[len(prefix) :] for d in days), pipe.execute(), strict=True))

        out: Tally = {}
        for day, fields in self._call("tally", run):
            for field, count in fields.items():
                name = field.decode()
                if experiment is None or name.split(FIELD_SEP, 1)[0] == experiment:
                    add_to_tally(out, day, name, int(count))
        return out

    def close(self) -> None:
        """Write what is buffered (if Redis answers) and stop."""
        self._stopped.set()
        if self.flush_seconds > 0:
            with contextlib.suppress(LiveUnavailable):
                self.flush()
        if self._idle_pid == os.getpid():
            idle, self._idle = self._idle, []
            for conn in idle:
                conn.disconnect()
        self.client.close()


#: Most (bucket, article) increments per flush script: Redis runs one script at a time, so a
#: long one would hold every other client (about 2.5 us each: ~5 ms).
FLUSH_CHUNK = 2_000


class _CountBuffer:
    """Views counted by this process and not yet written, per (hour, section) and article;
    expanded into bucket keys (hour, day, hour-and-section) only when taken. Experiment tally
    increments alike, per day and field."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._groups: dict[tuple[int, str], dict[str, int]] = {}
        self._tallies: dict[str, dict[str, int]] = {}

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

    def add_tally(self, items: Sequence[Interaction], counted: Sequence[bool]) -> None:
        with self.lock:
            tallies = self._tallies
            for item, flag in zip(items, counted, strict=True):
                if flag:
                    day = tally_day(item.timestamp)
                    fields = tallies.get(day)
                    if fields is None:
                        fields = tallies[day] = {}
                    field = tally_field(item)
                    fields[field] = fields.get(field, 0) + 1

    def take(self, prefix: str) -> dict[str, tuple[int, str, dict[str, int]]]:
        """Everything buffered (key to expiry, type ``z`` or ``h`` and counts), leaving the
        buffer empty."""
        with self.lock:
            groups, self._groups = self._groups, {}
            tallies, self._tallies = self._tallies, {}
        taken: dict[str, tuple[int, str, dict[str, int]]] = {}
        for (hour, category), group in groups.items():
            label = hour_label(hour * HOUR)
            labels = [label, day_label(hour * HOUR)]
            if category:
                labels.append(category_label(label, category))
            for name in labels:
                key = prefix + name
                found = taken.get(key)
                if found is None:
                    found = taken[key] = (bucket_expiry(name), "z", {})
                counts = found[2]
                for article_id, views in group.items():
                    counts[article_id] = counts.get(article_id, 0) + views
        for day, fields in tallies.items():
            taken[f"{prefix}x:{day}"] = (tally_expiry(day), "h", fields)
        return taken


def _add_calls(
    taken: Mapping[str, tuple[int, str, dict[str, int]]], chunk: int
) -> Iterator[tuple[list[str], list[Any], int]]:
    """``(keys, args, increments)`` of the flush scripts: whole keys, about ``chunk``
    increments per script (a larger key goes alone)."""
    keys: list[str] = []
    args: list[Any] = []
    size = 0
    for key, (expiry, kind, part) in taken.items():
        if keys and size + len(part) > chunk:
            yield keys, args, size
            keys, args, size = [], [], 0
        keys.append(key)
        args += (expiry, kind, len(part))
        for member, count in part.items():
            args += (member, count)
        size += len(part)
    if keys:
        yield keys, args, size


def _flush_at_exit(ref: weakref.ref[RedisLiveStore]) -> None:
    store = ref()
    if store is not None and store._flusher_pid == os.getpid():
        try:
            store.flush()
        except LiveUnavailable:
            log.error("live store: Redis did not answer at exit; buffered counts are lost")
