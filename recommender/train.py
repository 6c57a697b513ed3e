"""The offline pipeline behind ``newsrec train``: load, fit every model, publish a bundle.

Its parameters are a :class:`~recommender.config.TrainConfig`; the blend settings the bundle is
to be served with (a :class:`~recommender.blend.BlendParams`) go into its manifest with where
each came from (``settings_origin``: ``default``, ``config`` or ``calibration``). With
a ``calibrator`` (:func:`recommender.evaluation.calibrate.calibrate`, which ``newsrec train``
passes by default) the run first picks the blend settings and the cheap training settings on its
own last day of views, then trains on everything. It is handed in, not imported: the
evaluation package trains through this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from recommender import bundle as bundle_mod
from recommender._topk import BlockMapper
from recommender.blend import BlendParams
from recommender.config import TrainConfig
from recommender.content import ContentModel
from recommender.coview import (
    CoviewModel,
    decay_weights,
    first_reads,
    next_read_counts,
    session_matrix,
)
from recommender.crawlers import crawler_sessions
from recommender.data.articles import Article, ArticleTable, read_articles
from recommender.data.views import (
    ViewCounts,
    ViewEvents,
    ViewPaths,
    latest_plausible_time,
    read_views,
)
from recommender.errors import DataError
from recommender.popularity import PopularityModel
from recommender.reading import count_words
from recommender.stories import story_clusters, story_counts
from recommender.viewlog import LogSummary, ReducedLog, reduce_view_log, view_rows
from recommender.windows import DAY

STAGES = ("load articles", "load views", "content", "calibrate", "co-view", "popularity", "publish")


class Calibrator(Protocol):
    """What :func:`train` calls to calibrate itself
    (:func:`recommender.evaluation.calibrate.calibrate`); its answer has ``config``,
    ``params``, ``searched`` and ``record()``."""

    def __call__(
        self,
        articles: Sequence[Article],
        views: ViewEvents | ViewCounts | None,
        rows: np.ndarray,
        content: ContentModel,
        *,
        config: TrainConfig,
        params: BlendParams,
        fixed: Collection[str] = (),
        log: Callable[[str], None] | None = None,
    ) -> Any: ...


@dataclass
class StageReport:
    name: str
    seconds: float
    peak_mib: float


@dataclass
class TrainResult:
    """What a run produced: the bundle, its manifest and the per-stage report."""

    version: str
    path: Path
    manifest: dict[str, Any]
    stages: list[StageReport] = field(default_factory=list)
    #: The run's self-calibration (``None``: not asked for).
    calibration: Any = None


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def file_digest(path: str | Path) -> str:
    """sha256 of a file, streamed; of a directory (a view log), over its files' names and
    digests."""
    digest = hashlib.sha256()
    if Path(path).is_dir():
        for file in sorted(p for p in Path(path).iterdir() if p.is_file()):
            digest.update(f"{file.name}\0{file_digest(file)}\n".encode())
        return digest.hexdigest()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _timestamp(value: dt.datetime | None) -> int:
    if value is None:
        return -1
    return int(value.timestamp())


def _isoformat(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def map_view_rows(views: ViewEvents | ViewCounts, article_ids: list[str]) -> np.ndarray:
    """The article row of every view, ``-1`` for ids the catalogue does not have."""
    index = {article_id: row for row, article_id in enumerate(article_ids)}
    lookup = np.array([index.get(a, -1) for a in views.article_ids], dtype=np.int64)
    return lookup[views.article_codes] if lookup.size else np.zeros(0, dtype=np.int64)


def session_weights(
    session_codes: np.ndarray,
    timestamps: np.ndarray,
    n_sessions: int,
    now: int,
    half_life_days: float,
) -> np.ndarray:
    """Weight of each session: ``0.5 ** (age of its last view / half-life)``."""
    last = np.full(n_sessions, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, session_codes, timestamps)
    return decay_weights(last, now, half_life_days)


class _Stages:
    """Times stages and drives one progress bar (shown on a terminal only)."""

    def __init__(self, progress: bool, total: int = len(STAGES)) -> None:
        self.reports: list[StageReport] = []
        self._bar: Any = None
        if progress:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="stage", file=sys.stderr, leave=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self._bar is not None:
            self._bar.set_description(name)
        start = time.perf_counter()
        yield
        self.reports.append(StageReport(name, time.perf_counter() - start, _peak_mib()))
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def train(
    articles_path: str | Path,
    views_path: ViewPaths | None,
    out_dir: str | Path = "models",
    *,
    config: TrainConfig | None = None,
    params: BlendParams | None = None,
    fixed: Collection[str] = (),
    calibrator: Calibrator | None = None,
    now: dt.datetime | None = None,
    progress: bool = False,
    publish: bool = True,
    before_publish: Callable[[bundle_mod.BundleContents], None] | None = None,
    check_views: Callable[[ViewEvents | ViewCounts | LogSummary | None], None] | None = None,
    log: Callable[[str], None] | None = None,
    mapper: BlockMapper | None = None,
    content_fitter: ContentFitter | None = None,
    stream_views: bool = False,
    spill_dir: str | Path | None = None,
) -> TrainResult:
    """Train every model and publish a bundle into ``out_dir``.

    Parameters
    ----------
    articles_path, views_path : path
        Inputs (see :mod:`recommender.data`); ``views_path`` may be several files and
        directories read as one log, or ``None`` (content only).
    out_dir : path
        The models directory; the bundle lands in ``out_dir/<version>`` and ``LATEST``.
    config : TrainConfig
    params : BlendParams, optional
        The blend settings the bundle is to be served with (default: the defaults); the
        manifest records them under ``blend``, and the service serves them.
    fixed : collection of str
        Names of the settings (of ``config`` and ``params``) a configuration file set: their
        origin is ``config`` and calibration leaves them alone.
    calibrator : callable, optional
        Self-calibration (:func:`recommender.evaluation.calibrate.calibrate`, the command
        line's default): called with the articles, views, their rows and the fitted content
        model, it picks the blend and cheap training settings on the log's own last day, and
        the run trains on everything with them. ``None`` (here the default, so that an
        evaluation or a tuning trial measures the settings it is given): no calibration.
    now : datetime, optional
        End of the popularity windows and the model's "now"; default: the last view's time,
        else the newest ``published_at`` (never the clock while the data has a time).
    publish : bool
        When false the bundle is written but ``LATEST`` is left alone (the promotion gate).
    before_publish : callable, optional
        Called with the assembled contents before anything is written (a hook for tests and
        for the promotion gate's manifest entry).
    check_views : callable, optional
        Called with the views as soon as they are read, before any model is fitted; it may
        raise to stop the run (the thin-log check, :func:`recommender.evaluation.gate.log_volume`).
    log : callable, optional
        Receives the calibration's lines (what it tried, chose and why).
    mapper : BlockMapper, optional
        Runs the expensive stages' blocks (content and co-view neighbours, the view log's
        files) on a cluster (:mod:`recommender.distributed`); the bundle is the same.
    content_fitter : callable, optional
        Builds the content model instead of a full fit (``newsrec train --incremental``:
        :mod:`recommender.incremental`); called with the articles, the published mask and
        the config. A model with a ``training_`` record puts it in the manifest.
    stream_views : bool
        Read a log of view events in bounded memory, file by file, reduced to what co-view
        and popularity need (:mod:`recommender.viewlog`; with ``mapper``, on the cluster);
        the bundle is the same. No calibration (it replays the whole log): ``calibrator``
        must be ``None``, and ``check_views`` is called with a
        :class:`~recommender.viewlog.LogSummary`.
    spill_dir : path, optional
        With ``stream_views``: where the log's partitions are spilled (on a cluster, a
        directory every worker shares); default: the system's temporary directory.

    Raises
    ------
    DataError
        A bad input row beyond ``config.max_invalid``; nothing is published.
    """
    config = config or TrainConfig()
    params = params or BlendParams()
    if stream_views and calibrator is not None:
        raise ValueError("stream_views trains without calibration: it replays the whole log")
    if stream_views and config.coview_next_weight > 0:
        raise ValueError(
            "stream_views does not count read-next pairs yet: set coview_next_weight = 0"
        )
    origin = {name: "config" if name in fixed else "default" for name in _setting_names()}
    calibration: Any = None
    stages = _Stages(progress, len(STAGES) if calibrator is not None else len(STAGES) - 1)
    try:
        with stages.stage("load articles"):
            table: ArticleTable = read_articles(articles_path, max_invalid=config.max_invalid)
            if not table.articles:
                raise DataError(str(articles_path), None, None, "no articles")
            articles = table.articles
            article_ids = [a.id for a in articles]
            published = np.array([a.status == "published" for a in articles], dtype=bool)
        views: ViewEvents | ViewCounts | LogSummary | None = None
        reduced: ReducedLog | None = None
        rows = np.zeros(0, dtype=np.int64)
        with stages.stage("load views"):
            if views_path is not None and stream_views:
                reduced = reduce_view_log(
                    views_path,
                    article_ids,
                    session_gap_minutes=config.session_gap_minutes,
                    max_invalid=config.max_invalid,
                    not_after=_not_after(articles, now),
                    now=None if now is None else _now_ts(now, None),
                    bot_views_per_minute=config.bot_views_per_minute,
                    bot_burst_views=config.bot_burst_views,
                    trending_baseline_days=config.trending_baseline_days,
                    spill_dir=spill_dir,
                    mapper=mapper,
                )
                views = None if reduced is None else reduced.summary
            if views_path is not None and views is None:
                views = read_views(
                    views_path,
                    session_gap_minutes=config.session_gap_minutes,
                    max_invalid=config.max_invalid,
                    not_after=_not_after(articles, now),
                    mapper=mapper,
                )
                rows = map_view_rows(views, article_ids)
        if check_views is not None:
            check_views(views)
        known = rows >= 0
        n_unknown = int((~known).sum()) if reduced is None else reduced.summary.n_unknown
        now_ts = _now_ts(now, views, articles)
        with stages.stage("content"):
            content = _fit_content(articles, published, config, mapper, content_fitter)
        if calibrator is not None and not isinstance(views, LogSummary):
            with stages.stage("calibrate"):
                calibration = calibrator(
                    articles,
                    views,
                    rows,
                    content,
                    config=config,
                    params=params,
                    fixed=fixed,
                    log=log,
                )
                config, params = calibration.config, calibration.params
                origin.update(dict.fromkeys(calibration.searched, "calibration"))
        coview: CoviewModel | None = None
        with stages.stage("co-view"):
            if isinstance(views, ViewEvents):
                coview = fit_coview(
                    views, rows, len(articles), published, config, now_ts, mapper=mapper
                )
            elif reduced is not None:
                weights = None
                if config.coview_half_life_days:
                    weights = decay_weights(reduced.last_seen, now_ts, config.coview_half_life_days)
                coview = _coview_model(config).fit(
                    reduced.sessions,
                    session_weight=weights,
                    candidate_mask=published,
                    bot_sessions=reduced.crawlers,
                    mapper=mapper,
                )
        with stages.stage("popularity"):
            popularity = PopularityModel(
                trending_baseline_days=config.trending_baseline_days,
                trending_min_views=config.trending_min_views,
            )
            if reduced is not None:
                popularity.fit_counts(reduced.window_views, reduced.baseline_views, now_ts)
            elif views is None or isinstance(views, LogSummary):
                popularity.fit(rows, np.zeros(0, dtype=np.int64), len(articles), now_ts)
            elif isinstance(views, ViewEvents):
                popularity.fit(rows[known], views.timestamps[known], len(articles), now_ts)
            else:
                timestamps = None if views.timestamps is None else views.timestamps[known]
                popularity.fit(
                    rows[known], timestamps, len(articles), now_ts, views=views.views[known]
                )
        with stages.stage("publish"):
            contents = _contents(
                table,
                content,
                coview,
                popularity,
                config,
                articles_path,
                views_path,
                views,
                n_unknown,
                now_ts,
            )
            contents.manifest["blend"] = params.to_dict()
            contents.manifest["settings_origin"] = origin
            if hasattr(content, "training_"):
                contents.manifest["training"] = content.training_
            contents.manifest["calibration"] = (
                {"status": "off"} if calibration is None else calibration.record()
            )
            if before_publish is not None:
                before_publish(contents)
            contents.manifest["timings"] = {r.name: round(r.seconds, 3) for r in stages.reports}
            contents.manifest["peak_memory_mib"] = {
                r.name: round(r.peak_mib, 1) for r in stages.reports
            }
            suffix = hashlib.sha256(
                json_dumps(contents.manifest["inputs"], asdict(config), params.to_dict()).encode()
            ).hexdigest()[:8]
            path = bundle_mod.publish(
                contents,
                out_dir,
                version=bundle_mod.new_version(suffix=suffix),
                keep=config.keep,
                set_latest=publish,
            )
    finally:
        stages.close()
    manifest = contents.manifest
    manifest["timings"]["publish"] = round(stages.reports[-1].seconds, 3)
    return TrainResult(manifest["version"], path, manifest, stages.reports, calibration)


class ContentFitter(Protocol):
    """What :func:`train` calls instead of a full content fit (``--incremental``)."""

    def __call__(
        self, articles: Sequence[Article], published: np.ndarray, config: TrainConfig
    ) -> ContentModel: ...


def content_model(config: TrainConfig) -> ContentModel:
    """The content model ``config`` describes, unfitted."""
    return ContentModel(
        n_neighbors=config.n_neighbors,
        title_weight=config.title_weight,
        min_df=config.min_df,
        max_df=config.max_df,
        max_features=config.max_features,
        stop_words=config.stop_words,
        author_weight=config.author_weight,
        chunk_size=config.chunk_size,
        n_threads=config.n_threads,
    )


def _fit_content(
    articles: Sequence[Article],
    published: np.ndarray,
    config: TrainConfig,
    mapper: BlockMapper | None,
    content_fitter: ContentFitter | None,
) -> ContentModel:
    if content_fitter is not None:
        return content_fitter(articles, published, config)
    return content_model(config).fit(articles, candidate_mask=published, mapper=mapper)


def _setting_names() -> list[str]:
    """Every training and blend setting, the keys of a manifest's ``settings_origin``."""
    return [f.name for f in fields(TrainConfig)] + [f.name for f in fields(BlendParams)]


