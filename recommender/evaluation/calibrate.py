"""Self-calibration at train time: ``newsrec train`` picks the settings that serve its own site
best, on its own last day of views, before it trains the published bundle on everything.

When the log is rich enough
---------------------------
The views must be events with times. The held-out part is the last day of the log (the 24 hours
ending at its last view); when that day holds fewer than :data:`TARGET_PAIRS` replay pairs,
the last :data:`HELD_OUT_SHARE` of the views (by time) instead, when that gives more. The
log is rich enough when the held-out part gives at least :data:`MIN_PAIRS` replay pairs whose
query article has metadata and at least :data:`MIN_TRAINING_VIEWS` views come before it.
Otherwise the run keeps the settings it was given (the defaults, or the config file's), and
says so.

How it scores a setting
-----------------------
Exactly as ``newsrec evaluate`` scores a test period, on the held-out part: a model of what was
known before it (articles first seen and views before the cut), the held-out sessions replayed
as pairs on the live catalogue of each pair's time (:func:`~recommender.evaluation.replay.
prepare_replay`: articles published since are folded in), each list ranked as
:func:`recommender.blend.related` ranks it at the pair's time. The candidates of every pair
and their signals are collected once (:class:`~recommender.evaluation.candidates.
CandidateTable`, held to the replay's own lists pair by pair by a test), so a setting costs a
few numpy passes and the whole grid fits the budget. Two shortcuts keep it inside the training
budget, neither of which lets the held-out part into the model: the content model is the run's
own (content does not depend on the views nor on any searched setting, so it is fitted once):
the model at the cut keeps the rows of the articles known before it, and their neighbour lists
without the articles that came later (so a list may be a few entries short of
``n_neighbors``); and at most :data:`MAX_PAIRS_PER_GROUP` pairs of each query group are
replayed (a fixed sample, the same for every setting; fewer on a large catalogue,
:data:`PAIR_ROW_BUDGET`).

The search stops at a wall-clock budget (``max_seconds``), which keeps the training run inside
its time target on a loaded machine; a search that completes is deterministic (same inputs,
same choice), one stopped by the budget says so and may choose differently on another run.

The objective is hit rate at 10 of the hybrid, established and new query articles weighing
half each: the mean of the two groups' hit@10 (a group with fewer than
:data:`MIN_GROUP_PAIRS` pairs is left out). New articles are few but they are where content
and freshness decide, and the issue's target holds for each group separately.

The search
----------
Coordinate-wise, cheap moves first, each setting over a small grid (:data:`BLEND_GRID`,
:data:`TRAIN_GRID`), keeping a value only when it gains at least ``min_gain`` over the best so
far and :data:`SIGNIFICANCE` standard errors of the paired difference (smaller differences are
replay noise, and a search of many settings finds some by chance): the blend settings (each a
re-scoring of the same candidates), then the cheap training settings (each rebuilds the
co-view lists of the replayed query articles at the cut from one shared session matrix, 0.15 to
1 s on 10M views; content and the replay are kept; a setting that cannot change anything under
the others, :data:`INERT_WHEN`, is not tried), then the blend settings again while any setting
moves (:data:`MAX_PASSES` passes at most). A setting a configuration file set is never
searched. The search stops at ``max_seconds`` (the rest of the grid is skipped, said so).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from recommender.blend import BlendParams
from recommender.config import BLEND_BOUNDS, TrainConfig, check_blend_value
from recommender.content import ContentModel
from recommender.crawlers import bot_settings
from recommender.data.articles import Article
from recommender.data.views import ViewCounts, ViewEvents
from recommender.evaluation.at_cut import iso, model_at_cut, with_coview
from recommender.evaluation.candidates import CandidateTable, PopularCosines
from recommender.evaluation.evaluate import group_masks
from recommender.evaluation.metrics import hit_rate_at_k
from recommender.evaluation.replay import ReplayPairs, prepare_replay, replay_pairs
from recommender.windows import DAY

OBJECTIVE = "hit_rate@10"
#: Replay pairs the held-out part must give (query article with metadata).
MIN_PAIRS = 200
#: Replay pairs the last day should give; with fewer, the held-out part reaches back to the
#: last :data:`HELD_OUT_SHARE` of the views when that gives more (a day of a small site is too
#: few pairs to tell settings apart).
TARGET_PAIRS = 3_000
#: Views the log must hold before the held-out part.
MIN_TRAINING_VIEWS = 1_000
#: The held-out share of the views when the last day is too thin.
HELD_OUT_SHARE = 0.1
#: Pairs replayed per query group at most (established, new): the sample every setting is
#: scored on.
MAX_PAIRS_PER_GROUP = 3_000
#: ... fewer on a large catalogue, where each pair costs more (the popularity prior reads every
#: row): ``PAIR_ROW_BUDGET / articles`` pairs per group, at least :data:`MIN_PAIRS_PER_GROUP`
#: (250 at 100,000 articles).
PAIR_ROW_BUDGET = 25_000_000
MIN_PAIRS_PER_GROUP = 250
#: What readers open now (the hybrid's popularity prior and popular candidates) is read at
#: ticks of this many seconds, as a live service refreshes it, not at every pair.
POPULAR_TICK = 600
#: A group with fewer pairs stays out of the objective.
MIN_GROUP_PAIRS = 25
#: Gain of the objective a change needs to be kept, at least: also never less than two more
#: pairs hit per objective group (``2 / pairs`` of the smallest group), replay noise.
MIN_GAIN = 0.002
#: ... and at least this many standard errors of the paired difference (the pairs one setting
#: hits and the other misses, weighted as the objective weighs them): a change that wins a few
#: pairs of a thousand by chance is not kept.
SIGNIFICANCE = 1.0
#: Passes over the blend settings at most (another one only after a setting moved).
MAX_PASSES = 4
#: Seconds the search may take (the preparation comes on top).
MAX_SECONDS = 45.0

#: Blend settings searched, in this order, and the values tried. A setting joins the search
#: with one line here; one that :data:`recommender.config.BLEND_BOUNDS` does not list (a setting
#: of another version of the library) is skipped, and every value is checked against its bound.
BLEND_GRID: Mapping[str, tuple[Any, ...]] = {
    # freshness first: on a catalogue of old articles it can flatten every score, and no other
    # setting shows its worth until it is off
    "half_life_days": (None, 1.0, 3.0, 7.0, 30.0),
    "freshness_weight": (0.0, 0.25, 0.5, 0.75, 0.9),
    # the content weight against the co-view weight: a site whose text says little of what
    # its readers open next (short titles, a catalogue of films) wants content out of the way
    # wherever co-views exist
    "content_weight": (0.1, 0.25, 0.5, 1.0, 2.0),
    "coview_weight": (0.0, 0.5, 1.5, 4.0, 10.0, 30.0),
    "coview_evidence": (1.0, 3.0, 10.0, 30.0, 100.0),
    "popularity_weight": (0.0, 0.25, 0.5, 1.0),
    "popular_candidates": (0, 100, 300),
    "section_weight": (0.0, 0.25, 0.5, 1.0),
}
#: Training settings searched (each rebuilds the co-view model at the cut, nothing else), in
#: this order; one :class:`~recommender.config.TrainConfig` does not have is skipped.
TRAIN_GRID: Mapping[str, tuple[Any, ...]] = {
    "coview_normalization": ("cosine", "llr", "jaccard", "lift"),
    # the order of a session: where what a reader opens next follows from what they just read
    "coview_next_weight": (0.0, 0.25, 0.5, 1.0, 2.0),
    "coview_next_window": (1, 2, 3, 5),
    "coview_min_count": (1, 2, 3, 5),
    # crawlers by pace: a log of one session per reader that rates or reads in bulk (a signup
    # form, an imported history) wants a looser rule than a news site
    "bot_burst_views": (10, 20, 50, None),
    "bot_views_per_minute": (5.0, 10.0, 30.0, None),
    "coview_half_life_days": (None, 7.0, 30.0),
}
#: Training settings that change nothing while another one is at this value: not tried then
#: (the read-next window without read-next counts).
INERT_WHEN: Mapping[str, tuple[str, Any]] = {"coview_next_window": ("coview_next_weight", 0.0)}
#: What "rich enough" means, for the output and the manifest.
RULE = (
    f"view events with times; held out: the last day, or the last {HELD_OUT_SHARE:.0%} of the "
    f"views when the last day has fewer than {TARGET_PAIRS} replay pairs and that has more; "
    f"rich enough with at least {MIN_PAIRS} replay pairs there (query article with metadata) and "
    f"{MIN_TRAINING_VIEWS} views before it"
)
OBJECTIVE_RULE = (
    f"{OBJECTIVE} of the hybrid, the mean of the established and the new query articles' "
    f"(each group's pairs sampled to at most {MAX_PAIRS_PER_GROUP}; a group under "
    f"{MIN_GROUP_PAIRS} pairs left out); a change is kept when it gains at least {MIN_GAIN}, "
    f"two more pairs hit per group and {SIGNIFICANCE:g} standard errors of the paired "
    "difference"
)


def blend_names() -> list[str]:
    """The blend settings the calibration searches: :data:`BLEND_GRID`'s names that
    :data:`~recommender.config.BLEND_BOUNDS` has."""
    return [name for name in BLEND_GRID if name in BLEND_BOUNDS]


def train_names() -> list[str]:
    """The training settings the calibration searches (those :class:`TrainConfig` has)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return [name for name in TRAIN_GRID if name in known]


