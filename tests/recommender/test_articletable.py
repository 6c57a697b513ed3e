"""The article table: round trips of every column, id lookups, damaged files."""

from __future__ import annotations

import re
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
from recommender.errors import BundleError

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
