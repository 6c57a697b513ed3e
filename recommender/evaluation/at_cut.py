"""The model a self-calibration scores its settings on: what a run at the held-out part's cut
would have trained (:func:`model_at_cut`), and the same with another co-view setting
(:func:`with_coview`). See :mod:`recommender.evaluation.calibrate`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.blend import SignalArrays
from recommender.bundle import Bundle, BundleContents
from recommender.config import TrainConfig
from recommender.content import ContentModel
from recommender.coview import first_reads, session_matrix
from recommender.crawlers import SessionPace
from recommender.data.articles import Article
from recommender.data.views import ViewEvents
from recommender.evaluation.replay import Replay
from recommender.evaluation.split import first_seen
from recommender.popularity import PopularityModel
from recommender.train import fit_coview


def iso(ts: int) -> str:
    """A Unix time as an ISO 8601 UTC string ending in ``Z``."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class AtCut:
    """The model at the cut: its bundle, and how the run's rows map onto it.

    The bundle's co-view lists are empty: the replay ranks its query articles' own lists only,
    which :func:`with_coview` fits once the pairs are sampled (and again for every setting
    tried), so the whole catalogue's lists are never computed."""

    bundle: Bundle
    rows: np.ndarray  # the row at the cut of each view (-1: unknown or not yet seen)
    before: np.ndarray  # views before the cut
    published: np.ndarray  # the cut's rows that may be neighbours
    cut: int
    #: the session x article matrix of the views before the cut (every trial shares it)
    matrix: sp.csr_matrix
    #: the pace of every session before the cut, whatever the crawler rule (shared too)
    pace: SessionPace
    #: :func:`~recommender.coview.first_reads` of the views before the cut, once a trial of
    #: "read next" needed them
    reads: tuple[np.ndarray, np.ndarray] | None = None

    def first_reads(self, events: ViewEvents) -> tuple[np.ndarray, np.ndarray]:
        """Each session's first reads before the cut, in reading order (built once)."""
        if self.reads is None:
            known = self.before & (self.rows >= 0)
            self.reads = first_reads(
                events.session_codes[known],
                self.rows[known],
                events.timestamps[known],
                len(self.bundle),
            )
        return self.reads

    def crawlers(self, config: TrainConfig) -> np.ndarray:
        """The crawler verdict of every session before the cut under ``config``'s rule."""
        return self.pace.crawlers(
            views_per_minute=config.bot_views_per_minute, burst_views=config.bot_burst_views
        )


