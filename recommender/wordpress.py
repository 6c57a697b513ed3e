"""Import a WordPress site's published posts into the articles file ``newsrec train`` reads.

Two sources:

* the site's MySQL/MariaDB database (``newsrec import wordpress --db mysql://...``), read with
  PyMySQL through a server-side cursor so a site with millions of posts streams in constant
  memory;
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

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_]*$")
# Shortcode tags such as [caption id="x"] or [/gallery]: their names and attributes are not
# prose and would only add noise terms; the text between an opening and closing tag stays.
_SHORTCODE_RE = re.compile(r"\[/?[A-Za-z][\w-]*(?:\s[^\[\]]*)?/?\]")
_ELLIPSIS_RE = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*$")
_ZERO_DATE = "0000-00-00 00:00:00"
_SCHEMES = ("mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql")


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
    """

    path: Path
    written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


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
        "url": url,
        "image_url": image_url,
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


# --- database ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseURL:
    """Connection parameters parsed from ``mysql://user:password@host[:port]/database``."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def redacted(self) -> str:
        """The URL without its password, safe for error messages and logs."""
        secret = ":***" if self.password else ""
        return f"mysql://{self.user}{secret}@{self.host}:{self.port}/{self.database}"


def parse_database_url(url: str) -> DatabaseURL:
    """Parse ``mysql://user:password@host[:port]/database`` (also ``mariadb://``).

    User and password may be percent-encoded (``p%40ss`` for ``p@ss``). The port defaults to
    3306.

    Raises
    ------
    DataError
        When the URL is not of that form; the message never shows the password.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or 3306
    except ValueError as exc:
        raise DataError("--db", None, None, f"not a database URL ({exc})") from None
    shown = f"{parts.scheme}://{parts.hostname or ''}/{parts.path.lstrip('/')}"
    if parts.scheme not in _SCHEMES:
        raise DataError(
            "--db",
            None,
            None,
            f"{shown}: expected mysql://user:password@host[:port]/database",
        )
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database or "/" in database:
        raise DataError(
            "--db",
            None,
            None,
            f"{shown}: needs a host and a database name, as in mysql://user:pass@host/wordpress",
        )
    return DatabaseURL(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=database,
    )


@dataclass(frozen=True)
class _Term:
    name: str
    slug: str
    term_id: int
    parent: int
    taxonomy: str


@dataclass(frozen=True)
class _Site:
    home: str
    uploads: str
    structure: str
    tz: dt.tzinfo
    language: str
    default_category: str


_OPTIONS = (
    "siteurl",
    "home",
    "permalink_structure",
    "timezone_string",
    "gmt_offset",
    "WPLANG",
    "default_category",
    "upload_url_path",
)


def _site_timezone(options: Mapping[str, str]) -> dt.tzinfo:
    name = options.get("timezone_string", "").strip()
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown zone name: fall through to the numeric offset, as WordPress does
    try:
        hours = float(options.get("gmt_offset") or 0)
    except ValueError:
        hours = 0.0
    return dt.timezone(dt.timedelta(hours=hours)) if hours else dt.UTC


def _language(locale: str) -> str:
    # WPLANG is a locale such as de_DE or pt_BR; an empty value means WordPress's en_US.
    return (locale.split("_")[0] or "en").lower()


def _datetime_or_none(value: Any) -> dt.datetime | None:
    # PyMySQL hands back the zero date '0000-00-00 00:00:00' as a string: it is "unset".
    return value if isinstance(value, dt.datetime) else None


def _category_path(term: _Term, by_term_id: Mapping[int, _Term]) -> str:
    slugs = [term.slug]
    seen = {term.term_id}
    parent = term.parent
    while parent and parent in by_term_id and parent not in seen:
        seen.add(parent)
        slugs.append(by_term_id[parent].slug)
        parent = by_term_id[parent].parent
    return "/".join(reversed(slugs))


