"""Real-data quality benchmark (issue 13): the project's strategies at default settings beside
simple public baselines computed in the same run, on real public data only.

Run from the repository root (a few minutes on 2 cores; converted files go to bench/out/real/):

    .venv/bin/python bench/quality_real.py [--sets mind movielens amazon lee]
                                           [--write bench/RESULTS-quality-real.md]

Sets (read in place from ``../shared/data``; see each SOURCE.md and bench/_real_data.py):

``movielens``
    MovieLens 100K, every rating a view, one session per user. Truth: the next movie the user
    rated (the project's replay pairs: consecutive views of different articles in a session,
    ties in time by item id). Chronological: test = the last 10% of ratings by time,
    validation = the 10% before it (trained on what precedes it).
``mind``
    The MIND sample (``newsrec convert-mind --include-history`` + a placeholder article per
    clicked id without a news row). Truth: for each impression with a history and a click, the
    clicked articles are the relevant set of the list on the user's last history article.
    Test = 2019-11-13, validation = 2019-11-12.
``amazon``
    Amazon 2018 Gift Cards: truth = a product's in-file ``also_view`` list (never fed to a
    model); co-views from the 5-core reviews (one session per reviewer). No time on the truth,
    so queries are split by a hash of the asin: validation half, test half.
``lee``
    Lee background corpus (300 real news texts, no labels here): each text cut into two halves
    by sentences; the other half must rank first. Validation: odd-numbered texts, test: even.

Every query's list has 10 items. hit@k: at least one relevant article in the first k; MRR@10:
1 / rank of the first relevant one; recall@10 (amazon): share of the relevant set in the list.
"new" queries are those the trained bundle does not hold (published or first read after the
split; amazon: products without a review); "established" the others. The pairs are the same for
every row of a table: all test-period sessions (no crawler cap on the queries; the cap only acts
on training where a setting says so). Baselines: scikit-learn ``TfidfVectorizer()`` cosine on
title + body ("tfidf"), the same with the title repeated 3 times ("tfidf_title3"), raw
co-occurrence counts in the training sessions ("cooc"), implicit's ``CosineRecommender`` on the
session x item matrix ("implicit_cosine"), and the most viewed in training ("popular"). Every
baseline list is filled up to 10 from "popular" (the project fills from its own fallbacks).
Content baselines may list every article known at the query's time, as the project's fold-in
does; co-occurrence ones only what training saw.

The diagnostic block changes one setting at a time from the defaults, on the validation period
(or share) only; "chosen on validation" combines each setting's best value there and is then
scored once on the test period.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns (and slows) otherwise

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _real_data as data
from _harness import idle_fraction

# --- the project's API -------------------------------------------------------------------------
# Every import of the library is here, so a move of its modules is one edit. The benchmark needs
# the replay's lists per query (the CLI prints only aggregates), so that the baselines are
# scored on exactly the project's queries.
from recommender.blend import BlendParams, manifest_params, related
from recommender.bundle import Bundle
from recommender.config import TrainConfig
from recommender.data.articles import Article, read_articles
from recommender.evaluation.calibrate import calibrate as calibrate_run
from recommender.evaluation.lists import replay_lists
from recommender.evaluation.replay import ReplayPairs, known_times, prepare_replay, replay_pairs
from recommender.evaluation.split import load_events, train_at_split, write_training_inputs
from recommender.train import train
from recommender.windows import DAY

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "real"
NEWSREC = [sys.executable, "-m", "recommender.cli"]
N = 10
UNCAPPED = 10**9
PROJECT = ("most_viewed", "most_viewed_live", "content", "coview", "content_fresh", "hybrid")
BASELINES = ("tfidf", "tfidf_title3", "cooc", "implicit_cosine", "popular")
#: ``--no-sweeps``: no validation diagnosis.
SKIP_SWEEPS = False
GROUPS = ("all", "established", "new")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- queries and metrics --------------------------------------------------------------------------


@dataclass
class Queries:
    """The lists to score: query article, relevant articles, time, and whether it is new."""

    ids: list[str]
    relevant: list[frozenset[str]]
    ts: np.ndarray
    new: np.ndarray

    def subset(self, keep: np.ndarray) -> Queries:
        index = np.flatnonzero(keep)
        return Queries(
            [self.ids[i] for i in index],
            [self.relevant[i] for i in index],
            self.ts[index],
            self.new[index],
        )

    def __len__(self) -> int:
        return len(self.ids)


def scores(lists: Sequence[Sequence[str]], queries: Queries) -> dict[str, dict[str, float]]:
    """hit@5, hit@10, MRR@10, recall@10 per group (NaN for an empty group)."""
    first = np.zeros(len(queries), dtype=np.int64)
    recall = np.zeros(len(queries))
    for i, (items, relevant) in enumerate(zip(lists, queries.relevant, strict=True)):
        ranks = [r for r, item in enumerate(items[:N], start=1) if item in relevant]
        first[i] = ranks[0] if ranks else 0
        recall[i] = len(ranks) / len(relevant)
    out: dict[str, dict[str, float]] = {}
    masks = {"all": np.ones(len(queries), bool), "new": queries.new, "established": ~queries.new}
    for group, mask in masks.items():
        f = first[mask]
        nan = float("nan")
        out[group] = {
            "n": float(mask.sum()),
            "hit@5": float(((f > 0) & (f <= 5)).mean()) if f.size else nan,
            "hit@10": float((f > 0).mean()) if f.size else nan,
            "mrr@10": float(np.where(f > 0, 1.0 / np.maximum(f, 1), 0.0).mean()) if f.size else nan,
            "recall@10": float(recall[mask].mean()) if f.size else nan,
        }
    return out


# --- baselines -----------------------------------------------------------------------------------


def _texts(articles: Sequence[Article], title_weight: int) -> list[str]:
    return ["\n".join([a.title] * title_weight + [a.body]) for a in articles]


class Baselines:
    """The public baselines over one catalogue and one training log.

    ``sessions``/``items``: the training views (session number, article index), any order.
    ``known_ts``: when each article may first be listed by a content baseline.
    """

    def __init__(
        self,
        articles: Sequence[Article],
        sessions: np.ndarray,
        items: np.ndarray,
        known_ts: np.ndarray,
    ) -> None:
        from implicit.nearest_neighbours import CosineRecommender
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.ids = [a.id for a in articles]
        self.index = {a: i for i, a in enumerate(self.ids)}
        self.known_ts = known_ts
        m = len(articles)
        self.tfidf = {
            "tfidf": TfidfVectorizer().fit_transform(_texts(articles, 1)).tocsr(),
            "tfidf_title3": TfidfVectorizer().fit_transform(_texts(articles, 3)).tocsr(),
        }
        counts = np.bincount(items, minlength=m).astype(np.float64)
        # most viewed, ties by article id
        order = np.lexsort((np.arange(m), -counts))  # articles come in id order
        self.popular = order[counts[order] > 0]
        n_sessions = int(sessions.max()) + 1 if sessions.size else 0
        seen = sp.csr_matrix(
            (np.ones(sessions.size, dtype=np.float32), (sessions, items)), shape=(n_sessions, m)
        )
        seen.data[:] = 1.0
        seen.sum_duplicates()
        seen.data[:] = 1.0
        self.cooc = (seen.T @ seen).tocsr()
        self.cooc.setdiag(0)
        self.cooc.eliminate_zeros()
        self.implicit = CosineRecommender(K=50)
        if n_sessions:
            self.implicit.fit(seen.astype(np.float32).tocsr(), show_progress=False)
        self.trained_items = np.asarray(seen.sum(axis=0)).ravel() > 0

    def _scores(self, name: str, q: int) -> np.ndarray | None:
        m = len(self.ids)
        if name in self.tfidf:
            x = self.tfidf[name]
            return np.asarray((x @ x[q].T).todense()).ravel()
        if name == "cooc":
            row = self.cooc[q]
            out = np.zeros(m)
            out[row.indices] = row.data
            return out
        if name == "implicit_cosine":
            if not self.trained_items[q]:
                return None
            ids, values = self.implicit.similar_items(q, N=N + 1)
            out = np.zeros(m)
            out[ids] = values
            return out
        return None  # popular

    def lists(self, name: str, queries: Queries) -> list[list[str]]:
        cache: dict[int, np.ndarray | None] = {}
        order_cache: dict[int, np.ndarray] = {}
        out: list[list[str]] = []
        for query, ts in zip(queries.ids, queries.ts.tolist(), strict=True):
            q = self.index[query]
            if q not in cache:
                values = self._scores(name, q)
                cache[q] = values
                if values is not None:
                    positive = np.flatnonzero(values > 0)
                    # best first, ties by article index (ids are written in id order)
                    order_cache[q] = positive[np.lexsort((positive, -values[positive]))]
            chosen: list[int] = []
            taken = {q}
            for source in (order_cache.get(q, np.zeros(0, np.int64)), self.popular):
                for c in source.tolist():
                    if len(chosen) == N:
                        break
                    if c not in taken and self.known_ts[c] <= ts:
                        chosen.append(c)
                        taken.add(c)
            out.append([self.ids[c] for c in chosen])
        return out


# --- the project's lists ----------------------------------------------------------------------


def project_params(strategy: str, params: BlendParams) -> tuple[str, BlendParams]:
    if strategy == "content_fresh":
        return "hybrid", dataclasses.replace(params, coview_weight=0.0)
    return strategy, params


def static_lists(
    bundle: Bundle, queries: Queries, strategy: str, params: BlendParams, now_ts: int
) -> list[list[str]]:
    """Lists of a bundle that holds every article (no replay), as the service ranks them."""
    site = bundle.popular_rows("7d")
    out = []
    for query in queries.ids:
        row = bundle.row(query)
        if strategy == "most_viewed":
            rows = [r for r in site.tolist() if r != row][:N]
        else:
            name, p = project_params(strategy, params)
            items = related(
                bundle,
                row,
                N,
                now_ts=now_ts,
                strategy=name,
                params=p,
                section_popular=bundle.popular_rows("7d", bundle.categories[row]),
                site_popular=site,
            )
            rows = [item.row for item in items]
        out.append([bundle.article_id(r) for r in rows])
    return out


def train_bundle(
    articles: Path,
    views: Path | None,
    models: Path,
    config: TrainConfig,
    now: int,
    calibrate: bool = False,
) -> Bundle:
    shutil.rmtree(models, ignore_errors=True)
    result = train(
        articles,
        views,
        models,
        config=config,
        calibrator=calibrate_run if calibrate else None,
        now=dt.datetime.fromtimestamp(now, dt.UTC),
        publish=False,
    )
    return Bundle.load(result.path, mmap=False)


#: The strategies scored for the bundle ``newsrec train`` calibrates (its settings chosen on
#: the last day of the training period).
CALIBRATED = ("content", "coview", "content_fresh", "hybrid")


def calibration_note(bundle: Bundle) -> str:
    """What the bundle's self-calibration held out and chose, in one line."""
    record = bundle.manifest.get("calibration", {})
    if record.get("status") != "calibrated":
        return f"calibration: {record.get('status')} ({record.get('reason', '')})"
    held, tried = record["held_out"], record["tried"]
    start = held.get("start", {})
    moved = {k: v for k, v in record["chosen"].items() if start.get(k) != v}
    best = [t for t in tried if t["kept"]][-1]
    return (
        f"calibration held out {held['period']} of the training period ({held['from']} .. "
        f"{held['until']}, {held['sampled']} pairs replayed: {held['established']} established, "
        f"{held['new']} new); {len(tried)} settings tried in {record['seconds']:.0f} s; chose "
        f"{', '.join(f'{k}={fmt(v)}' for k, v in moved.items()) or 'the defaults'} (objective "
        f"{tried[0]['objective']:.3f} -> {best['objective']:.3f} on the held-out part)"
    )


