"""Import a WordPress site's published posts into the articles file ``newsrec train`` reads.

Two sources:

* the site's MySQL/MariaDB database (``newsrec import wordpress --db mysql://...``), read with
  PyMySQL through a server-side cursor so a site with millions of posts streams in constant
  memory (:mod:`recommender.sources.wordpress_db`);
* pages of the REST API's ``/wp-json/wp/v2/posts`` saved to files
  (``newsrec import wordpress --rest-export posts-1.json posts-2.json``), best fetched with
  ``?_embed`` so author, category and tag names and the featured image come along.

Both write JSON Lines with the fields of :func:`recommender.data.articles.read_articles`:
``id`` (the post ID as a string), ``title``, ``body`` (the excerpt, when it is not just the
start of the content, then the content, as HTML), ``category`` (the post's primary category
name), ``tags``, ``author`` (display name), ``published_at`` (UTC), ``url`` (permalink),
``image_url`` (featured image), ``status`` (always ``"published"``) and ``language``.

Only published posts are imported (``post_type = 'post' AND post_status = 'publish'``); pages,
drafts, scheduled, private and trashed posts, revisions, attachments and auto-drafts are left
out, and so are password-protected posts (their text is not public) and posts without a title
(nothing to show in a list of links).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.data.articles import is_web_url
from recommender.data.html import strip_html
from recommender.errors import DataError

#: Permalink tags :func:`permalink` fills in (WordPress's own names).
PERMALINK_TAGS = (
    "year",
    "monthnum",
    "day",
    "hour",
    "minute",
    "second",
    "postname",
    "post_id",
    "category",
    "author",
)
_TAG_RE = re.compile(r"%([a-z_]+)%")
# Shortcode tags such as [caption id="x"] or [/gallery]: their names and attributes are not
# prose and would only add noise terms; the text between an opening and closing tag stays.
_SHORTCODE_RE = re.compile(r"\[/?[A-Za-z][\w-]*(?:\s[^\[\]]*)?/?\]")
_ELLIPSIS_RE = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*$")


@dataclass
class ImportSummary:
    """What an import wrote.

    Attributes
    ----------
    path : Path
        The articles file written.
    written : int
        Posts written.
    skipped : dict of str to int
        Published posts left out, by reason (``"password-protected"``, ``"no title"``, and for
        REST exports ``"not published"`` / ``"not a post"`` / ``"duplicate"``).
    notes : list of str
        Things a site operator should know (for instance names that fell back to ids).
    dropped_urls : dict of str to int
        ``url`` and ``image_url`` values left empty because they are not http(s) URLs
        (:func:`recommender.data.articles.is_web_url`), by field; their posts are written.
    """

    path: Path
    written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dropped_urls: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def web_url(self, name: str, value: str) -> str:
        """``value`` when it is an http(s) URL, else ``""`` (counted in ``dropped_urls``)."""
        if value and not is_web_url(value):
            self.dropped_urls[name] = self.dropped_urls.get(name, 0) + 1
            return ""
        return value

    def url_note(self) -> None:
        """Add the note of the dropped URLs, if any (once, at the end of an import)."""
        if self.dropped_urls:
            counts = ", ".join(
                f"{n} {name}" for name, n in sorted(self.dropped_urls.items(), reverse=True)
            )
            self.notes.append(f"dropped {counts} that are not http(s) URLs (their posts are kept)")


# --- permalinks -----------------------------------------------------------------------------


def check_permalink_structure(structure: str) -> None:
    """Raise ``ValueError`` naming the first tag of ``structure`` that :func:`permalink` lacks.

    Examples
    --------
    >>> check_permalink_structure("/%year%/%postname%/")
    >>> check_permalink_structure("/%genre%/%postname%/")
    Traceback (most recent call last):
    ...
    ValueError: permalink tag %genre% is not supported
    """
    for tag in _TAG_RE.findall(structure):
        if tag not in PERMALINK_TAGS:
            raise ValueError(f"permalink tag %{tag}% is not supported")


def permalink(
    structure: str,
    home: str,
    *,
    post_id: int,
    slug: str,
    local_date: dt.datetime | None,
    category_path: str = "uncategorized",
    author_slug: str = "",
) -> str:
    """The URL WordPress gives a post, from the ``permalink_structure`` option.

    Parameters
    ----------
    structure : str
        The ``permalink_structure`` option: ``""`` (plain, ``/?p=123``), or a pattern of
        literal text and tags, as in ``/%postname%/``, ``/%year%/%monthnum%/%day%/%postname%/``,
        ``/%year%/%monthnum%/%postname%/``, ``/%category%/%postname%/`` or
        ``/archives/%post_id%``. Supported tags: ``%year%``, ``%monthnum%``, ``%day%``,
        ``%hour%``, ``%minute%``, ``%second%``, ``%postname%``, ``%post_id%``, ``%category%``
        and ``%author%``.
    home : str
        The ``home`` option (the site address); a trailing ``/`` is ignored.
    post_id : int
    slug : str
        ``post_name``, already URL-encoded as WordPress stores it.
    local_date : datetime or None
        ``post_date``: the date tags use the site's local time, as WordPress does.
    category_path : str
        Slug of the post's permalink category with its parents' slugs before it
        (``news/local``).
    author_slug : str
        ``user_nicename`` of the author.

    Returns
    -------
    str
        The absolute URL. Plain links are used when the structure is empty, or when it needs a
        slug or date the post does not have (WordPress does the same for unsaved posts).

    Raises
    ------
    ValueError
        A tag that is not supported (see :func:`check_permalink_structure`).

    Examples
    --------
    >>> permalink("/%year%/%monthnum%/%postname%/", "https://example.org/", post_id=7,
    ...           slug="hello", local_date=dt.datetime(2026, 3, 9))
    'https://example.org/2026/03/hello/'
    >>> permalink("", "https://example.org", post_id=7, slug="hello", local_date=None)
    'https://example.org/?p=7'
    """
    base = home.rstrip("/")
    check_permalink_structure(structure)
    tags = set(_TAG_RE.findall(structure))
    date_tags = tags & {"year", "monthnum", "day", "hour", "minute", "second"}
    if not structure or ("postname" in tags and not slug) or (date_tags and local_date is None):
        return f"{base}/?p={post_id}"
    values = {
        "postname": slug,
        "post_id": str(post_id),
        "category": category_path or "uncategorized",
        "author": author_slug,
    }
    if local_date is not None:
        values.update(
            year=f"{local_date.year:04d}",
            monthnum=f"{local_date.month:02d}",
            day=f"{local_date.day:02d}",
            hour=f"{local_date.hour:02d}",
            minute=f"{local_date.minute:02d}",
            second=f"{local_date.second:02d}",
        )
    path = _TAG_RE.sub(lambda m: values[m.group(1)], structure)
    if not path.startswith("/"):
        path = "/" + path
    return base + path


# --- shared helpers ---------------------------------------------------------------------------


def _plain(text: str) -> str:
    """Entity-decoded, tag-free, single-spaced text: WordPress stores term names escaped
    (``News &amp; Views``) and the REST API renders titles with entities (``&#8217;``)."""
    return strip_html(text)


def compose_body(excerpt_html: str, content_html: str) -> str:
    """The ``body`` of an imported post: the excerpt, then the content.

    An excerpt WordPress generated from the content (its first words, often ending in
    ``[…]``) is dropped, so the lead paragraph does not count twice.

    Examples
    --------
    >>> compose_body("<p>Short take.</p>", "<p>Long story.</p>")
    '<p>Short take.</p>\\n<p>Long story.</p>'
    >>> compose_body("<p>Long story [&hellip;]</p>", "<p>Long story goes on.</p>")
    '<p>Long story goes on.</p>'
    """
    excerpt = _plain(excerpt_html)
    if not excerpt:
        return content_html
    lead = _ELLIPSIS_RE.sub("", excerpt)
    if lead and _plain(content_html).startswith(lead):
        return content_html
    return f"{excerpt_html}\n{content_html}" if content_html else excerpt_html


def _isoformat_utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _record(
    summary: ImportSummary,
    post_id: int | str,
    title: str,
    body: str,
    category: str,
    tags: Sequence[str],
    author: str,
    published_at: str | None,
    url: str,
    image_url: str,
    language: str,
) -> dict[str, Any]:
    return {
        "id": str(post_id),
        "title": title,
        "body": body,
        "category": category,
        "tags": list(tags),
        "author": author,
        "published_at": published_at,
        "url": summary.web_url("url", url),
        "image_url": summary.web_url("image_url", image_url),
        "status": "published",
        "language": language,
    }


def _write_jsonl(records: Iterable[dict[str, Any]], out: Path) -> int:
    """Write records to ``out`` atomically: a failed import leaves no half-written file that a
    scheduled ``newsrec train`` could pick up."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


# --- REST export ------------------------------------------------------------------------------


def _rendered(post: Mapping[str, Any], name: str) -> str:
    value = post.get(name)
    if isinstance(value, Mapping):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def _rest_posts(path: Path) -> list[Mapping[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(str(path), None, None, "no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(str(path), None, None, f"not valid JSON ({exc})") from None
    if isinstance(data, Mapping) and "code" in data and "id" not in data:
        raise DataError(
            str(path), None, None, f"WordPress answered an error, not posts: {data.get('code')!r}"
        )
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(p, Mapping) for p in data):
        raise DataError(
            str(path),
            None,
            None,
            "expected a JSON array of posts as /wp-json/wp/v2/posts returns it",
        )
    return data


def _embedded(post: Mapping[str, Any]) -> Mapping[str, Any]:
    embedded = post.get("_embedded")
    return embedded if isinstance(embedded, Mapping) else {}


def _embedded_terms(post: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    groups = _embedded(post).get("wp:term")
    if not isinstance(groups, list):
        return None
    return [
        t for group in groups if isinstance(group, list) for t in group if isinstance(t, Mapping)
    ]


def _rest_record(
    post: Mapping[str, Any],
    path: Path,
    position: int,
    summary: ImportSummary,
    fallbacks: set[str],
) -> dict[str, Any] | None:
    post_id = post.get("id")
    if not isinstance(post_id, int) or isinstance(post_id, bool):
        raise DataError(str(path), None, "id", f"post #{position + 1} has no integer id")
    # A public /posts response lists published posts only, so a file fetched with _fields
    # that leaves out status or type still holds published posts.
    if post.get("status", "publish") != "publish":
        summary.skip("not published")
        return None
    if post.get("type", "post") != "post":
        summary.skip("not a post")
        return None
    content = post.get("content")
    if (isinstance(content, Mapping) and content.get("protected")) or post.get("password"):
        summary.skip("password-protected")
        return None
    title = _plain(_rendered(post, "title"))
    if not title:
        summary.skip("no title")
        return None
    embedded = _embedded(post)
    terms = _embedded_terms(post)
    category_ids = [c for c in post.get("categories") or [] if isinstance(c, int)]
    tag_ids = [t for t in post.get("tags") or [] if isinstance(t, int)]
    if terms is not None:
        categories = sorted(
            (t for t in terms if t.get("taxonomy") == "category"),
            key=lambda t: int(t.get("id") or 0),
        )
        category = _plain(str(categories[0].get("name", ""))) if categories else ""
        tags = sorted(
            {_plain(str(t.get("name", ""))) for t in terms if t.get("taxonomy") == "post_tag"}
            - {""}
        )
    else:
        category = str(min(category_ids)) if category_ids else ""
        tags = sorted({str(t) for t in tag_ids})
        if category_ids or tag_ids:
            fallbacks.add("category and tag ids")
    authors = embedded.get("author")
    first = authors[0] if isinstance(authors, list) and authors else None
    if isinstance(first, Mapping) and "name" in first:
        author = _plain(str(first["name"]))
    else:
        author = "" if post.get("author") in (None, 0) else str(post.get("author"))
        if author:
            fallbacks.add("author ids")
    image = ""
    media = embedded.get("wp:featuredmedia")
    if isinstance(media, list) and media and isinstance(media[0], Mapping):
        image = str(media[0].get("source_url") or "")
    elif post.get("featured_media"):
        fallbacks.add("no featured image URLs (only media ids)")
    published = None
    raw_date = post.get("date_gmt") or post.get("date")
    if isinstance(raw_date, str) and raw_date:
        try:
            when = dt.datetime.fromisoformat(raw_date.replace("Z", "+00:00"))
        except ValueError:
            raise DataError(
                str(path), None, "date_gmt", f"post {post_id}: not an ISO 8601 date: {raw_date!r}"
            ) from None
        published = _isoformat_utc(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
    return _record(
        summary,
        post_id,
        title,
        compose_body(_rendered(post, "excerpt"), _rendered(post, "content")),
        category,
        tags,
        author,
        published,
        str(post.get("link") or ""),
        image,
        "",
    )


def import_rest_export(paths: Sequence[str | Path], out: str | Path) -> ImportSummary:
    """Write the published posts of saved ``/wp-json/wp/v2/posts`` pages to an articles file.

    Parameters
    ----------
    paths : sequence of path
        JSON files, each an array of posts as the REST API returns a page of them. Fetch them
        with ``?_embed`` (and ``per_page=100&page=N``) so ``_embedded`` carries the author's
        name, the category and tag names and the featured image's ``source_url``.
    out : path
        The JSON Lines file to write (replaced atomically when complete).

    Returns
    -------
    ImportSummary
        Its notes say when names fell back to ids: without ``_embedded``, ``category`` is the
        lowest category id, ``tags`` are tag ids and ``author`` the author id, all as strings,
        and there is no image URL.

    Raises
    ------
    DataError
        A file that is missing, not JSON, not an array of posts, or a post without an id.

    Notes
    -----
    Kept: ``status == "publish"`` and ``type == "post"``. ``url`` is the post's ``link``,
    ``published_at`` its ``date_gmt`` (UTC). A post that appears in two pages (pages shift
    when posts are published during an export) is written once, from its last appearance.
    """
    summary = ImportSummary(Path(out))
    fallbacks: set[str] = set()
    records: dict[str, dict[str, Any]] = {}
    for path in map(Path, paths):
        for position, post in enumerate(_rest_posts(path)):
            record = _rest_record(post, path, position, summary, fallbacks)
            if record is None:
                continue
            if record["id"] in records:
                summary.skip("duplicate")
            records[record["id"]] = record
    summary.written = _write_jsonl(records.values(), Path(out))
    summary.url_note()
    if fallbacks:
        summary.notes.append(
            "posts without _embedded: "
            + ", ".join(sorted(fallbacks))
            + " (fetch the pages with ?_embed for names)"
        )
    return summary
