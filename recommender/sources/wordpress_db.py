"""Import the published posts of a WordPress database (``newsrec import wordpress --db``).

Read with PyMySQL through a server-side cursor, so a site with millions of posts streams in
constant memory. What is imported and how the fields are made: :mod:`recommender.sources.wordpress`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recommender.errors import DataError
from recommender.sources.wordpress import (
    _SHORTCODE_RE,
    ImportSummary,
    _isoformat_utc,
    _plain,
    _record,
    _write_jsonl,
    check_permalink_structure,
    compose_body,
    permalink,
)

_PREFIX_RE = re.compile(r"^[A-Za-z0-9_]*$")
_ZERO_DATE = "0000-00-00 00:00:00"
_SCHEMES = ("mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql")

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
        summary,
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
    summary.url_note()
    return summary