# --- log sets: a chronological split --------------------------------------------------------------


@dataclass
class LogSet:
    """A set with a time-stamped view log; ``make_pairs`` builds the period's queries."""

    name: str
    converted: data.Converted
    periods: dict[str, tuple[int, int]]  # "validation"/"test" -> [start, until)
    make_pairs: Callable[[Any, int, int], tuple[ReplayPairs, list[frozenset[str]]]]
    articles: list[Article] = dataclasses.field(default_factory=list)
    events: Any = None


@dataclass
class Period:
    """One split of a log set, prepared once for every configuration."""

    start: int
    inputs: Any
    pairs: ReplayPairs
    relevant: list[frozenset[str]]
    by_id: dict[str, Article]
    work: Path
    queries: Queries | None = None
    keep: np.ndarray | None = None
    baselines: Baselines | None = None


def prepare_period(s: LogSet, period: str) -> Period:
    start, until = s.periods[period]
    work = OUT / s.name / f"work-{period}"
    shutil.rmtree(work, ignore_errors=True)
    inputs = write_training_inputs(s.articles, s.events, start, work / "inputs")
    pairs, relevant = s.make_pairs(s.events, start, until)
    return Period(start, inputs, pairs, relevant, {a.id: a for a in s.articles}, work)


def run_project(
    p: Period,
    config: TrainConfig,
    params_list: Sequence[BlendParams],
    strategies: Sequence[str],
    calibrate: bool = False,
) -> tuple[list[dict[str, dict[str, dict[str, float]]]], Any]:
    """Train at the split with ``config``; the scores of each strategy for each params
    (``calibrate``: the run calibrates itself on the training period's last day, and its
    bundle is scored with the blend settings it chose, as it would be served)."""
    models = p.work / "models"
    shutil.rmtree(models, ignore_errors=True)
    bundle = train_at_split(
        p.inputs, models, config, calibrator=calibrate_run if calibrate else None
    )
    if calibrate:
        params_list = [manifest_params(bundle.manifest) or BlendParams()]
    replay = prepare_replay(bundle, p.pairs, p.by_id, now_ts=p.start)
    known = known_times(bundle, p.by_id, p.pairs)
    last = int(p.pairs.timestamps.max())
    row_ids = list(bundle.meta("id")) + sorted(a for a, t in known.items() if t <= last)
    if p.queries is None:
        evaluated = set(replay.query_ids)
        keep = np.array([q in evaluated for q in p.pairs.query_ids], dtype=bool)
        new = np.array([not bundle.has(q) for q in p.pairs.query_ids], dtype=bool)
        full = Queries(list(p.pairs.query_ids), p.relevant, p.pairs.timestamps, new)
        p.keep, p.queries = keep, full.subset(keep)
        p.baselines = period_baselines(p, bundle, known)
    out = []
    for params in params_list:
        results = {}
        for strategy in strategies:
            rl = replay_lists(replay, strategy, params=params)
            lists = [[row_ids[r] for r in rl.for_pair(i)] for i in range(replay.n_pairs)]
            results[strategy] = scores(lists, p.queries)
        out.append(results)
    return out, (bundle, replay)


