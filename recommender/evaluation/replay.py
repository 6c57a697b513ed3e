"""The replay of the offline evaluation: reader sessions after the split as (query, next)
pairs, mapped onto the live catalogue a service had at each pair.

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

MIND (:mod:`recommender.sources.mind`): click histories carry no per-click time, and MIND has
no publish dates. Evaluate MIND on the output of ``convert_mind``, whose sessions are
impressions: each impression's clicked articles in impression order, from the impression time one
second apart, so the split is by impression time and the pairs are consecutive clicks within one
impression. Click histories (no times) are left out (``newsrec evaluate --mind`` converts without
them). Without dates, freshness is neutral (factor 1) and "new" means "first seen (viewed) at or
after the split"; undated articles nobody viewed before the split are not in the training catalogue,
and join the live catalogue at their first view.

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from recommender.blend import SignalArrays, Signals
from recommender.bundle import Bundle
from recommender.data.articles import Article
from recommender.data.views import ViewEvents
from recommender.foldin import (
    STORED_DECIMALS,
    fold_in_articles,
    merge_additions,
    rounded_vectors,
)
from recommender.similarity import RowSimilarity

#: What the service counts as one view: a session's repeats of an article within this are one.
DEDUP_SECONDS = 1_800


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


# --- replay ----------------------------------------------------------------------------------


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


def fold_in_live(bundle: Bundle, articles: Sequence[Article], known_ts: np.ndarray) -> FoldInRows:
    """Content lists of articles the bundle does not hold, as the live service folds them in.

    The articles are rows ``len(bundle) + i`` (in article id order, as the service's
    catalogue has them). Each is folded in when the service learns of it (``known_ts``, ties
    by article id), as ``PUT /v1/articles/{id}`` does it, with the one fold-in
    (:func:`recommender.foldin.fold_in_articles`): its TF-IDF vector under the bundle's
    vectorizer is compared with the bundle's published rows and with the published articles
    folded in *before* it; the ``n`` best with a positive score are kept (``n``: the bundle's
    list length; ties by article id), scores rounded to 6 decimals as the service stores
    them, as it stores the earlier articles' vectors. An article that is not published is
    nobody's neighbour; its own list is still computed (the list its page would show).

    Parameters
    ----------
    bundle : Bundle
    articles : sequence of Article
    known_ts : ndarray of int64
        When each article was published (became known to the service).

    Returns
    -------
    FoldInRows
        Each article's (row, score) list, best first, and the vectors as the service stores
        them.
    """
    found = fold_in_articles(
        bundle, articles, order=publication_order(np.asarray(known_ts, dtype=np.int64))
    )
    n_bundle = len(bundle)
    new_row = {a.id: n_bundle + i for i, a in enumerate(articles)}

    def row(article_id: str) -> int:
        found_row = new_row.get(article_id)
        return bundle.row(article_id) if found_row is None else found_row

    lists = [
        [(row(other), round(score, STORED_DECIMALS)) for other, score in pairs]
        for pairs in found.neighbors
    ]
    joined = [found.story(i) for i in range(len(articles))]
    stories = [None if j is None else row(j) for j in joined]
    return FoldInRows(lists, rounded_vectors(found.vectors) if articles else None, stories)


@dataclass(frozen=True)
class FoldInRows:
    """:func:`fold_in_live`'s answer: the lists in catalogue rows, and the stored vectors."""

    lists: list[list[tuple[int, float]]]
    #: The folded-in articles' vectors as the service stores them (``None``: no article).
    vectors: sp.csr_matrix | None
    #: Per article, the row whose story it joins (``None``: a story of its own).
    stories: list[int | None] = field(default_factory=list)


def live_stories(bundle: Bundle, joined: Sequence[int | None], known_ts: np.ndarray) -> np.ndarray:
    """The story of every catalogue row: the bundle's (each row its own in a bundle without
    stories), then each folded-in article's, resolved in publication order (an article joins
    the story of a row folded in before it, or starts its own, named by its row)."""
    n = len(bundle)
    own = bundle.story_clusters
    clusters = np.arange(n + len(joined), dtype=np.int64)
    if own is not None:
        clusters[:n] = own
    for i in publication_order_indices(np.asarray(known_ts, dtype=np.int64)):
        j = joined[i]
        if j is not None:
            clusters[n + i] = clusters[j]
    return clusters


def publication_order_indices(known_ts: np.ndarray) -> list[int]:
    """Article positions in the order they are folded in (time, ties by position)."""
    order: list[int] = np.lexsort((np.arange(known_ts.size), known_ts)).tolist()
    return order


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
    #: The author of each row (for the author cap); ``None`` when the bundle has none.
    authors: list[str] | None = None
    #: The story of each row (:func:`live_stories`), for same-story collapsing.
    stories: np.ndarray | None = None

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
    folded = fold_in_live(bundle, new_articles, new_known)
    own = folded.lists
    signals = _live_signals(bundle, new_articles, own)
    similarity = RowSimilarity(bundle.content_matrix, folded.vectors)
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
        authors=_authors(bundle, new_articles),
        stories=live_stories(bundle, folded.stories, new_known),
    )


def _authors(bundle: Bundle, new_articles: Sequence[Article]) -> list[str] | None:
    """Each row's author, or None when the catalogue names none."""
    authors = [*(bundle.authors or [""] * len(bundle)), *(a.author for a in new_articles)]
    return authors if any(authors) else None


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
                current = merge_additions(current, [(added, score)], width)
                done += 1
            state_of[count] = len(states)
            states.append(_list_arrays(current, width))
        pair_state[index] = [state_of.get(c, -1) for c in applied.tolist()]
    return pair_state, states