def fit_coview(
    views: ViewEvents,
    rows: np.ndarray,
    n_articles: int,
    published: np.ndarray,
    config: TrainConfig,
    now_ts: int,
    *,
    keep: np.ndarray | None = None,
    mapper: BlockMapper | None = None,
    only_rows: np.ndarray | None = None,
    crawlers: np.ndarray | None = None,
    matrix: sp.csr_matrix | None = None,
    reads: tuple[np.ndarray, np.ndarray] | None = None,
) -> CoviewModel:
    """The co-view model of the views whose article row is known (and ``keep``, when given).

    Parameters
    ----------
    views : ViewEvents
    rows : ndarray of int
        The article row of every view (``-1``: unknown article).
    n_articles : int
    published : ndarray of bool
        The rows that may be neighbours.
    config : TrainConfig
        Its co-view settings.
    now_ts : int
        Where the session time decay (``coview_half_life_days``) is measured from.
    keep : ndarray of bool, optional
        Views to use besides (a calibration's views before its held-out day).
    mapper : BlockMapper, optional
        Runs the chunks on a cluster (:mod:`recommender.distributed`).
    only_rows : ndarray of int, optional
        Only these rows' neighbour lists (:meth:`CoviewModel.fit`'s ``rows``).
    crawlers : ndarray of bool, optional
        The crawler verdict of every session under ``config``'s bot settings, when already
        known (:func:`crawler_sessions` of the same views).
    matrix, reads : optional
        :func:`session_matrix` and :func:`first_reads` of the same views, when already built
        (a calibration's trials share them: each sorts 10M views).
    """
    known = rows >= 0 if keep is None else (rows >= 0) & keep
    sessions = views.session_codes[known]
    if matrix is None:
        matrix = session_matrix(sessions, rows[known], views.n_sessions, n_articles)
    weights = None
    if config.coview_half_life_days:
        weights = session_weights(
            sessions,
            views.timestamps[known],
            views.n_sessions,
            now_ts,
            config.coview_half_life_days,
        )
    # a crawler's pace counts every view it made, also of articles the catalogue lacks
    read = slice(None) if keep is None else keep
    bots = crawlers
    if bots is None:
        bots = crawler_sessions(
            views.session_codes[read],
            views.timestamps[read],
            views.n_sessions,
            views_per_minute=config.bot_views_per_minute,
            burst_views=config.bot_burst_views,
        )
    following = next_sessions = None
    if config.coview_next_weight > 0:
        sequence = (sessions, rows[known], views.timestamps[known], n_articles)
        reads = reads or first_reads(*sequence)  # once for both counts
        read_next = functools.partial(
            next_read_counts, *sequence, config.coview_next_window, left_out=bots, rows=only_rows
        )
        read_next = functools.partial(read_next, reads=reads)
        next_sessions = read_next()
        following = next_sessions if weights is None else read_next(session_weight=weights)
    return _coview_model(config).fit(
        matrix,
        session_weight=weights,
        candidate_mask=published,
        bot_sessions=bots,
        mapper=mapper,
        rows=only_rows,
        next_counts=following,
        next_sessions=next_sessions,
    )


