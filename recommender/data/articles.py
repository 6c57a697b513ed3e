"""Article catalogues: the :class:`Article` record, reading a catalogue file, and THE one
article validation (:func:`validate_article`), which the file reader and the service's CMS
route (``PUT /v1/articles/{article_id}``) both use.

Every bad row of a file is reported as a :class:`~recommender.errors.DataError` carrying the
file, the 1-based physical line number and the field to blame. With ``max_invalid=N`` up to
``N`` bad rows are skipped and returned in ``invalid``; one more raises.

Line numbers: JSON Lines, the physical line of the row (blank lines are skipped but counted);
CSV, the line number as :attr:`csv.reader.line_num` reports it, header is line 1 (for a row
whose quoted values contain newlines this is the *last* physical line of the row).
"""

from __future__ import annotations

import csv
import json
import logging
import reprlib
from collections.abc import Generator, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from recommender.data._files import (
    InvalidRows,
    RowError,
    file_format,
    open_binary,
    open_text,
    parse_datetime,
    type_name,
    utf8_error,
)
from recommender.data.html import strip_html
from recommender.errors import DataError

__all__ = [
    "URL_SCHEMES",
    "Article",
    "ArticleTable",
    "is_web_url",
    "read_articles",
    "validate_article",
]

log = logging.getLogger("recommender")

#: The schemes ``url`` and ``image_url`` may have. Any other value (``javascript:``,
#: ``data:``, a relative or scheme-relative path) is dropped with a counted warning: pages and
#: widgets link to these values, and the API returns them to any site.
URL_SCHEMES = ("http", "https")