def period_baselines(p: Period, bundle: Bundle, known: dict[str, int]) -> Baselines:
    articles = sorted(p.by_id.values(), key=lambda a: a.id)
    index = {a.id: i for i, a in enumerate(articles)}
    never = np.iinfo(np.int64).max
    known_ts = np.array(
        [np.iinfo(np.int64).min if bundle.has(a.id) else known.get(a.id, never) for a in articles],
        dtype=np.int64,
    )
    train_events = load_events(p.inputs.views_path)
    codes = np.array([index[str(a)] for a in train_events.article_ids], dtype=np.int64)
    return Baselines(
        articles, train_events.session_codes, codes[train_events.article_codes], known_ts
    )


def freshness_check(bundle: Bundle, replay: Any, params: BlendParams) -> dict[str, float]:
    """On up to 300 established queries at the split, every hybrid candidate (lists of 200,
    fallbacks aside): the share scored exactly 0 (freshness underflow), the share with a
    freshness factor below 1e-6, and the share of the top 10 scored 0."""
    zero = tiny = total = top_zero = top = 0
    rows = [int(r) for r, new in zip(replay.query_rows, replay.query_new, strict=True) if not new]
    for row in rows[:300]:
        items = related(replay.signals, row, 200, now_ts=replay.now_ts, params=params)
        scored = [i for i in items if i.source not in ("section_popular", "popular")]
        zero += sum(i.score == 0.0 for i in scored)
        tiny += sum(i.freshness is not None and i.freshness < 1e-6 for i in scored)
        total += len(scored)
        top_zero += sum(i.score == 0.0 for i in scored[:N])
        top += len(scored[:N])
    return {
        "zero_share": zero / max(total, 1),
        "tiny_share": tiny / max(total, 1),
        "top_zero_share": top_zero / max(top, 1),
    }


# --- the sets -------------------------------------------------------------------------------------


def movielens_set() -> LogSet:
    converted = data.movielens(OUT)
    events = load_events(converted.views)  # type: ignore[arg-type]
    ts = np.sort(events.timestamps)
    cut = [int(ts[int(q * ts.size)]) for q in (0.8, 0.9)]
    end = int(ts[-1]) + 1

    def pairs(events: Any, start: int, until: int) -> tuple[ReplayPairs, list[frozenset[str]]]:
        made = replay_pairs(events, start, until, bot_views_per_minute=None, bot_burst_views=None)
        return made, [frozenset({t}) for t in made.target_ids]

    return LogSet(
        "movielens",
        converted,
        {"validation": (cut[0], cut[1]), "test": (cut[1], end)},
        pairs,
    )


