"""The chronological split of the offline evaluation: what was known before it, written as
training inputs, the bundle trained on them, and the test period.

Articles first seen (published, or first viewed when undated) before the split and views
before the split are all a model may learn from; the replay pairs come from the views in the
test period (:func:`recommender.evaluation.replay.replay_pairs`).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recommender.bundle import Bundle
from recommender.config import TrainConfig
from recommender.data.articles import Article, read_articles
from recommender.data.views import ViewCounts, ViewEvents, ViewPaths, read_views
from recommender.errors import DataError
from recommender.evaluation.replay import ReplayPairs, replay_pairs
from recommender.train import Calibrator, train
from recommender.windows import DAY


def load_events(
    views_path: ViewPaths, *, session_gap_minutes: float = 30, max_invalid: int = 0
) -> ViewEvents:
    """Read a view log of events; aggregated counts cannot be replayed."""
    views = read_views(views_path, session_gap_minutes=session_gap_minutes, max_invalid=max_invalid)
    if isinstance(views, ViewCounts):
        raise DataError(
            views.path,
            None,
            None,
            "evaluation replays sessions: needs view events, not aggregated counts",
        )
    if views.timestamps.size == 0:
        raise DataError(views.path, None, None, "no views to replay")
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


def iso_utc(ts: int) -> str:
    """Unix seconds as ISO 8601 UTC with a ``Z``."""
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
        "published_at": None if published is None else iso_utc(int(published.timestamp())),
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
        raise DataError(events.path, None, None, f"no article was known before {iso_utc(split_ts)}")
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
    inputs: TrainingInputs,
    models_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    calibrator: Calibrator | None = None,
) -> Bundle:
    """Train on split inputs (``now`` = the split, ``LATEST`` untouched) and load the bundle.

    ``calibrator``: as ``newsrec train`` by default, the run calibrates itself on the last day
    of the inputs (all before the split) first
    (:func:`recommender.evaluation.calibrate.calibrate`); the bundle's manifest has the
    settings it chose.
    """
    config = config or TrainConfig()
    result = train(
        inputs.articles_path,
        inputs.views_path,
        models_dir,
        config=config.replace(max_invalid=0),
        calibrator=calibrator,
        now=dt.datetime.fromtimestamp(inputs.split_ts, dt.UTC),
        publish=False,
    )
    return Bundle.load(result.path, mmap=False)


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
            f"the test period {iso_utc(start)} .. {iso_utc(until)} leaves no training "
            f"views (views span {iso_utc(first)} .. {iso_utc(last)})",
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
    views_path: ViewPaths,
    split: SplitSpec,
    workdir: str | Path,
    *,
    config: TrainConfig | None = None,
    articles: Sequence[Article] | None = None,
    events: ViewEvents | None = None,
) -> Prepared:
    """Read the inputs (unless given), write the training part, and extract the replay pairs."""
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
