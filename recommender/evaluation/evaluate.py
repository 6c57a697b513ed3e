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


How: :mod:`~recommender.evaluation.split` cuts the view log and trains at the split,
:mod:`~recommender.evaluation.replay` turns the test period into pairs on the live catalogue
(with the replay rule), :mod:`~recommender.evaluation.lists` ranks each strategy's list per
pair, :mod:`~recommender.evaluation.metrics` scores them; this module runs the whole and
formats the figures (:mod:`~recommender.evaluation.report` draws the HTML report).
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recommender.blend import BlendParams, Filters
from recommender.caps import Caps
from recommender.config import TrainConfig
from recommender.evaluation import REPLAY_STRATEGIES
from recommender.evaluation.lists import ReplayLists, replay_lists
from recommender.evaluation.metrics import (
    KS,
    catalogue_coverage,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    section_diversity,
)
from recommender.evaluation.replay import Replay, prepare_replay
from recommender.evaluation.split import (
    iso_utc,
    load_events,
    prepare_split,
    resolve_split,
    train_at_split,
)
from recommender.windows import DAY

GROUPS = ("all", "new", "established")
#: The strategies ranked by :func:`recommender.blend.related`, which the diversity caps apply
#: to: with caps, each is replayed again as ``<strategy>+caps`` (the caps' cost in hit rate).
CAPPED_STRATEGIES = ("content", "coview", "content_fresh", "hybrid")
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
    "both in the test period; sessions faster than a person in the test period (more than "
    "bot_burst_views views within a minute, or more than that at above bot_views_per_minute) "
    "are dropped as crawlers; articles published after the split join the "
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
    #: per pair: the share of the list's most frequent section, its distinct sections and
    #: distinct authors (NaN for an empty list; authors NaN when unknown)
    top_section_share: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sections: np.ndarray = field(default_factory=lambda: np.zeros(0))
    authors: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: per pair: the share of the list's items that repeat a story the page or an earlier
    #: item shows (NaN for an empty list or a replay without stories)
    same_story: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _variety(
    rows: list[int], categories: Sequence[str], authors: Sequence[str] | None
) -> tuple[float, float, float]:
    """(top section's share, distinct sections, distinct named authors) of one list."""
    if not rows:
        return math.nan, math.nan, math.nan
    counts: dict[str, int] = {}
    for r in rows:
        counts[categories[r]] = counts.get(categories[r], 0) + 1
    named = math.nan if authors is None else float(len({authors[r] for r in rows} - {""}))
    return max(counts.values()) / len(rows), float(len(counts)), named


def same_story_share(rows: Sequence[int], query: int, stories: np.ndarray | None) -> float:
    """The share of ``rows`` whose story (:mod:`recommender.stories`) is the query's or an
    earlier item's: what same-story collapsing removes (NaN: empty list, or no stories)."""
    if not rows or stories is None:
        return math.nan
    seen = {int(stories[query])}
    repeats = 0
    for r in rows:
        story = int(stories[r])
        repeats += story in seen
        seen.add(story)
    return repeats / len(rows)


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
    variety = np.array(
        [_variety(rows, signals.categories, replay.authors) for rows in lists.lists]
    ).reshape(-1, 3)
    per_pair = variety[shown] if shown.size else np.zeros((0, 3))
    # each list's query: the one of any pair shown it
    _, first_pair = np.unique(shown, return_index=True)
    list_query = np.zeros(n_lists, dtype=np.int64)
    if shown.size:
        list_query[shown[first_pair]] = replay.query_rows[replay.pair_query[first_pair]]
    repeated = np.array(
        [
            same_story_share(rows, int(list_query[i]), replay.stories)
            for i, rows in enumerate(lists.lists)
        ]
    )
    return StrategyScores(
        ranks=_ranks(replay, lists),
        mean_age=mean_age,
        diversity=q_div[shown] if shown.size else np.zeros(0),
        item_ages=np.maximum(item_ages, 0.0),
        lists=lists,
        top_section_share=per_pair[:, 0],
        sections=per_pair[:, 1],
        authors=per_pair[:, 2],
        same_story=repeated[shown] if shown.size else np.zeros(0),
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
    for name, values in (
        ("diversity", scores.diversity),
        ("top_section_share", scores.top_section_share),
        ("distinct_sections", scores.sections),
        ("distinct_authors", scores.authors),
        ("same_story_share", scores.same_story),
    ):
        kept = values[mask] if values.size else values
        kept = kept[~np.isnan(kept)]
        out[name] = _nan_to_none(float(kept.mean())) if kept.size else None
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
    strategies: Sequence[str] = REPLAY_STRATEGIES,
    params: BlendParams | None = None,
    filters: Filters | None = None,
    caps: Caps | None = None,
    per_story: int = 0,
) -> Evaluation:
    """Every strategy's metrics on a prepared replay, by query group, age and list age; with
    ``caps`` (:class:`recommender.blend.Caps`), each of :data:`CAPPED_STRATEGIES` is also
    replayed with them, as ``<strategy>+caps``; with ``per_story`` (same-story collapsing,
    :mod:`recommender.stories`), as ``<strategy>+stories`` (the hit rate and same-story share
    before and after)."""
    params = params or BlendParams()
    masks = group_masks(replay)
    ages = query_age_days(replay)
    buckets = _age_bucket(np.nan_to_num(ages, nan=-1.0))
    bucket_labels = [label for _, _, label in AGE_BUCKETS] + ["unknown"]
    result: dict[str, Any] = {}
    by_age: dict[str, list[float | None]] = {}
    histograms: dict[str, list[int]] = {}
    all_scores: dict[str, StrategyScores] = {}
    # the replay knows the authors: a cap given without them is still a cap
    capping = caps is not None and (
        caps.max_per_section is not None or caps.max_per_author is not None
    )
    runs: list[tuple[str, str, Caps | None, int]] = []
    for strategy in strategies:
        if strategy not in REPLAY_STRATEGIES:
            raise ValueError(
                f"strategy must be one of {', '.join(REPLAY_STRATEGIES)}, not {strategy!r}"
            )
        runs.append((strategy, strategy, None, 0))
        if capping and strategy in CAPPED_STRATEGIES:
            runs.append((f"{strategy}+caps", strategy, caps, 0))
        if per_story > 0 and strategy in CAPPED_STRATEGIES:
            runs.append((f"{strategy}+stories", strategy, None, per_story))
    for strategy, ranking, capped, stories in runs:
        lists = replay_lists(
            replay, ranking, params=params, filters=filters, caps=capped, per_story=stories
        )
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
    if caps is not None and capping:
        summary["caps"] = {
            "max_per_section": caps.max_per_section,
            "max_per_author": caps.max_per_author,
        }
    if per_story > 0:
        summary["per_story"] = per_story
    return Evaluation(summary, replay, all_scores)


