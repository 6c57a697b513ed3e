"""Tests of ``recommender.data.articles``: reading catalogues and the one article validation.

Fixtures are written into ``tmp_path`` by each test and are small enough to check by hand.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recommender.data.articles import Article, read_articles, validate_article
from recommender.errors import DataError
from tests.recommender.data.files import _jsonl, _write

# ---------------------------------------------------------------------------------------------
# read_articles: happy paths
# ---------------------------------------------------------------------------------------------

_FULL_RECORD = {
    "id": "a1",
    "title": "  Storm  hits\ncoast ",
    "body": "<p>Heavy rain &amp; wind.</p><script>track()</script>",
    "category": "weather",
    "tags": [" storm ", "", "coast"],
    "author": "Ann Lee",
    "published_at": "2026-01-02T10:00:00+02:00",
    "url": "https://example.com/a1",
    "image_url": "https://example.com/a1.jpg",
    "status": "Published",
    "language": "en",
    "extra_field": {"ignored": True},
}

_FULL_ARTICLE = Article(
    id="a1",
    title="Storm hits coast",
    body="Heavy rain & wind.",
    category="weather",
    tags=("storm", "coast"),
    author="Ann Lee",
    published_at=datetime(2026, 1, 2, 8, 0, tzinfo=UTC),
    url="https://example.com/a1",
    image_url="https://example.com/a1.jpg",
    status="published",
    language="en",
)


def test_read_articles_jsonl_reads_every_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "articles.jsonl", _jsonl(_FULL_RECORD))
    table = read_articles(path)
    assert table.articles == [_FULL_ARTICLE]
    assert (table.n_rows, table.n_duplicates, table.invalid) == (1, 0, [])
    assert table.path == str(path)


def test_read_articles_csv_reads_every_field(tmp_path: Path) -> None:
    rows = io.StringIO()
    writer = csv.writer(rows)
    header = "id,title,body,category,tags,author,published_at,url,image_url,status,language,x"
    writer.writerow(header.split(","))
    record = _FULL_RECORD
    writer.writerow(
        [record["id"], record["title"], record["body"], record["category"], " storm ,, coast"]
        + [record[k] for k in ("author", "published_at", "url", "image_url", "status")]
        + [record["language"], "ignored"]
    )
    path = _write(tmp_path, "articles.csv", rows.getvalue())
    assert read_articles(path).articles == [_FULL_ARTICLE]


@pytest.mark.parametrize("name", ["articles.jsonl.gz", "articles.json"])
def test_read_articles_jsonl_variants(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, _jsonl(_FULL_RECORD))
    assert read_articles(path).articles == [_FULL_ARTICLE]


def test_read_articles_csv_gz(tmp_path: Path) -> None:
    path = _write(tmp_path, "articles.csv.gz", 'id,title,tags\nx,Title,"a, b"\n')
    assert read_articles(path).articles == [Article(id="x", title="Title", tags=("a", "b"))]


def test_read_articles_defaults_for_absent_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.jsonl", _jsonl({"id": 7, "title": "T", "body": None}))
    (article,) = read_articles(path).articles
    assert article == Article(id="7", title="T")
    assert article.status == "published"
    assert article.published_at is None


def test_read_articles_tags_list_or_comma_separated_string(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "a.jsonl",
        _jsonl(
            {"id": "1", "title": "t", "tags": ["x", " y ", ""]},
            {"id": "2", "title": "t", "tags": "x, y,,"},
            {"id": "3", "title": "t", "tags": []},
        ),
    )
    tags = {a.id: a.tags for a in read_articles(path).articles}
    assert tags == {"1": ("x", "y"), "2": ("x", "y"), "3": ()}


def test_read_articles_csv_tags_may_be_a_json_list(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", 'id,title,tags\n1,t,"[""a, b"", ""c""]"\n')
    assert read_articles(path).articles[0].tags == ("a, b", "c")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05+01:00", datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05-05:30", datetime(2026, 1, 2, 8, 34, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02 03:04:05.250", datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ("2026-01-02", datetime(2026, 1, 2, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_read_articles_published_at_is_utc_aware(
    tmp_path: Path, text: str | None, expected: datetime | None
) -> None:
    path = _write(tmp_path, "a.jsonl", _jsonl({"id": "1", "title": "t", "published_at": text}))
    published = read_articles(path).articles[0].published_at
    assert published == expected
    if published is not None:
        assert published.utcoffset() == timedelta(0)


def test_read_articles_duplicates_last_wins_and_are_counted(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "a.jsonl",
        _jsonl(
            {"id": "b", "title": "first b"},
            {"id": "a", "title": "only a"},
            {"id": "b", "title": "second b"},
            {"id": "b", "title": "third b"},
        ),
    )
    table = read_articles(path)
    assert [(a.id, a.title) for a in table.articles] == [("a", "only a"), ("b", "third b")]
    assert (table.n_rows, table.n_duplicates) == (4, 2)


def test_read_articles_sorted_by_id(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", "title,id\nt,c\nt,a\nt,b\n")
    assert [a.id for a in read_articles(path).articles] == ["a", "b", "c"]


def test_read_articles_status_lowercased(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", "id,title,status\n1,t,DRAFT\n2,t,\n")
    assert [a.status for a in read_articles(path).articles] == ["draft", "published"]


def test_read_articles_empty_csv_gives_empty_table(tmp_path: Path) -> None:
    table = read_articles(_write(tmp_path, "a.csv", ""))
    assert (table.articles, table.n_rows) == ([], 0)


def test_read_articles_unsupported_extension(tmp_path: Path) -> None:
    path = _write(tmp_path, "articles.xml", "<x/>")
    with pytest.raises(DataError, match="unsupported extension") as info:
        read_articles(path)
    assert (info.value.line, info.value.field) == (None, None)


# ---------------------------------------------------------------------------------------------
# validate_article: the one validation, for a file row and for the CMS route
# ---------------------------------------------------------------------------------------------


def test_validate_article_union_behaviour() -> None:
    """Text fields stripped (author and url too), JSON-list tags in a string accepted,
    comma-separated tags accepted, empty date unknown, status lower-cased."""
    from recommender.data.articles import validate_article

    article = validate_article(
        {
            "id": " a1 ",
            "title": "  Wind   farm opens ",
            "body": "<p>Turbines &amp; blades</p>",
            "category": " energy ",
            "tags": '["wind", " power ", ""]',
            "author": "  Ada Lovelace ",
            "published_at": "",
            "url": " https://news.example.org/a1 ",
            "image_url": " https://news.example.org/a1.jpg ",
            "status": " Published ",
            "language": " en ",
        }
    )
    assert article == Article(
        id="a1",
        title="Wind farm opens",
        body="Turbines & blades",
        category="energy",
        tags=("wind", "power"),
        author="Ada Lovelace",
        published_at=None,
        url="https://news.example.org/a1",
        image_url="https://news.example.org/a1.jpg",
        status="published",
        language="en",
    )
    assert validate_article({"id": "a", "title": "t", "tags": "x, y,"}).tags == ("x", "y")
    assert validate_article({"id": "a", "title": "t", "tags": ["x", " y"]}).tags == ("x", "y")
    assert validate_article({"id": 7, "title": "t"}).id == "7"
    assert validate_article(
        {"id": "a", "title": "t", "published_at": "2026-10-05"}
    ).published_at == (datetime(2026, 10, 5, tzinfo=UTC))


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"title": "t"}, "id"),
        ({"id": "a"}, "title"),
        ({"id": "a", "title": "   "}, "title"),
        ({"id": "a", "title": 3}, "title"),
        ({"id": "a", "title": "t", "author": 5}, "author"),
        ({"id": "a", "title": "t", "tags": [1]}, "tags"),
        ({"id": "a", "title": "t", "published_at": "soon"}, "published_at"),
        ({"id": "a", "title": "t", "published_at": 1700000000}, "published_at"),
    ],
)
def test_validate_article_names_the_field(record: dict[str, object], field: str) -> None:
    from recommender.data.articles import validate_article

    with pytest.raises(DataError) as caught:
        validate_article(record, where="PUT /v1/articles/a")
    assert (caught.value.path, caught.value.line, caught.value.field) == (
        "PUT /v1/articles/a",
        None,
        field,
    )


def test_validate_article_is_what_read_articles_reads(tmp_path: Path) -> None:
    from recommender.data.articles import validate_article

    record = {
        "id": "a1",
        "title": " T ",
        "author": " A ",
        "url": " u ",
        "tags": '["x"]',
        "published_at": "2026-10-05T12:00:00+02:00",
    }
    path = _write(tmp_path, "a.jsonl", _jsonl(record))
    assert read_articles(path).articles == [validate_article(record)]


# ---------------------------------------------------------------------------------------------
# url and image_url: http(s) only
# ---------------------------------------------------------------------------------------------

UNSAFE_URLS = [
    "javascript:alert(3)",
    " JavaScript:alert(3)",
    "java\tscript:alert(3)",
    "data:text/html,<script>alert(3)</script>",
    "vbscript:msgbox(3)",
    "//evil.example/a",
    "/news/a1",
    "https:no-host",
    "ftp://example.com/a1",
]


@pytest.mark.parametrize("value", UNSAFE_URLS)
def test_validate_article_drops_urls_that_are_not_http(value: str) -> None:
    dropped: list[str] = []
    record = {"id": "a1", "title": "T", "url": value, "image_url": value}
    article = validate_article(record, dropped=dropped)
    assert (article.url, article.image_url) == ("", "")
    assert dropped == ["url", "image_url"]


def test_validate_article_keeps_http_and_https_urls() -> None:
    dropped: list[str] = []
    record = {
        "id": "a1",
        "title": "T",
        "url": "HTTPS://example.com/a1",
        "image_url": "http://x.y/i",
    }
    article = validate_article(record, dropped=dropped)
    assert (article.url, article.image_url) == ("HTTPS://example.com/a1", "http://x.y/i")
    assert dropped == []


def test_read_articles_drops_unsafe_urls_with_a_counted_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(
        tmp_path,
        "articles.jsonl",
        _jsonl(
            {"id": "a1", "title": "A", "url": "javascript:alert(3)"},
            {"id": "a2", "title": "B", "url": "https://example.com/b", "image_url": "data:x"},
            {"id": "a3", "title": "C", "url": "https://example.com/c"},
        ),
    )
    table = read_articles(path)
    assert [(a.id, a.url, a.image_url) for a in table.articles] == [
        ("a1", "", ""),
        ("a2", "https://example.com/b", ""),
        ("a3", "https://example.com/c", ""),
    ]
    assert [(e.line, e.field) for e in table.dropped_urls] == [(1, "url"), (2, "image_url")]
    assert table.invalid == []  # the articles stay; only the values go
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "2 url/image_url values" in warnings[0] and f"{path}:1" in warnings[0]


def test_train_serves_no_unsafe_url_and_counts_them(tmp_path: Path) -> None:
    from recommender.bundle import Bundle
    from recommender.train import train

    rows = [
        {"id": f"a{i}", "title": f"Storm {i} hits the coast", "body": "rain wind storm coast"}
        for i in range(4)
    ]
    rows[0]["url"] = "javascript:alert(3)"
    rows[1]["image_url"] = "javascript:alert(4)"
    rows[2]["url"] = "https://example.com/a2"
    path = _write(tmp_path, "articles.jsonl", _jsonl(*rows))
    result = train(path, None, tmp_path / "models", now=datetime(2026, 11, 1, tzinfo=UTC))
    assert result.manifest["counts"]["unsafe_urls_dropped"] == 2
    bundle = Bundle.load_latest(tmp_path / "models")
    served = [bundle.article(row) for row in range(len(bundle))]
    assert [(a["url"], a["image_url"]) for a in served] == [
        ("", ""),
        ("", ""),
        ("https://example.com/a2", ""),
        ("", ""),
    ]
