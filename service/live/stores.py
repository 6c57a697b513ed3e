"""The live store interface, its in-process implementation and the background turns.

:class:`LiveStore` is the small interface (:mod:`service.live` says what it keeps);
:class:`LocalLiveStore` keeps it in the process (tests, and one process alone),
:class:`service.live.sqlite_store.SqliteLiveStore` in an SQLite file of the host (the default
without Redis), :class:`service.live.redis_store.RedisLiveStore` in Redis. All pass the same
contract tests.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from service.live.counts import (
    FIELD_SEP,
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

_Owner = TypeVar("_Owner")

log = logging.getLogger("service")


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

    def record_interactions(self, items: Sequence[Interaction], now: float) -> list[bool]:
        """Add each item to its experiment tally under its conditions (see
        :class:`Interaction`), in order; returns, per item, whether it was counted.

        Raises :class:`LiveUnavailable`; then nothing was counted.
        """
        ...

    def tally(self, experiment: str | None = None) -> Tally:
        """Impressions, clicks, views and sessions per (experiment, variant, position, day),
        of one experiment or all."""
        ...


def start_every(
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


# --- in process -------------------------------------------------------------------------------


class LocalLiveStore:
    """:class:`LiveStore` in this process: for tests and a single process (the service's
    workers share :class:`service.live.sqlite_store.SqliteLiveStore` instead).

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
        self._marks: dict[str, float] = {}
        self._tally: dict[str, dict[str, int]] = {}

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

    def record_interactions(self, items: Sequence[Interaction], now: float) -> list[bool]:
        """See :meth:`LiveStore.record_interactions`."""
        out = []
        with self._lock:
            for item in items:
                counted = item.after is None or self._marks.get(item.after, -1.0) > now
                if counted and item.once is not None:
                    counted = self._marks.get(item.once, -1.0) <= now
                    if counted:
                        self._marks[item.once] = now + item.ttl
                if counted:
                    fields = self._tally.setdefault(tally_day(item.timestamp), {})
                    field = tally_field(item)
                    fields[field] = fields.get(field, 0) + 1
                out.append(counted)
            clock = self._clock()
            for day in [d for d in self._tally if tally_expiry(d) <= clock]:
                del self._tally[day]
            if len(self._marks) > 100_000:  # bounded like the dedup keys
                self._marks = {k: at for k, at in self._marks.items() if at > now}
        return out

    def tally(self, experiment: str | None = None) -> Tally:
        """See :meth:`LiveStore.tally`."""
        out: Tally = {}
        with self._lock:
            for day, fields in self._tally.items():
                for field, count in fields.items():
                    if experiment is None or field.split(FIELD_SEP, 1)[0] == experiment:
                        add_to_tally(out, day, field, count)
        return out