class _Database:
    """Reads one WordPress site; holds the small lookup tables, streams the posts."""

    def __init__(self, url: DatabaseURL, prefix: str, batch_size: int) -> None:
        import pymysql

        self.url = url
        self.prefix = prefix
        self.batch_size = batch_size
        self._pymysql = pymysql
        self._connections: list[Any] = []

    def connect(self) -> Any:
        pymysql = self._pymysql
        try:
            connection = pymysql.connect(
                host=self.url.host,
                port=self.url.port,
                user=self.url.user,
                password=self.url.password,
                database=self.url.database,
                charset="utf8mb4",
                connect_timeout=10,
                read_timeout=600,
            )
        except pymysql.err.MySQLError as exc:
            raise self._error(exc) from None
        self._connections.append(connection)
        return connection

    def close(self) -> None:
        for connection in self._connections:
            # a connection the server already dropped has nothing left to release
            with contextlib.suppress(self._pymysql.err.Error):
                connection.close()
        self._connections.clear()

    def _error(self, exc: Exception) -> DataError:
        code = exc.args[0] if exc.args else None
        text = exc.args[1] if len(exc.args) > 1 else str(exc)
        if code == 1146:
            text = (
                f"{text} (is --table-prefix {self.prefix!r} right? WordPress keeps it as "
                "$table_prefix in wp-config.php)"
            )
        return DataError(self.url.redacted(), None, None, f"MySQL error {code}: {text}")

    def query(self, connection: Any, sql: str, args: Any = None) -> list[Any]:
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        except self._pymysql.err.MySQLError as exc:
            raise self._error(exc) from None

    def site(self, connection: Any) -> _Site:
        rows = self.query(
            connection,
            f"SELECT option_name, option_value FROM `{self.prefix}options` "
            f"WHERE option_name IN ({', '.join(['%s'] * len(_OPTIONS))})",
            _OPTIONS,
        )
        options = {str(name): str(value) for name, value in rows}
        home = (options.get("home") or options.get("siteurl") or "").rstrip("/")
        if not home:
            raise DataError(
                self.url.redacted(),
                None,
                "home",
                f"{self.prefix}options has neither 'home' nor 'siteurl'",
            )
        # wp-content lives under the WordPress address (siteurl), which is the site address
        # (home) on most sites; upload_url_path overrides both when set.
        siteurl = (options.get("siteurl") or home).rstrip("/")
        uploads = (options.get("upload_url_path") or f"{siteurl}/wp-content/uploads").rstrip("/")
        structure = options.get("permalink_structure", "")
        try:
            check_permalink_structure(structure)
        except ValueError as exc:
            raise DataError(
                self.url.redacted(),
                None,
                "permalink_structure",
                f"{exc} (structure {structure!r}); import a REST export instead, whose links "
                "come from WordPress itself",
            ) from None
        return _Site(
            home=home,
            uploads=uploads,
            structure=structure,
            tz=_site_timezone(options),
            language=_language(options.get("WPLANG", "")),
            default_category=options.get("default_category", ""),
        )

    def terms(self, connection: Any) -> dict[int, _Term]:
        """Category and tag terms by ``term_taxonomy_id`` (thousands, not millions)."""
        rows = self.query(
            connection,
            f"SELECT tt.term_taxonomy_id, tt.term_id, tt.taxonomy, tt.parent, t.name, t.slug "
            f"FROM `{self.prefix}term_taxonomy` tt "
            f"JOIN `{self.prefix}terms` t ON t.term_id = tt.term_id "
            f"WHERE tt.taxonomy IN ('category', 'post_tag')",
        )
        return {
            int(ttid): _Term(_plain(str(name)), str(slug), int(term_id), int(parent), str(tax))
            for ttid, term_id, tax, parent, name, slug in rows
        }

    def posts(self, connection: Any) -> Iterator[list[dict[str, Any]]]:
        """Published posts in ID order, in batches, through a server-side cursor."""
        p = self.prefix
        sql = (
            f"SELECT p.ID, p.post_date, p.post_date_gmt, p.post_title, p.post_content, "
            f"p.post_excerpt, p.post_name, p.post_password, "
            f"u.display_name, u.user_nicename, "
            f"a.guid AS thumb_guid, af.meta_value AS thumb_file, "
            f"pc.meta_value AS primary_category "
            f"FROM `{p}posts` p "
            f"LEFT JOIN `{p}users` u ON u.ID = p.post_author "
            f"LEFT JOIN `{p}postmeta` t ON t.post_id = p.ID AND t.meta_key = '_thumbnail_id' "
            # CAST keeps the join on the attachment's primary key (meta_value is text).
            f"LEFT JOIN `{p}posts` a ON a.ID = CAST(t.meta_value AS UNSIGNED) "
            f"AND a.post_type = 'attachment' "
            f"LEFT JOIN `{p}postmeta` af ON af.post_id = a.ID "
            f"AND af.meta_key = '_wp_attached_file' "
            f"LEFT JOIN `{p}postmeta` pc ON pc.post_id = p.ID "
            f"AND pc.meta_key = '_yoast_wpseo_primary_category' "
            f"WHERE p.post_type = 'post' AND p.post_status = 'publish' "
            f"ORDER BY p.ID"
        )
        cursor = connection.cursor(self._pymysql.cursors.SSDictCursor)
        try:
            cursor.execute(sql)
            while True:
                batch = cursor.fetchmany(self.batch_size)
                if not batch:
                    break
                yield batch
        except self._pymysql.err.MySQLError as exc:
            raise self._error(exc) from None
        finally:
            cursor.close()

    def relationships(self, connection: Any, post_ids: Sequence[int]) -> dict[int, list[int]]:
        """``term_taxonomy_id`` of every term of the given posts."""
        rows = self.query(
            connection,
            f"SELECT object_id, term_taxonomy_id FROM `{self.prefix}term_relationships` "
            f"WHERE object_id IN ({', '.join(['%s'] * len(post_ids))}) "
            f"ORDER BY object_id, term_order, term_taxonomy_id",
            list(post_ids),
        )
        out: dict[int, list[int]] = {}
        for object_id, ttid in rows:
            out.setdefault(int(object_id), []).append(int(ttid))
        return out


