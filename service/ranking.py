"""From a loaded bundle and parsed parameters to the JSON-ready answers of the API.

:func:`related_response` is the hook for later ranking work (editorial rules, live counts): it
calls :func:`recommender.blend.related`, the one ranking function the offline evaluation also
calls, and builds the response dictionary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from recommender.blend import (
    BlendParams,
    Filters,
    Popular,
    Scored,
    Signals,
    popular_from_views,
    related,
)
from recommender.bundle import Bundle
from recommender.caps import Caps
from recommender.errors import BundleError
from recommender.reading import DEFAULT_WORDS_PER_MINUTE, reading_minutes
from recommender.rowfactors import RowFactors
from recommender.stories import Stories
from recommender.windows import DAY, WINDOWS
from service.editorial.rules import ActiveRules, Rule, apply_rules
from service.params import LatestParams, MostViewedParams, RelatedParams
from service.settings import ServedBlend, Settings, served_blend

#: The score parts of ``explain`` (besides ``final`` and ``rule``), in the answer's order.
EXPLAIN_PARTS = (
    "content",
    "coview",
    "coview_count",
    "freshness",
    "coview_weight",
    "popularity",
    "section",
    "content_cosine",
    "coview_score",
)
_categories: weakref.WeakKeyDictionary[Bundle, frozenset[str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class RankingOptions:
    """Service-wide ranking settings (from :class:`service.settings.Settings`).

    Attributes
    ----------
    blend : BlendParams
        Weights and half-lives of the hybrid ranking.
    window : str
        Popularity window of the fallback lists.
    now_from_clock : bool
        Measure ages against the wall clock instead of the bundle's ``now``.
    words_per_minute : int
        Reading speed of ``reading_minutes``.
    max_per_section, max_per_author : int or None
        The site's diversity caps of related lists (a request's own replace them).
    per_story : int
        Items of one story a related list shows (0: no same-story collapsing; a request's
        own replaces it).
    served : ServedBlend or None
        Where each blend setting came from (environment, bundle, default), when the options
        are a bundle's (:class:`ServedOptions`).
    """

    blend: BlendParams = field(default_factory=BlendParams)
    window: str = "7d"
    now_from_clock: bool = False
    words_per_minute: int = DEFAULT_WORDS_PER_MINUTE
    max_per_section: int | None = None
    max_per_author: int | None = None
    per_story: int = 1
    served: ServedBlend | None = None


def options_digest(options: RankingOptions) -> str:
    """12 hex digits naming every setting of ``options`` that shapes an answer (blend, window,
    clock, reading speed, caps, same-story collapsing; not where each came from): cache keys
    carry it, so a restart with other settings never reads the answers of the old ones."""
    named = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    named["blend"] = options.blend.to_dict()
    del named["served"]
    text = json.dumps(named, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class ServedOptions:
    """The ranking options each bundle is served with: the service-wide ones, with the blend
    settings :func:`service.settings.served_blend` takes from the environment, the bundle's
    manifest and the defaults (memoised per bundle)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = RankingOptions(
            blend=settings.blend_params(),
            window=settings.fallback_window,
            now_from_clock=settings.now_from_clock,
            words_per_minute=settings.words_per_minute,
            max_per_section=settings.max_per_section,
            max_per_author=settings.max_per_author,
            per_story=settings.per_story,
        )
        self._by_bundle: weakref.WeakKeyDictionary[Bundle, RankingOptions] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, bundle: Bundle) -> RankingOptions:
        """The options of ``bundle``.

        Raises
        ------
        BundleError
            Its manifest records a blend setting this version refuses.
        """
        found = self._by_bundle.get(bundle)
        if found is None:
            served = served_blend(self.settings, bundle.manifest)
            found = dataclasses.replace(self.base, blend=served.params, served=served)
            self._by_bundle[bundle] = found
        return found


