"""Offline evaluation: replay reader sessions after a chronological split.

The view log is cut at a split time. Models are trained, with :func:`recommender.train.train`,
only on what was known before it: articles first seen before the split and views before the
split. Every reader session after the split is then replayed: for each article ``A`` a reader
opened and the next different article ``B`` they opened in the same session, did the list the
service would have shown on ``A``'s page *at that moment* contain ``B``? The service replayed
serves the bundle trained at the split, and folds in the articles published after it as the
live service does when the CMS publishes them (:mod:`service.lifecycle`); no view after the
split reaches a model. The list comes from :func:`recommender.blend.related`, called as the
service calls it (same filters; fallbacks are ``A``'s section's most viewed then the site's most
viewed over the 7 days before the split), at the time of ``A``'s view.

Replay rule
-----------
* A session is what :func:`recommender.data.views.read_views` makes of the view log (a session id,
  or a user id cut at ``session_gap_minutes`` of inactivity). Views are ordered by time, then
  by their order in the file (so views sharing a timestamp keep file order).
* Pairs are consecutive views of *different* articles within a session, both at or after the
  split (and before the end of the test period). A reload (``A`` then ``A``) is no pair.
* Sessions with more distinct articles in the test period than ``max_session_views`` look like
  crawlers and are left out, as training leaves them out of co-views.
* The live catalogue: an article the bundle does not hold becomes known to the service when it
  is published (its ``published_at``), or at its first view in the log when that is earlier or
  it has no date. From then on it is in the catalogue, folded in as ``PUT /v1/articles/{id}``
  folds it in (:func:`fold_in_live`): its TF-IDF vector under the bundle's vectorizer, its
  content neighbours among the bundle's published articles and the articles published before
  it (scores rounded as the service stores them), and the *reverse additions*: each
  neighbour ``B`` with score ``s`` gains it in ``B``'s own content list when ``s`` beats
  ``B``'s weakest listed neighbour (or ``B``'s list is not full). It has no co-view evidence.
  So a pair's lists can hold articles published at or before the pair, never one published
  after it.
* A query article that is not in the training bundle (published in the test period: a *new*
  article) is shown its folded-in list with the reverse additions made so far; it has no
  co-view evidence, so its hybrid list is its content list. A query article with no metadata
  at all cannot be shown a list by the service; such pairs are counted
  (``skipped_unknown_query``) and left out of every metric.
* A target can be hit only if it was a candidate at the pair's time. ``target_in_training``
  counts the pairs whose target is in the bundle, ``target_available`` those whose target is
  in the bundle or was known to the service at or before the pair (both over every replayed
  pair, whatever the target's status); the other pairs are misses.
* Status: the articles file gives each article's status as of its export, and the replay
  takes it as its status throughout, as training does: an article that is not published is
  never a candidate and adds itself to no list; as a query it is shown its folded-in list, as
  the bundle keeps lists for its own unpublished articles. (The live service folds in nothing
  for an article put as a draft: its page gets the popular fallbacks only.)
* Time: every list is ranked at its pair's time (the query view): freshness and age filters
  use it, for every strategy, as the service does with ``NEWSREC_NOW_FROM_CLOCK=1`` (the
  production setting; by default it ages articles against the bundle's ``now``, here the
  split). The most viewed rankings of ``most_viewed`` and the fallbacks stay the bundle's,
  over the 7 days before the split. What the live service counted before a pair is live
  state, not model: ``most_viewed_live`` ranks by it, and the hybrid's popularity prior and
  popular candidates (:class:`recommender.blend.Popular`) read the views of the 24 hours
  before the pair (views since the split, plus the share of the bundle's last day the window
  overlaps), as the service's live layer merges them. A view at or after the pair never
  counts, and no view after the split reaches the bundle.
* Editorial rules (pins, blocks) are live state, not part of a bundle: every strategy here is
  rules-free.

MIND (:mod:`recommender.mind`): click histories carry no per-click time, and MIND has no publish
dates. Evaluate MIND on the output of ``convert_mind``, whose sessions are impressions: each
impression's clicked articles in impression order, from the impression time one second apart,
so the split is by impression time and the pairs are consecutive clicks within one impression.
Click histories (no times) are left out (``newsrec evaluate --mind`` converts without them).
Without dates, freshness is neutral (factor 1) and "new" means "first seen (viewed) at or after
the split"; undated articles nobody viewed before the split are not in the training catalogue,
and join the live catalogue at their first view.

Strategies
----------
``most_viewed``
    The site's most viewed over the 7 days before the split (the bundle's ranking), minus the
    query article (same filters).
``most_viewed_live``
    What the live service's ``/v1/most-viewed`` (7 days) showed at the pair's time: the
    bundle's 7-day views plus the views counted since the split and before the pair (crawler
    sessions left out, a session's repeats of an article within 30 minutes counted once, as
    ``service.live`` does), ties by article id, minus the query article.
``content``, ``coview``, ``hybrid``
    :func:`recommender.blend.related` with that strategy, including its fallbacks. The single
    signals are raw: ``content`` is TF-IDF cosine only, blind to age.
``content_fresh``
    The hybrid with a co-view weight of 0: content neighbours and popular candidates, times
    the hybrid's freshness decay and popularity prior (the views of the 24 hours before the
    pair). It is what the hybrid serves for an article without co-view evidence (a new
    article), so it is the content signal as readers get it.

Metrics (lists of ``n = 10``, cut-offs ``k`` in 5 and 10)
----------------------------------------------------------
``hit_rate@k``
    Share of pairs whose target is in the first ``k``.
``mrr@k``
    Mean of ``1 / rank`` of the target (0 when below ``k``).
``ndcg@k``
    One relevant item per pair, so ``1 / log2(rank + 1)`` (0 when below ``k``).
``coverage``
    Distinct articles recommended (in any list of ``n``) / published articles in the live
    catalogue by the last pair (the bundle's and those published since).
``mean_age_days``
    Mean over pairs of the mean age (at the query view) of the recommended articles with a
    known publish date; ``None`` without dates.
``diversity``
    Distinct sections in a list / its length, mean over pairs: 1 when every item is from a
    different section, ``1 / n`` when all share one.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import json
import math
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.blend import (
    BlendParams,
    Filters,
    Popular,
    SignalArrays,
    Signals,
    popular_from_views,
    related,
)
from recommender.errors import DataError
from recommender.similarity import RowSimilarity
from recommender.windows import WINDOWS

if TYPE_CHECKING:
    import argparse

    from recommender.bundle import Bundle
    from recommender.data.articles import Article
    from recommender.data.views import ViewEvents
    from recommender.train import TrainConfig

# The modules that import scikit-learn, scipy and pyarrow are imported where they are used:
# ``newsrec`` builds every command's parser at start-up and should not pay for them.

DAY = 86_400
#: Metric cut-offs; lists are ``max(KS)`` long.
KS = (5, 10)
STRATEGIES = ("most_viewed", "most_viewed_live", "content", "coview", "content_fresh", "hybrid")
#: What the service counts as one view: a session's repeats of an article within this are one.
DEDUP_SECONDS = 1_800
GROUPS = ("all", "new", "established")
#: Query-article age buckets (days, lower bound inclusive) for "hit rate by query-article age".
AGE_BUCKETS: tuple[tuple[float, float, str], ...] = (
    (0, 1, "<1d"),
    (1, 2, "1-2d"),
    (2, 4, "2-4d"),
    (4, 7, "4-7d"),
    (7, 14, "1-2w"),
    (14, math.inf, ">2w"),
)
#: Edges (days) of the recommended-article age histogram.
AGE_HISTOGRAM_EDGES = (0, 1, 2, 3, 4, 5, 7, 10, 14, 21, 30, 60, math.inf)
REPLAY_RULE = (
    "sessions from the view log (session id, or user id cut at the session gap); views ordered "
    "by time then file order; pairs = consecutive views of different articles in a session, "
    "both in the test period; sessions with more distinct test-period articles than "
    "max_session_views are dropped as crawlers; articles published after the split join the "
    "live catalogue at publication, folded in by content as the service does (neighbours among "
    "the bundle's and earlier new articles, reverse additions into their neighbours' lists, no "
    "co-views); a target is a candidate only if in training or published at or before the pair; "
    "lists are ranked at each pair's time; most viewed is the bundle's 7-day ranking at the split"
)
MIND_REPLAY_RULE = (
    "MIND: session = impression (convert_mind); pairs = consecutive clicked articles in "
    "impression order; split by impression time; no publish dates, so freshness is neutral "
    "and 'new' = first viewed at or after the split"
)


# --- metrics ------------------------------------------------------------------------------


def hit_rate_at_k(ranks: np.ndarray, k: int) -> float:
    """Share of pairs whose target is ranked within the first ``k``.

    Parameters
    ----------
    ranks : ndarray of int
        1-based rank of each pair's target in its list; 0 when absent.
    k : int

    Returns
    -------
    float
        NaN when there are no pairs.
    """
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return math.nan
    return float(np.mean((ranks >= 1) & (ranks <= k)))


def mrr_at_k(ranks: np.ndarray, k: int) -> float:
    """Mean reciprocal rank, counting ranks beyond ``k`` (and misses) as 0."""
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return math.nan
    hit = (ranks >= 1) & (ranks <= k)
    return float(np.where(hit, 1.0 / np.maximum(ranks, 1), 0.0).mean())


def ndcg_at_k(ranks: np.ndarray, k: int) -> float:
    """NDCG at ``k`` with one relevant item per pair: ``1 / log2(rank + 1)``, 0 beyond ``k``."""
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return math.nan
    hit = (ranks >= 1) & (ranks <= k)
    return float(np.where(hit, 1.0 / np.log2(np.maximum(ranks, 1) + 1.0), 0.0).mean())


def catalogue_coverage(lists: Iterable[Sequence[int]], n_catalogue: int) -> float:
    """Distinct rows recommended in any list / the number of recommendable rows."""
    if n_catalogue <= 0:
        return math.nan
    seen: set[int] = set()
    for rows in lists:
        seen.update(int(r) for r in rows)
    return len(seen) / n_catalogue


def section_diversity(sections: Sequence[str]) -> float:
    """Distinct sections in one list / its length (NaN for an empty list)."""
    if not sections:
        return math.nan
    return len(set(sections)) / len(sections)


# --- replay pairs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayPairs:
    """(query article, next article) pairs replayed from the test period.

    Attributes
    ----------
    query_ids, target_ids : list of str
        The article opened and the next different one opened after it.
    timestamps : ndarray of int64
        Unix seconds of the query view (when the list would have been shown).
    n_sessions : int
        Sessions that produced at least one pair.
    n_bot_sessions : int
        Sessions left out as crawlers.
    first_views : mapping of str to int
        Unix seconds of each article's first view in the whole view log: an article read then
        was live then, whatever its publish date says (how undated articles become known).
        Empty when the pairs were built by hand: only publish dates and query views count.
    view_ids, view_timestamps
        The views of the period a live service would have counted, in time order: not from a
        crawler session, and a session's repeats of an article within :data:`DEDUP_SECONDS`
        once (what ``most_viewed_live`` ranks by). Empty when built by hand.
    """

    query_ids: list[str]
    target_ids: list[str]
    timestamps: np.ndarray
    n_sessions: int
    n_bot_sessions: int = 0
    first_views: Mapping[str, int] = field(default_factory=dict)
    view_ids: list[str] = field(default_factory=list)
    view_timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.query_ids)


def replay_pairs(
    events: ViewEvents, start_ts: int, end_ts: int, *, max_session_views: int = 100
) -> ReplayPairs:
    """The replay pairs of the views in ``[start_ts, end_ts)`` (see the module's replay rule)."""
    ts = events.timestamps
    inside = np.flatnonzero((ts >= start_ts) & (ts < end_ts))
    sessions = events.session_codes[inside]
    codes = events.article_codes[inside].astype(np.int64)
    order = np.lexsort((inside, ts[inside], sessions))
    sessions, codes, times = sessions[order], codes[order], ts[inside][order]
    # crawler sessions: too many distinct articles in the period
    n_codes = max(len(events.article_ids), 1)
    distinct = np.unique(sessions * n_codes + codes) // n_codes
    per_session = np.unique(distinct, return_counts=True)
    bots = per_session[0][per_session[1] > max_session_views]
    human = ~np.isin(sessions, bots)
    sessions, codes, times = sessions[human], codes[human], times[human]
    counted_codes, counted_times = _counted_views(sessions, codes, times)
    # drop reloads: a view of the article the reader is already on
    if sessions.size:
        fresh = np.ones(sessions.size, dtype=bool)
        fresh[1:] = (sessions[1:] != sessions[:-1]) | (codes[1:] != codes[:-1])
        sessions, codes, times = sessions[fresh], codes[fresh], times[fresh]
    same = sessions[1:] == sessions[:-1]
    first = np.flatnonzero(same)
    ids = events.article_ids
    never = np.iinfo(np.int64).max
    first_view = np.full(len(ids), never, dtype=np.int64)
    np.minimum.at(first_view, events.article_codes, events.timestamps)
    return ReplayPairs(
        query_ids=[str(ids[c]) for c in codes[first]],
        target_ids=[str(ids[c]) for c in codes[first + 1]],
        timestamps=times[first].astype(np.int64),
        n_sessions=int(np.unique(sessions[first]).size),
        n_bot_sessions=int(bots.size),
        first_views={
            str(ids[c]): int(first_view[c]) for c in np.flatnonzero(first_view != never).tolist()
        },
        view_ids=[str(ids[c]) for c in counted_codes.tolist()],
        view_timestamps=counted_times,
    )


def _counted_views(
    sessions: np.ndarray, codes: np.ndarray, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(article codes, times)`` of the views a live service counts, in time order: a
    session's view of an article counts unless it counted one less than
    :data:`DEDUP_SECONDS` before (``service.live``'s dedup window)."""
    order = np.lexsort((times, codes, sessions))
    s, c, t = sessions[order], codes[order], times[order]
    keep = np.ones(t.size, dtype=bool)
    last = (-1, -1, 0)  # the (session, article, time) counted last
    for i, view in enumerate(zip(s.tolist(), c.tolist(), t.tolist(), strict=True)):
        if view[:2] == last[:2] and view[2] - last[2] < DEDUP_SECONDS:
            keep[i] = False
        else:
            last = view
    c, t = c[keep], t[keep]
    by_time = np.argsort(t, kind="stable")
    return c[by_time], t[by_time].astype(np.int64)


# --- the split ---------------------------------------------------------------------------------


def load_events(
    views_path: str | Path, *, session_gap_minutes: float = 30, max_invalid: int = 0
) -> ViewEvents:
    """Read a view log of events; aggregated counts cannot be replayed."""
    from recommender.data.views import ViewCounts, read_views

    views = read_views(views_path, session_gap_minutes=session_gap_minutes, max_invalid=max_invalid)
    if isinstance(views, ViewCounts):
        raise DataError(
            str(views_path),
            None,
            None,
            "evaluation replays sessions: needs view events, not aggregated counts",
        )
    if views.timestamps.size == 0:
        raise DataError(str(views_path), None, None, "no views to replay")
    return views


def first_seen(articles: Sequence[Article], events: ViewEvents) -> np.ndarray:
    """Unix seconds an article became known: its publish time, else its first view (``-1``:
    never seen, for an undated article nobody viewed)."""
    first_view = np.full(len(events.article_ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_view, events.article_codes, events.timestamps)
    by_id = {str(a): int(t) for a, t in zip(events.article_ids, first_view, strict=True)}
    out = np.full(len(articles), -1, dtype=np.int64)
    never = np.iinfo(np.int64).max
    for i, article in enumerate(articles):
        if article.published_at is not None:
            out[i] = int(article.published_at.timestamp())
        else:
            seen = by_id.get(article.id, never)
            out[i] = -1 if seen == never else seen
    return out


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def _article_record(article: Article) -> dict[str, Any]:
    published = article.published_at
    return {
        "id": article.id,
        "title": article.title,
        # the reader strips HTML from bodies: escape so the plain text reads back unchanged
        "body": html.escape(article.body, quote=False),
        "category": article.category,
        "tags": list(article.tags),
        "author": article.author,
        "published_at": None if published is None else _iso(int(published.timestamp())),
        "url": article.url,
        "image_url": article.image_url,
        "status": article.status,
        "language": article.language,
    }


@dataclass(frozen=True)
class TrainingInputs:
    """Input files holding only what was known before a split, and what they hold."""

    articles_path: Path
    views_path: Path
    split_ts: int
    article_ids: frozenset[str]
    n_views: int


def write_training_inputs(
    articles: Sequence[Article], events: ViewEvents, split_ts: int, out_dir: str | Path
) -> TrainingInputs:
    """Write ``articles.jsonl`` and ``views.csv`` with only what was known before ``split_ts``.

    Articles first seen (published, or first viewed when undated) before the split, and views
    before the split of those articles. Nothing from the test period leaks into them (except
    an article's current status, the only state the input files hold).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seen = first_seen(articles, events)
    kept = [a for a, t in zip(articles, seen, strict=True) if 0 <= t < split_ts]
    if not kept:
        raise DataError(events.path, None, None, f"no article was known before {_iso(split_ts)}")
    articles_path = out / "articles.jsonl"
    with open(articles_path, "w", encoding="utf-8") as handle:
        for article in kept:
            handle.write(json.dumps(_article_record(article), ensure_ascii=False) + "\n")
    kept_ids = frozenset(a.id for a in kept)
    known_code = np.array([str(a) in kept_ids for a in events.article_ids], dtype=bool)
    before = (events.timestamps < split_ts) & known_code[events.article_codes]
    views_path = out / "views.csv"
    index = np.flatnonzero(before)
    ids = events.article_ids
    with open(views_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("session_id", "article_id", "timestamp"))
        sessions = events.session_codes[index].tolist()
        codes = events.article_codes[index].tolist()
        # ISO strings: the reader's fast path (integer seconds take a slower one)
        times = (
            np.datetime_as_string(events.timestamps[index].astype("datetime64[s]"), unit="s") + "Z"
        ).tolist()
        writer.writerows(
            (f"s{s}", ids[c], t) for s, c, t in zip(sessions, codes, times, strict=True)
        )
    return TrainingInputs(articles_path, views_path, split_ts, kept_ids, int(index.size))


def train_at_split(
    inputs: TrainingInputs, models_dir: str | Path, config: TrainConfig | None = None
) -> Bundle:
    """Train on split inputs (``now`` = the split, ``LATEST`` untouched) and load the bundle."""
    from recommender.bundle import Bundle
    from recommender.train import TrainConfig, train

    config = config or TrainConfig()
    result = train(
        inputs.articles_path,
        inputs.views_path,
        models_dir,
        config=config.replace(max_invalid=0),
        now=dt.datetime.fromtimestamp(inputs.split_ts, dt.UTC),
        publish=False,
    )
    return Bundle.load(result.path, mmap=False)


# --- replay ----------------------------------------------------------------------------------


#: Decimals of the scores and vectors the service stores with a folded-in article's record.
STORED_DECIMALS = 6


def known_times(
    bundle: Bundle, articles: Mapping[str, Article], pairs: ReplayPairs
) -> dict[str, int]:
    """When the live service learnt of each article the bundle does not hold (unix seconds).

    Its publish time, or its first view (:attr:`ReplayPairs.first_views`, or a query view of
    the pairs) when that is earlier or it has no date: an article read at a time was live at
    that time. Articles with neither are left out (never known).
    """
    earliest_query: dict[str, int] = {}
    for query, ts in zip(pairs.query_ids, pairs.timestamps.tolist(), strict=True):
        if ts < earliest_query.get(query, ts + 1):
            earliest_query[query] = ts
    out: dict[str, int] = {}
    for article_id, article in articles.items():
        if bundle.has(article_id):
            continue
        times = [
            t
            for t in (
                None if article.published_at is None else int(article.published_at.timestamp()),
                pairs.first_views.get(article_id),
                earliest_query.get(article_id),
            )
            if t is not None
        ]
        if times:
            out[article_id] = min(times)
    return out


def publication_order(known_ts: np.ndarray) -> np.ndarray:
    """Rank of each folded-in row in the order the service folds them in: by the time it
    learnt of them, ties by row (article id)."""
    order = np.lexsort((np.arange(known_ts.size), known_ts))
    rank = np.empty(known_ts.size, dtype=np.int64)
    rank[order] = np.arange(known_ts.size)
    return rank


def _vectors(bundle: Bundle, articles: Sequence[Article]) -> Any:
    import scipy.sparse as sp

    from recommender.content import compose_document

    parameters = bundle.manifest.get("parameters", {})
    title_weight = int(parameters.get("title_weight", 3)) if isinstance(parameters, dict) else 3
    docs = [compose_document(a, title_weight) for a in articles]
    vectors = sp.csr_matrix(bundle.vectorizer.transform(docs), dtype=np.float32)
    # sparse products need one index type on both sides
    matrix = bundle.content_matrix
    vectors.indices = vectors.indices.astype(matrix.indices.dtype)
    vectors.indptr = vectors.indptr.astype(matrix.indptr.dtype)
    return vectors


def fold_in_live(
    bundle: Bundle, articles: Sequence[Article], known_ts: np.ndarray
) -> list[list[tuple[int, float]]]:
    """Content lists of articles the bundle does not hold, as the live service folds them in.

    The articles are rows ``len(bundle) + i`` (in article id order, as the service's
    catalogue has them). Each is folded in when the service learns of it (``known_ts``, ties
    by article id), as ``PUT /v1/articles/{id}`` does it (``service.lifecycle``): its TF-IDF
    vector under the bundle's vectorizer is compared with the bundle's published rows and
    with the published articles folded in *before* it; the ``n`` best with a positive score
    are kept (``n``: the bundle's list length; ties by article id), scores rounded to 6
    decimals as the service stores them, as it stores the earlier articles' vectors. An
    article that is not published is nobody's neighbour; its own list is still computed (the
    list its page would show).

    Parameters
    ----------
    bundle : Bundle
    articles : sequence of Article
    known_ts : ndarray of int64
        When each article was published (became known to the service).

    Returns
    -------
    list of list of (int, float)
        Each article's (row, score) list, best first.
    """
    import scipy.sparse as sp

    from recommender._topk import entries_topn
    from recommender.content import fold_in

    m = len(articles)
    if m == 0:
        return []
    n_bundle = len(bundle)
    width = int(bundle.content_neighbors.shape[1])
    vectors = _vectors(bundle, articles)
    published = np.array([a.status == "published" for a in articles], dtype=bool)
    rank = publication_order(np.asarray(known_ts, dtype=np.int64))
    # the service breaks ties by article id, across the bundle's rows and the new ones
    ids = [*bundle.article_ids, *(a.id for a in articles)]
    by_id = np.array(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)
    id_rank = np.empty(len(ids), dtype=np.int64)
    id_rank[by_id] = np.arange(len(ids))
    queries: list[np.ndarray] = []
    others: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    mask = np.asarray(bundle.is_published, dtype=bool)
    if mask.any():
        neighbors, found = fold_in(vectors, bundle.content_matrix, width, candidate_mask=mask)
        valid = (neighbors >= 0) & (found > 0)
        queries.append(np.nonzero(valid)[0].astype(np.int64))
        others.append(neighbors[valid].astype(np.int64))
        scores.append(found[valid].astype(np.float32))
    live = np.flatnonzero(published)
    if live.size:
        # what the service stores of each published article's vector: rounded
        stored = sp.csr_matrix(vectors[live], dtype=np.float32, copy=True)
        stored.data = np.array(
            [round(float(x), STORED_DECIMALS) for x in stored.data.tolist()], dtype=np.float32
        )
        chunk = 2048
        for start in range(0, m, chunk):
            stop = min(start + chunk, m)
            product = (stored @ vectors[start:stop].T).tocoo()
            other = live[product.row]
            query = product.col.astype(np.int64) + start
            keep = (product.data > 0) & (rank[other] < rank[query])
            queries.append(query[keep])
            others.append(n_bundle + other[keep])
            scores.append(product.data[keep].astype(np.float32))
    if not queries:
        return [[] for _ in range(m)]
    top, top_scores, _ = entries_topn(
        np.concatenate(queries),
        id_rank[np.concatenate(others)],
        np.concatenate(scores),
        m,
        width,
    )
    return [
        [
            (int(by_id[r]), round(float(s), STORED_DECIMALS))
            for r, s in zip(top[i].tolist(), top_scores[i].tolist(), strict=True)
            if r >= 0
        ]
        for i in range(m)
    ]


def _merge_lists(
    base: list[tuple[int, float]], additions: list[tuple[int, float]], width: int
) -> list[tuple[int, float]]:
    # the service's merge of reverse additions (service.lifecycle._merge_lists)
    scores = dict(base)
    scores.update(additions)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:width]


def _list_arrays(pairs: list[tuple[int, float]], width: int) -> tuple[np.ndarray, np.ndarray]:
    neighbors = np.full(width, -1, dtype=np.int32)
    scores = np.zeros(width, dtype=np.float32)
    for i, (row, score) in enumerate(pairs[:width]):
        neighbors[i], scores[i] = row, score
    return neighbors, scores


def _live_signals(
    bundle: Bundle,
    articles: Sequence[Article],
    lists: Sequence[list[tuple[int, float]]],
) -> SignalArrays:
    m = len(articles)
    width = int(bundle.content_neighbors.shape[1])
    published = np.array(
        [-1 if a.published_at is None else int(a.published_at.timestamp()) for a in articles],
        dtype=np.int64,
    )
    own = [_list_arrays(pairs, width) for pairs in lists]
    neighbors = np.array([a for a, _ in own], dtype=np.int32).reshape(m, width)
    scores = np.array([b for _, b in own], dtype=np.float32).reshape(m, width)

    def pad(array: np.ndarray | None, fill: int) -> np.ndarray | None:
        if array is None:
            return None
        extra = np.full((m, *array.shape[1:]), fill, dtype=array.dtype)
        return np.concatenate([np.asarray(array), extra])

    return SignalArrays(
        categories=list(bundle.categories) + [a.category for a in articles],
        published_ts=np.concatenate([np.asarray(bundle.published_ts), published]),
        # a folded-in article is a candidate only once published; it reaches a list only by
        # being added to it, which happens at its publication (see prepare_replay)
        is_published=np.concatenate(
            [bundle.is_published, np.array([a.status == "published" for a in articles], bool)]
        ),
        content_neighbors=np.concatenate([np.asarray(bundle.content_neighbors), neighbors]),
        content_scores=np.concatenate([np.asarray(bundle.content_scores), scores]),
        # folded-in articles have no co-view evidence
        has_coview=bundle.has_coview,
        coview_neighbors=pad(bundle.coview_neighbors, -1),
        coview_scores=pad(bundle.coview_scores, 0),
        coview_counts=pad(bundle.coview_counts, 0),
        coview_support=pad(bundle.coview_support, 0),
        # views before the split only: a folded-in article has none
        popularity_views=np.concatenate(
            [
                np.asarray(bundle.popularity_views),
                np.zeros((m, bundle.popularity_views.shape[1]), bundle.popularity_views.dtype),
            ]
        ),
    )


@dataclass
class Replay:
    """A bundle made ready to replay pairs against the live catalogue of each pair's time.

    Build it with :func:`prepare_replay`; rank with :func:`replay_lists`, score with
    :func:`score_lists`. Rows ``0..len(bundle)-1`` of ``signals`` are the bundle's, the next
    ones the articles published (folded in) since, in article id order; ``signals`` holds
    each row's content list as trained or folded in. A query's list changes when an article
    published later adds itself (reverse additions): ``pair_state`` says which list a pair's
    query had at the pair's time (an index into ``state_lists``, ``-1`` for the one in
    ``signals``).
    """

    bundle: Bundle
    signals: Signals
    now_ts: int
    query_ids: list[str]
    query_rows: np.ndarray
    query_categories: list[str]
    query_published: np.ndarray
    query_new: np.ndarray
    pair_query: np.ndarray
    pair_target: np.ndarray
    pair_ts: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)
    pair_state: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    state_lists: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    #: Freshness scales every candidate by one factor at a given time (all dated and published
    #: before any pair that can list them, or all undated): the order does not depend on it.
    freshness_is_common_factor: bool = False
    #: The views the live service counted after ``now_ts`` (rows and times, in time order).
    live_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    live_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: When each row joined the live catalogue (the bundle's rows: always there).
    known_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: Content cosine between rows, from the bundle's vectors and the folded-in articles':
    #: how the hybrid scores its popular candidates. ``None``: no vectors, every cosine 0.
    similarity: RowSimilarity | None = None

    @property
    def n_pairs(self) -> int:
        return int(self.pair_query.size)

    def state_signals(self, state: int) -> Signals:
        """The signals a query row is ranked with in list state ``state``: the changed list
        broadcast to every row, as the service's catalogue does (ranking reads only the query
        row's)."""
        if state < 0:
            return self.signals
        neighbors, scores = self.state_lists[state]
        base = self.signals
        shape = (len(base.categories), neighbors.size)
        return SignalArrays(
            categories=base.categories,
            published_ts=base.published_ts,
            is_published=base.is_published,
            content_neighbors=np.broadcast_to(neighbors, shape),
            content_scores=np.broadcast_to(scores, shape),
            has_coview=base.has_coview,
            coview_neighbors=base.coview_neighbors,
            coview_scores=base.coview_scores,
            coview_counts=base.coview_counts,
            coview_support=base.coview_support,
            popularity_views=base.popularity_views,
        )


def prepare_replay(
    bundle: Bundle, pairs: ReplayPairs, articles: Mapping[str, Article], *, now_ts: int
) -> Replay:
    """Map replay pairs onto the live catalogue a service serving ``bundle`` had at each pair.

    Every article the bundle does not hold but the service learnt of before the last pair
    (:func:`known_times`) is folded in as the service folds it in on publication
    (:func:`fold_in_live`), with the reverse additions into the lists of its neighbours. A
    pair's query list is its list at the pair's time: with the additions of the articles
    published at or before it, and none of those published after.

    Parameters
    ----------
    bundle : Bundle
        The model under test.
    pairs : ReplayPairs
    articles : mapping of str to Article
        Metadata of every article (for the fold-in of articles published since the bundle).
    now_ts : int
        When the bundle was trained (the split); lists are ranked at each pair's own time.
    """
    n = len(bundle)
    last = int(pairs.timestamps.max()) if len(pairs) else now_ts
    known = known_times(bundle, articles, pairs)
    new_ids = sorted(a for a, t in known.items() if t <= last)
    new_row = {article_id: n + i for i, article_id in enumerate(new_ids)}
    new_articles = [articles[a] for a in new_ids]
    new_known = np.array([known[a] for a in new_ids], dtype=np.int64)
    query_index: dict[str, int] = {}
    query_rows: list[int] = []
    categories: list[str] = []
    published: list[int] = []
    is_new: list[bool] = []
    pair_query: list[int] = []
    keep: list[int] = []
    skipped = 0
    for i, query in enumerate(pairs.query_ids):
        position = query_index.get(query)
        if position is None:
            if bundle.has(query):
                row = bundle.row(query)
                query_rows.append(row)
                categories.append(bundle.categories[row])
                published.append(int(bundle.published_ts[row]))
                is_new.append(False)
            elif query in new_row:
                article = articles[query]
                query_rows.append(new_row[query])
                categories.append(article.category)
                published.append(
                    -1 if article.published_at is None else int(article.published_at.timestamp())
                )
                is_new.append(True)
            else:
                skipped += 1
                continue
            position = query_index[query] = len(query_rows) - 1
        pair_query.append(position)
        keep.append(i)
    all_targets = np.array(
        [bundle.row(t) if bundle.has(t) else new_row.get(t, -1) for t in pairs.target_ids],
        dtype=np.int64,
    )
    in_training = np.array([bundle.has(t) for t in pairs.target_ids], dtype=bool)
    never = np.iinfo(np.int64).max
    target_known = np.array([known.get(t, never) for t in pairs.target_ids], dtype=np.int64)
    available = in_training | (target_known <= pairs.timestamps)
    all_queries_known = np.array([bundle.has(q) for q in pairs.query_ids], dtype=bool)
    targets = all_targets[keep] if keep else np.zeros(0, dtype=np.int64)
    pq = np.array(pair_query, dtype=np.int64)
    pts = pairs.timestamps[keep] if keep else np.zeros(0, dtype=np.int64)
    new = np.array(is_new, dtype=bool)
    query_known = ~new[pq] if pq.size else np.zeros(0, dtype=bool)
    # coverage counts are over every replayed pair, evaluated or not
    counts = {
        "pairs": len(pairs),
        "skipped_unknown_query": skipped,
        "evaluated": len(keep),
        "query_in_training": int(all_queries_known.sum()),
        "target_in_training": int(in_training.sum()),
        "target_available": int(available.sum()),
        "both_in_training": int((all_queries_known & in_training).sum()),
        "new_query": int((~query_known).sum()),
        "unique_queries": len(query_rows),
        "published_since_training": int(sum(a.status == "published" for a in new_articles)),
        "sessions": pairs.n_sessions,
        "bot_sessions": pairs.n_bot_sessions,
    }
    own = fold_in_live(bundle, new_articles, new_known)
    signals = _live_signals(bundle, new_articles, own)
    similarity = RowSimilarity(bundle.content_matrix, _stored_vectors(bundle, new_articles))
    pair_state, state_lists = _list_states(
        bundle, new_articles, new_known, own, np.array(query_rows, dtype=np.int64), pq, pts
    )
    # Freshness is one factor for every candidate at a given time when all candidates are
    # dated and published before any pair whose list can hold them (the bundle's: before the
    # first pair; new ones: not read before their publish date), or when none is dated.
    candidate = np.asarray(signals.is_published, dtype=bool)
    dates = np.asarray(signals.published_ts)
    in_bundle = candidate[:n]
    new_dates = dates[n:][candidate[n:]]
    common = bool(
        (dates[candidate] < 0).all()
        or (
            (dates[candidate] >= 0).all()
            and (
                not in_bundle.any() or not pts.size or int(dates[:n][in_bundle].max()) <= pts.min()
            )
            and bool((new_dates <= new_known[candidate[n:]]).all())
        )
    )
    view_rows = np.array(
        [bundle.row(a) if bundle.has(a) else new_row.get(a, -1) for a in pairs.view_ids],
        dtype=np.int64,
    )
    live = (view_rows >= 0) & (pairs.view_timestamps >= now_ts)
    return Replay(
        bundle=bundle,
        signals=signals,
        now_ts=now_ts,
        query_ids=list(query_index),
        query_rows=np.array(query_rows, dtype=np.int64),
        query_categories=categories,
        query_published=np.array(published, dtype=np.int64),
        query_new=new,
        pair_query=pq,
        pair_target=targets,
        pair_ts=pts,
        counts=counts,
        pair_state=pair_state,
        state_lists=state_lists,
        freshness_is_common_factor=common,
        live_rows=view_rows[live],
        live_ts=np.asarray(pairs.view_timestamps, dtype=np.int64)[live],
        known_ts=np.concatenate([np.full(n, np.iinfo(np.int64).min), new_known]).astype(np.int64),
        similarity=similarity,
    )


def _stored_vectors(bundle: Bundle, articles: Sequence[Article]) -> Any:
    """The folded-in articles' vectors as the service stores them (values rounded)."""
    if not articles:
        return None
    vectors = _vectors(bundle, articles)
    vectors.data = np.round(vectors.data.astype(np.float64), STORED_DECIMALS).astype(np.float32)
    return vectors


def _list_states(
    bundle: Bundle,
    new_articles: Sequence[Article],
    new_known: np.ndarray,
    own: Sequence[list[tuple[int, float]]],
    query_rows: np.ndarray,
    pair_query: np.ndarray,
    pair_ts: np.ndarray,
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Which content list each pair's query had at the pair's time.

    A published folded-in article ``X`` with ``B`` in its list at score ``s`` adds itself to
    ``B``'s list (when ``s`` beats ``B``'s weakest listed neighbour, or the list is not full)
    from its publication on, as the service's catalogue does: additions apply in publication
    order, each on the list the earlier ones left.
    """
    n = len(bundle)
    width = int(bundle.content_neighbors.shape[1])
    rank = publication_order(new_known)
    wanted = set(query_rows.tolist())
    additions: dict[int, list[tuple[int, int, int, float]]] = {}
    for i, (article, pairs) in enumerate(zip(new_articles, own, strict=True)):
        if article.status != "published":
            continue
        for other, score in pairs:
            if other in wanted:
                additions.setdefault(other, []).append(
                    (int(new_known[i]), int(rank[i]), n + i, score)
                )
    pair_state = np.full(pair_query.size, -1, dtype=np.int64)
    states: list[tuple[np.ndarray, np.ndarray]] = []
    if not additions:
        return pair_state, states
    order = np.argsort(pair_query, kind="stable")
    starts = np.searchsorted(pair_query[order], np.arange(query_rows.size + 1))
    for position, row in enumerate(query_rows.tolist()):
        found = additions.get(row)
        if not found:
            continue
        found.sort()
        at = np.array([a[0] for a in found], dtype=np.int64)
        index = order[starts[position] : starts[position + 1]]
        applied = np.searchsorted(at, pair_ts[index], side="right")
        if row < n:
            current = [
                (int(r), float(s))
                for r, s in zip(
                    bundle.content_neighbors[row].tolist(),
                    bundle.content_scores[row].tolist(),
                    strict=True,
                )
                if r >= 0
            ]
        else:
            current = list(own[row - n])
        done = 0
        state_of: dict[int, int] = {}
        for count in sorted(set(applied.tolist()) - {0}):
            while done < count:
                _, _, added, score = found[done]
                current = _merge_lists(current, [(added, score)], width)
                done += 1
            state_of[count] = len(states)
            states.append(_list_arrays(current, width))
        pair_state[index] = [state_of.get(c, -1) for c in applied.tolist()]
    return pair_state, states


@dataclass(frozen=True)
class ReplayLists:
    """The lists one strategy showed in a replay: the distinct ones, and which one each pair
    was shown (``lists[pair_list[i]]`` for pair ``i``)."""

    lists: list[list[int]]
    pair_list: np.ndarray

    def for_pair(self, i: int) -> list[int]:
        return self.lists[int(self.pair_list[i])]


def _ranked_at_pair_time(
    replay: Replay, strategy: str, params: BlendParams, filters: Filters
) -> bool:
    """Whether a list can differ between two times with the same catalogue."""
    if filters.max_age_days is not None:
        return True
    if strategy != "hybrid":
        return False
    if _reads_popular(params):
        return True
    if params.section_half_life_days:
        return True
    return params.half_life_days is not None and not replay.freshness_is_common_factor


def _reads_popular(params: BlendParams) -> bool:
    return params.popularity_weight > 0 or params.popular_candidates > 0


#: The recent window of the hybrid's popularity prior: the live service's ``24h``.
RECENT_SECONDS = DAY


class _RecentViews:
    """The views of the last 24 hours as the live service had them at a time (times must not
    decrease between calls): the views counted since the split and, while the window reaches
    back before the split, the share of the bundle's last day it overlaps (service.live's
    merge rule), rounded to whole views as the service rounds them."""

    def __init__(self, replay: Replay) -> None:
        m = len(replay.signals.categories)
        n = len(replay.bundle)
        self.before = np.zeros(m, dtype=np.float64)
        self.before[:n] = np.asarray(replay.bundle.popularity_views)[:, WINDOWS.index("1d")]
        self.now_ts = replay.now_ts
        self.rows, self.ts = replay.live_rows, replay.live_ts
        self.counts = np.zeros(m, dtype=np.float64)
        self.start = self.end = 0

    def at(self, t: int) -> np.ndarray:
        end = int(np.searchsorted(self.ts, t, side="left"))
        if end > self.end:
            np.add.at(self.counts, self.rows[self.end : end], 1.0)
            self.end = end
        start = int(np.searchsorted(self.ts, t - RECENT_SECONDS, side="left"))
        if start > self.start:
            np.subtract.at(self.counts, self.rows[self.start : start], 1.0)
            self.start = start
        overlap = max(0, self.now_ts - (t - RECENT_SECONDS)) / DAY
        views: np.ndarray = np.rint(self.counts + min(overlap, 1.0) * self.before)
        return views


class _QuerySimilarity:
    """A query row's cosine with every row, kept for the next pairs of the same query (the
    most recent queries, ``budget`` cosines in all, 64 MB: 512 queries of a 3,000-article
    catalogue, 80 of 100,000): a replay meets each query article many times, close in time,
    while its most read rows change at every pair."""

    def __init__(self, similarity: RowSimilarity | None, budget: int = 8_000_000) -> None:
        self.similarity = similarity
        rows = len(similarity) if similarity is not None else 1
        self.size = max(1, min(512, budget // max(rows, 1)))
        self._rows: OrderedDict[int, np.ndarray] = OrderedDict()

    def __call__(self, row: int, rows: np.ndarray) -> np.ndarray:
        if self.similarity is None:
            return np.zeros(rows.size)
        found = self._rows.get(row)
        if found is None:
            every = np.arange(len(self.similarity), dtype=np.int64)
            found = self._rows[row] = self.similarity(row, every)
            if len(self._rows) > self.size:
                self._rows.popitem(last=False)
        else:
            self._rows.move_to_end(row)
        out: np.ndarray = found[rows]
        return out


def _popular_at(
    replay: Replay,
    recent: _RecentViews,
    similarity: _QuerySimilarity,
    t: int,
    params: BlendParams,
) -> Popular:
    """What readers were opening at ``t``: the hybrid's :class:`Popular` for a pair."""
    live = np.asarray(replay.signals.is_published, dtype=bool) & (replay.known_ts <= t)
    popular = popular_from_views(recent.at(t), live, similarity, params.popular_candidates)
    if popular.quiet:  # as the service: no view in the 24 hours, the bundle's last day
        popular = popular_from_views(recent.before, live, similarity, params.popular_candidates)
    return popular


def replay_lists(
    replay: Replay,
    strategy: str,
    *,
    params: BlendParams | None = None,
    filters: Filters | None = None,
    n: int = max(KS),
    per_pair: bool = False,
) -> ReplayLists:
    """The list each pair's query article was shown at the pair's time, for one strategy.

    Ranked with :func:`recommender.blend.related` at the pair's time. A list is computed once
    for pairs that provably get the same one: same query, same content list (``content`` and
    the hybrids) and, unless nothing in the ranking depends on the time, same time. Freshness
    multiplies every candidate by one factor at a given time when all are dated and published
    before any pair that can list them (or none is dated), so it leaves their order alone (up
    to rounding); the hybrid's popularity prior reads the views of the 24 hours before the
    pair (:class:`_RecentViews`), so it is ranked at each pair's time. ``per_pair`` ranks every
    pair on its own (the reference the grouping is tested against).
    """
    bundle = replay.bundle
    filters = filters or Filters()
    params = params or BlendParams()
    if strategy == "content_fresh":
        strategy = "hybrid"
        params = dataclasses.replace(params, coview_weight=0.0)
    if strategy == "most_viewed_live":
        return _live_most_viewed(replay, filters, n)
    site = bundle.popular_rows("7d")
    by_state = strategy in ("content", "hybrid")
    by_time = per_pair or _ranked_at_pair_time(replay, strategy, params, filters)
    recent = _RecentViews(replay) if strategy == "hybrid" and _reads_popular(params) else None
    cosines = _QuerySimilarity(replay.similarity)
    if replay.n_pairs == 0:
        return ReplayLists([], np.zeros(0, dtype=np.int64))
    zeros = np.zeros(replay.n_pairs, dtype=np.int64)
    keys = np.stack(
        [
            replay.pair_query,
            replay.pair_state if by_state else zeros,
            replay.pair_ts if by_time else zeros,
        ],
        axis=1,
    )
    _, first, pair_list = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    lists: list[list[int]] = [[] for _ in range(first.size)]
    # in time order: the recent views only move forward
    for j in np.argsort(replay.pair_ts[first], kind="stable").tolist():
        i = int(first[j])
        position = int(replay.pair_query[i])
        row = int(replay.query_rows[position])
        now = int(replay.pair_ts[i])
        if strategy == "most_viewed":
            signals = replay.signals
            chosen: list[int] = []
            for candidate in site.tolist():
                if len(chosen) == n:
                    break
                if candidate != row and filters.allows(signals, candidate, now):
                    chosen.append(candidate)
            lists[j] = chosen
            continue
        items = related(
            replay.state_signals(int(replay.pair_state[i]) if by_state else -1),
            row,
            n,
            now_ts=now,
            strategy=strategy,
            params=params,
            filters=filters,
            section_popular=bundle.popular_rows("7d", replay.query_categories[position]),
            site_popular=site,
            popular=None if recent is None else _popular_at(replay, recent, cosines, now, params),
        )
        lists[j] = [item.row for item in items]
    return ReplayLists(lists, np.asarray(pair_list, dtype=np.int64).reshape(-1))


def _live_most_viewed(replay: Replay, filters: Filters, n: int) -> ReplayLists:
    """``GET /v1/most-viewed`` (7 days) as the live service answered it at each pair: the
    bundle's 7-day views plus every view counted since its ``now`` and before the pair, ties
    by row (article id order), minus the query article (same filters)."""
    signals = replay.signals
    m = len(signals.categories)
    counts = np.zeros(m, dtype=np.float64)
    counts[: len(replay.bundle)] = replay.bundle.popularity_views[:, WINDOWS.index("7d")]
    rows = np.arange(m)
    lists: list[list[int]] = []
    pair_list = np.zeros(replay.n_pairs, dtype=np.int64)
    seen: dict[tuple[int, int], int] = {}
    done = 0
    for i in np.argsort(replay.pair_ts, kind="stable").tolist():
        now = int(replay.pair_ts[i])
        upto = int(np.searchsorted(replay.live_ts, now, side="left"))  # views before the pair
        if upto > done:
            np.add.at(counts, replay.live_rows[done:upto], 1.0)
            done = upto
            seen.clear()
        row = int(replay.query_rows[replay.pair_query[i]])
        key = (row, now)
        found = seen.get(key)
        if found is None:

            def listed(r: int, now: int = now) -> bool:
                return bool(replay.known_ts[r] <= now) and filters.allows(signals, r, now)

            # the best rows by count (all those tied with the last one), then the filters
            k = min(m, n + 1 + 4 * n)
            threshold = np.partition(counts, m - k)[m - k] if k < m else -np.inf
            pool = rows[counts >= threshold]
            chosen: list[int] = []
            for candidate in pool[np.lexsort((pool, -counts[pool]))].tolist():
                if candidate != row and listed(candidate):
                    chosen.append(candidate)
                    if len(chosen) == n:
                        break
            if len(chosen) < n and pool.size < m:  # the filters left too few: every row
                chosen = []
                for candidate in np.lexsort((rows, -counts)).tolist():
                    if candidate != row and listed(candidate):
                        chosen.append(candidate)
                        if len(chosen) == n:
                            break
            found = seen[key] = len(lists)
            lists.append(chosen)
        pair_list[i] = found
    return ReplayLists(lists, pair_list)


def _ranks(replay: Replay, lists: ReplayLists) -> np.ndarray:
    ranks = np.zeros(replay.n_pairs, dtype=np.int64)
    positions = [{r: i + 1 for i, r in enumerate(rows)} for rows in lists.lists]
    for i, (shown, target) in enumerate(
        zip(lists.pair_list.tolist(), replay.pair_target.tolist(), strict=True)
    ):
        if target >= 0:
            ranks[i] = positions[shown].get(target, 0)
    return ranks


def _age_bucket(age_days: np.ndarray) -> np.ndarray:
    """Index into :data:`AGE_BUCKETS`, ``len(AGE_BUCKETS)`` for unknown ages."""
    out = np.full(age_days.size, len(AGE_BUCKETS), dtype=np.int64)
    for i, (lo, hi, _) in enumerate(AGE_BUCKETS):
        out[(age_days >= lo) & (age_days < hi)] = i
    return out


def _nan_to_none(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass
class StrategyScores:
    """Per-pair results of one strategy: ranks, list ages and diversity, plus the lists."""

    ranks: np.ndarray
    mean_age: np.ndarray  # days per pair, NaN where no recommended article has a date
    diversity: np.ndarray
    item_ages: np.ndarray  # days of every dated recommended item, all pairs
    lists: ReplayLists


def score_lists(replay: Replay, lists: ReplayLists) -> StrategyScores:
    """Rank, age and diversity of every replayed pair for the given lists."""
    signals = replay.signals
    published = np.asarray(signals.published_ts)
    n_lists = len(lists.lists)
    q_sum = np.zeros(n_lists, dtype=np.float64)
    q_count = np.zeros(n_lists, dtype=np.int64)
    q_div = np.full(n_lists, math.nan)
    dated: list[np.ndarray] = []
    for i, rows in enumerate(lists.lists):
        if rows:
            pub = published[np.asarray(rows, dtype=np.int64)]
            pub = pub[pub >= 0]
            dated.append(pub)
            q_sum[i], q_count[i] = float(pub.sum()), pub.size
            q_div[i] = section_diversity([signals.categories[r] for r in rows])
        else:
            dated.append(np.zeros(0, dtype=np.int64))
    shown, ts = lists.pair_list, replay.pair_ts.astype(np.float64)
    count = q_count[shown]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_age = np.where(
            count > 0, (count * ts - q_sum[shown]) / np.maximum(count, 1) / DAY, math.nan
        )
    lengths = q_count[shown]
    if lengths.sum():
        item_pub = np.concatenate([dated[q] for q in shown.tolist()])
        item_ages = (np.repeat(replay.pair_ts, lengths) - item_pub) / DAY
    else:
        item_ages = np.zeros(0)
    return StrategyScores(
        ranks=_ranks(replay, lists),
        mean_age=mean_age,
        diversity=q_div[shown] if shown.size else np.zeros(0),
        item_ages=np.maximum(item_ages, 0.0),
        lists=lists,
    )


def summarise(
    replay: Replay,
    scores: StrategyScores,
    mask: np.ndarray | None = None,
) -> dict[str, float | None]:
    """Every metric of one strategy over the pairs in ``mask`` (default: all)."""
    if mask is None:
        mask = np.ones(replay.n_pairs, dtype=bool)
    ranks = scores.ranks[mask]
    out: dict[str, float | None] = {"pairs": float(mask.sum())}
    for k in KS:
        out[f"hit_rate@{k}"] = _nan_to_none(hit_rate_at_k(ranks, k))
        out[f"mrr@{k}"] = _nan_to_none(mrr_at_k(ranks, k))
        out[f"ndcg@{k}"] = _nan_to_none(ndcg_at_k(ranks, k))
    shown = np.unique(scores.lists.pair_list[mask])
    # the live catalogue by the last pair: the bundle's published rows and those published since
    n_catalogue = int(np.asarray(replay.signals.is_published).sum())
    out["coverage"] = _nan_to_none(
        catalogue_coverage((scores.lists.lists[i] for i in shown.tolist()), n_catalogue)
    )
    ages = scores.mean_age[mask]
    ages = ages[~np.isnan(ages)]
    out["mean_age_days"] = _nan_to_none(float(ages.mean())) if ages.size else None
    diversity = scores.diversity[mask]
    diversity = diversity[~np.isnan(diversity)]
    out["diversity"] = _nan_to_none(float(diversity.mean())) if diversity.size else None
    return out


def group_masks(replay: Replay) -> dict[str, np.ndarray]:
    """Pairs by query article: all, new (not in the training bundle), established."""
    new = replay.query_new[replay.pair_query] if replay.n_pairs else np.zeros(0, dtype=bool)
    return {"all": np.ones(replay.n_pairs, dtype=bool), "new": new, "established": ~new}


def query_age_days(replay: Replay) -> np.ndarray:
    """Age of each pair's query article at the query view, days (NaN when undated)."""
    published = replay.query_published[replay.pair_query]
    return np.where(published >= 0, (replay.pair_ts - published) / DAY, math.nan)


# --- the whole evaluation --------------------------------------------------------------------


@dataclass
class Evaluation:
    """What :func:`evaluate` measured; :meth:`to_dict` is the JSON output."""

    summary: dict[str, Any]
    replay: Replay | None = None
    scores: dict[str, StrategyScores] = field(default_factory=dict)

    def metric(self, strategy: str, name: str, group: str = "all") -> float | None:
        value = self.summary["strategies"][strategy][group][name]
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        return self.summary


def evaluate_replay(
    replay: Replay,
    *,
    strategies: Sequence[str] = STRATEGIES,
    params: BlendParams | None = None,
    filters: Filters | None = None,
) -> Evaluation:
    """Every strategy's metrics on a prepared replay, by query group, age and list age."""
    params = params or BlendParams()
    masks = group_masks(replay)
    ages = query_age_days(replay)
    buckets = _age_bucket(np.nan_to_num(ages, nan=-1.0))
    bucket_labels = [label for _, _, label in AGE_BUCKETS] + ["unknown"]
    result: dict[str, Any] = {}
    by_age: dict[str, list[float | None]] = {}
    histograms: dict[str, list[int]] = {}
    all_scores: dict[str, StrategyScores] = {}
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        lists = replay_lists(replay, strategy, params=params, filters=filters)
        scores = score_lists(replay, lists)
        all_scores[strategy] = scores
        result[strategy] = {g: summarise(replay, scores, m) for g, m in masks.items()}
        by_age[strategy] = [
            _nan_to_none(hit_rate_at_k(scores.ranks[buckets == b], max(KS)))
            for b in range(len(bucket_labels))
        ]
        histograms[strategy] = np.histogram(
            scores.item_ages, bins=np.array((*AGE_HISTOGRAM_EDGES[:-1], 1e9))
        )[0].tolist()
    summary = {
        "pairs": replay.counts,
        "pairs_by_query_age": [int((buckets == b).sum()) for b in range(len(bucket_labels))],
        "strategies": result,
        "hit_rate@10_by_query_age": {"buckets": bucket_labels, **by_age},
        "recommended_age_histogram": {
            "edges_days": [e if math.isfinite(e) else None for e in AGE_HISTOGRAM_EDGES],
            **histograms,
        },
        "blend_params": _params_dict(params),
        "dated": bool((np.asarray(replay.bundle.published_ts) >= 0).any()),
    }
    return Evaluation(summary, replay, all_scores)


def _params_dict(params: BlendParams) -> dict[str, Any]:
    out = asdict(params)
    out["section_half_life_days"] = dict(params.section_half_life_days)
    return out


@dataclass(frozen=True)
class SplitSpec:
    """Where the test period starts and ends (unix seconds, end exclusive)."""

    test_from: int
    test_until: int


def resolve_split(
    events: ViewEvents,
    *,
    test_from: dt.datetime | None = None,
    test_days: float | None = None,
    test_until: dt.datetime | None = None,
) -> SplitSpec:
    """The test period from either a start date or a number of days before the last view."""
    last = int(events.timestamps.max())
    until = last + 1 if test_until is None else int(_aware(test_until).timestamp())
    if (test_from is None) == (test_days is None):
        raise ValueError("give exactly one of test_from and test_days")
    if test_from is not None:
        start = int(_aware(test_from).timestamp())
    else:
        assert test_days is not None
        if test_days <= 0:
            raise ValueError(f"test_days must be positive, got {test_days}")
        start = until - round(test_days * DAY)
    first = int(events.timestamps.min())
    if not first < start < until:
        raise DataError(
            events.path,
            None,
            None,
            f"the test period {_iso(start)} .. {_iso(until)} leaves no training "
            f"views (views span {_iso(first)} .. {_iso(last)})",
        )
    return SplitSpec(start, until)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class Prepared:
    """A split made ready: training inputs written, pairs extracted, articles indexed."""

    split: SplitSpec
    inputs: TrainingInputs
    pairs: ReplayPairs
    articles: dict[str, Article]
    events: ViewEvents
    workdir: Path


def prepare_split(
    articles_path: str | Path,
    views_path: str | Path,
    split: SplitSpec,
    workdir: str | Path,
    *,
    config: TrainConfig | None = None,
    articles: Sequence[Article] | None = None,
    events: ViewEvents | None = None,
) -> Prepared:
    """Read the inputs (unless given), write the training part, and extract the replay pairs."""
    from recommender.data.articles import read_articles
    from recommender.train import TrainConfig

    config = config or TrainConfig()
    if articles is None:
        articles = read_articles(articles_path, max_invalid=config.max_invalid).articles
    if events is None:
        events = load_events(
            views_path,
            session_gap_minutes=config.session_gap_minutes,
            max_invalid=config.max_invalid,
        )
    inputs = write_training_inputs(articles, events, split.test_from, Path(workdir) / "inputs")
    pairs = replay_pairs(
        events, split.test_from, split.test_until, max_session_views=config.max_session_views
    )
    return Prepared(split, inputs, pairs, {a.id: a for a in articles}, events, Path(workdir))


def evaluate(
    articles_path: str | Path,
    views_path: str | Path,
    *,
    test_from: dt.datetime | None = None,
    test_days: float | None = None,
    test_until: dt.datetime | None = None,
    config: TrainConfig | None = None,
    params: BlendParams | None = None,
    strategies: Sequence[str] = STRATEGIES,
    filters: Filters | None = None,
    workdir: str | Path | None = None,
    mind: bool = False,
    log: Callable[[str], None] | None = None,
) -> Evaluation:
    """Split the view log, train on the past, replay the future; see the module docstring.

    Parameters
    ----------
    articles_path, views_path : path
        Inputs as ``newsrec train`` reads them; the views must be events.
    test_from : datetime, optional
        Start of the test period; or ``test_days`` before the last view.
    test_days : float, optional
    test_until : datetime, optional
        End of the test period (default: just after the last view).
    config : TrainConfig
        Training parameters of the model under test.
    params : BlendParams
        Ranking parameters of the hybrid.
    strategies : sequence of str
        Any of :data:`STRATEGIES`.
    filters : Filters, optional
        Page filters (default: none but the service's "published only").
    workdir : path, optional
        Where the training inputs and bundle go (default: a temporary directory, removed).
    mind : bool
        The inputs come from MIND (adds MIND's replay rule to the output).

    Returns
    -------
    Evaluation
    """
    from recommender.train import TrainConfig

    config = config or TrainConfig()
    say = log or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="newsrec-eval-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        events = load_events(
            views_path,
            session_gap_minutes=config.session_gap_minutes,
            max_invalid=config.max_invalid,
        )
        split = resolve_split(
            events, test_from=test_from, test_days=test_days, test_until=test_until
        )
        say(f"test period {_iso(split.test_from)} .. {_iso(split.test_until)}")
        prepared = prepare_split(
            articles_path, views_path, split, work, config=config, events=events
        )
        say(
            f"training on {len(prepared.inputs.article_ids)} articles and "
            f"{prepared.inputs.n_views} views before the split"
        )
        bundle = train_at_split(prepared.inputs, work / "models", config)
        replay = prepare_replay(bundle, prepared.pairs, prepared.articles, now_ts=split.test_from)
        say(f"replaying {replay.n_pairs} pairs ({replay.counts['unique_queries']} query articles)")
        evaluation = evaluate_replay(replay, strategies=strategies, params=params, filters=filters)
    evaluation.summary = {
        "replay_rule": REPLAY_RULE,
        **({"mind_replay_rule": MIND_REPLAY_RULE} if mind else {}),
        "inputs": {"articles": str(articles_path), "views": str(views_path)},
        "split": {
            "test_from": _iso(split.test_from),
            "test_until": _iso(split.test_until),
            "training_articles": len(prepared.inputs.article_ids),
            "training_views": prepared.inputs.n_views,
            "test_views": int(
                (
                    (events.timestamps >= split.test_from) & (events.timestamps < split.test_until)
                ).sum()
            ),
            "now": _iso(split.test_from),
            "note": "the bundle is trained at the split; articles published in the test "
            "period join the live catalogue at publication, folded in by content (with "
            "reverse additions) as the service does, and are candidates for the pairs at or "
            "after it; every list is ranked at its pair's time",
        },
        "train_parameters": asdict(config),
        **evaluation.summary,
    }
    return evaluation


# --- output ----------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(summary: Mapping[str, Any], group: str = "all") -> str:
    """A plain-text table of every strategy's metrics for one query group."""
    columns = [f"hit_rate@{k}" for k in KS] + [f"mrr@{k}" for k in KS]
    columns += [f"ndcg@{k}" for k in KS] + ["coverage", "mean_age_days", "diversity"]
    header = ["strategy", "pairs", *[c.replace("_rate", "").replace("_days", "") for c in columns]]
    rows = []
    for strategy, groups in summary["strategies"].items():
        metrics = groups[group]
        rows.append(
            [
                strategy,
                str(int(metrics["pairs"])),
                *[_fmt(metrics[c], 1 if c == "mean_age_days" else 3) for c in columns],
            ]
        )
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_report(summary: Mapping[str, Any]) -> str:
    """The terminal output of ``newsrec evaluate``."""
    out = []
    split = summary.get("split")
    if split:
        out.append(
            f"test period {split['test_from']} .. {split['test_until']}; trained on "
            f"{split['training_articles']} articles, {split['training_views']} views"
        )
    pairs = summary["pairs"]
    total = max(pairs["pairs"], 1)

    def share(key: str) -> str:
        return f"{pairs[key]} ({100 * pairs[key] / total:.1f}%)"

    out.append(
        f"pairs: {pairs['pairs']} replayed, {pairs['evaluated']} evaluated "
        f"({pairs['skipped_unknown_query']} skipped: query article has no metadata)"
    )
    out.append(
        f"coverage of the replayed pairs: query article in training {share('query_in_training')}"
        f", next article in training {share('target_in_training')}, both "
        f"{share('both_in_training')}"
    )
    if "target_available" in pairs:
        out.append(
            "next article a candidate at the pair's time (in training, or published at or "
            f"before the pair): {share('target_available')}"
        )
    out.append(f"replay rule: {summary.get('replay_rule', REPLAY_RULE)}")
    if "mind_replay_rule" in summary:
        out.append(f"replay rule: {summary['mind_replay_rule']}")
    for group in GROUPS:
        n = int(next(iter(summary["strategies"].values()))[group]["pairs"])
        title = {
            "all": "all query articles",
            "new": "new query articles (not in training)",
            "established": "established query articles",
        }[group]
        out.append("")
        out.append(f"{title} ({n} pairs)")
        out.append(format_table(summary, group))
    return "\n".join(out)


# --- command line ------------------------------------------------------------------------------


def _strategies(value: str) -> tuple[str, ...]:
    import argparse

    names = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"strategies are a comma-separated list of {', '.join(STRATEGIES)}"
        )
    return names


