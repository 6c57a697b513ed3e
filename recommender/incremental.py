"""The daily run: ``newsrec train --incremental`` starts from the bundle in ``LATEST``.

A full run fits the TF-IDF vocabulary and compares every pair of articles: its cost grows as
the square of the archive. An incremental run keeps the previous bundle's vocabulary and IDF
and pays only for what changed:

* articles are matched with the previous bundle by ``article_id`` and by a digest of the
  text the vectorizer sees (``content_digest``, which every bundle keeps); only new and
  changed articles are vectorised, the others keep their rows of the previous matrix;
* the *recomputed rows* get their exact lists against every published article, with the
  same code as a full run (:func:`recommender._topk.cosine_topn`): the new and changed
  articles, the ones published since, and every older article whose list named an article
  that was deleted, unpublished or changed (its list would be short, or hold a stale score);
* every other list keeps its entries and takes the new articles it should now hold through
  the reverse additions of the one fold-in (:func:`recommender.foldin.merge_additions`, in
  its array form :func:`~recommender.foldin.merge_additions_rows`):
  cosine is symmetric, so an article enters a list when its score beats the list's weakest
  entry; an unpublished article is no candidate, so no new article lists it: its list is
  merged with its exact top-n among the entering articles instead (exact, and cheap: the
  product of those rows with the day's new articles, not with the archive);
* co-view and popularity are recomputed from the whole log by the usual pipeline (they cost
  seconds), and the bundle is published atomically as every bundle is.

For the rows it recomputes, an incremental bundle's lists equal those of a full run with the
same vocabulary. The others can miss an article that would rank in their top-n without the
article ranking them in its own (kNN lists are not symmetric); bench/RESULTS.md measures how
much after a week of daily runs.

The vocabulary ages: a new word (a new name, a new subject) means nothing to it. A run falls
back to a full refit, and says why in the manifest's ``training`` record and the summary,
when ``LATEST`` has no bundle or no text digests, when the content settings differ, when
the vocabulary is older than ``refit_after_days`` (default 7: a weekly refit), or when the
share of new terms in the words of the new and changed articles passes ``max_new_terms``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender._topk import BlockMapper, cosine_topn
from recommender.blend import BlendParams, manifest_params
from recommender.bundle import Bundle
from recommender.config import TrainConfig
from recommender.content import ContentModel, compose_document, document_digests
from recommender.errors import BundleError
from recommender.foldin import merge_additions_rows
from recommender.reading import count_words
from recommender.train import content_model

__all__ = [
    "CONTENT_SETTINGS",
    "IncrementalContent",
    "IncrementalPlan",
    "describe",
    "plan_incremental",
]

#: Settings a bundle's vocabulary and lists depend on: an incremental run needs them equal.
CONTENT_SETTINGS = (
    "n_neighbors",
    "title_weight",
    "min_df",
    "max_df",
    "max_features",
    "stop_words",
    "author_weight",
)
#: Unchanged articles whose missing words measure what a fit drops (:func:`new_term_share`).
REFERENCE_DOCS = 500
#: New and changed articles (at most) whose words measure the share of new terms.
SHARE_DOCS = 1000
#: Manifest array of the text digests.
DIGESTS = "content_digest"


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class IncrementalContent:
    """The content stage of an incremental run (a :class:`recommender.train.ContentFitter`).

    Parameters
    ----------
    previous : Bundle or None
        The bundle ``LATEST`` names (``None``: there is none, the run is a full one).
    max_new_terms : float
        Share of the words of the new and changed articles that the vocabulary has never
        seen (:func:`new_term_share`) above which the run refits instead (0.25).
    refit_after_days : float
        Age of the vocabulary after which the run refits (7: weekly).
    force_full : str or None
        A reason to refit whatever the checks say (``"--full"``).
    mapper : BlockMapper, optional
        Runs a full fit's neighbour search on a cluster.
    now : datetime, optional
        The clock the vocabulary's age is measured with (default: now).
    """

    previous: Bundle | None
    max_new_terms: float = 0.25
    refit_after_days: float = 7.0
    force_full: str | None = None
    mapper: BlockMapper | None = None
    now: dt.datetime | None = None
    _laps: _Laps = field(default_factory=lambda: _Laps(), init=False, repr=False)

    def __call__(
        self, articles: Sequence[Any], published: np.ndarray, config: TrainConfig
    ) -> ContentModel:
        model = content_model(config)
        reason = self._full_reason(config)
        if reason is None:
            assert self.previous is not None
            self._laps = _Laps()
            n = len(articles)

            def doc(i: int) -> str:
                a = articles[i]
                return compose_document(a, config.title_weight, config.author_weight)

            # digested a slice at a time: the composed texts of a 1M archive are gigabytes, and
            # only the new and changed ones are needed again (composed anew)
            digests = np.concatenate(
                [
                    document_digests([doc(i) for i in range(start, min(start + 10_000, n))])
                    for start in range(0, n, 10_000)
                ]
                or [np.zeros(0, dtype=np.uint64)]
            )
            self._laps("compose and digest")
            reason = self._incremental(model, articles, doc, digests, published, config)
        if reason is not None:
            model.fit(articles, candidate_mask=published, mapper=self.mapper)
            model.training_ = {
                "mode": "full",
                "reason": reason,
                "vocabulary_fitted_at": _now_iso(self.now),
            }
        return model

    def _full_reason(self, config: TrainConfig) -> str | None:
        previous = self.previous
        if self.force_full:
            return self.force_full
        if previous is None:
            return "no bundle in LATEST"
        if DIGESTS not in previous.arrays:
            return f"LATEST ({previous.version}) has no text digests (older bundle)"
        parameters = previous.manifest.get("parameters", {})
        differ = [s for s in CONTENT_SETTINGS if parameters.get(s) != getattr(config, s)]
        if differ:
            return f"content settings differ from LATEST's: {', '.join(differ)}"
        fitted = _vocabulary_fitted_at(previous)
        now = self.now or dt.datetime.now(dt.UTC)
        age = (now - fitted).total_seconds() / 86400
        if age > self.refit_after_days:
            return f"vocabulary is {age:.1f} days old (refit after {self.refit_after_days:g})"
        return None

    def _incremental(
        self,
        model: ContentModel,
        articles: Sequence[Any],
        doc: Callable[[int], str],
        digests: np.ndarray,
        published: np.ndarray,
        config: TrainConfig,
    ) -> str | None:
        """Fill ``model`` from the previous bundle; a reason to refit instead, or ``None``."""
        previous = self.previous
        assert previous is not None
        n = len(articles)
        old_digests = np.asarray(previous.arrays[DIGESTS])
        old_rows = previous.rows([a.id for a in articles])
        held = old_rows >= 0
        same_text = np.zeros(n, dtype=bool)
        same_text[held] = old_digests[old_rows[held]] == digests[held]
        self._laps("match")
        vectorise = np.flatnonzero(~same_text)
        vectorizer = previous.vectorizer
        # up to REFERENCE_DOCS unchanged articles, spread over the catalogue
        unchanged = np.flatnonzero(same_text)
        sample = unchanged[np.linspace(0, unchanged.size - 1, REFERENCE_DOCS).astype(np.int64)]
        # the share is measured on up to SHARE_DOCS of the new and changed articles
        measured = (
            vectorise[
                np.unique(np.linspace(0, max(vectorise.size - 1, 0), SHARE_DOCS).astype(np.int64))
            ]
            if vectorise.size
            else vectorise
        )
        share = new_term_share(
            vectorizer,
            [doc(i) for i in measured.tolist()],
            [doc(i) for i in (np.unique(sample).tolist() if unchanged.size else [])],
        )
        if share > self.max_new_terms:
            limit = self.max_new_terms
            return f"new terms are {share:.1%} of the new articles' words (> {limit:.0%})"
        self._laps("vocabulary and new-term share")
        old_matrix = previous.content_matrix
        kept = np.flatnonzero(same_text)
        fresh_docs = [doc(i) for i in vectorise.tolist()]
        fresh = (
            sp.csr_matrix(vectorizer.transform(fresh_docs), dtype=np.float32)
            if vectorise.size
            else sp.csr_matrix((0, old_matrix.shape[1]), dtype=np.float32)
        )
        matrix = _assemble(old_matrix, old_rows[kept], kept, fresh, vectorise, n)
        self._laps("vectorise and assemble")

        # old row -> new row (-1: deleted); which old rows changed or left the candidates
        old_to_new = np.full(len(previous), -1, dtype=np.int64)
        old_to_new[old_rows[held]] = np.flatnonzero(held)
        gone = np.ones(len(previous), dtype=bool)  # deleted, changed or no longer published
        stays = old_rows[same_text & published]
        gone[stays] = False
        was_published = np.zeros(n, dtype=bool)
        was_published[held] = previous.is_published[old_rows[held]]
        # newly published articles must enter lists they were kept out of
        entering = (~same_text | ~was_published) & published

        # rows recomputed exactly: new, changed, newly published, and lists naming a gone row
        old_lists = np.asarray(previous.content_neighbors)
        names_gone = np.zeros(len(previous), dtype=bool)
        valid = old_lists >= 0
        names_gone[np.flatnonzero((gone[np.where(valid, old_lists, 0)] & valid).any(axis=1))] = True
        recompute = ~same_text | (~was_published & published)
        recompute[held] |= names_gone[old_rows[held]]
        # unpublished rows keep their lists too, but they are no candidates: no new article
        # lists them, so no reverse addition reaches them. The entering articles are offered
        # to them directly (their product with the few entering rows instead of with every
        # article: 2% of a 1M archive is 20,000 rows, four times a day's new articles)
        merge_rows = np.flatnonzero(~recompute & ~published)
        recompute_rows = np.flatnonzero(recompute)
        candidate_rows = np.flatnonzero(published)
        width = config.n_neighbors
        top, top_scores = cosine_topn(
            matrix[recompute_rows],
            matrix[candidate_rows],
            width,
            candidate_rows=candidate_rows,
            self_rows=recompute_rows,
            chunk_size=config.chunk_size,
            n_threads=config.n_threads,
            mapper=self.mapper,
        )
        self._laps("exact lists")
        neighbors = np.full((n, width), -1, dtype=np.int32)
        scores = np.zeros((n, width), dtype=np.float32)
        neighbors[recompute_rows] = top
        scores[recompute_rows] = top_scores

        # the other rows: their old lists, renumbered, and the reverse additions
        others = np.flatnonzero(~recompute)
        old_of_others = old_rows[others]
        renumbered = np.where(
            old_lists[old_of_others] >= 0, old_to_new[old_lists[old_of_others]], -1
        )
        neighbors[others] = renumbered[:, :width]
        scores[others] = np.asarray(previous.content_scores)[old_of_others][:, :width]
        n_added = _reverse_additions(
            neighbors, scores, top, top_scores, recompute_rows, entering, recompute, width
        )
        entering_rows = np.flatnonzero(entering)
        if merge_rows.size and entering_rows.size:
            offered, offered_scores = cosine_topn(
                matrix[merge_rows],
                matrix[entering_rows],
                width,
                candidate_rows=entering_rows,
                chunk_size=config.chunk_size,
                n_threads=config.n_threads,
            )
            valid = offered >= 0
            targets = np.repeat(merge_rows, width).reshape(offered.shape)
            merge_additions_rows(
                neighbors, scores, targets[valid], offered[valid], offered_scores[valid]
            )

        self._laps("reverse additions and merges")
        old_words = previous.word_counts
        if old_words is not None:
            # an unchanged text has its word count already: counting 1M bodies again would
            # cost minutes (the words are in the digested document)
            words = np.zeros(n, dtype=np.int32)
            words[kept] = np.asarray(old_words)[old_rows[kept]]
            words[vectorise] = [count_words(articles[i].body) for i in vectorise.tolist()]
            model.words_ = words
        self._laps("word counts")
        model.vectorizer_ = vectorizer
        model.matrix_ = matrix
        model.neighbors_, model.scores_ = neighbors, scores
        model.digests_ = digests
        model.training_ = {
            "mode": "incremental",
            "reason": "LATEST is compatible",
            "from_version": previous.version,
            "vocabulary_fitted_at": _vocabulary_fitted_at(previous)
            .isoformat()
            .replace("+00:00", "Z"),
            "new_articles": int((~held).sum()),
            "changed_articles": int((held & ~same_text).sum()),
            "removed_articles": int(len(previous) - held.sum()),
            "recomputed_rows": int(recompute_rows.size),
            "merged_unpublished_rows": int(merge_rows.size),
            "reverse_additions": n_added,
            "new_term_share": round(share, 4),
            "max_new_terms": self.max_new_terms,
            "seconds": self._laps.seconds,
        }
        return None


class _Laps:
    """Seconds of each step of a run since the previous one (the manifest's record: where a
    daily run's time goes)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 3)
        self._last = now


def _reverse_additions(
    neighbors: np.ndarray,
    scores: np.ndarray,
    top: np.ndarray,
    top_scores: np.ndarray,
    query_rows: np.ndarray,
    entering: np.ndarray,
    recompute: np.ndarray,
    width: int,
) -> int:
    """Add each entering article to the lists of the rows it lists (not recomputed ones), by
    the fold-in's rule (:func:`recommender.foldin.merge_additions_rows`); returns how many
    additions the lists kept."""
    query = np.repeat(query_rows.astype(np.int64), top.shape[1])
    target = top.ravel().astype(np.int64)
    score = top_scores.ravel()
    offer = (target >= 0) & entering[query]
    offer[offer] &= ~recompute[target[offer]]
    kept = merge_additions_rows(neighbors, scores, target[offer], query[offer], score[offer])
    return int(kept.sum())


def _assemble(
    old_matrix: sp.csr_matrix,
    old_rows: np.ndarray,
    kept: np.ndarray,
    fresh: sp.csr_matrix,
    fresh_rows: np.ndarray,
    n: int,
) -> sp.csr_matrix:
    """The new document matrix: row ``kept[i]`` is old row ``old_rows[i]``, row
    ``fresh_rows[j]`` is ``fresh[j]``; index types as the old matrix's."""
    stacked = sp.vstack([old_matrix[old_rows], fresh], format="csr")
    order = np.empty(n, dtype=np.int64)
    order[np.concatenate([kept, fresh_rows]).astype(np.int64)] = np.arange(n)
    matrix = sp.csr_matrix(stacked[order], dtype=np.float32)
    matrix.sort_indices()
    matrix.indices = matrix.indices.astype(old_matrix.indices.dtype)
    matrix.indptr = matrix.indptr.astype(old_matrix.indptr.dtype)
    return matrix


def out_of_vocabulary(vectorizer: Any, docs: Sequence[str]) -> float:
    """Share of the words of ``docs`` (occurrences, after the vectorizer's own analysis) that
    are not in the vectorizer's vocabulary."""
    analyze = vectorizer.build_analyzer()
    known = vectorizer.vocabulary_
    total = missing = 0
    for doc in docs:
        words = analyze(doc)
        total += len(words)
        missing += sum(1 for w in words if w not in known)
    return missing / total if total else 0.0


def new_term_share(vectorizer: Any, docs: Sequence[str], reference: Sequence[str]) -> float:
    """Share of the words of ``docs`` the vocabulary has never seen.

    A fit drops terms too rare or too common to be useful, and scikit-learn no longer keeps
    them, so a word missing from the vocabulary may be new or dropped. The share of missing
    words in ``reference`` (articles the vocabulary was fitted on) is the dropped part: what
    ``docs`` miss beyond it is new.
    """
    if not docs:
        return 0.0
    return max(0.0, out_of_vocabulary(vectorizer, docs) - out_of_vocabulary(vectorizer, reference))


def _vocabulary_fitted_at(bundle: Bundle) -> dt.datetime:
    training = bundle.manifest.get("training") or {}
    stamp = training.get("vocabulary_fitted_at") or bundle.manifest.get("created_at")
    return _parse_time(str(stamp))


def _now_iso(now: dt.datetime | None) -> str:
    value = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return value.isoformat().replace("+00:00", "Z")


@dataclass
class IncrementalPlan:
    """What an incremental run trains with: the content stage and the settings."""

    fitter: IncrementalContent
    config: TrainConfig
    params: BlendParams


def plan_incremental(
    models_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    params: BlendParams | None = None,
    overrides: dict[str, Any] | None = None,
    max_new_terms: float = 0.25,
    refit_after_days: float = 7.0,
    mapper: BlockMapper | None = None,
) -> IncrementalPlan:
    """Set up ``newsrec train --incremental`` from the bundle ``LATEST`` names.

    Parameters
    ----------
    models_dir : path
    config, params : optional
        Settings a configuration file gave (default: the ones ``LATEST`` was trained and is
        served with, so that nothing but the data changes); settings that differ from
        ``LATEST``'s content settings make the run a full one.
    overrides : dict, optional
        :class:`TrainConfig` values that win either way (``max_invalid``, ``keep``).
    max_new_terms, refit_after_days, mapper
        As :class:`IncrementalContent`.
    """
    previous: Bundle | None = None
    force_full = None
    try:
        previous = Bundle.load_latest(models_dir)
    except BundleError as exc:
        force_full = f"LATEST cannot be used ({exc})"
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if config is None:
        recorded = {} if previous is None else previous.manifest.get("parameters", {})
        names = {f.name for f in fields(TrainConfig)}
        config = TrainConfig(**{k: v for k, v in recorded.items() if k in names})
    config = replace(config, **given)
    if params is None:
        params = (None if previous is None else manifest_params(previous.manifest)) or BlendParams()
    fitter = IncrementalContent(
        previous,
        max_new_terms=max_new_terms,
        refit_after_days=refit_after_days,
        force_full=force_full,
        mapper=mapper,
    )
    return IncrementalPlan(fitter, config, params)


def describe(training: dict[str, Any] | None) -> str:
    """The summary's line on how the content stage ran."""
    if not training:
        return "training: full"
    if training.get("mode") != "incremental":
        return f"training: full ({training.get('reason')})"
    return (
        f"training: incremental from {training['from_version']} ({training['reason']}; "
        f"vocabulary fitted {training['vocabulary_fitted_at']}): "
        f"{training['new_articles']} new, {training['changed_articles']} changed, "
        f"{training['removed_articles']} removed, {training['recomputed_rows']} lists "
        f"recomputed, {training['reverse_additions']} reverse additions; new terms "
        f"{training['new_term_share']:.1%} of the new articles' words "
        f"(full refit above {training['max_new_terms']:.0%})"
    )
