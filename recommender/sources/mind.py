"""Adapter for MIND, the Microsoft News Dataset (https://msnews.github.io/).

MIND ships two TAB-separated files without header rows:

``news.tsv``
    news id, category, subcategory, title, abstract, URL, title entities, abstract entities.
    There is no publication date and no body: the abstract stands in for the body.
``behaviors.tsv``
    impression id, user id, impression time (``M/D/YYYY h:mm:ss AM|PM``), click history
    (space-separated news ids, no timestamps), impressions (space-separated ``NewsID-label``,
    label ``1`` = clicked, ``0`` = shown and not clicked).

Replay rule
-----------
MIND records impressions, not page views, so views are replayed from it as follows:

* Each behaviour row is one session whose ``session_id`` is the impression id.
* The clicked impressions (label ``1``) of a row are its views, in impression order, the first
  at the impression time and each next one :data:`READ_SECONDS` later (so the order is stable,
  at a reader's pace).
  Impressions with label ``0`` are not views. A row without clicks adds no session.
* The click history is **not** replayed by default: it has no timestamps and repeats, growing,
  on every row of the same user. With ``include_history=True`` each user's history is added
  once, from the user's first row in the file, as an extra session ``history-<user id>``: its
  views are :data:`READ_SECONDS` apart, in history order, the last one hour before that row's
  impression time. The spacing is a reader's pace, not a crawler's: training and the replay
  drop sessions that read faster than a person (:mod:`recommender.crawlers`), and a history
  stamped a second apart (as this converter once did) would be taken for a crawler and lost.
* Impression times carry no time zone; they are taken as UTC.

:func:`convert_mind` writes ``articles.jsonl`` and ``views.csv`` that
:func:`recommender.data.articles.read_articles` and :func:`recommender.data.views.read_views`
read back to the same articles and events.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from recommender.data._files import InvalidRows
from recommender.data.articles import Article, ArticleTable
from recommender.data.views import ViewEvents
from recommender.errors import DataError
from recommender.windows import HOUR

__all__ = ["convert_mind", "read_mind_behaviors", "read_mind_news"]

#: How long before its impression a user's replayed history ends, in seconds.
HISTORY_END_BEFORE_S = HOUR
#: Seconds between two replayed views of one session (clicks of an impression, a history): a
#: reader's pace (one article a minute), far below the crawler rule's 10 a minute.
READ_SECONDS = 60
_NEWS_FIELDS = 8
_BEHAVIOR_FIELDS = 5


class _LineError(Exception):
    """A problem with one line, before the path and line number are attached."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers, line endings removed."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataError(str(path), number, None, f"not valid UTF-8: {exc}") from None
            if text.strip():
                yield number, text


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DataError(str(path), None, None, "file not found")


# ---------------------------------------------------------------------------------------------
# news.tsv
# ---------------------------------------------------------------------------------------------


def _article_from_news(fields: list[str]) -> Article:
    if len(fields) != _NEWS_FIELDS:
        raise _LineError(None, f"expected {_NEWS_FIELDS} tab-separated fields, found {len(fields)}")
    news_id, category, subcategory, title, abstract, url = (f.strip() for f in fields[:6])
    if not news_id:
        raise _LineError("id", "missing news id")
    title = " ".join(title.split())
    if not title:
        raise _LineError("title", "empty title")
    return Article(
        id=news_id,
        title=title,
        body=" ".join(abstract.split()),
        category=category,
        tags=(subcategory,) if subcategory else (),
        url=url,
        status="published",
        language="en",
    )


