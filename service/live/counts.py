"""Live counts' vocabulary: a view, its time buckets and their labels, the windows.

See :mod:`service.live` for what the buckets are and how they merge with the bundle.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Sequence
from typing import NamedTuple

from recommender.bundle import Bundle
from recommender.windows import DAY, HOUR

log = logging.getLogger("service")

#: Sliding windows ending now, on top of the bundle's :data:`recommender.popularity.WINDOWS`.
LIVE_WINDOWS = ("1h", "24h")
LIVE_WINDOW_SECONDS = {"1h": HOUR, "24h": DAY}
#: Buckets live this long after their hour or day ends.
HOUR_KEEP = 49 * HOUR
DAY_KEEP = 8 * DAY
#: Oldest timestamp an event may carry: its hour bucket must still be there to count it.
MAX_EVENT_AGE = 48 * HOUR
#: Clock skew allowed between a browser and the service.
FUTURE_TOLERANCE = 300
TRENDING_BASELINE_DAYS = 7
KEY_PREFIX = "nr:live:"

#: ``(bucket label, weight)``: ``"h:2026112719"`` or ``"d:20261127"``.
Bucket = tuple[str, float]
#: A weighted union of buckets, overall (``None``) or of one section.
CountQuery = tuple[Sequence[Bucket], str | None]


class LiveUnavailable(Exception):
    """The live store cannot be reached (the events route answers 503)."""


class View(NamedTuple):
    """One view to count: the keyed session hash, the article, its section, unix seconds."""

    session: str
    article_id: str
    category: str
    timestamp: int


@functools.lru_cache(maxsize=256)
def _hour_label(hour: int) -> str:
    return "h:" + time.strftime("%Y%m%d%H", time.gmtime(hour * HOUR))


@functools.lru_cache(maxsize=64)
def _day_label(day: int) -> str:
    return "d:" + time.strftime("%Y%m%d", time.gmtime(day * DAY))


def hour_label(timestamp: float) -> str:
    """``h:YYYYMMDDHH`` of the UTC hour holding ``timestamp``."""
    return _hour_label(int(timestamp // HOUR))


def day_label(timestamp: float) -> str:
    """``d:YYYYMMDD`` of the UTC day holding ``timestamp``."""
    return _day_label(int(timestamp // DAY))


def category_label(label: str, category: str) -> str:
    """The per-section bucket of an hour bucket."""
    return f"{label}:cat:{category}"


def dedup_key(view: View) -> str:
    """The dedup key of a (session, article) pair: the session is already a keyed hash of
    fixed length, so the pair needs no more hashing."""
    return f"{view.session}:{view.article_id}"


@functools.lru_cache(maxsize=512)
def bucket_expiry(label: str) -> int:
    """Unix seconds at which a bucket is dropped: 49 h after its hour, 8 days after its day."""
    if label.startswith("h:"):
        start = dt.datetime.strptime(label[2:12], "%Y%m%d%H").replace(tzinfo=dt.UTC)
        return int(start.timestamp()) + HOUR + HOUR_KEEP
    start = dt.datetime.strptime(label[2:10], "%Y%m%d").replace(tzinfo=dt.UTC)
    return int(start.timestamp()) + DAY + DAY_KEEP


def window_buckets(start: float, end: float, now: float, unit: int = HOUR) -> list[Bucket]:
    """The buckets covering ``[start, end]`` with the share of each inside it.

    A bucket's views are taken as spread evenly over the part of it that has passed at
    ``now``; buckets already dropped (older than their retention) are left out.
    """
    end = min(end, now)
    keep = HOUR_KEEP if unit == HOUR else DAY_KEEP
    start = max(start, now - keep - unit)
    buckets: list[Bucket] = []
    if end <= start:
        return buckets
    label = hour_label if unit == HOUR else day_label
    first = int(start // unit) * unit
    for bucket_start in range(first, int(end) + 1, unit):
        covered_end = min(bucket_start + unit, now)
        span = covered_end - bucket_start
        overlap = min(end, covered_end) - max(start, bucket_start)
        if span > 0 and overlap > 0:
            buckets.append((label(bucket_start), min(overlap / span, 1.0)))
    return buckets


def interval_buckets(start: float, end: float, now: float) -> list[Bucket]:
    """Hour buckets while they last (48 h), day buckets for longer ago."""
    unit = HOUR if start >= now - MAX_EVENT_AGE else DAY
    return window_buckets(start, end, now, unit)


def manifest_time(bundle: Bundle, field: str) -> float | None:
    """A manifest time (``now``, ``created_at``) as unix seconds, None when absent."""
    try:
        return dt.datetime.fromisoformat(str(bundle.manifest[field])).timestamp()
    except (KeyError, ValueError):
        return None


# --- impressions, clicks and experiment tallies ------------------------------------------------

#: Tally days are kept this long (an experiment's whole report reads them).
TALLY_KEEP = 400 * DAY
#: The kinds a tally counts per (experiment, variant, position, day). ``impression`` and
#: ``click`` per position; at position 0 ``view`` (counted page views of sessions in the
#: variant), ``session`` (sessions seen), ``click_session`` (sessions with a recommendation
#: click) and ``after_click`` (page views of a session after its first click).
TALLY_KINDS = ("impression", "click", "view", "session", "click_session", "after_click")
#: Separates the parts of a tally field (experiment and variant names never hold it).
FIELD_SEP = "\x1f"


class Interaction(NamedTuple):
    """One increment of an experiment tally, with the conditions it is counted under.

    Counted when ``after`` is None or that key is set (and not expired), and then when
    ``once`` is None or that key was not set: it is set now, for ``ttl`` seconds.
    """

    kind: str
    experiment: str
    variant: str
    position: int
    timestamp: int
    once: str | None = None
    ttl: float = 1800.0
    after: str | None = None


#: ``(experiment, variant, position, day "YYYY-MM-DD")`` -> ``{kind: count}``.
Tally = dict[tuple[str, str, int, str], dict[str, int]]


def tally_day(timestamp: float) -> str:
    """``YYYYMMDD`` of the UTC day of ``timestamp`` (a tally key's suffix)."""
    return day_label(timestamp)[2:]


def tally_field(item: Interaction) -> str:
    """The field of ``item`` in its day's tally."""
    return FIELD_SEP.join((item.experiment, item.variant, str(item.position), item.kind))


@functools.lru_cache(maxsize=64)
def tally_expiry(day: str) -> int:
    """Unix seconds at which the tally of ``day`` (``YYYYMMDD``) is dropped."""
    start = dt.datetime.strptime(day, "%Y%m%d").replace(tzinfo=dt.UTC)
    return int(start.timestamp()) + DAY + TALLY_KEEP


def add_to_tally(tally: Tally, day: str, field: str, count: int) -> None:
    """Add one stored (day, field, count) to ``tally``."""
    experiment, variant, position, kind = field.split(FIELD_SEP)
    key = (experiment, variant, int(position), f"{day[:4]}-{day[4:6]}-{day[6:8]}")
    row = tally.setdefault(key, {})
    row[kind] = row.get(kind, 0) + count
