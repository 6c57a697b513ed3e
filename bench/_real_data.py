"""Loaders of the real public datasets in ``../shared/data`` for bench/quality_real.py.

Each loader reads one set in place and writes what ``newsrec train`` reads (``articles.jsonl``,
``views.csv``) into a folder under bench/out/real/ (git-ignored; the data never enters the
repository), and returns the set's ground truth. A malformed row raises :class:`RowError`
naming the file and the line. What each loader decides (merges, dropped rows, the time of a
view) is in its docstring and in the ``notes`` it returns, which the benchmark prints.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import html
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class RowError(ValueError):
    """A malformed row of a dataset file."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


@dataclass
class Converted:
    """A set written as newsrec inputs, with its ground truth when it is not the view log."""

    articles: Path
    views: Path | None
    #: query article id -> ids a good list should hold (sets whose truth is not "next view")
    relevant: dict[str, frozenset[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_articles(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_views(path: Path, rows: list[tuple[str, str, int]]) -> None:
    """``(session_id, article_id, unix seconds)`` in the given order (file order breaks time
    ties in the replay)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("session_id", "article_id", "timestamp"))
        writer.writerows((s, a, _iso(t)) for s, a, t in rows)


# --- MovieLens 100K ----------------------------------------------------------------------------


def _ml_lines(path: Path, sep: str, n_fields: int) -> Iterator[tuple[int, list[str]]]:
    with open(path, encoding="latin-1") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line:
                continue
            fields = line.split(sep)
            if len(fields) != n_fields:
                raise RowError(path, number, f"expected {n_fields} fields, got {len(fields)}")
            yield number, fields


def movielens(out: Path, source: Path = DATA / "movielens-100k") -> Converted:
    """MovieLens 100K as a site whose readers each have one session.

    * Every rating (1-5 stars, all of them) is a view of the movie at the rating time; one
      session per user (``session_id`` = user id), as sites that key views by reader have.
    * Views sharing a (user, timestamp) are ordered by item id (the file order the replay keeps).
    * Movies: title (with year) as the title, the genre names as the body, the first genre as
      the section, the release date as ``published_at``.
    * The 18 titles listed under two ids are merged into the lower id (ratings follow), and the
      placeholder item 267 ("unknown") and its ratings are dropped.
    """
    genres = [name for name, _ in (line.split("|") for line in _genre_lines(source / "u.genre"))]
    items: dict[int, dict[str, Any]] = {}
    by_title: dict[str, int] = {}
    merged: dict[int, int] = {}
    path = source / "u.item"
    for number, fields in _ml_lines(path, "|", 5 + len(genres)):
        try:
            item = int(fields[0])
        except ValueError:
            raise RowError(path, number, f"item id is not a number: {fields[0]!r}") from None
        title = fields[1].strip()
        if title == "unknown":
            continue
        if title in by_title:
            merged[item] = by_title[title]
            continue
        by_title[title] = item
        names = [g for g, flag in zip(genres, fields[5:], strict=True) if flag == "1"]
        record: dict[str, Any] = {
            "id": f"m{item}",
            "title": title,
            "body": " ".join(names),
            "category": names[0] if names else "",
        }
        if fields[2]:
            try:
                released = dt.datetime.strptime(fields[2], "%d-%b-%Y").replace(tzinfo=dt.UTC)
            except ValueError:
                raise RowError(path, number, f"bad release date {fields[2]!r}") from None
            record["published_at"] = released.strftime("%Y-%m-%dT%H:%M:%SZ")
        items[item] = record
    path = source / "u.data"
    ratings: list[tuple[int, int, int]] = []
    dropped = 0
    for number, fields in _ml_lines(path, "\t", 4):
        try:
            user, item, _rating, ts = (int(v) for v in fields)
        except ValueError:
            raise RowError(path, number, f"not four integers: {fields!r}") from None
        item = merged.get(item, item)
        if item not in items:
            dropped += 1
            continue
        ratings.append((user, ts, item))
    ratings.sort()
    folder = out / "movielens"
    converted = Converted(folder / "articles.jsonl", folder / "views.csv")
    _write_articles(converted.articles, [items[i] for i in sorted(items)])
    _write_views(converted.views, [(f"u{u}", f"m{i}", t) for u, t, i in ratings])  # type: ignore[arg-type]
    converted.notes = [
        f"{len(items)} movies ({len(merged)} duplicate titles merged into the lower id, the "
        f"placeholder item 267 dropped), {len(ratings)} ratings as views ({dropped} of item 267 "
        "dropped); all ratings, not only >= 4; one session per user",
        "text: title with year + genre names (no other text exists); published_at = release date",
    ]
    return converted


def _genre_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="latin-1").splitlines() if line.strip()]


# --- Amazon 2018 Gift Cards ---------------------------------------------------------------------

EGIFT = "Amazon eGift Card"
_MONTH_DATE = re.compile(r"^[A-Z][a-z]+ \d{1,2}, \d{4}$")


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RowError(path, number, f"not JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise RowError(path, number, "not a JSON object")
            yield number, row


def amazon(out: Path, source: Path = DATA / "amazon2018-gift-cards") -> Converted:
    """Amazon Gift Cards: product text, the in-file ``also_view`` lists as ground truth, the
    5-core reviews as a thin co-view log.

    * The 202 products titled "Amazon eGift Card" (design variants with near-identical text)
      are grouped into one product, the lowest asin: the catalogue keeps it alone, every link
      and review of a variant counts for it, and its relevant set is the union of the
      variants' (minus itself).
    * Ground truth of a product: its ``also_view`` asins that are in the file (after grouping),
      minus itself. Out-of-file links are dropped, not counted as misses. Products with no
      in-file link are no query. ``also_view`` never feeds a model.
    * Text: title (HTML entities decoded) as the title; description and feature bullets as the
      body (the reader strips their HTML); brand as the author; ``category[1]`` as the section
      when the list is the plain two-level one, else none; ``date`` as ``published_at`` when it
      is a date (a few rows hold HTML there).
    * Views: each review is a view at its day (``unixReviewTime``), one session per reviewer,
      ordered by (reviewer, day, asin); a (reviewer, product) repeated is kept once.
    """
    path = source / "meta_Gift_Cards.json.gz"
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, row in _json_lines(path):
        for key in ("asin", "title", "also_view"):
            if key not in row:
                raise RowError(path, number, f"missing field {key!r}")
        rows.append((number, row))
    variants = sorted(r["asin"] for _, r in rows if html.unescape(r["title"]).strip() == EGIFT)
    canon = {a: variants[0] for a in variants}

    def group(asin: str) -> str:
        return canon.get(asin, asin)

    articles: list[dict[str, Any]] = []
    in_file = {group(r["asin"]) for _, r in rows}
    links: dict[str, set[str]] = defaultdict(set)
    n_links = n_in_file = 0
    dated = 0
    for number, row in rows:
        asin = group(row["asin"])
        also = row["also_view"]
        if not isinstance(also, list):
            raise RowError(path, number, "also_view is not a list")
        n_links += len(also)
        inside = {group(a) for a in also if group(a) in in_file}
        n_in_file += sum(group(a) in in_file for a in also)
        links[asin] |= inside - {asin}
        if asin != row["asin"]:
            continue  # a grouped variant: its text is the canonical product's
        category = row.get("category") or []
        record: dict[str, Any] = {
            "id": asin,
            "title": html.unescape(row["title"]).strip() or asin,
            "body": " ".join(
                [
                    *(str(d) for d in row.get("description") or []),
                    *map(str, row.get("feature") or []),
                ]
            ),
            "author": html.unescape(str(row.get("brand") or "")).strip(),
            "category": category[1] if len(category) == 2 and "<" not in category[1] else "",
        }
        date = str(row.get("date") or "").strip()
        if _MONTH_DATE.match(date):
            published = dt.datetime.strptime(date, "%B %d, %Y").replace(tzinfo=dt.UTC)
            record["published_at"] = published.strftime("%Y-%m-%dT%H:%M:%SZ")
            dated += 1
        articles.append(record)
    relevant = {a: frozenset(s) for a, s in links.items() if s}
    path = source / "Gift_Cards_5.json.gz"
    reviews: set[tuple[str, int, str]] = set()
    seen: set[tuple[str, str]] = set()
    n_reviews = 0
    for number, row in _json_lines(path):
        try:
            reviewer, asin, ts = (
                str(row["reviewerID"]),
                str(row["asin"]),
                int(row["unixReviewTime"]),
            )
        except (KeyError, TypeError, ValueError):
            raise RowError(path, number, "needs reviewerID, asin, unixReviewTime") from None
        n_reviews += 1
        asin = group(asin)
        if (reviewer, asin) in seen:
            continue
        seen.add((reviewer, asin))
        reviews.add((reviewer, ts, asin))
    folder = out / "amazon"
    converted = Converted(folder / "articles.jsonl", folder / "views.csv", relevant)
    _write_articles(converted.articles, articles)
    _write_views(converted.views, [(r, a, t) for r, t, a in sorted(reviews)])
    reviewed = {a for _, _, a in reviews}
    converted.notes = [
        f"{len(rows)} products -> {len(articles)} after grouping the {len(variants)} "
        f"'{EGIFT}' variants into {variants[0]}; {dated} with a publish date",
        f"also_view: {n_links} links, {n_in_file} to products in the file ({n_links - n_in_file} "
        f"dropped); after grouping and removing self-links {sum(map(len, relevant.values()))} "
        f"links from {len(relevant)} query products",
        f"views: {len(reviews)} reviews of {len(reviewed)} products by "
        f"{len({r for r, _, _ in reviews})} reviewers ({n_reviews} rows, repeats of a "
        "(reviewer, product) once); one session per reviewer, day resolution",
    ]
    return converted


# --- Lee background corpus ---------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def lee(out: Path, source: Path = DATA / "lee-corpus" / "lee_background.cor") -> Converted:
    """The 300 Lee news texts, each cut into two halves by sentences (first half ``leeNa``,
    second ``leeNb``); the ground truth of a half is the other half. A half's first sentence is
    its title, the rest its body (the corpus has no titles). Articles of fewer than two
    sentences are left out."""
    articles: list[dict[str, Any]] = []
    relevant: dict[str, frozenset[str]] = {}
    skipped = 0
    with open(source, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                raise RowError(source, number, "empty article")
            sentences = _SENTENCE.split(text)
            if len(sentences) < 2:
                skipped += 1
                continue
            middle = (len(sentences) + 1) // 2
            for half, part in (("a", sentences[:middle]), ("b", sentences[middle:])):
                articles.append(
                    {"id": f"lee{number:03d}{half}", "title": part[0], "body": " ".join(part[1:])}
                )
            a, b = f"lee{number:03d}a", f"lee{number:03d}b"
            relevant[a], relevant[b] = frozenset({b}), frozenset({a})
    folder = out / "lee"
    converted = Converted(folder / "articles.jsonl", None, relevant)
    _write_articles(converted.articles, articles)
    converted.notes = [
        f"{len(relevant) // 2} articles cut into two halves by sentences ({skipped} of one "
        "sentence left out); a half's first sentence is its title; truth: the other half"
    ]
    return converted


# --- MIND sample ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Impression:
    """One behaviours row: the last history item ("" if none), the clicked items in
    impression order, the impression time."""

    last_history: str
    clicks: tuple[str, ...]
    ts: int


def mind_impressions(path: Path) -> list[Impression]:
    """Behaviour rows with at least one click (file order)."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 5:
                raise RowError(path, number, f"expected 5 fields, got {len(fields)}")
            try:
                when = dt.datetime.strptime(fields[2], "%m/%d/%Y %I:%M:%S %p")
            except ValueError:
                raise RowError(path, number, f"bad impression time {fields[2]!r}") from None
            history = fields[3].split()
            clicks = tuple(
                entry.rsplit("-", 1)[0] for entry in fields[4].split() if entry.endswith("-1")
            )
            if clicks:
                ts = int(when.replace(tzinfo=dt.UTC).timestamp())
                rows.append(Impression(history[-1] if history else "", clicks, ts))
    return rows


def mind_catalogue(converted_dir: Path, out: Path) -> Converted:
    """``newsrec convert-mind --include-history`` output plus one placeholder article per
    viewed id that ``news.tsv`` lacks (about 97% of them), so co-view and popularity can
    recommend every clicked article. A placeholder's title is its id (one token no other
    article has, so it carries no content signal); its section is empty."""
    folder = out / "mind"
    folder.mkdir(parents=True, exist_ok=True)
    known = set()
    lines = (converted_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines:
        known.add(json.loads(line)["id"])
    viewed: list[str] = []
    with open(converted_dir / "views.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            viewed.append(row["article_id"])
    missing = sorted(set(viewed) - known)
    articles = folder / "articles.jsonl"
    with open(articles, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
        for article_id in missing:
            handle.write(json.dumps({"id": article_id, "title": article_id}) + "\n")
    views = folder / "views.csv"
    views.write_bytes((converted_dir / "views.csv").read_bytes())
    converted = Converted(articles, views)
    converted.notes = [
        f"{len(known)} news rows with text + {len(missing)} placeholders (viewed ids without a "
        f"news row: {100 * len(missing) / max(len(set(viewed)), 1):.0f}% of the viewed ids)"
    ]
    return converted