def read_mind_news(path: str | Path, *, max_invalid: int = 0) -> ArticleTable:
    """Read MIND's ``news.tsv`` as an article table.

    Parameters
    ----------
    path : str or Path
        The ``news.tsv`` file.
    max_invalid : int, default 0
        How many bad lines may be skipped (listed in ``invalid``); one more raises.

    Returns
    -------
    ArticleTable
        One article per news id, sorted by id (the last line wins for a repeated id):
        ``body`` is the abstract, ``category`` the category, ``tags`` the subcategory,
        ``url`` the MSN URL, ``language`` ``"en"``, ``status`` ``"published"`` and
        ``published_at`` ``None`` (MIND has no publication date).

    Raises
    ------
    DataError
        A missing file, or more than ``max_invalid`` lines without 8 fields, a news id or a
        title.
    """
    path = Path(path)
    _require_file(path)
    invalid = InvalidRows(str(path), max_invalid)
    by_id: dict[str, Article] = {}
    n_rows = n_duplicates = 0
    for number, line in _lines(path):
        try:
            article = _article_from_news(line.split("\t"))
        except _LineError as exc:
            invalid.add(number, exc.field, exc.message)
            continue
        n_rows += 1
        if article.id in by_id:
            n_duplicates += 1
        by_id[article.id] = article
    return ArticleTable(
        articles=[by_id[news_id] for news_id in sorted(by_id)],
        n_rows=n_rows,
        n_duplicates=n_duplicates,
        invalid=invalid.errors,
        path=str(path),
    )


# ---------------------------------------------------------------------------------------------
# behaviors.tsv
# ---------------------------------------------------------------------------------------------


def _parse_time(text: str) -> int:
    """``11/12/2019 2:14:46 PM`` -> Unix seconds, the time taken as UTC."""
    try:
        day_part, clock_part, half = text.split()
        month, day, year = (int(part) for part in day_part.split("/"))
        hour, minute, second = (int(part) for part in clock_part.split(":"))
        half = half.upper()
        if half not in ("AM", "PM") or not 1 <= hour <= 12:
            raise ValueError(text)
        hour = hour % 12 + (12 if half == "PM" else 0)
        return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())
    except ValueError:
        raise _LineError("time", f"expected M/D/YYYY h:mm:ss AM|PM, got {text!r}") from None


def _clicked(impressions: str) -> list[str]:
    clicked = []
    for token in impressions.split():
        news_id, dash, label = token.rpartition("-")
        if not dash or not news_id or label not in ("0", "1"):
            hint = " (unlabelled impressions, as in MIND's test split?)" if not dash else ""
            raise _LineError("impressions", f"expected NewsID-0 or NewsID-1, got {token!r}{hint}")
        if label == "1":
            clicked.append(news_id)
    return clicked


@dataclass
class _Replay:
    """Replayed views as parallel lists: session key, news id, Unix seconds."""

    sessions: list[str]
    news_ids: list[str]
    timestamps: list[int]
    invalid: list[DataError]


def _replay(path: Path, include_history: bool, max_invalid: int) -> _Replay:
    _require_file(path)
    invalid = InvalidRows(str(path), max_invalid)
    replay = _Replay([], [], [], invalid.errors)
    users_seen: set[str] = set()
    for number, line in _lines(path):
        fields = line.split("\t")
        try:
            if len(fields) != _BEHAVIOR_FIELDS:
                raise _LineError(
                    None, f"expected {_BEHAVIOR_FIELDS} tab-separated fields, found {len(fields)}"
                )
            impression_id, user_id = fields[0].strip(), fields[1].strip()
            if not impression_id:
                raise _LineError("impression_id", "missing impression id")
            if not user_id:
                raise _LineError("user_id", "missing user id")
            seconds = _parse_time(fields[2].strip())
            history = fields[3].split()
            clicked = _clicked(fields[4])
        except _LineError as exc:
            invalid.add(number, exc.field, exc.message)
            continue
        if include_history and user_id not in users_seen:
            users_seen.add(user_id)
            last = seconds - HISTORY_END_BEFORE_S
            key = f"history-{user_id}"
            replay.sessions.extend([key] * len(history))
            replay.news_ids.extend(history)
            first = last - (len(history) - 1) * READ_SECONDS
            replay.timestamps.extend(range(first, last + 1, READ_SECONDS))
        replay.sessions.extend([impression_id] * len(clicked))
        replay.news_ids.extend(clicked)
        replay.timestamps.extend(
            range(seconds, seconds + len(clicked) * READ_SECONDS, READ_SECONDS)
        )
    return replay


