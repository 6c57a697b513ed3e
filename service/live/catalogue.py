"""The live catalogue: a bundle with the lifecycle overlay applied, and the fold-in.

Publishing an article (``PUT /v1/articles/{article_id}``, :mod:`service.live.articles`) folds
it in at once: the worker that takes the ``PUT`` vectorises it with the bundle's own TF-IDF
vocabulary (``bundle.vectorizer``), finds its content neighbours among the bundle's published
articles and the other live articles vectorised with the same bundle (:func:`fold_in_article`),
and stores that list and the vector with its overlay record. Every worker derives the
reverse additions (each neighbour B with score s also gains the new article with score s in
its own content list, trimmed to the bundle's list width) from the records when it builds its
:class:`LiveCatalogue` (:func:`build_catalogue`), and then treats them like any content
neighbour; a new article has no co-views yet.

The fold-in itself is the library's (:mod:`recommender.foldin`), shared with the offline replay
and training: :func:`fold_in_article` only chooses its candidates from this catalogue.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recommender.blend import SignalArrays, Signals
from recommender.bundle import Bundle
from recommender.errors import UnknownArticleError
from recommender.foldin import fold_in_articles, merge_additions, vector_from_stored
from recommender.similarity import RowSimilarity
from service.live.counts import manifest_time
from service.ranking import newest_first

if TYPE_CHECKING:
    from recommender.data.articles import Article

log = logging.getLogger("service")


# --- the catalogue: a bundle with the overlay applied ------------------------------------------


class _Overlaid(Sequence[str]):
    """A bundle column (read value by value from its article table) with some rows' values
    replaced and rows appended: the live catalogue's sections and authors, without a copy of
    the bundle's column in every worker."""

    def __init__(self, base: Sequence[str] | None, n: int, m: int, changed: dict[int, str]):
        self._base, self._n, self._size, self._changed = base, n, n + m, changed

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(index)
        found = self._changed.get(index)
        if found is not None:
            return found
        if index < self._n and self._base is not None:
            return str(self._base[index] or "")
        return ""