def manifest_now(bundle: Bundle) -> int:
    """The end of the bundle's popularity windows, unix seconds.

    Raises
    ------
    BundleError
        When the manifest has no valid ``now``.
    """
    try:
        return int(dt.datetime.fromisoformat(bundle.manifest["now"]).timestamp())
    except (KeyError, TypeError, ValueError):
        raise BundleError(f"{bundle.path}: manifest has no valid 'now'") from None


def now_ts(bundle: Bundle, options: RankingOptions) -> int:
    """The "now" of ages and freshness: the bundle's end of data, or the clock if configured.

    The demo data ends on a fixed date; measured from today's clock every sample article would
    be weeks old, so the model's own ``now`` is the default.
    """
    return int(time.time()) if options.now_from_clock else manifest_now(bundle)


def known_categories(bundle: Bundle) -> frozenset[str]:
    """The sections of a bundle (memoised per bundle)."""
    found = _categories.get(bundle)
    if found is None:
        found = bundle.known_categories()
        _categories[bundle] = found
    return found


class Source(Protocol):
    """What the answers read of the articles, one interface for the bundle alone
    (:class:`BundleView`) and the live layer's view of it (:class:`service.live.view.LiveView`:
    the bundle with articles published, changed or unpublished since, and popularity merged
    with live counts). A live view over an empty overlay with no live views answers as the
    bundle does."""

    @property
    def categories(self) -> Sequence[str]: ...

    @property
    def published_ts(self) -> np.ndarray: ...

    def row(self, article_id: str) -> int: ...

    def has(self, article_id: str) -> bool: ...

    def article(self, row: int) -> dict[str, Any]: ...

    def status(self, row: int) -> str: ...

    def known_categories(self) -> frozenset[str]: ...

    def signals(self, row: int) -> Signals: ...

    def window_views(self, window: str, category: str | None = None) -> np.ndarray: ...

    def popular(self, limit: int) -> Popular: ...

    def views(self, row: int) -> dict[str, int]: ...

    def recent_views(self, row: int) -> dict[str, int] | None: ...

    def popular_rows(self, window: str = "7d", category: str | None = None) -> np.ndarray: ...

    def words(self, row: int) -> int | None: ...

    def authors(self) -> Sequence[str] | None: ...

    def latest_rows(self, category: str | None = None) -> np.ndarray: ...

    def stories(self) -> np.ndarray | Sequence[int] | None: ...


def newest_first(
    published_ts: np.ndarray, mask: np.ndarray, id_order: np.ndarray | None = None
) -> np.ndarray:
    """The dated rows of ``mask``, newest first, ties by article id (``id_order``: each row's
    rank in article id order; default: rows are in id order)."""
    published = np.asarray(published_ts)
    rows = np.flatnonzero(np.asarray(mask, dtype=bool) & (published >= 0))
    ties = rows if id_order is None else id_order[rows]
    return rows[np.lexsort((ties, -published[rows]))]