def mind_set(truth: str) -> LogSet:
    """``truth``: "history" (the clicks of an impression are the relevant set of the list on
    the user's last history article) or "clicks" (the project's MIND replay: each clicked
    article's next click in the same impression)."""
    source = data.DATA / "mind-sample"
    raw = OUT / "mind-converted"
    if not (raw / "views.csv").is_file():
        subprocess.run(
            [*NEWSREC, "convert-mind", str(source), "--out", str(raw), "--include-history"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    converted = data.mind_catalogue(raw, OUT)
    impressions = data.mind_impressions(source / "behaviors.tsv")
    day = int(dt.datetime(2019, 11, 12, tzinfo=dt.UTC).timestamp())

    def pairs(events: Any, start: int, until: int) -> tuple[ReplayPairs, list[frozenset[str]]]:
        # the live views of the period (for most_viewed_live and known times) as replayed
        base = replay_pairs(events, start, until, bot_views_per_minute=None, bot_burst_views=None)
        chosen = [i for i in impressions if start <= i.ts < until]
        made: list[tuple[str, frozenset[str], int]] = []
        for imp in chosen:
            if truth == "history":
                if imp.last_history:
                    made.append((imp.last_history, frozenset(imp.clicks), imp.ts))
            else:
                for k in range(len(imp.clicks) - 1):
                    if imp.clicks[k] != imp.clicks[k + 1]:
                        made.append((imp.clicks[k], frozenset({imp.clicks[k + 1]}), imp.ts + k))
        replayed = dataclasses.replace(
            base,
            query_ids=[q for q, _, _ in made],
            target_ids=[min(r) for _, r, _ in made],
            timestamps=np.array([t for _, _, t in made], dtype=np.int64),
            n_sessions=len(chosen),
        )
        return replayed, [r for _, r, _ in made]

    n_text = len((source / "news.tsv").read_text(encoding="utf-8").splitlines())
    converted.notes.append(
        (
            "truth: the clicks of each impression with a history are the relevant set of the "
            "list on the user's last history article"
            if truth == "history"
            else "truth: the next click in the same impression (the project's MIND replay rule; "
            "click order = impression order)"
        )
        + f"; news.tsv has {n_text} rows with text, so content can only matter where both ends "
        "have one; training sessions: impressions + each user's history once "
        "(`newsrec convert-mind --include-history`)"
    )
    return LogSet(
        f"mind-{truth}",
        converted,
        {"validation": (day, day + DAY), "test": (day + DAY, day + 3 * DAY)},
        pairs,
    )


# --- diagnostics ----------------------------------------------------------------------------------

TRAIN_SWEEPS: dict[str, list[Any]] = {
    "bot_burst_views": [20, 50, None],
    "bot_views_per_minute": [10.0, 30.0, None],
    "max_df": [0.1, 0.5, 1.0],
    "coview_normalization": ["cosine", "jaccard", "lift", "llr"],
    "coview_min_count": [1, 2],
    "coview_next_weight": [0.0, 0.5, 1.0],
}
BLEND_SWEEPS: dict[str, list[Any]] = {
    "half_life_days": [3.0, 30.0, 365.0, None],
    "freshness_weight": [0.0, 0.5, 0.75, 0.9],
    "coview_weight": [0.0, 1.5, 5.0, 20.0],
    "coview_evidence": [1.0, 10.0, 100.0],
    "popularity_weight": [0.0, 0.5, 1.0],
    "content_weight": [0.1, 0.5, 1.0],
    "section_weight": [0.0, 0.5, 1.0],
}


def fmt(value: Any) -> str:
    if value is None:
        return "off"
    if value == UNCAPPED:
        return "no cap"
    return str(value)


def f3(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"


@dataclass
class Sweep:
    """One setting's values on validation: ``rows`` of (value, scores by strategy)."""

    setting: str
    rows: list[tuple[Any, dict[str, dict[str, dict[str, float]]]]]
    default: Any

    def best(self) -> Any:
        def key(row: tuple[Any, dict[str, dict[str, dict[str, float]]]]) -> float:
            return row[1]["hybrid"]["all"]["hit@10"]

        top = max(key(r) for r in self.rows)
        # a tie keeps the default
        if key(next(r for r in self.rows if r[0] == self.default)) >= top:
            return self.default
        return next(r[0] for r in self.rows if key(r) == top)


def sweep(
    evaluate: Callable[[TrainConfig, list[BlendParams]], list[dict[str, Any]]],
    base_config: TrainConfig | None = None,
    base_params: BlendParams | None = None,
    *,
    blend_only: bool = False,
) -> list[Sweep]:
    """One setting at a time from a starting point, the defaults unless given (training
    settings retrain; ``blend_only`` sweeps only the ranking settings)."""
    base_config, base_params = base_config or TrainConfig(), base_params or BlendParams()
    out = []
    for setting, values in BLEND_SWEEPS.items():
        params = [dataclasses.replace(base_params, **{setting: v}) for v in values]
        results = evaluate(base_config, params)
        out.append(
            Sweep(setting, list(zip(values, results, strict=True)), getattr(base_params, setting))
        )
        say(
            f"  {setting}: "
            + ", ".join(f"{fmt(v)} {r['hybrid']['all']['hit@10']:.3f}" for v, r in out[-1].rows)
        )
    for setting, values in {} if blend_only else TRAIN_SWEEPS.items():
        rows = []
        for v in values:
            (result,) = evaluate(base_config.replace(**{setting: v}), [base_params])
            rows.append((v, result))
        out.append(Sweep(setting, rows, getattr(base_config, setting)))
        say(
            f"  {setting}: "
            + ", ".join(f"{fmt(v)} {r['hybrid']['all']['hit@10']:.3f}" for v, r in rows)
        )
    return out


def chosen(
    sweeps: list[Sweep], config: TrainConfig | None = None, params: BlendParams | None = None
) -> tuple[TrainConfig, BlendParams]:
    config, params = config or TrainConfig(), params or BlendParams()
    for s in sweeps:
        if s.setting in TRAIN_SWEEPS:
            config = config.replace(**{s.setting: s.best()})
        else:
            params = dataclasses.replace(params, **{s.setting: s.best()})
    return config, params


def changed(config: TrainConfig, params: BlendParams) -> str:
    parts = [
        f"{k} = {fmt(getattr(config, k))}"
        for k in TRAIN_SWEEPS
        if getattr(config, k) != getattr(TrainConfig(), k)
    ]
    parts += [
        f"{k} = {fmt(getattr(params, k))}"
        for k in BLEND_SWEEPS
        if getattr(params, k) != getattr(BlendParams(), k)
    ]
    return ", ".join(parts) or "the defaults"


# --- markdown ------------------------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def results_table(results: dict[str, dict[str, dict[str, float]]], recall: bool = False) -> str:
    header = ["strategy", "hit@10", "hit@10 established", "hit@10 new", "hit@5", "MRR@10"]
    if recall:
        header.append("recall@10")
    rows = []
    for name, r in results.items():
        row = [
            name,
            f3(r["all"]["hit@10"]),
            f3(r["established"]["hit@10"]),
            f3(r["new"]["hit@10"]),
            f3(r["all"]["hit@5"]),
            f3(r["all"]["mrr@10"]),
        ]
        if recall:
            row.append(f3(r["all"]["recall@10"]))
        rows.append(row)
    return table(rows, header)


def sweep_table(sweeps: list[Sweep], start: str = "default") -> str:
    rows = []
    for s in sweeps:
        best = s.best()
        for value, r in s.rows:
            h = r["hybrid"]
            rows.append(
                [
                    s.setting,
                    fmt(value)
                    + (f" ({start})" if value == s.default else "")
                    + (" **best**" if value == best and value != s.default else ""),
                    f3(h["all"]["hit@10"]),
                    f3(h["established"]["hit@10"]),
                    f3(h["new"]["hit@10"]),
                    f3(r["coview"]["all"]["hit@10"]) if "coview" in r else "",
                    f3(r["content"]["all"]["hit@10"]) if "content" in r else "",
                ]
            )
    return table(
        rows,
        ["setting", "value", "hybrid hit@10", "established", "new", "coview", "content"],
    )


def best_baseline(results: dict[str, Any], group: str) -> tuple[str, float]:
    pairs = [(b, results[b][group]["hit@10"]) for b in BASELINES if b in results]
    pairs = [(b, v) for b, v in pairs if v == v]
    return max(pairs, key=lambda x: x[1]) if pairs else ("-", float("nan"))


# --- runs --------------------------------------------------------------------------------


def run_log_set(s: LogSet, md: list[str], summary: list[list[str]]) -> None:
    say(f"== {s.name}")
    started = time.perf_counter()
    s.articles = list(read_articles(s.converted.articles).articles)
    s.events = load_events(s.converted.views)  # type: ignore[arg-type]
    test = prepare_period(s, "test")
    (defaults,), (bundle, replay) = run_project(test, TrainConfig(), [BlendParams()], PROJECT)
    assert test.baselines is not None and test.queries is not None
    results = dict(defaults)
    for name in BASELINES:
        results[name] = scores(test.baselines.lists(name, test.queries), test.queries)
    fresh = freshness_check(bundle, replay, BlendParams())
    fresh_off = freshness_check(bundle, replay, BlendParams(half_life_days=None))
    counts = bundle.manifest.get("counts", {})
    say("  newsrec train with its self-calibration (the training period only)")
    (calibrated,), (calibrated_bundle, _) = run_project(
        test, TrainConfig(), [], CALIBRATED, calibrate=True
    )
    if SKIP_SWEEPS:
        md += [
            f"### {s.name}",
            "",
            f"- {calibration_note(calibrated_bundle)}",
            "",
            results_table({**results, **{f"{k} (calibrated)": v for k, v in calibrated.items()}}),
            "",
        ]
        add_summary(s.name, results, None, summary, calibrated)
        return
    say("  validation sweeps")
    val = prepare_period(s, "validation")

    def evaluate(config: TrainConfig, params: list[BlendParams]) -> list[dict[str, Any]]:
        return run_project(val, config, params, ("content", "coview", "hybrid"))[0]

    sweeps = sweep(evaluate)
    first_config, first_params = chosen(sweeps)
    say("  second round, ranking settings from the first round's choice")
    again = sweep(evaluate, first_config, first_params, blend_only=True)
    config, params = chosen(again, first_config, first_params)
    (tuned,), _ = run_project(test, config, [params], PROJECT)
    seconds = time.perf_counter() - started
    q = test.queries
    start, until = s.periods["test"]
    vstart, vuntil = s.periods["validation"]
    md += [
        f"### {s.name}",
        "",
        *[f"- {note}" for note in s.converted.notes],
        f"- test period {day(start)} .. {day(until)}: {len(q)} queries ({int(q.new.sum())} new) "
        f"of {len(test.pairs)} ({int((~test.keep).sum())} with an unknown query article left "  # type: ignore[operator]
        f"out); trained on {test.inputs.n_views} views, {len(test.inputs.article_ids)} articles",
        f"- validation period {day(vstart)} .. {day(vuntil)} ({len(val.queries or [])} queries), "
        "trained on what precedes it",
        f"- default bundle at the test split: {counts.get('sessions', '?')} sessions, "
        f"{counts.get('bot_sessions', '?')} dropped as crawlers (by pace), "
        f"{counts.get('coview_pairs', counts.get('pairs', '?'))} co-view pairs "
        f"(manifest counts: {compact(counts)})",
        f"- freshness at defaults (300 established queries at the split, every hybrid "
        f"candidate): {100 * fresh['zero_share']:.1f}% of candidates score exactly 0.0 "
        f"(underflow), {100 * fresh['tiny_share']:.1f}% have a freshness factor below 1e-6, "
        f"{100 * fresh['top_zero_share']:.1f}% of the shown top 10 score 0 (freshness off: "
        f"{100 * fresh_off['zero_share']:.1f}% of candidates score 0)",
        f"- run time {seconds:.0f} s",
        "",
        "Test period, defaults and baselines:",
        "",
        results_table(results),
        "",
        f"`newsrec train` as it runs by default, with its self-calibration: "
        f"{calibration_note(calibrated_bundle)}. On the test period:",
        "",
        results_table({f"{k} (calibrated)": v for k, v in calibrated.items()}),
        "",
        "Diagnosis on the validation period (one setting at a time from the defaults; hit@10):",
        "",
        sweep_table(sweeps),
        "",
        f"First round's choice: {changed(first_config, first_params)}. Second round: the "
        "ranking settings again, one at a time from that choice (a setting can matter only "
        "once another is fixed, e.g. the co-view weight once freshness is off):",
        "",
        sweep_table(again, "first round's choice"),
        "",
        f"Chosen on validation: {changed(config, params)}. On the test period:",
        "",
        results_table(
            {
                f"{k} (chosen)": v
                for k, v in tuned.items()
                if k in ("content", "coview", "content_fresh", "hybrid")
            }
        ),
        "",
    ]
    add_summary(s.name, results, tuned, summary, calibrated)


def compact(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if isinstance(v, int | float))


def day(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M")


def add_summary(
    name: str,
    results: dict[str, Any],
    tuned: dict[str, Any] | None,
    summary: list[list[str]],
    calibrated: dict[str, Any] | None = None,
) -> None:
    for group in ("all", "established", "new"):
        if results["hybrid"][group]["n"] == 0:
            continue
        b, v = best_baseline(results, group)
        single = max(
            (s for s in ("content", "coview", "most_viewed") if s in results),
            key=lambda s: results[s][group]["hit@10"],
        )
        verdict = "-"
        if calibrated is not None:
            # the target: the calibrated hybrid against the best single signal (of the
            # default bundle and of the calibrated one) and the best public baseline
            own = calibrated["hybrid"][group]["hit@10"]
            best_single = max(
                [results[single][group]["hit@10"]]
                + [calibrated[s][group]["hit@10"] for s in ("content", "coview") if s in calibrated]
            )
            ratio = own / best_single if best_single else float("nan")
            met = ratio >= 1.1 and own >= v
            verdict = f"{f3(own)} ({ratio:.2f}x single; {'met' if met else 'NOT met'})"
        summary.append(
            [
                name,
                group,
                f3(results["hybrid"][group]["hit@10"]),
                f"{single} {f3(results[single][group]['hit@10'])}",
                f"{b} {f3(v)}",
                verdict,
                f3(tuned["hybrid"][group]["hit@10"]) if tuned else "-",
            ]
        )


def run_amazon(md: list[str], summary: list[list[str]]) -> None:
    say("== amazon")
    started = time.perf_counter()
    converted = data.amazon(OUT)
    assert converted.views is not None
    articles = sorted(read_articles(converted.articles).articles, key=lambda a: a.id)
    events = load_events(converted.views)
    now = int(events.timestamps.max()) + DAY
    index = {a.id: i for i, a in enumerate(articles)}
    codes = np.array([index[str(a)] for a in events.article_ids], dtype=np.int64)
    reviewed = {str(a) for a in events.article_ids}
    base = Baselines(
        articles,
        events.session_codes,
        codes[events.article_codes],
        np.full(len(articles), np.iinfo(np.int64).min, dtype=np.int64),
    )
    ids = sorted(converted.relevant)
    share = np.array([zlib.crc32(a.encode()) % 2 == 0 for a in ids])
    full = Queries(
        ids,
        [converted.relevant[a] for a in ids],
        np.full(len(ids), now, dtype=np.int64),
        np.array([a not in reviewed for a in ids]),
    )
    test_q, val_q = full.subset(~share), full.subset(share)
    models = OUT / "amazon" / "models"

    def evaluate_on(q: Queries, strategies: Sequence[str], calibrate: bool = False):  # type: ignore[no-untyped-def]
        def run(config: TrainConfig, params: list[BlendParams]) -> list[dict[str, Any]]:
            bundle = train_bundle(
                converted.articles, converted.views, models, config, now, calibrate
            )
            if calibrate:
                notes.append(calibration_note(bundle))
                params = [manifest_params(bundle.manifest) or BlendParams()]
            return [
                {s: scores(static_lists(bundle, q, s, p, now), q) for s in strategies}
                for p in params
            ]

        return run

    notes: list[str] = []
    (defaults,) = evaluate_on(test_q, PROJECT[:1] + PROJECT[2:])(TrainConfig(), [BlendParams()])
    results = dict(defaults)
    for name in BASELINES:
        results[name] = scores(base.lists(name, test_q), test_q)
    say("  newsrec train with its self-calibration (reviews only: no also_view link)")
    (calibrated,) = evaluate_on(test_q, CALIBRATED, calibrate=True)(TrainConfig(), [])
    if SKIP_SWEEPS:
        md += [
            "### amazon",
            "",
            f"- {notes[-1]}",
            "",
            results_table(
                {**results, **{f"{k} (calibrated)": v for k, v in calibrated.items()}},
                recall=True,
            ),
            "",
        ]
        add_summary("amazon", results, None, summary, calibrated)
        return
    say("  validation sweeps")
    sweeps = sweep(evaluate_on(val_q, ("content", "coview", "hybrid")))
    first_config, first_params = chosen(sweeps)
    say("  second round, ranking settings from the first round's choice")
    again = sweep(
        evaluate_on(val_q, ("content", "coview", "hybrid")),
        first_config,
        first_params,
        blend_only=True,
    )
    config, params = chosen(again, first_config, first_params)
    (tuned,) = evaluate_on(test_q, ("content", "coview", "content_fresh", "hybrid"))(
        config, [params]
    )
    # does the section help? (issue: "same category alone beats text similarity")
    same_category = category_lists(articles, test_q, base)
    results["same_category (diagnostic)"] = scores(same_category, test_q)
    md += [
        "### amazon",
        "",
        *[f"- {note}" for note in converted.notes],
        f"- queries: {len(full)} products with an in-file also_view link; test share {len(test_q)} "
        f"({int(test_q.new.sum())} without a review = new), validation share {len(val_q)} "
        "(crc32 of the asin, even = validation)",
        f"- bundle trained on every product and review, now = {day(now)} (the day after the last "
        "review); no also_view link reaches a model",
        f"- run time {time.perf_counter() - started:.0f} s",
        "",
        "Test share, defaults and baselines:",
        "",
        results_table(results, recall=True),
        "",
        f"`newsrec train` as it runs by default, with its self-calibration: {notes[-1]}. On the "
        "test share:",
        "",
        results_table({f"{k} (calibrated)": v for k, v in calibrated.items()}, recall=True),
        "",
        "Diagnosis on the validation share (one setting at a time from the defaults; hit@10):",
        "",
        sweep_table(sweeps),
        "",
        f"First round's choice: {changed(first_config, first_params)}. Second round: the "
        "ranking settings again, one at a time from that choice (a setting can matter only "
        "once another is fixed, e.g. the co-view weight once freshness is off):",
        "",
        sweep_table(again, "first round's choice"),
        "",
        f"Chosen on validation: {changed(config, params)}. On the test share:",
        "",
        results_table({f"{k} (chosen)": v for k, v in tuned.items()}, recall=True),
        "",
    ]
    add_summary("amazon", results, tuned, summary, calibrated)


def category_lists(articles: Sequence[Article], q: Queries, base: Baselines) -> list[list[str]]:
    """Same section, most reviewed first, filled from "popular" (a diagnostic, not a baseline)."""
    by_cat: dict[str, list[int]] = {}
    rank = {c: i for i, c in enumerate(base.popular.tolist())}
    for i, a in enumerate(articles):
        by_cat.setdefault(a.category, []).append(i)
    out = []
    for query in q.ids:
        i = base.index[query]
        same = sorted(
            (j for j in by_cat.get(articles[i].category, []) if j != i),
            key=lambda j: (rank.get(j, len(rank)), j),
        )
        fill = [j for j in base.popular.tolist() if j != i and j not in same]
        out.append([base.ids[j] for j in (same + fill)[:N]])
    return out


def run_lee(md: list[str], summary: list[list[str]]) -> None:
    say("== lee")
    started = time.perf_counter()
    converted = data.lee(OUT)
    articles = sorted(read_articles(converted.articles).articles, key=lambda a: a.id)
    now = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
    ids = sorted(converted.relevant)
    odd = np.array([int(a[3:6]) % 2 == 1 for a in ids])
    full = Queries(
        ids,
        [converted.relevant[a] for a in ids],
        np.full(len(ids), now, dtype=np.int64),
        np.zeros(len(ids), dtype=bool),
    )
    test_q, val_q = full.subset(~odd), full.subset(odd)
    base = Baselines(
        articles,
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.full(len(articles), np.iinfo(np.int64).min, dtype=np.int64),
    )
    models = OUT / "lee" / "models"

    def content(config: TrainConfig, q: Queries) -> dict[str, dict[str, float]]:
        bundle = train_bundle(converted.articles, None, models, config, now)
        return scores(static_lists(bundle, q, "content", BlendParams(), now), q)

    from sklearn.feature_extraction.text import TfidfVectorizer

    def sk(q: Queries, title_weight: int, **kwargs: Any) -> dict[str, dict[str, float]]:
        x = TfidfVectorizer(**kwargs).fit_transform(_texts(articles, title_weight)).tocsr()
        index = {a.id: i for i, a in enumerate(articles)}
        lists = []
        for query in q.ids:
            v = np.asarray((x @ x[index[query]].T).todense()).ravel()
            v[index[query]] = -1
            lists.append([articles[j].id for j in np.argsort(-v, kind="stable")[:N]])
        return scores(lists, q)

    results = {"content (project defaults)": content(TrainConfig(), test_q)}
    results["tfidf"] = scores(base.lists("tfidf", test_q), test_q)
    results["tfidf_title3"] = scores(base.lists("tfidf_title3", test_q), test_q)
    variants: list[tuple[str, Callable[[Queries], dict[str, dict[str, float]]]]] = []
    for max_df in (0.1, 0.3, 0.5, 1.0):
        for stop in ("english", None):
            for title_weight in (1, 3):
                cfg = TrainConfig(max_df=max_df, stop_words=stop, title_weight=title_weight)
                variants.append(
                    (
                        f"project content max_df={max_df} stop_words={stop} "
                        f"title_weight={title_weight}",
                        lambda q, cfg=cfg: content(cfg, q),
                    )
                )
    variants.append(("project content min_df=1", lambda q: content(TrainConfig(min_df=1), q)))
    for sub in (False, True):
        for max_df in (0.1, 0.5, 1.0):
            variants.append(
                (
                    f"sklearn title3 sublinear_tf={sub} max_df={max_df} stop_words=english",
                    lambda q, sub=sub, max_df=max_df: sk(
                        q, 3, sublinear_tf=sub, max_df=max_df, stop_words="english"
                    ),
                )
            )
    rows = []
    val_scores = {}
    for name, fn in variants:
        r = fn(val_q)
        val_scores[name] = r
        rows.append([name, f3(r["all"]["hit@5"]), f3(r["all"]["mrr@10"]), f3(r["all"]["hit@10"])])
    project = [n for n in val_scores if n.startswith("project")]
    best = max(project, key=lambda n: (val_scores[n]["all"]["mrr@10"], n == project[0]))
    best_fn = dict(variants)[best]
    results[f"content, chosen on validation: {best[len('project content ') :]}"] = best_fn(test_q)
    md += [
        "### lee",
        "",
        *[f"- {note}" for note in converted.notes],
        f"- test: halves of even-numbered texts ({len(test_q)} queries), validation: odd "
        f"({len(val_q)}); all 600 halves are candidates; no logs, so content only",
        f"- run time {time.perf_counter() - started:.0f} s",
        "",
        "Test, defaults and baselines:",
        "",
        results_table(results),
        "",
        "Content settings on the validation texts (MRR@10 is the deciding figure: hit@10 is "
        "near 1 for every variant):",
        "",
        table(rows, ["variant", "hit@5", "MRR@10", "hit@10"]),
        "",
    ]
    b = max(("tfidf", "tfidf_title3"), key=lambda k: results[k]["all"]["mrr@10"])
    summary.append(
        [
            "lee (MRR@10)",
            "all",
            f3(results["content (project defaults)"]["all"]["mrr@10"]),
            "-",
            f"{b} {f3(results[b]['all']['mrr@10'])}",
            "- (no log)",
            f3(list(results.values())[-1]["all"]["mrr@10"]),
        ]
    )


def cli_crosscheck(s: LogSet, md: list[str]) -> None:
    """``newsrec evaluate`` at defaults on the same split (its own pairs: capped sessions)."""
    start, until = s.periods["test"]
    out = OUT / s.name / "evaluate.json"
    subprocess.run(
        [
            *NEWSREC,
            "evaluate",
            "--articles",
            str(s.converted.articles),
            "--views",
            str(s.converted.views),
            "--test-from",
            dt.datetime.fromtimestamp(start, dt.UTC).isoformat(),
            "--test-until",
            dt.datetime.fromtimestamp(until, dt.UTC).isoformat(),
            "--json",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import json

    summary = json.loads(out.read_text())
    h = summary["strategies"]
    pairs = summary["pairs"]
    md += [
        f"`newsrec evaluate` at defaults on the same test period (its own pairs: consecutive views "
        f"in a session, crawler sessions dropped by pace): {pairs['evaluated']} pairs, "
        f"{pairs.get('bot_sessions', '?')} sessions dropped; hit@10 hybrid "
        f"{f3(h['hybrid']['all']['hit_rate@10'] or float('nan'))}, content "
        f"{f3(h['content']['all']['hit_rate@10'] or float('nan'))}, coview "
        f"{f3(h['coview']['all']['hit_rate@10'] or float('nan'))}.",
        "",
    ]


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = (
        " (with uncommitted changes)"
        if git("status", "--porcelain", "--", "recommender", "bench")
        else ""
    )
    return git("rev-parse", "--short", "HEAD") + dirty


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["movielens", "mind", "amazon", "lee"],
        choices=["movielens", "mind", "amazon", "lee"],
    )
    parser.add_argument("--write", type=Path, help="write the markdown to this file")
    parser.add_argument(
        "--no-sweeps",
        action="store_true",
        help="skip the validation diagnosis (one setting at a time): defaults, baselines and "
        "the calibrated newsrec train only",
    )
    args = parser.parse_args()
    global SKIP_SWEEPS
    SKIP_SWEEPS = args.no_sweeps
    if not data.DATA.is_dir():
        say(f"no data at {data.DATA}")
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    idle = idle_fraction(2.0)
    load = os.getloadavg()
    md: list[str] = []
    summary: list[list[str]] = []
    for name in args.sets:
        if name == "movielens":
            s = movielens_set()
            run_log_set(s, md, summary)
            cli_crosscheck(s, md)
        elif name == "mind":
            for truth in ("history", "clicks"):
                run_log_set(mind_set(truth), md, summary)
        elif name == "amazon":
            run_amazon(md, summary)
        else:
            run_lee(md, summary)
        print("\n".join(md), flush=True)
    head = [
        "## Real-data quality (issue 13)",
        "",
        f"Command: `.venv/bin/python bench/quality_real.py {' '.join(sys.argv[1:])}`".replace(
            " `", "`"
        ),
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit {git_commit()}; "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} at the start, {100 * idle:.0f}% idle "
        f"over 2 s before it; whole run {time.perf_counter() - started:.0f} s.",
        "",
        __doc__.split("\n\n", 2)[2].strip() if __doc__ else "",
        "",
        "### Summary: hybrid at defaults vs its best single signal and the best public baseline "
        "(hit@10; lee: content, MRR@10)",
        "",
        table(
            summary,
            [
                "set",
                "queries",
                "hybrid (defaults)",
                "best single signal",
                "best baseline",
                "hybrid, newsrec train with its self-calibration (target: >= 1.1x the best "
                "single signal and >= the best baseline)",
                "hybrid, settings chosen on validation",
            ],
        ),
        "",
    ]
    text = "\n".join(head + md)
    print(text)
    if args.write:
        args.write.write_text(text + "\n", encoding="utf-8")
        say(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