@dataclass
class Trial:
    """One setting tried and its figures on the held-out pairs."""

    number: int
    changed: str
    objective: float
    hit_rate_at_10: float
    established: float | None
    new: float | None
    seconds: float
    kept: bool = False

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        def fmt(value: float | None) -> str:
            return "-" if value is None else f"{value:.4f}"

        return (
            f"  {self.number:>3} {self.changed:<28} objective {self.objective:.4f}  "
            f"hit@10 {self.hit_rate_at_10:.4f} (established {fmt(self.established)}, new "
            f"{fmt(self.new)}){'  kept' if self.kept else ''}"
        )


@dataclass
class Calibration:
    """What a self-calibration tried and chose.

    Attributes
    ----------
    status : str
        ``"calibrated"``, or ``"defaults"`` when the log is too thin (``reason`` says why).
    config, params :
        The settings to train and serve with (the given ones when not calibrated).
    searched : list of str
        The settings the search considered (their origin becomes ``calibration``).
    trials : list of Trial
    """

    status: str
    reason: str
    config: TrainConfig
    params: BlendParams
    searched: list[str] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    held_out: dict[str, Any] = field(default_factory=dict)
    chosen: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def baseline(self) -> Trial | None:
        return self.trials[0] if self.trials else None

    @property
    def best(self) -> Trial | None:
        kept = [t for t in self.trials if t.kept]
        return kept[-1] if kept else self.baseline

    def record(self) -> dict[str, Any]:
        """The manifest's ``calibration`` entry."""
        return {
            "status": self.status,
            "reason": self.reason,
            "rule": RULE,
            "objective": OBJECTIVE_RULE,
            "held_out": self.held_out,
            "searched": self.searched,
            "chosen": self.chosen,
            "tried": [t.record() for t in self.trials],
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
        }

    def summary(self) -> list[str]:
        """What it chose and why, for the terminal."""
        if self.status != "calibrated":
            return [
                f"calibration: {self.reason}; training with the given settings (the defaults, "
                "or the configuration file's)"
            ]
        base, best = self.baseline, self.best
        assert base is not None and best is not None
        changed = {k: v for k, v in self.chosen.items() if v != self._start.get(k)}
        out = [
            f"calibration: {self.held_out['period']} held out ({self.held_out['from']} .. "
            f"{self.held_out['until']}): {self.held_out['pairs']} pairs, "
            f"{self.held_out['sampled']} replayed ({self.held_out['established']} established, "
            f"{self.held_out['new']} new query articles), prepared in "
            f"{self.held_out['prepare_seconds']:.1f} s",
            f"objective: {OBJECTIVE_RULE}",
            *[t.line() for t in self.trials],
            f"chose: {_describe(changed) if changed else 'the given settings'}: objective "
            f"{best.objective:.4f} against {base.objective:.4f} with the given settings "
            f"({len(self.trials)} settings tried in {self.seconds:.1f} s)",
            *self.notes,
        ]
        return out

    @property
    def _start(self) -> dict[str, Any]:
        return dict(self.held_out.get("start", {}))


