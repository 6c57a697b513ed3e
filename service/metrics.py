"""Prometheus metrics of one app: requests, latency, cache outcomes, the model in service.

Each app gets its own registry (so tests can build many apps in one process). Under gunicorn
with several workers ``serve.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts;
prometheus-client then keeps every value in per-process files and ``/metrics`` aggregates the
live workers' files, whichever worker answers the scrape.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from service.store import LoadedModel

#: Latency buckets in seconds: cached answers take well under a millisecond.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, when the environment chose it."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The app's metrics; a method per event so call sites stay one line."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = multiprocess_dir() is not None
        labels = ("method", "route", "status")
        self.requests = Counter(
            "newsrec_http_requests",
            "HTTP requests answered, by route template and status.",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsrec_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "newsrec_cache_events",
            "Response cache lookups by level (front: before Flask, local, redis) and outcome.",
            ("level", "outcome"),
            registry=self.registry,
        )
        self.model_info = Gauge(
            "newsrec_model_info",
            "1 for the model version a worker serves.",
            ("version",),
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.model_age = Gauge(
            "newsrec_model_age_seconds",
            "Seconds since the model in service was trained.",
            registry=self.registry,
            multiprocess_mode="livemostrecent",
        )
        self.reloads = Counter(
            "newsrec_model_reloads",
            "Bundles put in service (per worker, the first included).",
            registry=self.registry,
        )
        self.reload_failures = Counter(
            "newsrec_model_reload_failures",
            "Bundles refused by a worker (broken or failing).",
            registry=self.registry,
        )
        self.events = Counter(
            "newsrec_events",
            "View events by outcome: counted, duplicate (same session and article within the "
            "dedup window), dropped (see newsrec_events_dropped), rejected, unavailable.",
            ("outcome",),
            registry=self.registry,
        )
        self.events_dropped = Counter(
            "newsrec_events_dropped",
            "Valid view events not counted, by reason: bot, no_user_agent, excluded_ip, staff.",
            ("reason",),
            registry=self.registry,
        )
        self.events_rejected = Counter(
            "newsrec_events_rejected",
            "Invalid view events, by reason (malformed_body, unknown_article, ...).",
            ("reason",),
            registry=self.registry,
        )
        self.event_log_errors = Counter(
            "newsrec_event_log_errors",
            "Counted views the event log could not write (see the service log).",
            registry=self.registry,
        )
        # labels() costs microseconds per call; the hot path looks children up in dicts
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        self._cache_children: dict[tuple[str, str], Counter] = {}
        self._event_children: dict[tuple[int, str], Counter] = {}
        self._created_at: float | None = None

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        key = (method if method in _METHODS else "other", route, str(status))
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.latency.labels(*key))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def cache_event(self, level: str, outcome: str) -> None:
        """The cache's callback: one lookup at ``level`` ended in ``outcome``."""
        child = self._cache_children.get((level, outcome))
        if child is None:
            child = self._cache_children[(level, outcome)] = self.cache.labels(level, outcome)
        child.inc()

    def _event_child(self, counter: Counter, label: str) -> Counter:
        key = (id(counter), label)
        child = self._event_children.get(key)
        if child is None:
            child = self._event_children[key] = counter.labels(label)
        return child

    def event_outcome(self, outcome: str, count: int) -> None:
        """``count`` view events ended in ``outcome``."""
        if count:
            self._event_child(self.events, outcome).inc(count)

    def event_dropped(self, reason: str, count: int) -> None:
        """``count`` valid view events were not counted, for ``reason``."""
        if count:
            self._event_child(self.events, "dropped").inc(count)
            self._event_child(self.events_dropped, reason).inc(count)

    def event_rejected(self, reason: str, count: int) -> None:
        """``count`` view events were invalid, for ``reason``."""
        if count:
            self._event_child(self.events, "rejected").inc(count)
            self._event_child(self.events_rejected, reason).inc(count)

    def event_log_failed(self, count: int) -> None:
        """``count`` counted views could not be written to the event log."""
        self.event_log_errors.inc(count)

    def model_swapped(self, model: LoadedModel, previous: LoadedModel | None) -> None:
        """A bundle went into service."""
        if previous is not None:
            self.model_info.labels(previous.bundle.version).set(0)
        self.model_info.labels(model.bundle.version).set(1)
        self.reloads.inc()
        created = model.bundle.manifest.get("created_at")
        try:
            self._created_at = dt.datetime.fromisoformat(str(created)).timestamp()
        except ValueError:
            self._created_at = model.loaded_at
        self.model_age.set(time.time() - self._created_at)

    def reload_failed(self, version: str | None, message: str) -> None:
        """A bundle was refused."""
        self.reload_failures.inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if self._created_at is not None:
            # Refreshed at scrape time; in multiprocess mode the most recent value wins.
            self.model_age.set(time.time() - self._created_at)
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