def _codes(values: list[str]) -> tuple[np.ndarray[Any, np.dtype[np.int64]], list[str]]:
    """Dense codes in order of first appearance, and the distinct values in that order."""
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(value, len(index)) for value in values), dtype=np.int64, count=len(values)
    )
    return codes, list(index)


def read_mind_behaviors(
    path: str | Path, *, include_history: bool = False, max_invalid: int = 0
) -> ViewEvents:
    """Replay MIND's ``behaviors.tsv`` as view events (see the module's replay rule).

    Parameters
    ----------
    path : str or Path
        The ``behaviors.tsv`` file.
    include_history : bool, default False
        Also replay each user's click history once, as a session of its own.
    max_invalid : int, default 0
        How many bad lines may be skipped (listed in ``invalid``); one more raises.

    Returns
    -------
    ViewEvents
        Events in file order; sessions and article ids numbered in order of first
        appearance.

    Raises
    ------
    DataError
        A missing file, or more than ``max_invalid`` lines without 5 fields, with an empty
        impression or user id, an unreadable time, or an impression not ``NewsID-0|1``.
    """
    path = Path(path)
    replay = _replay(path, include_history, max_invalid)
    article_codes, article_ids = _codes(replay.news_ids)
    session_codes, sessions = _codes(replay.sessions)
    ids = np.empty(len(article_ids), dtype=object)
    ids[:] = article_ids
    return ViewEvents(
        article_ids=ids,
        article_codes=article_codes.astype(np.int32),
        session_codes=session_codes,
        timestamps=np.asarray(replay.timestamps, dtype=np.int64),
        n_sessions=len(sessions),
        invalid=replay.invalid,
        path=str(path),
    )


# ---------------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------------


def _write_atomically(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Write through ``write`` into a temporary file beside ``path``, then rename it."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _article_lines(articles: list[Article]) -> Iterator[str]:
    for article in articles:
        record = {
            "id": article.id,
            "title": article.title,
            # The body field holds HTML: escape the plain-text abstract so that reading it
            # back (tags stripped, entities decoded) gives the same text.
            "body": html.escape(article.body, quote=False),
            "category": article.category,
            "tags": list(article.tags),
            "url": article.url,
            "status": article.status,
            "language": article.language,
        }
        yield json.dumps(record, ensure_ascii=False) + "\n"


def _write_views(replay: _Replay, handle: IO[str]) -> None:
    seconds = np.asarray(replay.timestamps, dtype=np.int64).astype("datetime64[s]")
    stamps = np.datetime_as_string(seconds, unit="s", timezone="UTC").tolist()
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(("session_id", "article_id", "timestamp"))
    writer.writerows(zip(replay.sessions, replay.news_ids, stamps, strict=True))


def convert_mind(
    mind_dir: str | Path, out_dir: str | Path, *, include_history: bool = False
) -> tuple[Path, Path]:
    """Convert a MIND folder into files :mod:`recommender.data` reads.

    Parameters
    ----------
    mind_dir : str or Path
        Folder holding ``news.tsv`` and ``behaviors.tsv``.
    out_dir : str or Path
        Output folder, created if needed. Existing outputs are replaced.
    include_history : bool, default False
        Also replay each user's click history (see the module's replay rule).

    Returns
    -------
    articles_path, views_path : Path
        ``out_dir/articles.jsonl`` (one article per line, ``body`` the HTML-escaped
        abstract) and ``out_dir/views.csv`` (``session_id,article_id,timestamp`` with ISO
        8601 UTC times ending in ``Z``).

    Raises
    ------
    DataError
        A missing input file or a bad line in one.
    """
    mind_dir, out_dir = Path(mind_dir), Path(out_dir)
    table = read_mind_news(mind_dir / "news.tsv")
    replay = _replay(mind_dir / "behaviors.tsv", include_history, max_invalid=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    articles_path = out_dir / "articles.jsonl"
    views_path = out_dir / "views.csv"
    _write_atomically(
        articles_path, lambda handle: handle.writelines(_article_lines(table.articles))
    )
    _write_atomically(views_path, lambda handle: _write_views(replay, handle))
    return articles_path, views_path