class BundleView:
    """A :class:`Source` of the bundle alone (no live layer): its own articles, sections,
    signals and popularity windows."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self._populars: dict[int, Popular] = {}
        self._latest: dict[str | None, np.ndarray] = {}

    @property
    def categories(self) -> Sequence[str]:
        return self.bundle.categories

    @property
    def published_ts(self) -> np.ndarray:
        return self.bundle.published_ts

    def row(self, article_id: str) -> int:
        return self.bundle.row(article_id)

    def has(self, article_id: str) -> bool:
        return self.bundle.has(article_id)

    def article(self, row: int) -> dict[str, Any]:
        return self.bundle.article(row)

    def status(self, row: int) -> str:
        return self.bundle.status(row)

    def known_categories(self) -> frozenset[str]:
        return known_categories(self.bundle)

    def signals(self, row: int) -> Signals:
        return self.bundle

    def window_views(self, window: str, category: str | None = None) -> np.ndarray:
        """Views per row in one of the bundle's windows (``category`` changes nothing: the
        bundle's counts are per article)."""
        return self.bundle.popularity_views[:, WINDOWS.index(window)]

    def popular(self, limit: int) -> Popular:
        """The bundle's last day, for the hybrid's popularity prior (memoised)."""
        popular = self._populars.get(limit)
        if popular is None:
            bundle = self.bundle
            popular = popular_from_views(
                bundle.popularity_views[:, WINDOWS.index("1d")],
                bundle.is_published,
                bundle.similarity,
                limit,
            )
            popular = self._populars[limit] = dataclasses.replace(
                popular, similarity=bundle.similarity.among(popular.rows), factors=RowFactors()
            )
        return popular

    def views(self, row: int) -> dict[str, int]:
        counts = self.bundle.popularity_views[row]
        return {window: int(counts[i]) for i, window in enumerate(WINDOWS)}

    def recent_views(self, row: int) -> dict[str, int] | None:
        """None: the bundle has no live windows."""
        return None

    def popular_rows(self, window: str = "7d", category: str | None = None) -> np.ndarray:
        return self.bundle.popular_rows(window, category)

    def words(self, row: int) -> int | None:
        return self.bundle.words(row)

    def authors(self) -> Sequence[str] | None:
        return self.bundle.authors

    def stories(self) -> np.ndarray | None:
        """Each row's story, ``None`` for a bundle trained before stories."""
        return self.bundle.story_clusters

    def latest_rows(self, category: str | None = None) -> np.ndarray:
        """Published, dated rows, newest first, ties by article id (memoised per section)."""
        found = self._latest.get(category)
        if found is None:
            mask = self.bundle.is_published
            if category is not None:
                mask = mask & self.bundle.in_category(category)
            found = self._latest[category] = newest_first(self.bundle.published_ts, mask)
        return found


_bundle_views: weakref.WeakKeyDictionary[Bundle, BundleView] = weakref.WeakKeyDictionary()


def source(bundle: Bundle, live: Source | None) -> Source:
    """What the answers read: the live view when there is one, else the bundle's own
    (memoised per bundle)."""
    if live is not None:
        return live
    found = _bundle_views.get(bundle)
    if found is None:
        found = _bundle_views[bundle] = BundleView(bundle)
    return found


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def card(src: Source, row: int, words_per_minute: int) -> dict[str, Any]:
    """What every item and article answer says of an article: its metadata, and
    ``reading_minutes`` when its word count is known (left out otherwise)."""
    item = src.article(row)
    words = src.words(row)
    minutes = None if words is None else reading_minutes(words, words_per_minute)
    if minutes is not None:
        item["reading_minutes"] = minutes
    return item


def _item(
    bundle: Source,
    scored: Scored,
    explain: bool,
    rule: Rule | None = None,
    words_per_minute: int = DEFAULT_WORDS_PER_MINUTE,
) -> dict[str, Any]:
    item = card(bundle, scored.row, words_per_minute)
    item["score"] = _round(scored.score)
    item["source"] = scored.source
    if explain:
        parts: dict[str, Any] = {name: getattr(scored, name) for name in EXPLAIN_PARTS}
        for name in (
            "content",
            "coview",
            "freshness",
            "coview_weight",
            "popularity",
            "section",
            "content_cosine",
            "coview_score",
        ):
            parts[name] = _round(parts[name])
        parts["final"] = _round(scored.score)
        if rule is not None:
            parts["rule"] = rule.public()
        if scored.over_cap is not None:
            parts["over_cap"] = scored.over_cap
        item["explain"] = parts
    return item


def caps_for(params: RelatedParams, options: RankingOptions) -> tuple[int | None, int | None]:
    """The caps a related request gets: its own (0: none), else the site's."""

    def pick(asked: int | None, site: int | None) -> int | None:
        return site if asked is None else (asked or None)

    return (
        pick(params.max_per_section, options.max_per_section),
        pick(params.max_per_author, options.max_per_author),
    )


def _fallback(
    bundle: Source, rows: np.ndarray, now: int, max_age_days: float | None, limit: int
) -> np.ndarray:
    """The first ``limit`` rows of a popularity ranking that pass the age filter.

    Trimming here, vectorised, keeps the ranking loop short whatever the filters: it needs at
    most ``n`` new rows plus the ones already chosen, excluded or the query.
    """
    if max_age_days is not None and rows.size:
        published = bundle.published_ts[rows]
        rows = rows[(published >= 0) & (now - published <= max_age_days * DAY)]
    return rows[:limit]