def _db_records(db: _Database, summary: ImportSummary) -> Iterator[dict[str, Any]]:
    lookups = db.connect()
    stream = db.connect()  # a streaming connection cannot run other queries until drained
    site = db.site(lookups)
    terms = db.terms(lookups)
    by_term_id = {t.term_id: t for t in terms.values() if t.taxonomy == "category"}
    default_id = int(site.default_category) if site.default_category.isdigit() else 0
    default = by_term_id.get(default_id)
    default_path = _category_path(default, by_term_id) if default else "uncategorized"
    last_id = -1
    for batch in db.posts(stream):
        rows = []
        for row in batch:
            post_id = int(row["ID"])
            # several _thumbnail_id rows for one post would repeat it; the first one wins
            if post_id != last_id:
                rows.append(row)
            last_id = post_id
        links = db.relationships(lookups, [int(r["ID"]) for r in rows])
        for row in rows:
            record = _db_record(
                row, links.get(int(row["ID"]), []), terms, by_term_id, site, default_path, summary
            )
            if record is not None:
                yield record


def _db_record(
    row: Mapping[str, Any],
    term_ids: Sequence[int],
    terms: Mapping[int, _Term],
    by_term_id: Mapping[int, _Term],
    site: _Site,
    default_path: str,
    summary: ImportSummary,
) -> dict[str, Any] | None:
    post_id = int(row["ID"])
    if row["post_password"]:
        summary.skip("password-protected")
        return None
    title = _plain(str(row["post_title"] or ""))
    if not title:
        summary.skip("no title")
        return None
    categories = sorted(
        (terms[t] for t in term_ids if t in terms and terms[t].taxonomy == "category"),
        key=lambda t: t.term_id,
    )
    tags = sorted(
        {terms[t].name for t in term_ids if t in terms and terms[t].taxonomy == "post_tag"}
    )
    # The permalink category: Yoast SEO's primary category when set and still assigned, else
    # the lowest term id, which is WordPress's own choice for %category%.
    primary = categories[0] if categories else None
    chosen = str(row.get("primary_category") or "")
    if chosen.isdigit():
        primary = next((c for c in categories if c.term_id == int(chosen)), primary)
    gmt = _datetime_or_none(row["post_date_gmt"])
    local = _datetime_or_none(row["post_date"])
    published: dt.datetime | None = None
    if gmt is not None:
        published = gmt.replace(tzinfo=dt.UTC)
    elif local is not None:
        published = local.replace(tzinfo=site.tz)
    if local is None and published is not None:
        local = published.astimezone(site.tz).replace(tzinfo=None)
    url = permalink(
        site.structure,
        site.home,
        post_id=post_id,
        slug=str(row["post_name"] or ""),
        local_date=local,
        category_path=_category_path(primary, by_term_id) if primary else default_path,
        author_slug=str(row.get("user_nicename") or ""),
    )
    image = ""
    if row.get("thumb_file"):
        image = f"{site.uploads}/{str(row['thumb_file']).lstrip('/')}"
    elif row.get("thumb_guid"):
        image = str(row["thumb_guid"])
    content = _SHORTCODE_RE.sub(" ", str(row["post_content"] or ""))
    excerpt = _SHORTCODE_RE.sub(" ", str(row["post_excerpt"] or ""))
    return _record(
        post_id,
        title,
        compose_body(excerpt, content),
        primary.name if primary else "",
        tags,
        _plain(str(row.get("display_name") or "")),
        _isoformat_utc(published) if published else None,
        url,
        image,
        site.language,
    )