class LiveCatalogue:
    """A bundle's articles with the lifecycle overlay applied: rows ``0..N-1`` are the
    bundle's, rows ``N..`` the articles published since (in article id order).

    Parameters
    ----------
    bundle : Bundle
    new_ids : list of str
        Articles the bundle does not have, one row each after the bundle's.
    meta : dict of int to dict
        Metadata (``Bundle.article`` shape plus ``status`` and ``published_ts``) per changed
        or new row.
    deleted : set of int
        Bundle rows deleted since.
    content : dict of int to list of (int, float)
        The content list of every row whose list changed (folded-in articles, and the rows
        that gained reverse additions), best first.
    vectors : dict of int to sparse row, optional
        TF-IDF vectors of new rows, in the bundle's vocabulary (for :attr:`similarity`).
    """

    def __init__(
        self,
        bundle: Bundle,
        new_ids: Sequence[str] = (),
        meta: Mapping[int, dict[str, Any]] | None = None,
        deleted: set[int] | None = None,
        content: Mapping[int, list[tuple[int, float]]] | None = None,
        vectors: Mapping[int, sp.csr_matrix] | None = None,
    ) -> None:
        self.bundle = bundle
        self._new_vectors = dict(vectors or {})
        self.n_bundle = n = len(bundle)
        self.new_ids = list(new_ids)
        self._new_index = {article_id: n + i for i, article_id in enumerate(self.new_ids)}
        self.meta = dict(meta or {})
        self.deleted = set(deleted or ())
        self.trivial = not (self.new_ids or self.meta or self.deleted or content)
        self.width = int(bundle.content_neighbors.shape[1])
        self._masks: dict[str, np.ndarray] = {}
        self._known: frozenset[str] | None = None
        self._latest: dict[str | None, np.ndarray] = {}
        #: each row's author (``None``: neither the bundle nor a live article names one)
        self.authors: Sequence[str] | None = bundle.authors
        if self.trivial:
            self.categories: Sequence[str] = bundle.categories
            self.published_ts: np.ndarray = bundle.published_ts
            self.is_published: np.ndarray = bundle.is_published
            self._content: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            return
        m = len(self.new_ids)
        self.categories = _Overlaid(
            bundle.categories, n, m, {row: item["category"] for row, item in self.meta.items()}
        )
        self.published_ts = np.concatenate(
            [np.asarray(bundle.published_ts), np.full(m, -1, dtype=np.int64)]
        )
        self.is_published = np.concatenate([bundle.is_published, np.zeros(m, dtype=bool)])
        for row, item in self.meta.items():
            self.published_ts[row] = item["published_ts"]
            self.is_published[row] = item["status"] == "published"
        for row in self.deleted:
            self.is_published[row] = False
        if self.authors is not None or any(item.get("author") for item in self.meta.values()):
            changed = {row: str(item.get("author") or "") for row, item in self.meta.items()}
            self.authors = _Overlaid(bundle.authors, n, m, changed)
        self._content = {}
        for row, pairs in (content or {}).items():
            neighbors = np.full(self.width, -1, dtype=np.int32)
            scores = np.zeros(self.width, dtype=np.float32)
            for i, (other, score) in enumerate(pairs[: self.width]):
                neighbors[i], scores[i] = other, score
            self._content[row] = (neighbors, scores)
        self._base = SignalArrays(
            categories=self.categories,
            published_ts=self.published_ts,
            is_published=self.is_published,
            content_neighbors=bundle.content_neighbors,
            content_scores=bundle.content_scores,
            has_coview=bundle.has_coview,
            coview_neighbors=bundle.coview_neighbors,
            coview_scores=bundle.coview_scores,
            coview_counts=bundle.coview_counts,
            coview_support=bundle.coview_support,
            # the bundle's counts; articles published since have none yet
            popularity_views=np.concatenate(
                [
                    np.asarray(bundle.popularity_views),
                    np.zeros(
                        (len(self) - self.n_bundle, bundle.popularity_views.shape[1]),
                        bundle.popularity_views.dtype,
                    ),
                ]
            ),
        )

    def __len__(self) -> int:
        return self.n_bundle + len(self.new_ids)

    @cached_property
    def similarity(self) -> RowSimilarity:
        """Content cosine between rows: the bundle's vectors, then the new rows' (a new row
        without a vector, a draft, is similar to nothing)."""
        if not self._new_vectors:
            return self.bundle.similarity
        n_features = self.bundle.content_matrix.shape[1]
        empty = sp.csr_matrix((1, n_features), dtype=np.float32)
        rows = [self._new_vectors.get(r, empty) for r in range(self.n_bundle, len(self))]
        return self.bundle.similarity.with_extra(sp.vstack(rows, format="csr"))

    def row_or_none(self, article_id: str) -> int | None:
        """The row of a live article id, None when unknown or deleted."""
        row = self._new_index.get(article_id)
        if row is not None:
            return row
        if not self.bundle.has(article_id):
            return None
        row = self.bundle.row(article_id)
        return None if row in self.deleted else row

    def row(self, article_id: str) -> int:
        """The row of an article id; raises :class:`UnknownArticleError` (deleted too)."""
        if self.trivial:
            return self.bundle.row(article_id)
        row = self.row_or_none(article_id)
        if row is None:
            raise UnknownArticleError(article_id)
        return row

    def has(self, article_id: str) -> bool:
        if self.trivial:
            return self.bundle.has(article_id)
        return self.row_or_none(article_id) is not None

    def article_id(self, row: int) -> str:
        return (
            self.bundle.article_id(row)
            if row < self.n_bundle
            else self.new_ids[row - self.n_bundle]
        )

    def article(self, row: int) -> dict[str, Any]:
        """The API metadata of a row (``Bundle.article`` shape)."""
        item = self.meta.get(row)
        if item is None:
            return self.bundle.article(row)
        keys = ("title", "url", "category", "published_at", "image_url")
        out = {"id": self.article_id(row), **{k: item[k] for k in keys}}
        if item.get("image_srcset"):
            out["image_srcset"] = item["image_srcset"]
        return out

    @cached_property
    def stories(self) -> np.ndarray | None:
        """Each row's story (:mod:`recommender.stories`): the bundle's, and for an article
        folded in since, the story of the article it joined at its fold-in (its own row when
        none, or when that article is gone). ``None``: the bundle has no stories."""
        own = self.bundle.story_clusters
        if own is None or self.trivial:
            return own
        clusters = np.concatenate(
            [np.asarray(own, dtype=np.int64), np.arange(self.n_bundle, len(self))]
        )
        joined: dict[int, int] = {}
        for row, item in self.meta.items():
            other = self.row_or_none(str(item["story"])) if item.get("story") else None
            if row >= self.n_bundle or other is not None:
                clusters[row] = row  # changed text: its old story no longer holds
            if other is not None and other != row:
                joined[row] = other
        for row in joined:
            # follow the joins to an article that joined none (a chain is at most the live
            # articles long; a loop, after text changes, stops where it started)
            seen = {row}
            target = joined[row]
            while target in joined and target not in seen:
                seen.add(target)
                target = joined[target]
            clusters[row] = clusters[target] if target not in joined else min(seen)
        return clusters

    def words(self, row: int) -> int | None:
        """Words of a row's text: the live record's (counted at publication), else the
        bundle's; ``None`` when unknown."""
        item = self.meta.get(row)
        if item is None:
            return self.bundle.words(row) if row < self.n_bundle else None
        words = item.get("words")
        return int(words) if isinstance(words, int) and words >= 0 else None

    def latest_rows(self, category: str | None = None) -> np.ndarray:
        """Published, dated rows, newest first, ties by article id (cached per section)."""
        found = self._latest.get(category)
        if found is None:
            mask = self.is_published
            if category is not None:
                mask = mask & self.in_category(category)
            id_order = None
            if self.new_ids:  # new rows come after the bundle's, not in id order with them
                id_order = self._id_order()
            found = self._latest[category] = newest_first(self.published_ts, mask, id_order)
        return found

    def _id_order(self) -> np.ndarray:
        """Each row's rank in article id order, the bundle's ids never copied out: a new
        id's rank is the bundle ids before it (a binary search) plus the new ids before it;
        a bundle row's, its row plus the new ids before it."""
        n, m = self.n_bundle, len(self.new_ids)
        by_id = sorted(range(m), key=self.new_ids.__getitem__)
        before = self.bundle.id_positions([self.new_ids[i] for i in by_id])  # non-decreasing
        order = np.empty(n + m, dtype=np.int64)
        rows = np.arange(n)
        order[:n] = rows + np.searchsorted(before, rows, side="right")
        order[n + np.array(by_id, dtype=np.int64)] = before + np.arange(m)
        return order

    def status(self, row: int) -> str:
        item = self.meta.get(row)
        return str(item["status"]) if item is not None else self.bundle.status(row)

    def known_categories(self) -> frozenset[str]:
        if self._known is None:
            if self.trivial:
                self._known = self.bundle.known_categories()
            else:
                # the bundle's sections but of changed rows, then the changed rows' own
                kept = np.ones(self.n_bundle, dtype=bool)
                kept[[r for r in self.meta if r < self.n_bundle]] = False
                own = {str(item["category"]) for item in self.meta.values()}
                if len(self.new_ids) > sum(r >= self.n_bundle for r in self.meta):
                    own.add("")  # a new row without an overlay record has no section
                self._known = self.bundle.table.distinct("category", kept) | own
        return self._known

    def in_category(self, category: str) -> np.ndarray:
        """Boolean mask of the rows of a section (cached)."""
        mask = self._masks.get(category)
        if mask is None:
            mask = self.pad(self.bundle.in_category(category))
            if not self.trivial:
                mask = mask.copy()
                for row, item in self.meta.items():
                    mask[row] = item["category"] == category
            self._masks[category] = mask
        return mask

    def pad(self, values: np.ndarray) -> np.ndarray:
        """A per-bundle-row vector extended with zeros to every catalogue row."""
        extra = len(self) - values.shape[0]
        return values if extra == 0 else np.concatenate([values, np.zeros(extra, values.dtype)])

    def content_list(self, row: int) -> list[tuple[int, float]]:
        """A row's content neighbours with scores, best first (the overlay's when changed)."""
        if row in self._content:
            neighbors, scores = self._content[row]
        elif row < self.n_bundle:
            neighbors, scores = self.bundle.content_neighbors[row], self.bundle.content_scores[row]
        else:
            return []
        return [(int(r), float(s)) for r, s in zip(neighbors, scores, strict=True) if r >= 0]

    def signals(self, row: int) -> Signals:
        """The ranking signals for a query row.

        The bundle itself when nothing changed; else the catalogue's rows, with the query
        row's content list replaced by the overlay's when it changed. Ranking reads only the
        query row of the neighbour tables, so a changed list is given as that one row
        broadcast to every row (a read-only view, no copy of the tables).
        """
        if self.trivial:
            return self.bundle
        changed = self._content.get(row)
        if changed is None:
            return self._base
        shape = (len(self), self.width)
        own = row < self.n_bundle
        return SignalArrays(
            categories=self.categories,
            published_ts=self.published_ts,
            is_published=self.is_published,
            content_neighbors=np.broadcast_to(changed[0], shape),
            content_scores=np.broadcast_to(changed[1], shape),
            has_coview=self.bundle.has_coview and own,
            coview_neighbors=self.bundle.coview_neighbors if own else None,
            coview_scores=self.bundle.coview_scores if own else None,
            coview_counts=self.bundle.coview_counts if own else None,
            coview_support=self.bundle.coview_support if own else None,
            popularity_views=self._base.popularity_views,
        )