def related_response(
    bundle: Bundle,
    article_id: str,
    params: RelatedParams,
    options: RankingOptions | None = None,
    rules: ActiveRules | None = None,
    live: Source | None = None,
) -> dict[str, Any]:
    """The answer of ``GET /v1/articles/{article_id}/related``.

    ``rules`` are the editorial pins and blocks in force (:mod:`service.editorial.rules`); with
    ``explain`` a pinned item names its rule and ``blocked`` lists what blocks removed.
    ``live`` is the live layer's view of ``bundle``: articles published since are candidates
    (and can be asked about), unpublished ones are not, content lists gain the articles
    folded in since (see :mod:`service.live.catalogue`) and the fallback lists rank by merged live
    counts.

    Raises
    ------
    UnknownArticleError
        When the bundle does not know ``article_id``.
    """
    options = options or RankingOptions()
    src = source(bundle, live)
    row = src.row(article_id)
    answer: dict[str, Any] = {
        "article_id": article_id,
        "model_version": bundle.version,
        "strategy": params.strategy,
        "items": [],
    }
    if params.category is not None and params.category not in src.known_categories():
        return answer
    now = now_ts(bundle, options)
    exclude = {src.row(a) for a in params.exclude if src.has(a)}
    page = rules.page(src, article_id, src.categories[row]) if rules is not None else None
    # Rules remove blocked and pinned rows from the organic list: rank that many more.
    wanted = params.n + (page.extra if page is not None else 0)
    limit = 2 * wanted + 1 + len(exclude)
    section = params.category if params.category is not None else src.categories[row]
    section_popular = _fallback(
        src, src.popular_rows(options.window, section), now, params.max_age_days, limit
    )
    # With a category filter every other section is filtered out anyway.
    site_popular = (
        np.zeros(0, dtype=np.int32)
        if params.category is not None
        else _fallback(src, src.popular_rows(options.window), now, params.max_age_days, limit)
    )
    filters = Filters(exclude=exclude, category=params.category, max_age_days=params.max_age_days)
    signals = src.signals(row)
    per_section, per_author = caps_for(params, options)
    caps = None
    if per_section is not None or per_author is not None:
        caps = Caps(per_section, per_author, src.authors())
    skipped: list[tuple[int, str]] = []
    per_story = options.per_story if params.per_story is None else params.per_story
    clusters = src.stories() if per_story > 0 else None
    stories = Stories(clusters, per_story) if clusters is not None else None
    collapsed: list[tuple[int, int]] = []
    ranked = related(
        signals,
        row,
        wanted,
        now_ts=now,
        strategy=params.strategy,
        params=options.blend,
        filters=filters,
        section_popular=section_popular,
        site_popular=site_popular,
        popular=src.popular(options.blend.popular_candidates)
        if params.strategy == "hybrid"
        else None,
        caps=caps,
        skipped=skipped,
        stories=stories,
        collapsed=collapsed,
    )
    wpm = options.words_per_minute
    if params.explain and stories is not None:
        answer["per_story"] = per_story
    if params.explain and collapsed:
        answer["collapsed"] = [
            {"id": src.article(r)["id"], "under": src.article(u)["id"]} for r, u in collapsed
        ]
    if params.explain and caps is not None:
        answer["caps"] = {"max_per_section": per_section, "max_per_author": per_author}
        authors = caps.authors
        answer["capped"] = [
            {
                "id": src.article(r)["id"],
                "cap": cap,
                "value": src.categories[r]
                if cap == "max_per_section"
                else (authors[r] if authors is not None else ""),
            }
            for r, cap in skipped
        ]
    if page is None:
        answer["items"] = [_item(src, scored, params.explain, None, wpm) for scored in ranked]
        return answer
    placed, blocked = apply_rules(
        page,
        ranked,
        params.n,
        allows=lambda r: r != row and filters.allows(signals, r, now),
    )
    answer["items"] = [_item(src, p.scored, params.explain, p.rule, wpm) for p in placed]
    if params.explain and blocked:
        answer["blocked"] = [
            {"id": src.article(s.row)["id"], "rule": rule.public()} for s, rule in blocked
        ]
    return answer