def is_web_url(value: str) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a host.

    Examples
    --------
    >>> is_web_url("https://example.com/a"), is_web_url("javascript:alert(1)")
    (True, False)
    """
    try:
        parts = urlsplit(value)  # strips leading blanks and tabs/newlines, as browsers do
    except ValueError:
        return False
    return parts.scheme.lower() in URL_SCHEMES and bool(parts.hostname)


@dataclass(frozen=True, slots=True)
class Article:
    """One article of the catalogue.

    Parameters
    ----------
    id : str
        External article id (``article_id`` everywhere else in the project).
    title : str
        Title, whitespace collapsed; never empty.
    body : str
        Plain text of the body (HTML stripped, whitespace collapsed).
    category : str
        Section or category, ``""`` when unknown.
    tags : tuple of str
        Tags, stripped, empties dropped, in file order.
    author : str
        Author name(s) as given.
    published_at : datetime or None
        Publication time as a UTC-aware datetime, ``None`` when unknown.
    url : str
        Canonical URL.
    image_url : str
        Lead image URL.
    status : str
        Lower-cased publication status (``"published"`` unless the file says otherwise).
    language : str
        Language code as given (e.g. ``"en"``).
    image_srcset : str
        The lead image in several widths, as an HTML ``srcset`` (``"https://.../a-320.jpg
        320w, https://.../a-640.jpg 640w"``); ``""`` when the site gives only ``image_url``.
    """

    id: str
    title: str
    body: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    author: str = ""
    published_at: datetime | None = None
    url: str = ""
    image_url: str = ""
    status: str = "published"
    language: str = ""
    image_srcset: str = ""


@dataclass(frozen=True)
class ArticleTable:
    """Articles read from one file.

    Parameters
    ----------
    articles : list of Article
        Valid articles, one per id (the last row wins), sorted by id.
    n_rows : int
        Number of valid rows read, duplicates included, so
        ``len(articles) == n_rows - n_duplicates``. Skipped rows are in ``invalid``.
    n_duplicates : int
        Number of valid rows whose id had already been seen (and which replaced it).
    invalid : list of DataError
        Rows skipped because of ``max_invalid``, in file order.
    path : str
        The file read.
    dropped_urls : list of DataError
        ``url`` and ``image_url`` values dropped because they are not http(s) URLs (their
        articles are kept without them), in file order.
    """

    articles: list[Article]
    n_rows: int
    n_duplicates: int
    invalid: list[DataError] = field(default_factory=list)
    path: str = ""
    dropped_urls: list[DataError] = field(default_factory=list)


def _optional_text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RowError(name, f"must be a string, got {type_name(value)}")
    return value.strip()


def _parse_tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            # A JSON list written into a CSV cell.
            try:
                value = json.loads(text)
            except ValueError:
                value = text.split(",")
        else:
            value = text.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise RowError(
            "tags",
            f"must be a list of strings or a comma-separated string, got {reprlib.repr(value)}",
        )
    return tuple(stripped for tag in value if (stripped := tag.strip()))


def _web_url(record: Mapping[str, Any], name: str, dropped: list[str] | None) -> str:
    value = _optional_text(record, name)
    if value and not is_web_url(value):
        if dropped is not None:
            dropped.append(name)
        return ""
    return value


def validate_article(
    record: Mapping[str, Any], *, where: str = "<article>", dropped: list[str] | None = None
) -> Article:
    """Validate one article record: a JSON object, or a CSV row as a dict of strings.

    The one article validation: :func:`read_articles` runs it on every row of a file, and the
    service's CMS route on the body of ``PUT /v1/articles/{article_id}``, so an article reads
    the same whichever way it arrives.

    Parameters
    ----------
    record : mapping of str to object
        The fields of the articles file: ``id`` (required; an integer becomes a string),
        ``title`` (required, non-empty string), ``body`` (HTML, reduced to text by
        :func:`~recommender.data.html.strip_html`), ``category``, ``tags`` (a list of strings,
        a comma-separated string, or a JSON list written into a string), ``author``,
        ``published_at`` (ISO 8601 date or date-time; no zone means UTC; ``""`` or ``None``:
        unknown), ``url``, ``image_url``, ``image_srcset``, ``status`` (lower-cased, default
        ``"published"``), ``language``. Text fields are stripped of surrounding whitespace;
        the title's inner whitespace is collapsed. ``None`` means absent; other fields are ignored.
        A ``url`` or ``image_url`` that is not an http(s) URL (:func:`is_web_url`) is dropped
        (empty).
    where : str, default "<article>"
        What to name as the source in the error (a file, a route).
    dropped : list of str, optional
        The names of the dropped URL fields are appended here (to count and warn).

    Returns
    -------
    Article

    Raises
    ------
    DataError
        With ``line=None`` and ``field`` naming the field to blame.

    Examples
    --------
    >>> validate_article({"id": 7, "title": " A  title ", "tags": '["a", " b"]'}).tags
    ('a', 'b')
    """
    try:
        return _article_from_record(record, dropped)
    except RowError as exc:
        raise DataError(where, None, exc.field, exc.message) from None


def _article_from_record(record: Mapping[str, Any], dropped: list[str] | None = None) -> Article:
    """Validate one row (a JSON object, or a CSV row as a dict of strings)."""
    raw_id = record.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise RowError("id", "missing article id")
    if not isinstance(raw_id, str):
        raise RowError("id", f"must be a string or an integer, got {type_name(raw_id)}")
    title = record.get("title")
    if title is None:
        raise RowError("title", "missing title")
    if not isinstance(title, str):
        raise RowError("title", f"must be a string, got {type_name(title)}")
    title = " ".join(title.split())
    if not title:
        raise RowError("title", "empty title")
    published = record.get("published_at")
    if published is not None and not isinstance(published, str):
        raise RowError("published_at", f"must be an ISO 8601 string, got {type_name(published)}")
    return Article(
        id=raw_id.strip(),
        title=title,
        body=strip_html(_optional_text(record, "body")),
        category=_optional_text(record, "category"),
        tags=_parse_tags(record.get("tags")),
        author=_optional_text(record, "author"),
        published_at=None if published is None else parse_datetime(published),
        url=_web_url(record, "url", dropped),
        image_url=_web_url(record, "image_url", dropped),
        status=_optional_text(record, "status").lower() or "published",
        language=_optional_text(record, "language"),
        image_srcset=" ".join(_optional_text(record, "image_srcset").split()),
    )


def _jsonl_article_records(
    path: Path, gz: bool
) -> Generator[tuple[int, Mapping[str, Any] | RowError]]:
    with open_binary(path, gz) as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)  # bytes: json detects UTF-8 and a leading BOM
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                yield line_number, RowError(None, f"invalid JSON: {exc}")
                continue
            if not isinstance(record, dict):
                yield (
                    line_number,
                    RowError(None, f"expected a JSON object, got {type_name(record)}"),
                )
                continue
            yield line_number, record


def _csv_article_records(
    path: Path, gz: bool
) -> Generator[tuple[int, Mapping[str, Any] | RowError]]:
    where = str(path)
    previous_limit = csv.field_size_limit(2**31 - 1)  # article bodies exceed the 128 KiB default
    try:
        with open_text(path, gz) as handle:
            reader = csv.reader(handle)
            try:
                header = [name.strip() for name in next(reader)]
            except StopIteration:
                return
            for required in ("id", "title"):
                if required not in header:
                    raise DataError(where, 1, required, "missing required column")
            if len(set(header)) != len(header):
                raise DataError(where, 1, None, f"duplicate column names in header {header}")
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield reader.line_num, RowError(None, f"malformed CSV: {exc}")
                    continue
                if not row:  # blank line
                    continue
                if len(row) != len(header):
                    yield (
                        reader.line_num,
                        RowError(None, f"expected {len(header)} columns, found {len(row)}"),
                    )
                    continue
                yield (
                    reader.line_num,
                    {name: value for name, value in zip(header, row, strict=True) if value != ""},
                )
    except UnicodeDecodeError:
        raise utf8_error(path, gz) from None
    finally:
        csv.field_size_limit(previous_limit)


def read_articles(path: str | Path, *, max_invalid: int = 0) -> ArticleTable:
    """Read an article catalogue.

    Parameters
    ----------
    path : str or Path
        A JSON Lines file (``.jsonl`` or ``.json``, one object per line) or a CSV file with a
        header row (``.csv``), optionally gzip-compressed (``.jsonl.gz``, ``.csv.gz``).
    max_invalid : int, default 0
        How many bad rows may be skipped. Skipped rows are listed in ``invalid`` of the
        result; one more bad row raises.

    Returns
    -------
    ArticleTable
        Valid articles sorted by id; for a duplicated id the last row wins.

    Raises
    ------
    DataError
        Unsupported extension, a CSV header without ``id``/``title``, or more than
        ``max_invalid`` bad rows (the error names the line and field of the first row too
        many).

    Notes
    -----
    Fields: ``id`` (required; JSON integers become strings), ``title`` (required, non-empty
    string), ``body`` (HTML, reduced to text by :func:`strip_html`), ``category``, ``tags``
    (a JSON list of strings, or a comma-separated string), ``author``, ``published_at``
    (ISO 8601 date or date-time; no zone means UTC), ``url``, ``image_url``, ``image_srcset``
    (the image in several widths, an HTML ``srcset``), ``status`` (lower-cased, default
    ``"published"``), ``language``. Other fields are ignored. In CSV
    an empty cell means "absent".
    """
    path = Path(path)
    where = str(path)
    fmt, gz = file_format(path)
    if not path.is_file():
        raise DataError(where, None, None, "file not found")
    records = _jsonl_article_records(path, gz) if fmt == "jsonl" else _csv_article_records(path, gz)
    invalid = InvalidRows(where, max_invalid)
    # closing(): a raise below must not leave the CSV reader's field size limit raised.
    dropped: list[DataError] = []
    with closing(records):
        by_id, n_rows, n_duplicates = _collect_articles(records, invalid, dropped)
    if dropped:
        log.warning(
            "%s: dropped %d url/image_url values that are not http(s) URLs (first: %s)",
            where,
            len(dropped),
            dropped[0],
        )
    articles = [by_id[article_id] for article_id in sorted(by_id)]
    return ArticleTable(
        articles=articles,
        n_rows=n_rows,
        n_duplicates=n_duplicates,
        invalid=invalid.errors,
        path=where,
        dropped_urls=dropped,
    )


def _collect_articles(
    records: Iterable[tuple[int, Mapping[str, Any] | RowError]],
    invalid: InvalidRows,
    dropped_urls: list[DataError],
) -> tuple[dict[str, Article], int, int]:
    """Validate rows; return the articles by id (last wins), rows kept and duplicates; the
    URL values dropped are added to ``dropped_urls``."""
    by_id: dict[str, Article] = {}
    n_rows = n_duplicates = 0
    for line, record in records:
        if isinstance(record, RowError):
            invalid.add(line, record.field, record.message)
            continue
        dropped: list[str] = []
        try:
            article = _article_from_record(record, dropped)
        except RowError as exc:
            invalid.add(line, exc.field, exc.message)
            continue
        for name in dropped:
            value = reprlib.repr(record.get(name))
            dropped_urls.append(
                DataError(invalid.path, line, name, f"not an http(s) URL, dropped: {value}")
            )
        n_rows += 1
        if article.id in by_id:
            n_duplicates += 1
        by_id[article.id] = article
    return by_id, n_rows, n_duplicates