def _coview_model(config: TrainConfig) -> CoviewModel:
    return CoviewModel(
        n_neighbors=config.n_neighbors,
        normalization=config.coview_normalization,
        min_count=config.coview_min_count,
        chunk_size=max(config.chunk_size, 4096),
        next_weight=config.coview_next_weight,
    )


def json_dumps(*values: Any) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def _not_after(articles: list[Any], now: dt.datetime | None) -> int:
    """The latest time a view may be dated: 1 day after the clock, the newest article's
    ``published_at`` or ``now``, whichever is latest.

    The clock only refuses impossible rows (epoch milliseconds, a year 2099 typo); the
    model's "now" stays the last view's time. Sample data generated for a future date
    carries its own articles' dates, so it is not refused.
    """
    published = [a.published_at.timestamp() for a in articles if a.published_at is not None]
    explicit = None if now is None else _now_ts(now, None)
    newest = int(max(published)) if published else None
    return latest_plausible_time(int(time.time()), newest, explicit)


def _now_ts(
    now: dt.datetime | None,
    views: ViewEvents | ViewCounts | LogSummary | None,
    articles: Sequence[Any] = (),
) -> int:
    """The model's "now", from its data: ``now`` when given, else the newest view, else the
    newest ``published_at`` (a bundle trained without views); the clock only when the data
    holds no time at all (then nothing ages: every article is undated)."""
    if now is not None:
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        return int(now.timestamp())
    if isinstance(views, ViewEvents) and views.timestamps.size:
        return int(views.timestamps.max())
    if isinstance(views, LogSummary) and views.max_time is not None:
        return views.max_time
    if isinstance(views, ViewCounts) and views.timestamps is not None and views.timestamps.size:
        return int(views.timestamps.max()) + DAY
    published = [a.published_at.timestamp() for a in articles if a.published_at is not None]
    if published:
        return int(max(published))
    return int(time.time())


