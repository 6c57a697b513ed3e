"""`newsrec import wordpress`: permalinks, a real MariaDB WordPress database, REST exports.

The database fixture (``tests/data/wordpress/fixture.sql``) is a tiny news site on WordPress's
own table layout (``schema.sql``): four published posts each about wind power, football and
opera, plus every kind of row that must stay out (drafts, trash, a page, a revision,
attachments, an auto-draft, scheduled, private and password-protected posts). The answers
below were worked out by hand from that file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.blend import related
from recommender.bundle import Bundle
from recommender.cli import main
from recommender.config import TrainConfig
from recommender.errors import DataError
from recommender.sources.wordpress import compose_body, import_rest_export, permalink
from recommender.sources.wordpress_db import import_database, parse_database_url
from recommender.train import train
from tests.support import unavailable

DATA = Path(__file__).resolve().parents[2] / "data" / "wordpress"
HOME = "https://news.example.org"
PUBLISHED = ["101", "102", "103", "104", "201", "202", "203", "204", "301", "302", "303", "304"]
NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


def _topic(article_id: str) -> str:
    return {"1": "wind power", "2": "football", "3": "opera"}[article_id[0]]


def _read(path: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {row["id"]: row for row in rows}


# --- permalinks --------------------------------------------------------------------------------

POSTED = dt.datetime(2026, 3, 9, 7, 5, 2)


@pytest.mark.parametrize(
    ("structure", "expected"),
    [
        ("/%postname%/", f"{HOME}/spring-tide/"),
        ("/%year%/%monthnum%/%day%/%postname%/", f"{HOME}/2026/03/09/spring-tide/"),
        ("/%year%/%monthnum%/%postname%/", f"{HOME}/2026/03/spring-tide/"),
        ("/%category%/%postname%/", f"{HOME}/news/local/spring-tide/"),
        ("/archives/%post_id%", f"{HOME}/archives/42"),
        ("", f"{HOME}/?p=42"),
        (
            "/%year%/%hour%-%minute%-%second%/%author%/%postname%.html",
            f"{HOME}/2026/07-05-02/ingrid-v/spring-tide.html",
        ),
        ("/index.php/%postname%/", f"{HOME}/index.php/spring-tide/"),
    ],
)
def test_permalink_follows_structure(structure: str, expected: str) -> None:
    url = permalink(
        structure,
        HOME + "/",
        post_id=42,
        slug="spring-tide",
        local_date=POSTED,
        category_path="news/local",
        author_slug="ingrid-v",
    )
    assert url == expected


def test_permalink_is_plain_when_the_post_has_no_slug_or_date() -> None:
    assert permalink("/%postname%/", HOME, post_id=42, slug="", local_date=POSTED) == (
        f"{HOME}/?p=42"
    )
    assert permalink("/%year%/%postname%/", HOME, post_id=42, slug="x", local_date=None) == (
        f"{HOME}/?p=42"
    )


def test_permalink_rejects_an_unknown_tag() -> None:
    with pytest.raises(ValueError, match="%genre%"):
        permalink("/%genre%/%postname%/", HOME, post_id=1, slug="x", local_date=POSTED)


def test_compose_body_keeps_a_written_excerpt_and_drops_a_generated_one() -> None:
    assert compose_body("<p>Why it matters.</p>", "<p>The story.</p>") == (
        "<p>Why it matters.</p>\n<p>The story.</p>"
    )
    generated = "<p>The story goes on and on [&hellip;]</p>"
    assert compose_body(generated, "<p>The story goes on and on and on.</p>") == (
        "<p>The story goes on and on and on.</p>"
    )
    assert compose_body("", "<p>The story.</p>") == "<p>The story.</p>"


# --- database URLs and connection errors ------------------------------------------------------


def test_parse_database_url_defaults_the_port_and_decodes_the_password() -> None:
    url = parse_database_url("mysql://wp%40site:p%40ss%2Fword@db.example.org/wordpress")
    assert (url.host, url.port, url.user, url.password, url.database) == (
        "db.example.org",
        3306,
        "wp@site",
        "p@ss/word",
        "wordpress",
    )
    assert "p@ss" not in url.redacted()


@pytest.mark.parametrize(
    "url",
    [
        "postgres://wp:hunter2@db/wordpress",
        "mysql://wp:hunter2@db",
        "mysql://wp:hunter2@/wordpress",
        "mysql://wp:hunter2@db:notaport/wordpress",
        "db.example.org/wordpress",
    ],
)
def test_parse_database_url_rejects_bad_urls_without_showing_the_password(url: str) -> None:
    with pytest.raises(DataError) as caught:
        parse_database_url(url)
    assert "hunter2" not in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_cli_unreachable_database_exits_2_without_traceback(tmp_path: Path) -> None:
    out = tmp_path / "articles.jsonl"
    url = f"mysql://wp:hunter2@127.0.0.1:{_closed_port()}/wordpress"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recommender.cli",
            "import",
            "wordpress",
            "--db",
            url,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("newsrec: error: mysql://wp:***@127.0.0.1:")
    assert "2003" in done.stderr  # MySQL's "can't connect" code, for searching the docs
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_bad_database_url_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["import", "wordpress", "--db", "wordpress.example.org", "--out", str(tmp_path / "a.jsonl")]
    )
    assert code == 2
    assert "expected mysql://user:password@host[:port]/database" in capsys.readouterr().err


def test_cli_rejects_a_table_prefix_that_is_not_an_identifier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "import",
            "wordpress",
            "--db",
            "mysql://root@127.0.0.1/x",
            "--table-prefix",
            "wp_; DROP TABLE x",
            "--out",
            str(tmp_path / "a.jsonl"),
        ]
    )
    assert code == 2
    assert "only letters, digits and _" in capsys.readouterr().err


# --- a real WordPress database ------------------------------------------------------------------


def _load(cursor: object, sql: str) -> None:
    cursor.execute(sql)  # type: ignore[attr-defined]
    while cursor.nextset():  # type: ignore[attr-defined]
        pass


@pytest.fixture(scope="module")
def wordpress_db() -> Iterator[str]:
    """A fresh database with the fixture site twice: prefix ``wp_`` and prefix ``news_`` (whose
    permalinks are ``/%category%/%postname%/``). Yields the database name."""
    import pymysql
    from pymysql.constants import CLIENT

    try:
        connection = pymysql.connect(
            host="127.0.0.1",
            port=3306,
            user="root",
            password="",
            connect_timeout=5,
            client_flag=CLIENT.MULTI_STATEMENTS,
            autocommit=True,
            charset="utf8mb4",
        )
    except pymysql.err.OperationalError as exc:
        unavailable(f"MariaDB at 127.0.0.1:3306 is unreachable as root: {exc}")
    name = f"newsrec_test_wp_{os.getpid()}"
    schema = (DATA / "schema.sql").read_text(encoding="utf-8")
    fixture = (DATA / "fixture.sql").read_text(encoding="utf-8")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            cursor.execute(f"USE `{name}`")
            for prefix in ("wp_", "news_"):
                _load(cursor, schema.replace("`wp_", f"`{prefix}"))
                _load(cursor, fixture.replace("`wp_", f"`{prefix}"))
            cursor.execute(
                "UPDATE `news_options` SET option_value = '/%category%/%postname%/' "
                "WHERE option_name = 'permalink_structure'"
            )
            yield name
        finally:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            connection.close()


def _url(database: str) -> str:
    return f"mysql://root:@127.0.0.1:3306/{database}"


@pytest.mark.mysql
def test_import_database_writes_published_posts_only(
    wordpress_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "articles.jsonl"
    assert main(["import", "wordpress", "--db", _url(wordpress_db), "--out", str(out)]) == 0
    assert list(_read(out)) == PUBLISHED
    printed = capsys.readouterr().out
    assert f"wrote 12 published posts to {out}" in printed
    assert "1 no title" in printed and "1 password-protected" in printed


@pytest.mark.mysql
def test_import_database_maps_every_field_of_a_post(wordpress_db: str, tmp_path: Path) -> None:
    out = tmp_path / "articles.jsonl"
    import_database(_url(wordpress_db), out)
    post = _read(out)["101"]
    body = str(post.pop("body"))
    assert post == {
        "id": "101",
        "title": "Offshore wind farm doubles turbine output",
        "category": "Wind power",
        "tags": ["offshore wind", "turbines"],
        "author": "Ingrid Vestergaard",
        "published_at": "2026-10-20T08:00:00Z",
        "url": f"{HOME}/2026/10/20/offshore-wind-farm-doubles-turbine-output/",
        # _wp_attached_file under the uploads URL wins over the attachment's stale guid
        "image_url": f"{HOME}/wp-content/uploads/2026/10/turbines.jpg",
        "status": "published",
        "language": "en",
    }
    assert body.startswith("Longer rotor blades lift the megawatts of every offshore turbine.\n")
    assert "fifteen megawatts" in body and "Turbines on the horizon" in body
    assert "[caption" not in body and "[/caption]" not in body


@pytest.mark.mysql
def test_import_database_dates_are_utc_and_links_use_local_dates(
    wordpress_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "articles.jsonl"
    import_database(_url(wordpress_db), out)
    posts = _read(out)
    # 23:30 UTC on 31 October is 00:30 on 1 November in Berlin: the link says November.
    assert posts["204"]["published_at"] == "2026-10-31T23:30:00Z"
    assert (
        posts["204"]["url"]
        == f"{HOME}/2026/11/01/goalkeeper-keeps-a-clean-sheet-in-the-rainy-derby/"
    )
    # No GMT date: noon local time after the switch to CET (UTC+1) is 11:00 UTC.
    assert posts["303"]["published_at"] == "2026-10-28T11:00:00Z"
    assert posts["303"]["url"] == f"{HOME}/2026/10/28/young-baritone-wins-the-singing-competition/"


@pytest.mark.mysql
def test_import_database_categories_tags_and_images(wordpress_db: str, tmp_path: Path) -> None:
    out = tmp_path / "articles.jsonl"
    import_database(_url(wordpress_db), out)
    posts = _read(out)
    assert posts["203"]["category"] == "Match reports"  # Yoast SEO's primary category
    assert posts["104"]["category"] == "Offshore"
    assert posts["301"]["tags"] == ["Puccini", "Sopranos & Tenors"]  # stored as &amp;
    assert posts["303"]["tags"] == []
    assert posts["302"]["title"] == "Verdi's Otello returns to the opera house"
    assert posts["201"]["image_url"] == "https://media.example.org/stadium.jpg"  # guid only
    assert posts["302"]["image_url"] == ""  # its _thumbnail_id names a deleted attachment
    assert {p["author"] for p in posts.values()} == {
        "Ingrid Vestergaard",
        "Marco Bellini",
        "Clara Hoffmann",
    }


@pytest.mark.mysql
def test_import_database_table_prefix_and_category_permalinks(
    wordpress_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "articles.jsonl"
    assert (
        main(
            [
                "import",
                "wordpress",
                "--db",
                _url(wordpress_db),
                "--table-prefix",
                "news_",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    posts = _read(out)
    assert list(posts) == PUBLISHED
    assert posts["101"]["url"] == f"{HOME}/wind-power/offshore-wind-farm-doubles-turbine-output/"
    # a child category carries its parent's slug before its own
    assert posts["104"]["url"] == (
        f"{HOME}/wind-power/offshore/floating-foundations-carry-wind-turbines-into-deep-water/"
    )
    assert posts["203"]["url"] == f"{HOME}/match-reports/penalty-shootout-settles-the-cup-tie/"


@pytest.mark.mysql
def test_import_database_small_batches_write_the_same_file(
    wordpress_db: str, tmp_path: Path
) -> None:
    whole, batched = tmp_path / "whole.jsonl", tmp_path / "batched.jsonl"
    import_database(_url(wordpress_db), whole)
    import_database(_url(wordpress_db), batched, batch_size=5)
    assert batched.read_bytes() == whole.read_bytes()


@pytest.mark.mysql
def test_import_database_wrong_prefix_names_the_table_prefix(
    wordpress_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "articles.jsonl"
    code = main(
        [
            "import",
            "wordpress",
            "--db",
            _url(wordpress_db),
            "--table-prefix",
            "blog_",
            "--out",
            str(out),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "blog_options" in err and "--table-prefix" in err
    assert not out.exists()


@pytest.mark.mysql
def test_import_database_refused_login_exits_2(
    wordpress_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"mysql://newsrec_nobody:hunter2@127.0.0.1:3306/{wordpress_db}"
    assert main(["import", "wordpress", "--db", url, "--out", str(tmp_path / "a.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "Access denied for user 'newsrec_nobody'" in err and "hunter2" not in err


@pytest.mark.mysql
def test_wordpress_import_trains_related_articles_by_topic(
    wordpress_db: str, tmp_path: Path
) -> None:
    articles = tmp_path / "articles.jsonl"
    import_database(_url(wordpress_db), articles)
    train(articles, None, tmp_path / "models", config=TrainConfig(), now=NOW)
    bundle = Bundle.load_latest(tmp_path / "models")
    assert bundle.meta("id") == PUBLISHED
    now_ts = int(NOW.timestamp())
    top = related(bundle, bundle.row("101"), 3, now_ts=now_ts)
    assert {bundle.article_id(item.row) for item in top} == {"102", "103", "104"}
    for article_id in PUBLISHED:
        for item in related(bundle, bundle.row(article_id), 11, now_ts=now_ts):
            assert _topic(bundle.article_id(item.row)) == _topic(article_id), article_id


# --- REST exports ---------------------------------------------------------------------------


def test_import_rest_export_keeps_published_posts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "articles.jsonl"
    code = main(
        [
            "import",
            "wordpress",
            "--rest-export",
            str(DATA / "posts.json"),
            str(DATA / "posts-2.json"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert list(_read(out)) == ["101", "102", "201", "202", "301"]
    printed = capsys.readouterr().out
    assert "wrote 5 published posts" in printed
    assert "1 duplicate" in printed and "1 not a post" in printed
    assert "1 not published" in printed and "1 password-protected" in printed
    assert "note: posts without _embedded: author ids, category and tag ids" in printed


def test_import_rest_export_uses_embedded_names(tmp_path: Path) -> None:
    out = tmp_path / "articles.jsonl"
    import_rest_export([DATA / "posts.json", DATA / "posts-2.json"], out)
    posts = _read(out)
    first = posts["101"]
    assert first == {
        "id": "101",
        "title": "Offshore wind farm doubles turbine output",
        # the excerpt WordPress generated from the content is not prepended
        "body": first["body"],
        "category": "Wind power",
        "tags": ["offshore wind", "turbines"],
        "author": "Ingrid Vestergaard",
        "published_at": "2026-10-20T08:00:00Z",
        "url": f"{HOME}/2026/10/20/offshore-wind-farm-doubles-turbine-output/",
        "image_url": f"{HOME}/wp-content/uploads/2026/10/turbines.jpg",
        "status": "published",
        "language": "",
    }
    assert str(first["body"]).lstrip().startswith("<p>The offshore wind farm")
    assert str(posts["102"]["body"]).startswith("<p>Why hub height matters.</p>")
    # entities decoded; the later page's copy of a post wins
    assert posts["102"]["title"] == "Wind & weather: taller turbines\u2019 steadier winds (updated)"
    assert posts["201"]["category"] == "Football"  # the lowest category id, as WordPress does
    assert posts["301"]["tags"] == ["Puccini", "Sopranos & Tenors"]


def test_import_rest_export_without_embed_falls_back_to_ids(tmp_path: Path) -> None:
    out = tmp_path / "articles.jsonl"
    summary = import_rest_export([DATA / "posts.json"], out)
    post = _read(out)["202"]
    assert (post["category"], post["tags"], post["author"], post["image_url"]) == (
        "3",
        ["13"],
        "3",
        "",
    )
    assert post["body"] == (
        "\n<p>The club has signed a midfielder on a four-year contract after agreeing a "
        "transfer fee with his former team.</p>\n"
    )
    assert summary.notes and "category and tag ids" in summary.notes[0]


def test_import_rest_export_rejects_an_error_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "posts-9.json"
    page.write_text(json.dumps({"code": "rest_post_invalid_page_number", "data": {"status": 400}}))
    out = tmp_path / "articles.jsonl"
    assert main(["import", "wordpress", "--rest-export", str(page), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(page) in err and "rest_post_invalid_page_number" in err
    assert not out.exists()


def test_import_rest_export_output_reads_back_as_articles(tmp_path: Path) -> None:
    from recommender.data.articles import read_articles

    out = tmp_path / "articles.jsonl"
    import_rest_export([DATA / "posts.json", DATA / "posts-2.json"], out)
    table = read_articles(out)
    assert [a.id for a in table.articles] == ["101", "102", "201", "202", "301"]
    first = table.articles[0]
    assert first.published_at == dt.datetime(2026, 10, 20, 8, tzinfo=dt.UTC)
    assert first.body.startswith("The offshore wind farm off the northern coast")


def test_import_rest_export_drops_urls_that_are_not_http(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = json.loads((DATA / "posts.json").read_text(encoding="utf-8"))
    posts[0]["link"] = "javascript:alert(3)"
    posts[0]["_embedded"]["wp:featuredmedia"][0]["source_url"] = "data:image/svg+xml,<svg/>"
    pages = tmp_path / "posts.json"
    pages.write_text(json.dumps(posts), encoding="utf-8")
    out = tmp_path / "articles.jsonl"
    summary = import_rest_export([pages], out)
    first = _read(out)[str(posts[0]["id"])]
    assert (first["url"], first["image_url"]) == ("", "")
    assert summary.dropped_urls == {"url": 1, "image_url": 1}
    assert main(["import", "wordpress", "--rest-export", str(pages), "--out", str(out)]) == 0
    assert "dropped 1 url, 1 image_url that are not http(s) URLs" in capsys.readouterr().out