def most_viewed_response(
    bundle: Bundle,
    params: MostViewedParams,
    options: RankingOptions | None = None,
    rules: ActiveRules | None = None,
    live: Source | None = None,
) -> dict[str, Any]:
    """The answer of ``GET /v1/most-viewed``: published articles with views in the window
    (without articles an editorial rule blocks everywhere); with ``live``, views merged with
    the live counts and the live windows ``1h`` and ``24h`` (see :mod:`service.live`)."""
    options = options or RankingOptions()
    src = source(bundle, live)
    answer: dict[str, Any] = {
        "model_version": bundle.version,
        "window": params.window,
        "category": params.category,
        "items": [],
    }
    if params.category is not None and params.category not in src.known_categories():
        return answer
    views = src.window_views(params.window, params.category)
    rows = src.popular_rows(params.window, params.category)
    rows = rows[views[rows] > 0]
    blocked = rules.blocked_everywhere() if rules is not None else None
    if blocked:
        rows = rows[~np.isin(rows, [src.row(a) for a in blocked if src.has(a)])]
    if params.published_within_days is not None:
        now = now_ts(bundle, options)
        published = src.published_ts[rows]
        rows = rows[(published >= 0) & (now - published <= params.published_within_days * DAY)]
    wpm = options.words_per_minute
    answer["items"] = [{**card(src, int(r), wpm), "views": int(views[r])} for r in rows[: params.n]]
    return answer


def latest_response(
    bundle: Bundle,
    params: LatestParams,
    options: RankingOptions | None = None,
    rules: ActiveRules | None = None,
    live: Source | None = None,
) -> dict[str, Any]:
    """The answer of ``GET /v1/latest``: the newest published articles (by ``published_at``,
    ties by article id), optionally of one section, without the excluded ids, articles
    without a date, articles an editorial rule blocks everywhere and, with ``max_age_days``,
    older ones. With ``live``, articles published or unpublished since the bundle count at
    once (the live catalogue's)."""
    options = options or RankingOptions()
    src = source(bundle, live)
    answer: dict[str, Any] = {
        "model_version": bundle.version,
        "category": params.category,
        "items": [],
    }
    if params.category is not None and params.category not in src.known_categories():
        return answer
    rows = src.latest_rows(params.category)
    hidden = [src.row(a) for a in params.exclude if src.has(a)]
    blocked = rules.blocked_everywhere() if rules is not None else None
    if blocked:
        hidden += [src.row(a) for a in blocked if src.has(a)]
    if params.max_age_days is not None:
        now = now_ts(bundle, options)
        rows = rows[now - src.published_ts[rows] <= params.max_age_days * DAY]
    # only the first n (plus the hidden) can be shown: test those, not the whole catalogue
    head = rows[: params.n + len(hidden)]
    if hidden:
        head = head[~np.isin(head, hidden)]
    answer["items"] = [card(src, int(r), options.words_per_minute) for r in head[: params.n]]
    return answer


def compact_count(count: int) -> str:
    """A count in a few characters: ``"950"``, ``"1.7k"``, ``"12k"``, ``"1.2M"``; rounded
    down, so it never claims more than there was."""
    if count < 1000:
        return str(count)
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1000, "k")):
        if count >= size:
            whole, rest = divmod(count, size)
            if whole < 10:
                tenth = rest * 10 // size
                return f"{whole}.{tenth}{suffix}" if tenth else f"{whole}{suffix}"
            return f"{whole}{suffix}"
    raise AssertionError("unreachable")  # pragma: no cover


def views_label(count: int) -> str:
    """A short view count for a page: ``"1 view"``, ``"950 views"``, ``"1.7k views"``.

    Rounded down, so the label never claims more views than there were.
    """
    return "1 view" if count == 1 else f"{compact_count(count)} views"