def _params_dict(params: BlendParams) -> dict[str, Any]:
    out = asdict(params)
    out["section_half_life_days"] = dict(params.section_half_life_days)
    return out


def evaluate(
    articles_path: str | Path,
    views_path: str | Path,
    *,
    test_from: dt.datetime | None = None,
    test_days: float | None = None,
    test_until: dt.datetime | None = None,
    config: TrainConfig | None = None,
    params: BlendParams | None = None,
    strategies: Sequence[str] = REPLAY_STRATEGIES,
    filters: Filters | None = None,
    caps: Caps | None = None,
    per_story: int = 0,
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
        Any of :data:`~recommender.evaluation.lists.REPLAY_STRATEGIES`.
    filters : Filters, optional
        Page filters (default: none but the service's "published only").
    caps : Caps, optional
        Diversity caps: the related strategies are replayed with them too (``<s>+caps``).
    per_story : int
        Same-story collapsing: the related strategies are replayed with it too
        (``<s>+stories``; 0: not).
    workdir : path, optional
        Where the training inputs and bundle go (default: a temporary directory, removed).
    mind : bool
        The inputs come from MIND (adds MIND's replay rule to the output).

    Returns
    -------
    Evaluation
    """
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
        say(f"test period {iso_utc(split.test_from)} .. {iso_utc(split.test_until)}")
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
        evaluation = evaluate_replay(
            replay,
            strategies=strategies,
            params=params,
            filters=filters,
            caps=caps,
            per_story=per_story,
        )
    evaluation.summary = {
        "replay_rule": REPLAY_RULE,
        **({"mind_replay_rule": MIND_REPLAY_RULE} if mind else {}),
        "inputs": {"articles": str(articles_path), "views": str(views_path)},
        "split": {
            "test_from": iso_utc(split.test_from),
            "test_until": iso_utc(split.test_until),
            "training_articles": len(prepared.inputs.article_ids),
            "training_views": prepared.inputs.n_views,
            "test_views": int(
                (
                    (events.timestamps >= split.test_from) & (events.timestamps < split.test_until)
                ).sum()
            ),
            "now": iso_utc(split.test_from),
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
    columns += ["top_section_share", "distinct_sections", "distinct_authors", "same_story_share"]
    short = {
        "same_story_share": "same_story",
        "top_section_share": "top_sec",
        "distinct_sections": "sects",
        "distinct_authors": "auths",
    }
    header = [
        "strategy",
        "pairs",
        *[short.get(c, c.replace("_rate", "").replace("_days", "")) for c in columns],
    ]
    rows = []
    for strategy, groups in summary["strategies"].items():
        metrics = groups[group]
        rows.append(
            [
                strategy,
                str(int(metrics["pairs"])),
                *[
                    _fmt(
                        metrics.get(c),
                        1 if c in ("mean_age_days", "distinct_sections", "distinct_authors") else 3,
                    )
                    for c in columns
                ],
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