def build_catalogue(
    bundle: Bundle, records: Mapping[str, str]
) -> tuple[LiveCatalogue, dict[str, str]]:
    """The catalogue of ``bundle`` with the overlay ``records`` (article id to JSON), and the
    records the bundle supersedes (to be removed from the store)."""
    if not records:
        return LiveCatalogue(bundle), {}
    created = manifest_time(bundle, "created_at")
    created_at = -math.inf if created is None else created
    superseded: dict[str, str] = {}
    live: list[tuple[str, dict[str, Any]]] = []
    for article_id in sorted(records):
        raw = records[article_id]
        try:
            record = json.loads(raw)
            at, op = float(record["at"]), record["op"]
        except (ValueError, KeyError, TypeError):
            log.error("ignoring a damaged overlay record of %r", article_id)
            continue
        in_bundle = bundle.has(article_id)
        if at < created_at and (in_bundle or op == "delete"):
            superseded[article_id] = raw
        elif op == "delete" and not in_bundle:
            continue  # an article published live and deleted again: simply unknown
        else:
            live.append((article_id, record))
    n = len(bundle)
    new_ids = [a for a, r in live if r["op"] == "put" and not bundle.has(a)]
    index = {article_id: n + i for i, article_id in enumerate(new_ids)}

    def row_of(article_id: str) -> int | None:
        found = index.get(article_id)
        if found is None and bundle.has(article_id):
            found = bundle.row(article_id)
        return found

    meta: dict[int, dict[str, Any]] = {}
    deleted: set[int] = set()
    own: dict[int, list[tuple[int, float]]] = {}
    vectors: dict[int, sp.csr_matrix] = {}
    n_features = bundle.content_matrix.shape[1]
    for article_id, record in live:
        row = row_of(article_id)
        assert row is not None
        if record["op"] == "delete":
            deleted.add(row)
            continue
        meta[row] = record["article"]
        if row >= n and record.get("vector") and record.get("model") == bundle.version:
            vectors[row] = vector_from_stored(record["vector"], n_features)
        if record.get("vector") is None and row < n:
            continue  # not folded in (unpublished, or no vectorizer): its trained list stays
        resolved = [(row_of(str(other)), float(score)) for other, score in record["neighbors"]]
        own[row] = [(r, s) for r, s in resolved if r is not None and r != row]
    width = int(bundle.content_neighbors.shape[1])
    additions: dict[int, list[tuple[int, float]]] = {}
    for row, neighbors in own.items():
        if meta[row]["status"] == "published":
            for other, score in neighbors:
                additions.setdefault(other, []).append((row, score))
    catalogue = LiveCatalogue(bundle, new_ids, meta, deleted)
    content = dict(own)
    for row, extra in additions.items():
        base = content.get(row)
        if base is None:
            base = catalogue.content_list(row)
        content[row] = merge_additions(base, extra, width)
    return LiveCatalogue(bundle, new_ids, meta, deleted, content, vectors), superseded


