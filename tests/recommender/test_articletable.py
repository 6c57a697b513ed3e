"""The article table: round trips of every column, id lookups, damaged files."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.articletable import (
    MAX_CODES,
    ArticleTable,
    ListTable,
    table_files,
    write_table,
)
from recommender.bundle import MANIFEST, Bundle
from recommender.errors import BundleError, UnknownArticleError

COLUMNS: dict[str, list[Any]] = {
    "id": ["", "a1", "a2", "b", "é", "日本", "😀x"],
    "title": ["Empty id", "Déjà vu — “quotes”", "", "tab\tnew\nline", "é", "日本語", "emoji 😀"],
    "url": ["/0", "/a1", "/a2", "/b", "/é", "/日本", "/😀"],
    "category": ["", "news", "news", "sport", "", "culture", "news"],
    "published_at": [None, "2026-10-01T00:00:00Z", None, "", "2026-10-02T00:00:00Z", "x", "y"],
    "image_url": ["", "", "/i.jpg", "", "", "", ""],
    "status": ["published", "published", "draft", "published", "trash", "published", "draft"],
    "author": ["", "Ann", "Bob", "Ann", "", "Zoë", "Bob"],
}


def _write(tmp_path: Path, columns: dict[str, list[Any]]) -> ArticleTable:
    spec = write_table(tmp_path, columns)
    return ArticleTable(tmp_path, spec)


def test_articletable_round_trips_every_column(tmp_path: Path) -> None:
    table = _write(tmp_path, COLUMNS)
    assert len(table) == len(COLUMNS["id"])
    for name, values in COLUMNS.items():
        assert table.column(name) == values, name
        assert [table.value(name, r) for r in range(len(values))] == values, name
        assert list(table.view(name)) == values
        assert table.view(name)[-1] == values[-1]
        assert table.view(name)[1:3] == values[1:3]


def test_articletable_codes_low_cardinality_columns(tmp_path: Path) -> None:
    spec = write_table(tmp_path, COLUMNS)
    kinds = {name: column["kind"] for name, column in spec["columns"].items()}
    assert kinds["category"] == kinds["status"] == kinds["author"] == "codes"
    assert kinds["title"] == kinds["id"] == "text"
    assert spec["columns"]["status"]["values"] == ["draft", "published", "trash"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(table_files(spec))


def test_articletable_stores_many_distinct_authors_as_text(tmp_path: Path) -> None:
    n = MAX_CODES + 1
    ids = [f"a{i:05d}" for i in range(n)]
    columns = {"id": ids, "author": [f"writer {i}" for i in range(n)]}
    spec = write_table(tmp_path, columns)
    assert spec["columns"]["author"]["kind"] == "text"
    assert ArticleTable(tmp_path, spec).value("author", n - 1) == f"writer {n - 1}"


def test_articletable_optional_columns_absent(tmp_path: Path) -> None:
    columns = {k: v for k, v in COLUMNS.items() if k not in ("author",)}
    table = _write(tmp_path, columns)
    assert not table.has_column("author") and not table.has_column("image_srcset")
    assert table.has_column("title")


def test_articletable_empty(tmp_path: Path) -> None:
    table = _write(tmp_path, {name: [] for name in COLUMNS})
    assert len(table) == 0 and table.row("a") == -1 and table.column("title") == []
    assert table.rows(["a"]).tolist() == [-1]


def test_articletable_finds_every_id_and_no_unknown_one(tmp_path: Path) -> None:
    table = _write(tmp_path, COLUMNS)
    for row, article_id in enumerate(COLUMNS["id"]):
        assert table.row(article_id) == row
    for unknown in ("a", "a11", "a0", "c", "zz", "😀", "😀y", "\x00"):
        assert table.row(unknown) == -1, unknown
    assert table.rows(["b", "nope", ""]).tolist() == [3, -1, 0]


def test_articletable_lookup_agrees_with_a_dict_in_bulk(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ids = sorted({str(x) for x in rng.integers(0, 10**9, 6000)})
    table = _write(tmp_path, {"id": ids})
    queries = [*ids[::7], "0", "999999999x", "5"]
    expected = [ids.index(q) if q in ids else -1 for q in queries]
    assert [table.row(q) for q in queries] == expected
    many = [*ids, "unknown"]  # above the bulk threshold: the other path
    assert table.rows(many).tolist() == [*range(len(ids)), -1]


def test_articletable_lookup_takes_microseconds(tmp_path: Path) -> None:
    ids = [f"{i:09d}" for i in range(200_000)]
    table = _write(tmp_path, {"id": ids})
    queries = ids[::997]
    start = time.perf_counter()
    for q in queries:
        table.row(q)
    per_lookup = (time.perf_counter() - start) / len(queries)
    assert per_lookup < 200e-6  # measured ~6 us; generous for a loaded machine


def test_articletable_masks_and_distinct_values(tmp_path: Path) -> None:
    table = _write(tmp_path, COLUMNS)
    lists = ListTable(COLUMNS)
    for source in (table, lists):
        assert source.equals("category", "news").tolist() == [
            c == "news" for c in COLUMNS["category"]
        ]
        assert not source.equals("category", "missing").any()
        assert source.equals("title", "é").tolist() == [t == "é" for t in COLUMNS["title"]]
        assert source.distinct("category") == {"", "news", "sport", "culture"}


def test_listtable_answers_as_the_articletable(tmp_path: Path) -> None:
    table = _write(tmp_path, COLUMNS)
    lists = ListTable(COLUMNS)
    ids = [*COLUMNS["id"], "unknown"]
    assert table.rows(ids).tolist() == lists.rows(ids).tolist()
    for name in COLUMNS:
        assert table.column(name) == lists.column(name)


def test_articletable_rejects_unsorted_or_duplicate_ids(tmp_path: Path) -> None:
    for ids in (["b", "a"], ["a", "a"]):
        with pytest.raises(BundleError, match="sorted and unique"):
            write_table(tmp_path, {"id": ids})
    with pytest.raises(BundleError, match="'title' has 1 values, not 2"):
        write_table(tmp_path, {"id": ["a", "b"], "title": ["x"]})


@pytest.mark.parametrize(
    "file", ["articles.title.utf8.npy", "articles.id.offsets.npy", "articles.status.codes.npy"]
)
def test_articletable_missing_or_truncated_file_names_it(tmp_path: Path, file: str) -> None:
    spec = write_table(tmp_path, COLUMNS)
    path = tmp_path / file
    data = path.read_bytes()
    path.write_bytes(data[:-3])
    with pytest.raises(BundleError, match=re.escape(file)):
        ArticleTable(tmp_path, spec)
    path.unlink()
    with pytest.raises(BundleError, match=re.escape(f"{file} is missing")):
        ArticleTable(tmp_path, spec)


def to_format_1(path: Path) -> None:
    """Rewrite a format-2 bundle's article table as the previous release's ``articles.json``
    (a bundle on disk from before format 2)."""
    bundle = Bundle.load(path)
    manifest = json.loads((path / MANIFEST).read_text())
    spec = manifest.pop("articles")
    columns = {name: bundle.meta(name) for name in spec["columns"]}
    for file in table_files(spec):
        (path / file).unlink()
    manifest["format_version"] = 1
    (path / "articles.json").write_text(json.dumps(columns, ensure_ascii=False))
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))


@pytest.fixture
def trained(tmp_path: Path) -> Path:
    from tests.recommender.test_bundle import _train
    from tests.recommender.test_train import ARTICLES, VIEWS

    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    views = tmp_path / "views.csv"
    views.write_text(VIEWS)
    version = _train((articles, views), tmp_path / "models")
    return tmp_path / "models" / version


def test_bundle_format_1_loads_and_answers_as_format_2(trained: Path, tmp_path: Path) -> None:
    old = tmp_path / "old" / trained.name
    shutil.copytree(trained, old)
    to_format_1(old)
    assert not list(old.glob("articles.*.npy"))
    new, previous = Bundle.load(trained), Bundle.load(old)
    assert new.manifest["format_version"] == 2 and previous.manifest["format_version"] == 1
    assert isinstance(new.table, ArticleTable) and isinstance(previous.table, ListTable)
    ids = new.meta("id")
    assert ids == previous.meta("id") == sorted(ids)
    for row, article_id in enumerate(ids):
        assert new.row(article_id) == previous.row(article_id) == row
        assert new.article(row) == previous.article(row)
        assert new.status(row) == previous.status(row)
        assert new.author(row) == previous.author(row)
    assert new.rows([*ids, "nope"]).tolist() == [*range(len(ids)), -1]
    assert not new.has("nope") and not previous.has("nope")
    with pytest.raises(UnknownArticleError):
        new.row("nope")
    assert new.is_published.tolist() == previous.is_published.tolist()
    for category in new.known_categories():
        assert new.in_category(category).tolist() == previous.in_category(category).tolist()
        assert (
            new.popular_rows("7d", category).tolist()
            == previous.popular_rows("7d", category).tolist()
        )
    assert new.known_categories() == previous.known_categories()
    assert list(new.categories) == list(previous.categories)


def test_bundle_in_memory_answers_as_loaded(trained: Path) -> None:
    from recommender.bundle import BundleContents

    loaded = Bundle.load(trained)
    columns = ("title", "url", "category", "published_at", "image_url", "status")
    contents = BundleContents(
        loaded.meta("id"), {c: loaded.meta(c) for c in columns}, loaded.arrays, None
    )
    held = Bundle.in_memory(contents)
    assert [held.article(r) for r in range(len(held))] == [
        loaded.article(r) for r in range(len(loaded))
    ]


def test_bundle_missing_article_file_names_it(trained: Path) -> None:
    (trained / "articles.title.utf8.npy").unlink()
    with pytest.raises(BundleError, match=r"articles\.title\.utf8\.npy is missing"):
        Bundle.load(trained)


def test_bundle_truncated_article_file_names_it(trained: Path) -> None:
    path = trained / "articles.id.offsets.npy"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(BundleError, match=r"articles\.id\.offsets\.npy"):
        Bundle.load(trained)


def test_bundle_format_1_without_articles_json_names_it(trained: Path) -> None:
    to_format_1(trained)
    (trained / "articles.json").unlink()
    with pytest.raises(BundleError, match=r"articles\.json is missing"):
        Bundle.load(trained)


def test_bundle_of_an_unknown_format_is_refused(trained: Path) -> None:
    manifest = json.loads((trained / MANIFEST).read_text())
    manifest["format_version"] = 3
    (trained / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="bundle format 3"):
        Bundle.load(trained)