def _subset_lists(
    neighbors: np.ndarray, scores: np.ndarray, kept: np.ndarray, new_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The kept rows' neighbour lists without the rows not kept, renumbered, packed left."""
    lists = neighbors[kept]
    mapped = np.where(lists >= 0, new_row[np.maximum(lists, 0)], -1).astype(np.int32)
    values = np.where(mapped >= 0, scores[kept], 0).astype(np.float32)
    order = np.argsort(mapped < 0, axis=1, kind="stable")
    return np.take_along_axis(mapped, order, axis=1), np.take_along_axis(values, order, axis=1)


def model_at_cut(
    articles: Sequence[Article],
    events: ViewEvents,
    rows: np.ndarray,
    content: ContentModel,
    config: TrainConfig,
    cut: int,
) -> AtCut:
    """What a run at ``cut`` would have trained, from the run's own content model (see the
    module's docstring) and the views before the cut."""
    seen = first_seen(articles, events)
    kept = (seen >= 0) & (seen < cut)
    index = np.flatnonzero(kept)
    new_row = np.full(len(articles), -1, dtype=np.int64)
    new_row[index] = np.arange(index.size)
    chosen = [articles[i] for i in index.tolist()]
    published = np.array([a.status == "published" for a in chosen], dtype=bool)
    view_rows = np.where(rows >= 0, new_row[np.maximum(rows, 0)], -1)
    before = events.timestamps < cut
    content_neighbors, content_scores = _subset_lists(
        content.neighbors_, content.scores_, kept, new_row
    )
    matrix = content.matrix_[index]
    known = before & (view_rows >= 0)
    sessions = session_matrix(
        events.session_codes[known], view_rows[known], events.n_sessions, index.size
    )
    pace = SessionPace.of(
        events.session_codes[before], events.timestamps[before], events.n_sessions
    )
    bots = pace.crawlers(
        views_per_minute=config.bot_views_per_minute, burst_views=config.bot_burst_views
    )
    coview = fit_coview(
        events,
        view_rows,
        index.size,
        published,
        config,
        cut,
        keep=before,
        matrix=sessions,
        crawlers=bots,
        only_rows=np.zeros(0, dtype=np.int64),
    )
    popularity = PopularityModel(
        trending_baseline_days=config.trending_baseline_days,
        trending_min_views=config.trending_min_views,
    ).fit(view_rows[known], events.timestamps[known], index.size, cut)
    arrays = {
        "published_ts": np.array(
            [-1 if a.published_at is None else int(a.published_at.timestamp()) for a in chosen],
            dtype=np.int64,
        ),
        "content_neighbors": content_neighbors,
        "content_scores": content_scores,
        "content_matrix_data": matrix.data.astype(np.float32),
        "content_matrix_indices": matrix.indices,
        "content_matrix_indptr": matrix.indptr,
        "popularity_views": popularity.counts_,
        "popularity_trending": popularity.trending_,
        **_coview_arrays(coview),
    }
    meta: dict[str, list[Any]] = {
        "title": [a.title for a in chosen],
        "url": [a.url for a in chosen],
        "category": [a.category for a in chosen],
        "published_at": [
            None if a.published_at is None else iso(int(a.published_at.timestamp())) for a in chosen
        ],
        "image_url": [a.image_url for a in chosen],
        "status": [a.status for a in chosen],
    }
    manifest = {
        "now": iso(cut),
        "parameters": asdict(config),
        "counts": {"vocabulary": content.vocabulary_size_},
    }
    contents = BundleContents([a.id for a in chosen], meta, arrays, content.vectorizer_, manifest)
    bundle = Bundle.in_memory(contents, "calibration")
    return AtCut(bundle, view_rows, before, published, cut, sessions, pace)


def _coview_arrays(model: Any) -> dict[str, np.ndarray]:
    return {
        "coview_neighbors": model.neighbors_,
        "coview_scores": model.scores_,
        "coview_counts": model.counts_,
        "coview_support": model.support_,
    }


def with_coview(replay: Replay, at_cut: AtCut, events: ViewEvents, config: TrainConfig) -> Replay:
    """The replay with the co-view model of ``config`` at the cut (nothing else changes)."""
    n = len(at_cut.bundle)
    queries = np.unique(replay.query_rows)
    model = fit_coview(
        events,
        at_cut.rows,
        n,
        at_cut.published,
        config,
        at_cut.cut,
        keep=at_cut.before,
        only_rows=queries[queries < n],  # ranking reads a query's own list only
        crawlers=at_cut.crawlers(config),
        matrix=at_cut.matrix,
        reads=at_cut.first_reads(events) if config.coview_next_weight > 0 else None,
    )
    signals = replay.signals
    assert isinstance(signals, SignalArrays)
    extra = len(signals.categories) - len(at_cut.bundle)

    def pad(array: np.ndarray, fill: int) -> np.ndarray:
        tail = np.full((extra, *array.shape[1:]), fill, dtype=array.dtype)
        return np.concatenate([array, tail])

    arrays = _coview_arrays(model)
    return dataclasses.replace(
        replay,
        signals=dataclasses.replace(
            signals,
            has_coview=True,
            coview_neighbors=pad(arrays["coview_neighbors"], -1),
            coview_scores=pad(arrays["coview_scores"], 0),
            coview_counts=pad(arrays["coview_counts"], 0),
            coview_support=pad(arrays["coview_support"], 0),
        ),
    )