def import_database(
    url: str, out: str | Path, *, table_prefix: str = "wp_", batch_size: int = 1000
) -> ImportSummary:
    """Write the published posts of a WordPress database to an articles file.

    Parameters
    ----------
    url : str
        ``mysql://user:password@host[:port]/database``.
    out : path
        The JSON Lines file to write (replaced atomically when complete).
    table_prefix : str
        ``$table_prefix`` of ``wp-config.php`` (letters, digits and ``_``).
    batch_size : int
        Posts fetched per round trip; their terms are fetched in one query per batch.

    Returns
    -------
    ImportSummary

    Raises
    ------
    DataError
        A bad URL or prefix, an unreachable server, refused credentials, missing tables or an
        unsupported permalink structure. Nothing is written then.

    Notes
    -----
    Permalinks follow the ``permalink_structure`` option (see :func:`permalink`) under the
    ``home`` option; dates in links use ``post_date`` (local time) like WordPress, while
    ``published_at`` is ``post_date_gmt``, or ``post_date`` in the site's ``timezone_string``
    / ``gmt_offset`` when the GMT date is zero. The featured image is the ``_thumbnail_id``
    attachment's ``_wp_attached_file`` under the uploads URL (``siteurl/wp-content/uploads``,
    or ``upload_url_path``), falling back to the attachment's ``guid``. Multisite: pass the
    site's prefix (``wp_2_``); authors are then read from that prefix's ``users`` table, which
    multisite keeps only under the network prefix, so names come out empty.
    """
    if not _PREFIX_RE.match(table_prefix):
        raise DataError(
            "--table-prefix",
            None,
            None,
            f"{table_prefix!r}: only letters, digits and _ are allowed",
        )
    db = _Database(parse_database_url(url), table_prefix, batch_size)
    summary = ImportSummary(Path(out))
    try:
        summary.written = _write_jsonl(_db_records(db, summary), Path(out))
    finally:
        db.close()
    return summary


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
    if fallbacks:
        summary.notes.append(
            "posts without _embedded: "
            + ", ".join(sorted(fallbacks))
            + " (fetch the pages with ?_embed for names)"
        )
    return summary


# --- command line -----------------------------------------------------------------------------


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec import wordpress`` to the ``newsrec`` command line."""
    p = sub.add_parser(
        "import",
        help="write an articles file from a CMS",
        description="Turn a CMS's content into the articles file 'newsrec train' reads.",
    )
    isub = p.add_subparsers(dest="import_source", required=True, metavar="SOURCE")
    wp = isub.add_parser(
        "wordpress",
        help="published posts of a WordPress site (database or REST export)",
        description="Write the published posts of a WordPress site as articles JSON Lines: "
        "from its MySQL/MariaDB database (--db) or from saved pages of /wp-json/wp/v2/posts "
        "(--rest-export; fetch them with ?_embed for author, category and tag names).",
    )
    source = wp.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--db", metavar="URL", help="mysql://user:password@host[:port]/database (read-only use)"
    )
    source.add_argument(
        "--rest-export",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="JSON files saved from /wp-json/wp/v2/posts?_embed",
    )
    wp.add_argument(
        "--table-prefix",
        default="wp_",
        help="$table_prefix from wp-config.php (default wp_; --db only)",
    )
    wp.add_argument("--out", type=Path, required=True, help="articles file to write (.jsonl)")
    wp.set_defaults(handler=_cmd_import_wordpress)


def _cmd_import_wordpress(args: argparse.Namespace) -> int:
    if args.db is not None:
        summary = import_database(args.db, args.out, table_prefix=args.table_prefix)
    else:
        summary = import_rest_export(args.rest_export, args.out)
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.skipped.items()))
    print(
        f"wrote {summary.written} published posts to {summary.path}"
        + (f" (left out: {skipped})" if skipped else "")
    )
    for note in summary.notes:
        print(f"note: {note}")
    return 0
