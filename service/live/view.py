"""The merge of bundle and live counts: what one request sees (:class:`LiveView`), and the
live layer of one worker that builds it (:class:`Live`).

See :mod:`service.live` for the merge rule.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.blend import Popular, Signals, popular_from_views
from recommender.bundle import Bundle
from recommender.rowfactors import RowFactors
from recommender.windows import DAY, WINDOWS, rank, trending_score
from service.live.catalogue import LiveCatalogue, build_catalogue
from service.live.counts import (
    DAY_KEEP,
    LIVE_WINDOW_SECONDS,
    LIVE_WINDOWS,
    TRENDING_BASELINE_DAYS,
    CountQuery,
    LiveUnavailable,
    interval_buckets,
    manifest_time,
    window_buckets,
)
from service.live.redis_store import RedisLiveStore
from service.live.sqlite_store import SqliteLiveStore
from service.live.stores import LiveStore, start_every

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger("service")


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
        catalogue: LiveCatalogue,
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

    # -- the catalogue (see service.live.catalogue.LiveCatalogue) --

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

    def words(self, row: int) -> int | None:
        return self.catalogue.words(row)

    def authors(self) -> Sequence[str] | None:
        return self.catalogue.authors

    def stories(self) -> np.ndarray | None:
        return self.catalogue.stories

    def latest_rows(self, category: str | None = None) -> np.ndarray:
        return self.catalogue.latest_rows(category)

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
            # and the tick's freshness and popularity factors, computed once for all of them
            found = dataclasses.replace(
                found, similarity=similarity.among(found.rows), factors=RowFactors()
            )
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


#: Seconds after which the live view of a bundle no request reads is dropped.
IDLE_SECONDS = 60.0


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
        :func:`service.live.catalogue.build_catalogue`.
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
        build_catalogue: Callable[
            [Bundle, Mapping[str, str]], tuple[LiveCatalogue, dict[str, str]]
        ] = build_catalogue,
    ) -> None:
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
        # per bundle version: the model in service, and those of experiment variants
        # (service.experiments.models); a version unused for IDLE_SECONDS is dropped
        self._catalogues: dict[str, tuple[Bundle, int, LiveCatalogue]] = {}
        self._counts: dict[float | None, LiveCounts] = {}
        self._views: dict[str, LiveView] = {}
        self._used: dict[str, float] = {}
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
        if self._watcher_pid:
            # a forked child: the parent's thread may have held the lock at the fork, and no
            # thread of this process will ever release it
            self._lock = threading.Lock()
        with self._lock:
            if self._watcher_pid != pid:
                self._watcher_pid = pid
                start_every(
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
        version = bundle.version
        self._used[version] = now
        view = self._views.get(version)
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
        self._views[version] = view
        self._forget_idle(now)
        return view

    def _forget_idle(self, now: float) -> None:
        """Drop the views of bundles no request used lately (a swapped-out model, a variant's
        model whose experiment ended), so their memory is freed."""
        idle = [v for v, at in list(self._used.items()) if now - at > IDLE_SECONDS]
        for version in idle:
            self._used.pop(version, None)
            self._views.pop(version, None)
            self._catalogues.pop(version, None)
        if len(self._counts) > len(self._views) + 1:
            self._counts = {v.counts.bundle_now: v.counts for v in list(self._views.values())}

    def _catalogue_for(self, bundle: Bundle, generation: int) -> LiveCatalogue:
        cached = self._catalogues.get(bundle.version)
        if cached is not None and cached[0] is bundle and cached[1] == generation:
            return cached[2]
        catalogue, superseded = self._build_catalogue(bundle, self._records)
        self._catalogues[bundle.version] = (bundle, generation, catalogue)
        if superseded:
            # on failure another worker, or a later build, clears them
            with contextlib.suppress(LiveUnavailable):
                self.store.drop_overlay(superseded)
        return catalogue

    def _counts_for(self, bundle: Bundle, tick: int) -> LiveCounts:
        tick_time = tick * self.refresh_seconds
        bundle_now = manifest_time(bundle, "now")
        cached = self._counts.get(bundle_now)
        if cached is not None and cached.time == tick_time:
            return cached
        counts = LiveCounts(self.store, tick_time, bundle_now)
        self._counts[bundle_now] = counts
        return counts


def build_live(settings: Settings) -> Live:
    """The live layer ``settings`` ask for: in Redis when a URL is set, else in the host's
    SQLite file (:class:`service.live.sqlite_store.SqliteLiveStore`)."""
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
        # every worker of the host shares the file; raises LiveUnavailable when it cannot be
        # made (start-up fails: per-worker state would half-apply a takedown)
        store = SqliteLiveStore(settings.live_db, dedup_seconds=dedup_seconds)
        log.info("no NEWSREC_REDIS_URL: live counts and lifecycle changes in %s", store.location)
    return Live(
        store,
        refresh_seconds=settings.live_refresh_seconds,
        trending_min_views=settings.trending_min_views,
        background=bool(url),
    )