# --- fold-in --------------------------------------------------------------------------------


def fold_in_article(
    bundle: Bundle,
    catalogue: LiveCatalogue,
    article: Article,
    records: Mapping[str, str],
) -> tuple[list[tuple[str, float]], dict[str, list[Any]]]:
    """Content neighbours of ``article`` among the catalogue's published articles, best first
    (ties by article id), and its TF-IDF vector as stored with its record: the library's one
    fold-in (:func:`recommender.foldin.fold_in_articles`) over this catalogue.

    Candidates: the bundle's published, not suppressed articles, and the live articles whose
    vectors were made with this bundle's vocabulary. Raises :class:`BundleError` when the
    bundle has no vectorizer.
    """
    live = {
        other_id: record["vector"]
        for other_id, record in _published_live_vectors(records, bundle.version)
        if other_id != article.id and catalogue.has(other_id)
    }
    found = fold_in_articles(
        bundle,
        [article],
        candidate_mask=catalogue.is_published[: catalogue.n_bundle],
        live=live,
    )
    return found.neighbors[0], found.stored(0)


def _published_live_vectors(
    records: Mapping[str, str], version: str
) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for article_id, raw in records.items():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if (
            record.get("op") == "put"
            and record.get("model") == version
            and record.get("article", {}).get("status") == "published"
            and record.get("vector")
        ):
            out.append((article_id, record))
    return out