def _positive_float(value: str) -> float:
    import argparse

    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return number


def add_test_period_arguments(p: argparse.ArgumentParser) -> None:
    """``--test-from`` / ``--test-days`` (one required), shared with ``newsrec tune``."""
    from recommender.cli import _datetime

    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument(
        "--test-from", type=_datetime, metavar="DATE", help="start of the test period, ISO 8601"
    )
    period.add_argument(
        "--test-days",
        type=_positive_float,
        metavar="N",
        help="the test period is the last N days of the views",
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec evaluate``."""
    from recommender.cli import _datetime

    p = sub.add_parser(
        "evaluate",
        help="offline evaluation: replay sessions after a chronological split",
        description="Train on the views before a split, replay every reader session after "
        "it against the live catalogue of the time (articles published after the split are "
        "folded in by content at publication, as the service does), and score each strategy: "
        "did the list shown on an article contain the next article the reader opened? Prints "
        "a table; --json and --report write the figures and an HTML report.",
    )
    p.add_argument("--articles", type=Path, help="articles file, as newsrec train reads it")
    p.add_argument("--views", type=Path, help="views file of events (sessions or users)")
    p.add_argument(
        "--mind",
        type=Path,
        metavar="DIR",
        help="a MIND folder (news.tsv, behaviors.tsv) instead of --articles/--views; "
        "converted with convert_mind (session = impression)",
    )
    add_test_period_arguments(p)
    p.add_argument(
        "--test-until",
        type=_datetime,
        metavar="DATE",
        help="end of the test period (default: the last view)",
    )
    p.add_argument(
        "--config",
        type=Path,
        help="TOML file: [train] for the models, [blend] for the ranking "
        "(as newsrec tune writes it)",
    )
    p.add_argument(
        "--strategies",
        type=_strategies,
        default=STRATEGIES,
        help=f"comma-separated subset of {','.join(STRATEGIES)} (default: all)",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="write every figure as JSON")
    p.add_argument(
        "--report", type=Path, metavar="PATH", help="write a self-contained HTML report with plots"
    )
    p.add_argument(
        "--workdir",
        type=Path,
        help="keep the training inputs and bundle here (default: a temporary dir)",
    )
    p.set_defaults(handler=_cmd_evaluate, parser=p)


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from recommender.train import TrainConfig
    from recommender.tune import load_blend_params

    if (args.mind is None) == (args.articles is None or args.views is None) or (
        args.mind is not None and (args.articles or args.views)
    ):
        args.parser.error("give --articles and --views, or --mind")
    config = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
    params = load_blend_params(args.config) if args.config else BlendParams()
    with tempfile.TemporaryDirectory(prefix="newsrec-mind-") as tmp:
        articles, views = args.articles, args.views
        if args.mind is not None:
            from recommender.mind import convert_mind

            _stderr(f"converting {args.mind} (MIND) ...")
            articles, views = convert_mind(args.mind, Path(tmp))
        evaluation = evaluate(
            articles,
            views,
            test_from=args.test_from,
            test_days=args.test_days,
            test_until=args.test_until,
            config=config,
            params=params,
            strategies=args.strategies,
            workdir=args.workdir,
            mind=args.mind is not None,
            log=_stderr,
        )
    if args.mind is not None:
        evaluation.summary["inputs"] = {"mind": str(args.mind)}
    print(format_report(evaluation.summary))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(evaluation.summary, indent=2) + "\n", encoding="utf-8")
        _stderr(f"wrote {args.json}")
    if args.report is not None:
        from recommender.report import write_report

        write_report(evaluation.summary, args.report)
        _stderr(f"wrote {args.report}")
    return 0