def _coview_state(coview: CoviewModel | None, views_kind: str) -> str:
    """What the manifest (and ``newsrec train``) says of the co-view model."""
    if coview is None:
        if views_kind == "counts":
            return "absent: views are aggregated counts"
        return "absent: no view events"
    if coview.n_pairs_ == 0:
        return (
            f"absent: no usable sessions ({coview.n_usable_sessions_} of {coview.n_sessions_} "
            f"sessions read two articles or more, {coview.n_bot_sessions_} dropped as crawlers, "
            f"no pair read together in coview_min_count sessions)"
        )
    return "built"


def _contents(
    table: ArticleTable,
    content: ContentModel,
    coview: CoviewModel | None,
    popularity: PopularityModel,
    config: TrainConfig,
    articles_path: str | Path,
    views_path: ViewPaths | None,
    views: ViewEvents | ViewCounts | LogSummary | None,
    n_unknown: int,
    now_ts: int,
) -> bundle_mod.BundleContents:
    articles = table.articles
    matrix = content.matrix_
    arrays: dict[str, np.ndarray] = {
        "published_ts": np.array([_timestamp(a.published_at) for a in articles], dtype=np.int64),
        "content_neighbors": content.neighbors_,
        "content_scores": content.scores_,
        "content_matrix_data": matrix.data.astype(np.float32),
        # scipy keeps indices and indptr in one integer type; sparse products need them equal
        "content_matrix_indices": matrix.indices,
        "content_matrix_indptr": matrix.indptr,
        "popularity_views": popularity.counts_,
        "popularity_trending": popularity.trending_,
        bundle_mod.WORDS_ARRAY: (
            content.words_
            if hasattr(content, "words_")  # an incremental run keeps unchanged texts' counts
            else np.array([count_words(a.body) for a in articles], dtype=np.int32)
        ),
        bundle_mod.STORIES_ARRAY: story_clusters(content.neighbors_, content.scores_),
    }
    if hasattr(content, "digests_"):  # what a later --incremental run compares texts with
        arrays["content_digest"] = content.digests_
    counts: dict[str, Any] = {
        "articles": len(articles),
        "article_rows": table.n_rows,
        "duplicate_articles": table.n_duplicates,
        "invalid_article_rows": len(table.invalid),
        "unsafe_urls_dropped": len(table.dropped_urls),
        "published_articles": int(sum(a.status == "published" for a in articles)),
        "vocabulary": content.vocabulary_size_,
        "views_of_unknown_articles": n_unknown,
    }
    # a log without one session that read two articles (after the crawler rule) has no co-view
    # to offer: the bundle says so instead of "built" with empty lists
    usable = coview is not None and coview.n_pairs_ > 0
    if coview is not None:
        counts.update(
            sessions=coview.n_sessions_,
            usable_sessions=coview.n_usable_sessions_,
            bot_sessions=coview.n_bot_sessions_,
            coview_pairs=coview.n_pairs_,
        )
    if coview is not None and usable:
        arrays.update(
            coview_neighbors=coview.neighbors_,
            coview_scores=coview.scores_,
            coview_counts=coview.counts_,
            coview_support=coview.support_,
        )
        if coview.next_sessions_ is not None:
            arrays[bundle_mod.NEXT_ARRAY] = coview.next_sessions_
    if views is not None:
        counts["view_rows"] = view_rows(views)
        counts["invalid_view_rows"] = len(views.invalid)
        counts["future_view_rows"] = views.n_future
    inputs = [
        {"role": "articles", "path": str(articles_path), "sha256": file_digest(articles_path)}
    ]
    if views_path is not None:
        sources = [views_path] if isinstance(views_path, str | Path) else views_path
        inputs += [{"role": "views", "path": str(p), "sha256": file_digest(p)} for p in sources]
    views_kind = (
        "none" if views is None else ("counts" if isinstance(views, ViewCounts) else "events")
    )
    manifest: dict[str, Any] = {
        "created_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "now": dt.datetime.fromtimestamp(now_ts, dt.UTC).isoformat().replace("+00:00", "Z"),
        "parameters": asdict(config),
        "inputs": inputs,
        "counts": counts,
        "views_kind": views_kind,
        "coview": _coview_state(coview, views_kind),
        "popularity_dated": bool(popularity.dated_),
        "stories": story_counts(arrays[bundle_mod.STORIES_ARRAY]),
    }
    meta: dict[str, list[Any]] = {
        "title": [a.title for a in articles],
        "url": [a.url for a in articles],
        "category": [a.category for a in articles],
        "published_at": [_isoformat(a.published_at) for a in articles],
        "image_url": [a.image_url for a in articles],
        "status": [a.status for a in articles],
        "author": [a.author for a in articles],
        "image_srcset": [a.image_srcset for a in articles],
    }
    return bundle_mod.BundleContents(
        article_ids=[a.id for a in articles],
        meta=meta,
        arrays=arrays,
        vectorizer=content.vectorizer_,
        manifest=manifest,
    )