def _describe(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in values.items())


def _fmt(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --- the held-out part and the model at its cut -----------------------------------------------


def _usable(pairs: ReplayPairs, known_ids: Collection[str]) -> int:
    return sum(1 for q in pairs.query_ids if q in known_ids)


def held_out_cut(
    events: ViewEvents, articles: Mapping[str, Article], config: TrainConfig
) -> tuple[int, str, ReplayPairs] | str:
    """The cut of the held-out part, what it is, and its replay pairs; or why there is none
    (the log is too thin, see :data:`RULE`)."""
    ts = events.timestamps
    if ts.size == 0:
        return "no views"
    until = int(ts.max()) + 1
    cut, period = until - DAY, "the last day"
    pairs = replay_pairs(events, cut, until, **bot_settings(config))
    if _usable(pairs, articles) < TARGET_PAIRS:
        share_cut = int(np.quantile(ts, 1.0 - HELD_OUT_SHARE))
        if share_cut < cut:
            wider = replay_pairs(events, share_cut, until, **bot_settings(config))
            if _usable(wider, articles) > _usable(pairs, articles):
                cut, period = share_cut, f"the last {HELD_OUT_SHARE:.0%} of the views"
                pairs = wider
    usable = _usable(pairs, articles)
    before = int((ts < cut).sum())
    if usable < MIN_PAIRS:
        return f"log too thin: {usable} replay pairs in {period}, {MIN_PAIRS} needed"
    if before < MIN_TRAINING_VIEWS:
        return f"log too thin: {before} views before {period}, {MIN_TRAINING_VIEWS} needed"
    return cut, period, pairs


def sample_pairs(
    pairs: ReplayPairs,
    articles: Mapping[str, Article],
    established: Collection[str],
    per_group: int,
) -> tuple[ReplayPairs, dict[str, int]]:
    """At most ``per_group`` pairs of established and of new query articles (those with
    metadata), drawn with a fixed seed, in their time order; the views the live service counted
    are kept whole."""
    rng = np.random.default_rng(0)
    usable = np.array([q in articles for q in pairs.query_ids], dtype=bool)
    old = np.array([q in established for q in pairs.query_ids], dtype=bool)
    picked: list[np.ndarray] = []
    sizes: dict[str, int] = {}
    for name, group in (("established", usable & old), ("new", usable & ~old)):
        index = np.flatnonzero(group)
        if index.size > per_group:
            index = np.sort(rng.choice(index, per_group, replace=False))
        picked.append(index)
        sizes[name] = int(index.size)
    keep = np.sort(np.concatenate(picked)).tolist()
    sample = dataclasses.replace(
        pairs,
        query_ids=[pairs.query_ids[i] for i in keep],
        target_ids=[pairs.target_ids[i] for i in keep],
        timestamps=pairs.timestamps[keep],
    )
    return sample, sizes


# --- the search --------------------------------------------------------------------------------


def calibrate(
    articles: Sequence[Article],
    views: ViewEvents | ViewCounts | None,
    rows: np.ndarray,
    content: ContentModel,
    *,
    config: TrainConfig,
    params: BlendParams,
    fixed: Collection[str] = (),
    log: Callable[[str], None] | None = None,
    max_pairs_per_group: int = MAX_PAIRS_PER_GROUP,
    max_seconds: float = MAX_SECONDS,
    min_gain: float = MIN_GAIN,
) -> Calibration:
    """Pick the blend and cheap training settings that serve this log best (module docstring).

    Parameters
    ----------
    articles : sequence of Article
        The run's articles, sorted by id (row ``i`` of ``content``).
    views : ViewEvents, ViewCounts or None
        The run's views; only events with times can be calibrated on.
    rows : ndarray of int
        The article row of each view (``-1``: not in the catalogue).
    content : ContentModel
        The run's fitted content model (reused, not refitted).
    config, params :
        The settings to start from (and to keep when the log is too thin).
    fixed : collection of str
        Settings a configuration file set: never searched.
    log : callable, optional
        Receives the lines of :meth:`Calibration.summary`.

    Returns
    -------
    Calibration
    """
    start = time.perf_counter()
    say = log or (lambda _msg: None)

    def thin(reason: str) -> Calibration:
        result = Calibration("defaults", reason, config, params)
        result.seconds = time.perf_counter() - start
        for line in result.summary():
            say(line)
        return result

    if views is None:
        return thin("no view log")
    if isinstance(views, ViewCounts):
        return thin("the views are aggregated counts, not sessions to replay")
    blend_search = [n for n in blend_names() if n not in fixed]
    train_search = [n for n in train_names() if n not in fixed]
    if not blend_search and not train_search:
        return thin("the configuration sets every setting the calibration searches")
    by_id = {a.id: a for a in articles}
    found = held_out_cut(views, by_id, config)
    if isinstance(found, str):
        return thin(found)
    cut, period, pairs = found
    at_cut = model_at_cut(articles, views, rows, content, config, cut)
    per_group = min(max_pairs_per_group, max(MIN_PAIRS_PER_GROUP, PAIR_ROW_BUDGET // len(articles)))
    sample, sizes = sample_pairs(pairs, by_id, frozenset(at_cut.bundle.meta("id")), per_group)
    replay = with_coview(
        prepare_replay(at_cut.bundle, sample, by_id, now_ts=cut), at_cut, views, config
    )
    result = Calibration(
        "calibrated",
        f"{period} held out",
        config,
        params,
        searched=blend_search + train_search,
        held_out={
            "period": period,
            "from": iso(cut),
            "until": iso(int(views.timestamps.max()) + 1),
            "pairs": _usable(pairs, by_id),
            "sampled": replay.n_pairs,
            "established": sizes["established"],
            "new": sizes["new"],
            "start": _settings(config, params, blend_search + train_search),
        },
    )
    groups = [g for g in ("established", "new") if sizes[g] >= MIN_GROUP_PAIRS] or ["all"]
    smallest = min(sizes[g] for g in groups) if groups != ["all"] else sum(sizes.values())
    min_gain = max(min_gain, 2.0 / max(smallest, 1))
    masks = group_masks(replay)
    most = max([*BLEND_GRID.get("popular_candidates", ()), params.popular_candidates])
    cosines = PopularCosines(replay, int(most), POPULAR_TICK)
    result.held_out["prepare_seconds"] = round(time.perf_counter() - start, 2)

    def hit(ranks: np.ndarray, group: str) -> float | None:
        found = hit_rate_at_k(ranks[masks[group]], 10)
        return None if np.isnan(found) else float(found)

    # each pair's weight in the objective: the groups weigh the same
    weight = np.zeros(replay.n_pairs)
    for g in groups:
        weight[masks[g]] += 1.0 / max(int(masks[g].sum()), 1) / len(groups)
    hits: dict[int, np.ndarray] = {}

    table = CandidateTable(replay, params, int(most), cosines, POPULAR_TICK)

    def score(table: CandidateTable, prm: BlendParams, changed: str) -> Trial:
        began = time.perf_counter()
        ranks = table.ranks(prm)
        trial = Trial(
            number=len(result.trials) + 1,
            changed=changed,
            objective=float(np.mean([hit(ranks, g) or 0.0 for g in groups])),
            hit_rate_at_10=hit(ranks, "all") or 0.0,
            established=hit(ranks, "established"),
            new=hit(ranks, "new"),
            seconds=round(time.perf_counter() - began, 3),
        )
        result.trials.append(trial)
        hits[trial.number] = (ranks > 0) & (ranks <= 10)
        return trial

    def better(trial: Trial, best: Trial) -> bool:
        """A gain of at least ``min_gain`` and ``SIGNIFICANCE`` standard errors of the
        paired difference (the pairs one hits and the other misses)."""
        gain = trial.objective - best.objective
        changed = hits[trial.number].astype(np.float64) - hits[best.number]
        noise = SIGNIFICANCE * float(np.sqrt(np.sum((weight * changed) ** 2)))
        return gain >= min_gain and gain >= noise

    best = score(table, params, "given settings")
    best.kept = True
    best_config, best_params = config, params
    out_of_time = False

    def late() -> bool:
        nonlocal out_of_time
        out_of_time = out_of_time or time.perf_counter() - start > max_seconds
        return out_of_time

    def blend_pass() -> bool:
        nonlocal best, best_params
        moved = False
        for name in blend_search:
            for value in BLEND_GRID[name]:
                value = check_blend_value(name, value)
                if value == getattr(best_params, name) or late():
                    continue
                change: dict[str, Any] = {name: value}
                candidate = dataclasses.replace(best_params, **change)
                trial = score(table, candidate, f"{name}={_fmt(value)}")
                if better(trial, best):
                    trial.kept, best, best_params, moved = True, trial, candidate, True
        return moved

    moved = blend_pass()
    for name in train_search:
        for value in TRAIN_GRID[name]:
            if value == getattr(best_config, name) or _inert(name, best_config) or late():
                continue
            candidate_config = best_config.replace(**{name: value})
            candidate_table = table.with_replay(
                with_coview(replay, at_cut, views, candidate_config)
            )
            trial = score(candidate_table, best_params, f"{name}={_fmt(value)}")
            if better(trial, best):
                trial.kept, best, best_config, table = (
                    True,
                    trial,
                    candidate_config,
                    candidate_table,
                )
                moved = True
    # more passes while a setting moves: a setting can matter only once another has moved
    passes = 1
    while moved and passes < MAX_PASSES and not late():
        moved = blend_pass()
        passes += 1
    if out_of_time:
        result.notes.append(
            f"stopped at the time budget of {max_seconds:g} s: the rest of the grid was not tried"
        )
    result.config, result.params = best_config, best_params
    result.chosen = _settings(best_config, best_params, result.searched)
    result.seconds = time.perf_counter() - start
    for line in result.summary():
        say(line)
    return result


def _inert(name: str, config: TrainConfig) -> bool:
    other, value = INERT_WHEN.get(name, ("", None))
    return bool(other) and getattr(config, other) == value


def _settings(config: TrainConfig, params: BlendParams, names: Sequence[str]) -> dict[str, Any]:
    return {
        name: getattr(params, name) if name in BLEND_BOUNDS else getattr(config, name)
        for name in names
    }