def article_response(
    bundle: Bundle,
    article_id: str,
    live: Source | None = None,
    options: RankingOptions | None = None,
) -> dict[str, Any]:
    """The answer of ``GET /v1/articles/{article_id}``: metadata, reading time and view counts
    (with ``live``: merged with the live counts, plus ``recent_views`` of the live windows)."""
    options = options or RankingOptions()
    src = source(bundle, live)
    row = src.row(article_id)
    views = src.views(row)
    answer = {
        **card(src, row, options.words_per_minute),
        "status": src.status(row),
        "model_version": bundle.version,
        "views": views,
    }
    recent = src.recent_views(row)
    if recent is not None:
        answer["recent_views"] = recent
    answer["views_label"] = views_label(views["all"])
    return answer


def model_summary(
    bundle: Bundle, loaded_at: float, options: RankingOptions | None = None
) -> dict[str, Any]:
    """The answer of ``GET /v1/model``: what the loaded bundle is, and (with the bundle's
    ``options``) the blend settings it is served with, each with its source."""
    manifest = bundle.manifest
    served = options.served if options is not None else None
    blend = served.describe() if served is not None else None
    calibration = manifest.get("calibration")
    return {
        "blend": blend,
        "calibration": calibration.get("status") if isinstance(calibration, dict) else None,
        "version": bundle.version,
        "created_at": manifest.get("created_at"),
        "now": manifest.get("now"),
        "loaded_at": dt.datetime.fromtimestamp(loaded_at, dt.UTC)
        .isoformat()
        .replace("+00:00", "Z"),
        "n_articles": len(bundle),
        "counts": manifest.get("counts", {}),
        "parameters": manifest.get("parameters", {}),
        "has_coview": bundle.has_coview,
        "views_kind": manifest.get("views_kind"),
    }


def smoke_check(bundle: Bundle, options: RankingOptions | None = None) -> None:
    """Refuse a bundle whose arrays cannot be served: run the queries the API runs.

    Raises
    ------
    BundleError
        When a neighbour points outside the catalogue, a score is not finite, the manifest has
        no ``now`` or a related query fails.
    """
    options = options or RankingOptions()
    n = len(bundle)
    if n == 0:
        raise BundleError(f"{bundle.path}: the bundle has no articles")
    manifest_now(bundle)
    pairs = [("content", bundle.content_neighbors, bundle.content_scores)]
    if bundle.has_coview:
        if bundle.coview_neighbors is None or bundle.coview_scores is None:
            raise BundleError(f"{bundle.path}: has_coview but no co-view arrays")
        pairs.append(("coview", bundle.coview_neighbors, bundle.coview_scores))
    for name, neighbors, scores in pairs:
        if neighbors.shape != scores.shape or neighbors.shape[0] != n:
            raise BundleError(f"{bundle.path}: {name} neighbours and scores disagree in shape")
        if neighbors.size and (int(neighbors.max()) >= n or int(neighbors.min()) < -1):
            raise BundleError(f"{bundle.path}: {name} neighbours point outside the catalogue")
        if not np.isfinite(scores).all():
            raise BundleError(f"{bundle.path}: {name} scores are not all finite")
    if bundle.popularity_views.shape != (n, len(WINDOWS)):
        raise BundleError(f"{bundle.path}: popularity_views is not {n} x {len(WINDOWS)}")
    published = np.flatnonzero(bundle.is_published)
    probe = bundle.article_id(int(published[0]) if published.size else 0)
    try:
        related_response(bundle, probe, RelatedParams(n=6, explain=True), options)
        most_viewed_response(bundle, MostViewedParams(n=6), options)
        latest_response(bundle, LatestParams(n=6), options)
        article_response(bundle, probe, None, options)
    except Exception as exc:  # any failure of a test query means: do not serve this bundle
        raise BundleError(f"{bundle.path}: a test query for {probe!r} failed: {exc!r}") from exc
