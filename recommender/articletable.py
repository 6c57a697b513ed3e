"""The article table: a bundle's article metadata, one column per field, that server workers
share.

A format-2 bundle stores every metadata column as ``.npy`` files memory-mapped on load
(``allow_pickle=False``), so the pages are the page cache's, shared by every worker, and
loading makes no Python object per article:

- a text column (``id``, ``title``, ``url``, ...) is ``articles.<column>.utf8.npy``, the
  UTF-8 bytes of every value end to end (uint8), and ``articles.<column>.offsets.npy``, where
  value ``i`` starts and ends (int64, n + 1); ``articles.<column>.null.npy`` (bool) marks the
  ``None`` values of a column that has some (``published_at`` of undated articles);
- a column with few distinct values (``category``, ``status``, often ``author``) is
  ``articles.<column>.codes.npy`` (int32, -1 for ``None``) plus its distinct values, listed in
  the manifest.

Rows are in article id order (:func:`recommender.bundle.write_bundle_dir` checks), so an id's
row is a binary search over the id column's bytes (UTF-8 byte order is code point order, the
order of Python's ``sorted``): about twenty comparisons at a million articles, a few
microseconds, and no dict of every id in every worker.

:class:`ListTable` is the same interface over Python lists: format-1 bundles (their
``articles.json``, parsed) and bundles held in memory.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from recommender.errors import BundleError

#: Columns stored as codes plus distinct values when they have few distinct values.
CODED_COLUMNS = ("category", "status", "author")
#: Above this many distinct values a codable column is stored as text (its values would make
#: the manifest, parsed by every worker, as large as the column).
MAX_CODES = 4096
PREFIX = "articles."
#: Above this many ids, :meth:`ArticleTable.rows` reads the id column once instead of one
#: binary search per id (offline callers look up a whole catalogue).
_BULK = 4096


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _encode(values: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 blob and offsets (n + 1) of a text column (``None`` as empty)."""
    encoded = [(v or "").encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _check_sorted_unique(ids: Sequence[str]) -> None:
    for i in range(1, len(ids)):
        if not ids[i - 1] < ids[i]:
            raise BundleError(
                f"article ids are not sorted and unique ({ids[i - 1]!r} before {ids[i]!r})"
            )


def write_table(directory: Path, columns: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """Write the columns (``id`` first, sorted and unique) into ``directory``; returns the
    table's manifest entry (column kinds, distinct values of coded columns).

    Raises
    ------
    BundleError
        When the ids are not sorted and unique, a column's length differs from the ids', or a
        value is neither a string nor ``None``.
    """
    ids = columns["id"]
    if any(not isinstance(a, str) for a in ids):
        raise BundleError("article ids must be strings")
    _check_sorted_unique(ids)
    n = len(ids)
    spec: dict[str, Any] = {}
    for name, values in columns.items():
        if len(values) != n:
            raise BundleError(f"article column {name!r} has {len(values)} values, not {n}")
        if any(v is not None and not isinstance(v, str) for v in values):
            raise BundleError(f"article column {name!r} holds a value that is not a string")
        distinct = sorted({v for v in values if v is not None})
        if name in CODED_COLUMNS and len(distinct) <= MAX_CODES:
            code_of = {v: i for i, v in enumerate(distinct)}
            codes = np.array([-1 if v is None else code_of[v] for v in values], dtype=np.int32)
            _save(directory / f"{PREFIX}{name}.codes.npy", codes)
            spec[name] = {"kind": "codes", "values": distinct}
            continue
        blob, offsets = _encode(values)
        _save(directory / f"{PREFIX}{name}.utf8.npy", blob)
        _save(directory / f"{PREFIX}{name}.offsets.npy", offsets)
        column: dict[str, Any] = {"kind": "text"}
        if any(v is None for v in values):
            _save(directory / f"{PREFIX}{name}.null.npy", np.array([v is None for v in values]))
            column["nulls"] = True
        spec[name] = column
    return {"n": n, "columns": spec}


def table_files(spec: Mapping[str, Any]) -> list[str]:
    """The file names of a table's manifest entry."""
    names = []
    for name, column in spec["columns"].items():
        if column["kind"] == "codes":
            names.append(f"{PREFIX}{name}.codes.npy")
        else:
            names += [f"{PREFIX}{name}.utf8.npy", f"{PREFIX}{name}.offsets.npy"]
            if column.get("nulls"):
                names.append(f"{PREFIX}{name}.null.npy")
    return names


class Column(Sequence[Any]):
    """One column of an :class:`ArticleTable` as a read-only sequence: indexing reads one
    value; nothing is copied until iterated."""

    def __init__(self, table: ArticleTable, name: str) -> None:
        self._table = table
        self._name = name

    def __len__(self) -> int:
        return len(self._table)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._table.value(self._name, i) for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._table.value(self._name, index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._table.column(self._name))


class ArticleTable:
    """A format-2 bundle's article metadata, memory-mapped (see the module docstring)."""

    def __init__(self, path: Path, spec: Mapping[str, Any], *, mmap: bool = True) -> None:
        self.path = path
        self._n = int(spec["n"])
        self._kinds: dict[str, str] = {}
        self._values: dict[str, list[str]] = {}
        self._codes: dict[str, np.ndarray] = {}
        self._blobs: dict[str, np.ndarray] = {}
        self._offsets: dict[str, np.ndarray] = {}
        self._nulls: dict[str, np.ndarray] = {}
        # memoryviews index to Python ints and slice to bytes without numpy's per-call cost
        self._codes_view: dict[str, memoryview] = {}
        self._blob_view: dict[str, memoryview] = {}
        self._offsets_view: dict[str, memoryview] = {}
        n = self._n
        for name, column in spec["columns"].items():
            self._kinds[name] = column["kind"]
            if column["kind"] == "codes":
                self._values[name] = list(column["values"])
                codes = self._array(f"{PREFIX}{name}.codes.npy", np.int32, (n,), mmap)
                self._codes[name] = codes
                self._codes_view[name] = codes.data
                continue
            offsets = self._array(f"{PREFIX}{name}.offsets.npy", np.int64, (n + 1,), mmap)
            size = int(offsets[-1])
            if int(offsets[0]) != 0 or size < 0:
                raise BundleError(f"{path}: {PREFIX}{name}.offsets.npy is damaged")
            blob = self._array(f"{PREFIX}{name}.utf8.npy", np.uint8, (size,), mmap)
            self._blobs[name], self._offsets[name] = blob, offsets
            self._blob_view[name] = blob.data
            self._offsets_view[name] = offsets.data
            if column.get("nulls"):
                self._nulls[name] = self._array(f"{PREFIX}{name}.null.npy", np.bool_, (n,), mmap)
        if "id" not in self._kinds or self._kinds["id"] != "text":
            raise BundleError(f"{path}: the article table has no id column")

    def _array(self, file: str, dtype: Any, shape: tuple[int, ...], mmap: bool) -> np.ndarray:
        """One column file, checked against the shape the manifest implies."""
        try:
            array = np.load(self.path / file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except FileNotFoundError:
            raise BundleError(f"{self.path}: article file {file} is missing") from None
        except (ValueError, OSError, EOFError) as exc:
            raise BundleError(f"{self.path}: article file {file} is unreadable ({exc})") from None
        if array.dtype != np.dtype(dtype) or array.shape != shape:
            raise BundleError(
                f"{self.path}: {file} is {array.dtype.str}{list(array.shape)}, expected "
                f"{np.dtype(dtype).str}{list(shape)} (truncated?)"
            )
        return np.asarray(array)

    def __len__(self) -> int:
        return self._n

    def has_column(self, name: str) -> bool:
        return name in self._kinds

    def _id_bytes(self, row: int) -> bytes:
        offsets = self._offsets_view["id"]
        return self._blob_view["id"][offsets[row] : offsets[row + 1]].tobytes()

    def _lower_bound(self, key: bytes) -> int:
        offsets = self._offsets_view["id"]
        blob = self._blob_view["id"]
        lo, hi = 0, self._n
        while lo < hi:
            mid = (lo + hi) // 2
            if blob[offsets[mid] : offsets[mid + 1]].tobytes() < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def row(self, article_id: str) -> int:
        """The row of an article id, -1 when unknown (a binary search over sorted ids)."""
        key = article_id.encode("utf-8", "surrogatepass")
        lo = self._lower_bound(key)
        if lo < self._n and self._id_bytes(lo) == key:
            return lo
        return -1

    def positions(self, article_ids: Sequence[str]) -> np.ndarray:
        """How many ids of the table sort before each of ``article_ids`` (int64)."""
        found = [self._lower_bound(a.encode("utf-8", "surrogatepass")) for a in article_ids]
        return np.array(found, dtype=np.int64)

    def rows(self, article_ids: Sequence[str]) -> np.ndarray:
        """The rows of many ids (int64, -1 for unknown ones)."""
        if len(article_ids) > _BULK:
            index = {a: i for i, a in enumerate(self.column("id"))}
            return np.array([index.get(a, -1) for a in article_ids], dtype=np.int64)
        return np.array([self.row(a) for a in article_ids], dtype=np.int64)

    def value(self, name: str, row: int) -> Any:
        """One value (a string, or ``None``)."""
        view = self._codes_view.get(name)
        if view is not None:
            code = view[row]
            return self._values[name][code] if code >= 0 else None
        nulls = self._nulls.get(name)
        if nulls is not None and nulls[row]:
            return None
        offsets = self._offsets_view[name]
        return str(self._blob_view[name][offsets[row] : offsets[row + 1]], "utf-8")

    def column(self, name: str) -> list[Any]:
        """A whole column as a list (offline code: training, evaluation)."""
        codes = self._codes.get(name)
        if codes is not None:
            values: list[Any] = [*self._values[name], None]  # code -1 reads the last
            return [values[c] for c in codes.tolist()]
        data = bytes(self._blobs[name])
        bounds = self._offsets[name].tolist()
        out: list[Any] = [data[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds)]
        nulls = self._nulls.get(name)
        if nulls is not None:
            for row in np.flatnonzero(nulls).tolist():
                out[row] = None
        return out

    def view(self, name: str) -> Sequence[Any]:
        """A column as a lazy sequence (:class:`Column`)."""
        return Column(self, name)

    def equals(self, name: str, value: str) -> np.ndarray:
        """Boolean mask of the rows whose ``name`` is ``value``."""
        codes = self._codes.get(name)
        if codes is not None:
            values = self._values[name]
            if value not in values:
                return np.zeros(self._n, dtype=bool)
            return np.asarray(codes == values.index(value))
        mask = np.zeros(self._n, dtype=bool)
        mask[self.rows_where(name, value)] = True
        return mask

    def rows_where(self, name: str, value: str) -> np.ndarray:
        """The rows whose ``name`` is ``value``, in row order (a text column's values of the
        right length are the only ones decoded)."""
        codes = self._codes.get(name)
        if codes is not None:
            return np.flatnonzero(self.equals(name, value))
        key = value.encode("utf-8", "surrogatepass")
        offsets = self._offsets[name]
        same_length = np.flatnonzero(np.diff(offsets) == len(key)).tolist()
        view, bounds = self._blob_view[name], self._offsets_view[name]
        nulls = self._nulls.get(name)
        found = [
            r
            for r in same_length
            if view[bounds[r] : bounds[r + 1]] == key and (nulls is None or not nulls[r])
        ]
        return np.array(found, dtype=np.int64)

    def distinct(self, name: str, mask: np.ndarray | None = None) -> frozenset[str]:
        """The distinct values of a column (``None`` left out), of the rows of ``mask`` if
        given."""
        codes = self._codes.get(name)
        if codes is not None:
            used = np.unique(codes if mask is None else codes[mask])
            return frozenset(self._values[name][c] for c in used.tolist() if c >= 0)
        values = self.column(name)
        rows = range(self._n) if mask is None else np.flatnonzero(mask).tolist()
        return frozenset(values[r] for r in rows if values[r] is not None)


class ListTable:
    """The :class:`ArticleTable` interface over lists: a format-1 bundle's ``articles.json``,
    parsed, or a bundle held in memory."""

    def __init__(self, columns: Mapping[str, list[Any]]) -> None:
        self._columns = dict(columns)
        self._n = len(self._columns["id"])
        self._index = {article_id: i for i, article_id in enumerate(self._columns["id"])}

    def __len__(self) -> int:
        return self._n

    def has_column(self, name: str) -> bool:
        return name in self._columns

    def row(self, article_id: str) -> int:
        return self._index.get(article_id, -1)

    def positions(self, article_ids: Sequence[str]) -> np.ndarray:
        ids = self._columns["id"]
        return np.array([bisect.bisect_left(ids, a) for a in article_ids], dtype=np.int64)

    def rows(self, article_ids: Sequence[str]) -> np.ndarray:
        index = self._index
        return np.array([index.get(a, -1) for a in article_ids], dtype=np.int64)

    def value(self, name: str, row: int) -> Any:
        return self._columns[name][row]

    def column(self, name: str) -> list[Any]:
        return list(self._columns[name])

    def view(self, name: str) -> Sequence[Any]:
        return self._columns[name]

    def equals(self, name: str, value: str) -> np.ndarray:
        return np.array([v == value for v in self._columns[name]], dtype=bool)

    def rows_where(self, name: str, value: str) -> np.ndarray:
        return np.flatnonzero(self.equals(name, value))

    def distinct(self, name: str, mask: np.ndarray | None = None) -> frozenset[str]:
        values = self._columns[name]
        rows = range(self._n) if mask is None else np.flatnonzero(mask).tolist()
        return frozenset(values[r] for r in rows if values[r] is not None)


def read_json_columns(path: Path) -> dict[str, list[Any]]:
    """A format-1 ``articles.json``'s columns; raises :class:`BundleError` naming the file."""
    try:
        columns = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path.parent}: {path.name} is missing or damaged ({exc})") from None
    if not isinstance(columns, dict):
        raise BundleError(f"{path.parent}: {path.name} is not an object of columns")
    return columns
