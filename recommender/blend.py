"""Ranking for a page: hybrid blend of content and co-view scores, filters and fallbacks.

The service and the offline evaluation both call :func:`related`, so what is evaluated is what
readers get.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from recommender._unique import unique_inverse
from recommender.caps import CapCount, Caps
from recommender.config import blend_settings_from_table, check_blend_value, read_toml_table
from recommender.freshness import freshness_factors
from recommender.rowfactors import RowFactors, half_lives
from recommender.stories import Stories, StoryCount
from recommender.windows import DAY

#: The rankings :func:`related` computes (the offline evaluation replays more:
#: :data:`recommender.evaluation.lists.REPLAY_STRATEGIES`).
STRATEGIES = ("hybrid", "content", "coview")
#: Where an item came from, in the order the fallback chain tries them.
SOURCES = ("related", "section_popular", "popular")


@dataclass(frozen=True)
class BlendParams:
    """Settings of the hybrid ranking.

    Attributes
    ----------
    content_weight : float
        Weight of the (max-normalised) content score.
    coview_weight : float
        Weight of the (max-normalised) co-view score once the query article has plenty of
        co-view evidence.
    coview_evidence : float
        Sessions that read the query article at which the co-view weight reaches half of
        ``coview_weight``; the weight is ``coview_weight * s / (s + coview_evidence)``, so a new
        article leans on content and a well-read one on co-views.
    half_life_days : float or None
        Freshness half-life of a candidate's age; ``None`` turns freshness off.
    section_half_life_days : mapping of str to float
        Per-section half-lives overriding ``half_life_days`` (sport results age faster than
        long reads).
    freshness_weight : float
        How much freshness may move a candidate: its factor is ``(1 - w) + w * decay``
        (:func:`recommender.freshness.freshness_factors`), so an article of any age keeps at
        least ``1 - w`` of its relevance (0.9 at most: freshness re-orders relevant
        candidates, it never erases them); 0 turns freshness off as ``half_life_days = off``
        does.
    popularity_weight : float
        Weight of each candidate's recent views ("related and read now"): the hybrid score
        is multiplied by ``(1 + v) ** popularity_weight``, ``v`` the candidate's views in the
        recent window (:class:`Popular`: the last 24 hours as the service counts them; the
        bundle's last day without one). Readers of a story open its articles that others are
        reading, and popularity also tells which of several similar articles is the live
        one. 0 turns it off; 0.5 did best among 0.25-1 on generated data, and ``newsrec tune``
        keeps it on a validation period (bench/RESULTS-quality.md).
    popular_candidates : int
        How many of the most read articles of the recent window (:attr:`Popular.rows`) join
        the hybrid's candidates with their content similarity to the query, beside the
        trained content and co-view lists: a story's most read article is not always among
        the query's closest neighbours in text. 0 turns it off.
    popular_min_similarity : float
        A popular candidate joins only with a content similarity of at least this share of
        the query's closest neighbour's: a site-wide hit sharing a few common words with the
        page is not related to it, however read.
    section_weight : float
        A candidate of the query's own section (both known) has its hybrid score multiplied
        by ``1 + section_weight``: on a shop's real "also viewed" lists 95% of the links stay
        in their category (bench/RESULTS-quality-real.md). 0 (the default) turns it off; the
        self-calibration weighs it on the site's own log.
    """

    content_weight: float = 1.0
    coview_weight: float = 1.5
    coview_evidence: float = 10.0
    half_life_days: float | None = 3.0
    section_half_life_days: Mapping[str, float] = field(default_factory=dict)
    freshness_weight: float = 0.75
    popularity_weight: float = 0.5
    popular_candidates: int = 300
    popular_min_similarity: float = 0.25
    section_weight: float = 0.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "section_half_life_days":
                for days in value.values():
                    check_blend_value(item.name, days)
            else:
                check_blend_value(item.name, value)

    def half_life(self, category: str) -> float | None:
        """The freshness half-life of a section (``None``: freshness off)."""
        return self.section_half_life_days.get(category, self.half_life_days)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], path: str | Path = "<blend>") -> BlendParams:
        """The settings of a ``[blend]`` table, checked as a whole
        (:func:`recommender.config.blend_settings_from_table`).

        ``half_life_days = "off"`` (or ``false``) turns freshness off; unknown keys are an
        error.

        Raises
        ------
        DataError
            Naming ``path`` and the setting.
        """
        return cls(**blend_settings_from_table(table, path))

    def to_dict(self) -> dict[str, Any]:
        """Every setting by name, as JSON and :meth:`from_table` take them (``None``: off;
        ``section_half_life_days`` a plain dict): what a bundle's manifest records."""
        out = {item.name: getattr(self, item.name) for item in fields(self)}
        out["section_half_life_days"] = dict(self.section_half_life_days)
        return out

    @classmethod
    def from_toml(cls, path: str | Path) -> BlendParams:
        """Read the ``[blend]`` table of a TOML file (defaults when there is none).

        Parameters
        ----------
        path : path
            A TOML file such as the one ``newsrec tune`` writes.

        Returns
        -------
        BlendParams

        Raises
        ------
        DataError
            The file is missing or not TOML, or ``[blend]`` has an unknown key or a bad value.
        """
        return cls.from_table(read_toml_table(path, "blend"), path)


def manifest_params(manifest: Mapping[str, Any]) -> BlendParams | None:
    """The blend settings a bundle's manifest records (``blend``: what it was trained,
    calibrated or tuned with, and is served with), or ``None`` for a bundle that records none
    (trained before manifests held them).

    Raises
    ------
    DataError
        A recorded value the bounds refuse.
    """
    recorded = manifest.get("blend")
    if not isinstance(recorded, Mapping):
        return None
    known = {item.name for item in fields(BlendParams)}
    # a setting of another version of the library is not one this version can serve
    return BlendParams.from_table({k: v for k, v in recorded.items() if k in known}, "manifest")


@dataclass(frozen=True)
class Scored:
    """One recommended article row with its score parts (``None`` where a part is unused)."""

    row: int
    score: float
    source: str
    content: float | None = None
    coview: float | None = None
    coview_count: int | None = None
    freshness: float | None = None
    coview_weight: float | None = None
    popularity: float | None = None
    #: the same-section factor ``1 + section_weight`` (1: another section); ``None`` when unused
    section: float | None = None
    #: the cap the item exceeds (``"max_per_section"``, ``"max_per_author"``): taken only
    #: because the list could not be filled within the caps (see :class:`Caps`)
    over_cap: str | None = None
    #: The raw signals (TF-IDF cosine, co-view score) before the hybrid scales each to its
    #: list's best; ``content`` and ``coview`` are these for the single-signal strategies.
    content_cosine: float | None = None
    coview_score: float | None = None


class Signals(Protocol):
    """What ranking reads from a model bundle (see :class:`recommender.bundle.Bundle`)."""

    @property
    def categories(self) -> Sequence[str]: ...  # read-only: a bundle's reads its article table

    published_ts: np.ndarray
    is_published: np.ndarray
    content_neighbors: np.ndarray
    content_scores: np.ndarray
    has_coview: bool
    coview_neighbors: np.ndarray | None
    coview_scores: np.ndarray | None
    coview_counts: np.ndarray | None
    coview_support: np.ndarray | None
    #: Views per row in the windows of :data:`recommender.windows.WINDOWS` (columns).
    popularity_views: np.ndarray


@dataclass
class SignalArrays:
    """:class:`Signals` as plain arrays: a bundle's with rows appended or a list replaced (the
    live catalogue, the offline replay), or a catalogue built by hand."""

    categories: Sequence[str]
    published_ts: np.ndarray
    is_published: np.ndarray
    content_neighbors: np.ndarray
    content_scores: np.ndarray
    has_coview: bool
    coview_neighbors: np.ndarray | None
    coview_scores: np.ndarray | None
    coview_counts: np.ndarray | None
    coview_support: np.ndarray | None
    popularity_views: np.ndarray


@dataclass(frozen=True)
class Popular:
    """What readers are opening now, for the hybrid's popularity prior and extra candidates.

    Attributes
    ----------
    views : ndarray of float
        Views per row in the recent window (rows the array does not reach have none).
    rows : ndarray of int
        The most read published rows of the window, most read first (ties by row).
    similarity : callable
        ``similarity(row, rows)``: the content cosine of a row with each of ``rows``, as
        the trained content lists score it (0 when either has no vector).
    quiet : bool
        No row has a view in the window (a site that sends no view events, or none yet): the
        callers then use the bundle's last day instead.
    factors : RowFactors or None
        Whole-catalogue freshness and popularity factors shared by the queries ranked with
        this :class:`Popular` (a service's tick); ``None``: each query computes its
        candidates' (the same values).
    """

    views: np.ndarray
    rows: np.ndarray
    similarity: Callable[[int, np.ndarray], np.ndarray]
    quiet: bool = False
    factors: RowFactors | None = field(default=None, compare=False)

    def views_of(self, rows: np.ndarray) -> np.ndarray:
        if rows.size and int(np.maximum.reduce(rows)) < self.views.size:
            return np.asarray(self.views[rows], dtype=np.float64)  # every row inside (usual)
        out = np.zeros(rows.size, dtype=np.float64)
        inside = rows < self.views.size
        out[inside] = self.views[rows[inside]]
        return out


def popular_from_views(
    views: np.ndarray,
    is_published: np.ndarray,
    similarity: Callable[[int, np.ndarray], np.ndarray],
    limit: int,
) -> Popular:
    """A :class:`Popular` of ``views`` per row: the ``limit`` most read published rows with a
    view, most read first, ties by row."""
    views = np.asarray(views, dtype=np.float64)
    read = views > 0
    candidates = np.flatnonzero(np.asarray(is_published, dtype=bool)[: views.size] & read)
    if limit <= 0:
        candidates = candidates[:0]
    elif limit < candidates.size:
        threshold = np.partition(views[candidates], candidates.size - limit)[
            candidates.size - limit
        ]
        candidates = candidates[views[candidates] >= threshold]
    order = np.lexsort((candidates, -views[candidates]))[:limit]
    return Popular(views, candidates[order].astype(np.int64), similarity, not bool(read.any()))


def coview_weight(signals: Signals, row: int, params: BlendParams) -> float:
    """The co-view weight for a query row, growing with its co-view evidence."""
    if not signals.has_coview or signals.coview_support is None:
        return 0.0
    support = float(signals.coview_support[row])
    return params.coview_weight * support / (support + params.coview_evidence)


#: Every field of :class:`Scored` with its default: :meth:`_Candidates.items` fills an
#: item's ``__dict__`` at once, which costs a fifth of the frozen dataclass's ``__init__``
#: (one ``object.__setattr__`` per field) on the hot path of every uncached answer.
_SCORED_DEFAULTS = {f.name: f.default for f in fields(Scored)}


@dataclass(frozen=True)
class _Candidates:
    """Candidates of one query as parallel arrays in the order they were merged, and
    ``order``, best first (only ``rows`` is kept sorted: the other arrays are read for the
    few items a list shows, at ``order[position]``)."""

    rows: np.ndarray  # best first
    order: np.ndarray
    score: np.ndarray
    content: np.ndarray  # NaN where the signal does not list the candidate
    coview: np.ndarray
    coview_count: np.ndarray  # -1 where unknown
    freshness: np.ndarray  # NaN when unused
    coview_weight: float | None
    popularity: np.ndarray  # the factor (1 + v) ** w; NaN when unused
    #: what ``content`` and ``coview`` were divided by (the hybrid's max-normalisation)
    content_top: float = 1.0
    coview_top: float = 1.0
    #: the same-section factor of each candidate; ``None`` when unused
    section: np.ndarray | None = None

    def items(self, positions: list[int]) -> list[Scored]:
        """The candidates at ``positions`` (of the best-first order) as :class:`Scored` (one
        conversion per array)."""
        if not positions:
            return []
        take = self.order[positions]
        parts = (self.score, self.content, self.coview, self.freshness, self.popularity)
        columns = [a[take].tolist() for a in parts]
        rows = [int(r) for r in self.rows[positions].tolist()]
        counts = self.coview_count[take].tolist()
        sections: list[float | None] = (
            [None] * take.size if self.section is None else self.section[take].tolist()
        )
        w = self.coview_weight
        c_top, v_top = self.content_top, self.coview_top
        out = []
        new = object.__new__
        for row, score, content, coview, fresh, pop, count, section in zip(
            rows, *columns, counts, sections, strict=True
        ):
            item = new(Scored)
            item.__dict__.update(
                _SCORED_DEFAULTS,
                row=row,
                score=score,
                source="related",
                content=None if content != content else content,  # NaN: not listed
                coview=None if coview != coview else coview,
                coview_count=None if count < 0 else int(count),
                freshness=None if fresh != fresh else fresh,
                coview_weight=w,
                popularity=None if pop != pop else pop,
                section=section,
                content_cosine=None if content != content else content * c_top,
                coview_score=None if coview != coview else coview * v_top,
            )
            out.append(item)
        return out


def _listed(neighbors: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = neighbors >= 0
    return neighbors[valid].astype(np.int64), scores[valid].astype(np.float64)


def _freshness(
    signals: Signals,
    rows: np.ndarray,
    params: BlendParams,
    now_ts: int,
    factors: RowFactors | None = None,
) -> np.ndarray:
    if factors is not None:
        table = factors.freshness(signals.published_ts, params, now_ts)
        if table is not None:
            found: np.ndarray = table[rows]
            return found
    published = np.asarray(signals.published_ts[rows], dtype=np.int64)
    lives = half_lives(params, signals.categories, rows)
    return freshness_factors(published, now_ts, lives, params.freshness_weight)


#: Column of :attr:`Signals.popularity_views` the popularity prior reads without a
#: :class:`Popular` (``1d``: the bundle's last day).
POPULARITY_WINDOW = 0


def _popularity(
    signals: Signals, rows: np.ndarray, params: BlendParams, popular: Popular | None
) -> np.ndarray | None:
    """The factor ``(1 + v) ** w`` of each candidate, or ``None`` when the weight is 0."""
    if params.popularity_weight <= 0 or rows.size == 0:
        return None
    if popular is not None:
        if popular.factors is not None:
            table = popular.factors.popularity(popular.views, params.popularity_weight)
            # rows are ascending (unique): the last is the largest
            if table is not None and int(rows[-1]) < table.size:
                found: np.ndarray = table[rows]
                return found
        views = popular.views_of(rows)
    else:
        views = np.asarray(signals.popularity_views[rows, POPULARITY_WINDOW], dtype=np.float64)
    factor: np.ndarray = np.power(1.0 + np.maximum(views, 0.0), params.popularity_weight)
    return factor


def _popular_candidates(
    row: int, listed: np.ndarray, scores: np.ndarray, params: BlendParams, popular: Popular | None
) -> tuple[np.ndarray, np.ndarray]:
    """The most read rows not already listed, with their content similarity to ``row``
    (those at least ``popular_min_similarity`` times the closest listed one's ``scores``)."""
    if popular is None or params.popular_candidates <= 0 or popular.rows.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    # all the rows when they are few enough: a tick's similarity has located them already
    rows = popular.rows
    top = rows if rows.size <= params.popular_candidates else rows[: params.popular_candidates]
    # each scored alone, as before; only the few above the threshold are compared with the list
    similarity = np.asarray(popular.similarity(row, top), dtype=np.float64)
    closest = float(np.maximum.reduce(scores)) if scores.size else 0.0
    keep = (similarity > max(params.popular_min_similarity * closest, 0.0)).nonzero()[0]
    extra = top[keep]
    if extra.size:
        fresh = extra != row
        if listed.size:
            fresh &= (extra[:, None] != listed[None, :]).all(axis=1)
        keep, extra = keep[fresh], extra[fresh]
    return extra, similarity[keep]


def _candidates(
    signals: Signals,
    row: int,
    strategy: str,
    params: BlendParams,
    now_ts: int,
    popular: Popular | None = None,
) -> _Candidates:
    # The hot path of every uncached answer: about 100 candidates, so the cost is the number
    # of numpy calls, not their size; duplicates are merged with one unique and bincounts.
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    c_rows, c_scores = _listed(signals.content_neighbors[row], signals.content_scores[row])
    if strategy == "hybrid":
        p_rows, p_scores = _popular_candidates(row, c_rows, c_scores, params, popular)
        if p_rows.size:
            c_rows = np.concatenate([c_rows, p_rows])
            c_scores = np.concatenate([c_scores, p_scores])
    nc = c_rows.size
    if signals.has_coview and signals.coview_neighbors is not None:
        assert signals.coview_scores is not None and signals.coview_counts is not None
        neighbors = signals.coview_neighbors[row]
        valid = neighbors >= 0
        v_rows = neighbors[valid].astype(np.int64)
        v_scores = signals.coview_scores[row][valid].astype(np.float64)
        v_counts = signals.coview_counts[row][valid].astype(np.float64)
    else:
        v_rows = np.zeros(0, dtype=np.int64)
        v_scores = v_counts = np.zeros(0, dtype=np.float64)
    rows, inverse = unique_inverse(np.concatenate([c_rows, v_rows]))
    m = rows.size
    in_content, in_coview = inverse[:nc], inverse[nc:]
    w_coview: float | None = None
    if strategy == "content" or strategy == "coview":
        content = np.full(m, np.nan)
        content[in_content] = c_scores
        coview = np.full(m, np.nan)
        coview[in_coview] = v_scores
        counts = np.full(m, -1.0)
        counts[in_coview] = v_counts
        listed = in_content if strategy == "content" else in_coview
        rows, content, coview, counts = (a[listed] for a in (rows, content, coview, counts))
        score = content if strategy == "content" else coview
        fresh = np.full(rows.size, np.nan)
        pop = np.full(rows.size, np.nan)
        section = None
        content_top = coview_top = 1.0  # the raw signals
    else:
        # each signal max-normalised to [0, 1] for this query, then blended
        content_top = (float(np.maximum.reduce(c_scores)) if nc else 0.0) or 1.0
        coview_top = (float(np.maximum.reduce(v_scores)) if v_scores.size else 0.0) or 1.0
        content = np.bincount(in_content, c_scores / content_top, minlength=m)
        coview = np.bincount(in_coview, v_scores / coview_top, minlength=m)
        counts = np.bincount(in_coview, v_counts, minlength=m)
        w_coview = coview_weight(signals, row, params)
        total = params.content_weight + w_coview
        weighted = params.content_weight * content + w_coview * coview
        blended = weighted / total if total > 0 else np.zeros(m)
        fresh = _freshness(
            signals, rows, params, now_ts, None if popular is None else popular.factors
        )
        score = blended * fresh
        factor = _popularity(signals, rows, params, popular)
        if factor is None:
            pop = np.full(m, np.nan)
        else:
            pop = factor
            score = score * factor
        section = _same_section(signals, row, rows, params)
        if section is not None:
            score = score * section
    # the hybrid's rows are ascending (unique): a stable sort by score keeps ties by row
    hybrid = strategy == "hybrid"
    order = (-score).argsort(kind="stable") if hybrid else np.lexsort((rows, -score))
    return _Candidates(
        rows[order],
        order,
        score,
        content,
        coview,
        counts,
        fresh,
        w_coview,
        pop,
        content_top=content_top,
        coview_top=coview_top,
        section=section,
    )


def _same_section(
    signals: Signals, row: int, rows: np.ndarray, params: BlendParams
) -> np.ndarray | None:
    """The factor ``1 + section_weight`` of each candidate of the query's own section (1 for
    the others, and for every candidate of an uncategorised query); ``None`` when the weight
    is 0."""
    if params.section_weight <= 0:
        return None
    own = signals.categories[row]
    if not own:
        return np.ones(rows.size)
    categories = signals.categories
    same = np.fromiter((categories[r] == own for r in rows.tolist()), bool, rows.size)
    return np.where(same, 1.0 + params.section_weight, 1.0)


def score_candidates(
    signals: Signals,
    row: int,
    strategy: str,
    params: BlendParams,
    now_ts: int,
    popular: Popular | None = None,
) -> list[Scored]:
    """Every related candidate of ``row`` with its score parts, best first (unfiltered).

    ``content`` and ``coview`` strategies rank by the raw signal (cosine, co-view score); the
    hybrid by the blend of both max-normalised signals times the candidate's freshness, and
    its items carry the normalised parts. ``popular`` (the hybrid only): what readers open
    now, for the popularity prior and the extra candidates.
    """
    candidates = _candidates(signals, row, strategy, params, now_ts, popular)
    return candidates.items(list(range(candidates.rows.size)))


@dataclass(frozen=True)
class Filters:
    """What a page allows: rows to leave out, one section, a maximum age."""

    exclude: Collection[int] = ()
    category: str | None = None
    max_age_days: float | None = None

    def allows(self, signals: Signals, row: int, now_ts: int) -> bool:
        if row in self.exclude or not signals.is_published[row]:
            return False
        if self.category is not None and signals.categories[row] != self.category:
            return False
        if self.max_age_days is not None:
            published = int(signals.published_ts[row])
            if published < 0 or now_ts - published > self.max_age_days * DAY:
                return False
        return True


def related(
    signals: Signals,
    row: int,
    n: int,
    *,
    now_ts: int,
    strategy: str = "hybrid",
    params: BlendParams | None = None,
    filters: Filters | None = None,
    section_popular: Iterable[int] = (),
    site_popular: Iterable[int] = (),
    popular: Popular | None = None,
    caps: Caps | None = None,
    skipped: list[tuple[int, str]] | None = None,
    stories: Stories | None = None,
    collapsed: list[tuple[int, int]] | None = None,
) -> list[Scored]:
    """The ``n`` items a page shows for article ``row``.

    Related candidates that pass the filters come first; when they run out the list is filled
    from ``section_popular`` then ``site_popular`` (rows in ranking order), so it holds ``n``
    items whenever the catalogue allows. The query row is never returned. ``popular``: what
    readers open now (:class:`Popular`), read by the hybrid. ``caps``: diversity caps
    (:class:`Caps`); ``skipped``, when given, receives ``(row, cap)`` of every item the caps
    kept out of the list. ``stories``: same-story collapsing (:class:`Stories`), applied
    before the caps, to the fillers too: an item of a story the list (or the page) already
    shows is folded under that story's first item and never listed; ``collapsed``, when
    given, receives ``(row, representative row)`` of each, in ranking order.
    """
    params = params or _DEFAULT_PARAMS
    filters = filters or _NO_FILTERS
    seen = {row}
    candidates = _candidates(signals, row, strategy, params, now_ts, popular)
    count = CapCount(caps, signals.categories) if caps is not None and caps.active else None
    story = StoryCount(stories, row) if stories is not None else None
    folded: list[tuple[int, int]] = [] if collapsed is None else collapsed
    # (row, cap, source, position among the candidates) of the items over a cap
    over: list[tuple[int, str, str, int]] = []
    picked: list[int] = []
    for i, candidate in enumerate(candidates.rows.tolist()):
        if len(picked) == n:
            break
        if candidate not in seen and filters.allows(signals, candidate, now_ts):
            seen.add(candidate)
            if story is not None:
                under = story.representative(candidate)
                if under is not None:
                    folded.append((candidate, under))
                    continue
            if count is not None:
                cap = count.refuses(candidate)
                if cap is not None:
                    over.append((candidate, cap, "related", i))
                    continue
                count.add(candidate)
            if story is not None:
                story.add(candidate)
            picked.append(i)
    chosen = candidates.items(picked)
    if not signals.categories[row] and filters.category is None:
        section_popular = ()  # an uncategorised article has no section to fill from
    for source, ranking in (("section_popular", section_popular), ("popular", site_popular)):
        for candidate in ranking:
            if len(chosen) == n:
                break
            candidate = int(candidate)
            if candidate not in seen and filters.allows(signals, candidate, now_ts):
                seen.add(candidate)
                if story is not None:
                    under = story.representative(candidate)
                    if under is not None:
                        folded.append((candidate, under))
                        continue
                if count is not None:
                    cap = count.refuses(candidate)
                    if cap is not None:
                        over.append((candidate, cap, source, -1))
                        continue
                    count.add(candidate)
                if story is not None:
                    story.add(candidate)
                chosen.append(Scored(candidate, 0.0, source))
    # caps never shorten a list: what they skipped completes it, in the order skipped
    taken = 0
    for candidate, cap, source, i in over:
        if len(chosen) == n:
            break
        if story is not None:
            under = story.representative(candidate)
            if under is not None:  # another over-cap item of its story came first
                folded.append((candidate, under))
                taken += 1
                continue
            story.add(candidate)
        item = candidates.items([i])[0] if i >= 0 else Scored(candidate, 0.0, source)
        chosen.append(dataclasses.replace(item, over_cap=cap))
        taken += 1
    if skipped is not None:
        skipped.extend((candidate, cap) for candidate, cap, _, _ in over[taken:])
    return _scored_fillers(chosen)


def _scored_fillers(chosen: list[Scored]) -> list[Scored]:
    """Fillers scored so that their order shows: the ``k``-th of ``m`` (from 0) scores
    ``low * (m - k) / (m + 1)``, ``low`` the lowest related score of the list (1 without one):
    above 0, falling in list order, below every related item."""
    fillers = [i for i, item in enumerate(chosen) if item.source != "related"]
    if not fillers:
        return chosen
    related_scores = [item.score for item in chosen if item.source == "related" and item.score > 0]
    low = min(related_scores) if related_scores else 1.0
    m = len(fillers)
    out = list(chosen)
    for k, i in enumerate(fillers):
        out[i] = dataclasses.replace(out[i], score=low * (m - k) / (m + 1))
    return out


_DEFAULT_PARAMS = BlendParams()
_NO_FILTERS = Filters()
