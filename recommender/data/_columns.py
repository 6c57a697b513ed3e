"""View files as string columns, and their vectorised validation (private to
:mod:`recommender.data.views`).

View logs can hold tens of millions of rows, so they are parsed by pyarrow and validated with
vectorised ``pyarrow.compute``/numpy operations; Python only loops per row on the error path,
to find line numbers. View CSV files are parsed by pyarrow and re-scanned with :mod:`csv` only
to locate errors; the two parsers agree on standard CSV (RFC 4180 quoting, ``""`` escapes,
blank lines ignored). If they disagreed on some unusual file, an error whose row cannot be
located is reported with ``line=None`` instead of a wrong line.
"""

from __future__ import annotations

import csv
import json
import mmap
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pa_parquet

from recommender.data._files import InvalidRows, open_binary, open_text, type_name, utf8_error
from recommender.errors import DataError

#: A record seen while re-scanning a file for line numbers: ``(line, field, message)``.
#: ``message is None`` means "this record is the next row of the parsed table"; otherwise the
#: record was rejected before it reached the table, for the reason given.
Record = tuple[int, str | None, str | None]


_VIEW_KEYS = ("article_id", "session_id", "user_id", "timestamp", "views", "date")
_TS_UTC = pa.timestamp("ns", tz="UTC")
_TS_NAIVE = pa.timestamp("ns")
_TICKS_PER_S = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


@dataclass(frozen=True)
class Shape:
    kind: Literal["events", "counts"]
    columns: tuple[str, ...]  # the columns used, article_id first


def detect_shape(columns: Iterable[str], path: str, line: int | None) -> Shape:
    present = set(columns)
    if "article_id" not in present:
        raise DataError(path, line, "article_id", "missing required column")
    if "views" in present:
        date = ("date",) if "date" in present else ()
        return Shape("counts", ("article_id", "views", *date))
    if "timestamp" in present and ({"session_id", "user_id"} & present):
        key = "session_id" if "session_id" in present else "user_id"
        return Shape("events", ("article_id", key, "timestamp"))
    raise DataError(
        path,
        line,
        None,
        "cannot tell what the file holds: expected columns article_id, session_id or user_id, "
        f"timestamp (view events) or article_id, views[, date] (view counts); found "
        f"{sorted(present)}",
    )


@dataclass
class Loaded:
    """View rows as string columns, plus what is needed to locate errors later."""

    shape: Shape
    columns: dict[str, Any]  # name -> pyarrow (Chunked)Array of strings, nulls = absent
    n_rejected: int  # records rejected before reaching the table
    records: Callable[[], Iterable[Record]]  # re-reads the file, on the error path only


def _has_quote(path: Path) -> bool:
    """Whether an uncompressed file contains a double quote (memchr speed, via mmap).

    Without one no value can hold a newline, and pyarrow can split the file into blocks at
    any newline, which is cheaper than its quote-aware mode.
    """
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return mapped.find(b'"') >= 0


def load_views_csv(path: Path, gz: bool) -> Loaded:
    where = str(path)
    with open_binary(path, gz) as handle:
        first_line = handle.readline()
    try:
        header = next(csv.reader([first_line.decode("utf-8-sig")]), None)
    except UnicodeDecodeError:
        raise utf8_error(path, gz) from None
    except csv.Error as exc:
        raise DataError(where, 1, None, f"cannot read the header row: {exc}") from None
    if header is None:
        raise DataError(where, None, None, "empty file: no header row")
    header = [name.strip() for name in header]
    if len(set(header)) != len(header):
        raise DataError(where, 1, None, f"duplicate column names in header {header}")
    shape = detect_shape(header, where, 1)

    rejected: list[str] = []

    def on_invalid_row(row: Any) -> str:
        # Called from pyarrow's parser threads; list.append is atomic under the GIL.
        rejected.append(row.text)
        return "skip"

    try:
        table = pa_csv.read_csv(
            where,  # pyarrow decompresses .gz itself
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1, block_size=16 << 20),
            parse_options=pa_csv.ParseOptions(
                newlines_in_values=gz or _has_quote(path), invalid_row_handler=on_invalid_row
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                include_columns=list(shape.columns),
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        if "UTF8" in str(exc):
            raise utf8_error(path, gz) from None
        raise DataError(where, None, None, f"cannot parse CSV: {exc}") from None

    n_columns = len(header)

    def records() -> Iterator[Record]:
        with open_text(path, gz) as handle:
            reader = csv.reader(handle)
            next(reader, None)  # header
            for row in reader:
                if not row:
                    continue  # blank line: pyarrow skips it too
                if len(row) != n_columns:
                    yield reader.line_num, None, f"expected {n_columns} columns, found {len(row)}"
                else:
                    yield reader.line_num, None, None

    columns = {name: table.column(name) for name in shape.columns}
    return Loaded(shape, columns, len(rejected), records)


def _usable_column(name: str, column: Any) -> Any | None:
    """A column pyarrow's JSON reader typed, as the validation expects it, or ``None``.

    Strings stay strings, integers and all-null columns become strings, and times pyarrow
    already parsed (it infers ISO 8601 strings as UTC timestamps) stay timestamps. Anything
    else (floats, booleans, lists, objects) is left to the row-by-row parser to report.
    """
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column
    if pa.types.is_integer(kind) or pa.types.is_null(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_timestamp(kind) and name in ("timestamp", "date"):
        return column
    return None


def load_views_jsonl_fast(path: Path, gz: bool) -> Loaded | None:
    """Parse with pyarrow; ``None`` when the file needs the row-by-row parser."""
    where = str(path)
    try:
        with pa.input_stream(where, compression="gzip" if gz else None) as stream:
            table = pa_json.read_json(stream, read_options=pa_json.ReadOptions(block_size=16 << 20))
    except pa.ArrowInvalid:
        return None  # a bad line or a type conflict: the slow parser says which and where
    if table.num_columns == 0:
        raise DataError(where, None, None, "empty file: no rows")
    shape = detect_shape(table.column_names, where, None)
    columns: dict[str, Any] = {}
    for name in shape.columns:
        column = _usable_column(name, table.column(name))
        if column is None:
            return None
        columns[name] = column

    def records() -> Iterator[Record]:
        with open_binary(path, gz) as handle:
            for line_number, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield line_number, None, None

    return Loaded(shape, columns, 0, records)


def load_views_parquet(path: Path) -> Loaded:
    """A Parquet file of views (one partition of a log a data pipeline writes): only the view
    columns are read. A column must be strings, integers, or (``timestamp``, ``date``) a
    timestamp or date type; a row's "line" in an error is its row number, from 1."""
    where = str(path)
    try:
        schema = pa_parquet.read_schema(where)
        shape = detect_shape(schema.names, where, None)
        table = pa_parquet.read_table(where, columns=list(shape.columns))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(where, None, None, f"cannot read Parquet: {exc}") from None
    columns: dict[str, Any] = {}
    for name in shape.columns:
        column = table.column(name)
        if pa.types.is_date(column.type) and name in ("timestamp", "date"):
            column = pc.cast(column, pa.timestamp("s"))  # midnight UTC, as a date string is
        usable = _usable_column(name, column)
        if usable is None:
            raise DataError(
                where,
                None,
                name,
                f"a Parquet column of type {column.type}: expected strings, integers"
                + (" or a timestamp or date type" if name in ("timestamp", "date") else ""),
            )
        columns[name] = usable

    def records() -> Iterator[Record]:
        return ((row, None, None) for row in range(1, table.num_rows + 1))

    return Loaded(shape, columns, 0, records)


class _BadValue:
    """A JSON value of a type no view column accepts (kept to report it if it matters)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _json_scalar(value: object) -> str | _BadValue | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _BadValue(f"must be a string or an integer, got {type_name(value)}")


def load_views_jsonl_slow(path: Path, gz: bool) -> Loaded:
    """Row-by-row JSON parser: exact line numbers for malformed lines and mixed types."""
    where = str(path)
    values: dict[str, list[str | _BadValue | None]] = {key: [] for key in _VIEW_KEYS}
    lines: list[int] = []
    rejected: list[Record] = []
    present: set[str] = set()
    with open_binary(path, gz) as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError as exc:
                rejected.append((line_number, None, f"invalid JSON: {exc}"))
                continue
            if not isinstance(record, dict):
                rejected.append(
                    (line_number, None, f"expected a JSON object, got {type_name(record)}")
                )
                continue
            present.update(key for key in _VIEW_KEYS if key in record)
            lines.append(line_number)
            for key in _VIEW_KEYS:
                values[key].append(_json_scalar(record.get(key)))
    if not lines and not rejected:
        raise DataError(where, None, None, "empty file: no rows")
    shape = detect_shape(present, where, None)

    keep: list[int] = []
    for row, line_number in enumerate(lines):
        bad = next(
            ((key, v) for key in shape.columns if isinstance(v := values[key][row], _BadValue)),
            None,
        )
        if bad is None:
            keep.append(row)
        else:
            assert isinstance(bad[1], _BadValue)
            rejected.append((line_number, bad[0], bad[1].message))
    columns = {
        key: pa.array([values[key][row] for row in keep], type=pa.string()) for key in shape.columns
    }
    entries = sorted(
        [*rejected, *((lines[row], None, None) for row in keep)], key=lambda entry: entry[0]
    )
    return Loaded(shape, columns, len(rejected), lambda: entries)


# ---------------------------------------------------------------------------------------------
# Views: vectorised validation
# ---------------------------------------------------------------------------------------------


def to_numpy(array: Any) -> np.ndarray[Any, Any]:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def missing(column: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Rows where a column is null, or an empty string."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return to_numpy(pc.is_null(column)).astype(bool)
    return to_numpy(pc.fill_null(pc.equal(column, ""), True)).astype(bool)


def cast_lenient(array: Any, target: Any, budget: list[int]) -> Any:
    """Cast, with nulls where a value does not convert.

    A failing cast is bisected so the work stays near-linear for a few bad values. ``budget``
    holds how many more failures are worth locating exactly; once it is spent the rest of
    the array is returned as nulls (the caller raises before those rows matter, because they
    all come after more than ``max_invalid`` errors).
    """
    if budget[0] < 0:
        return pa.nulls(len(array), type=target)
    try:
        return pc.cast(array, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(array) == 1:
            budget[0] -= 1
            return pa.nulls(1, type=target)
    middle = len(array) // 2
    left = cast_lenient(array.slice(0, middle), target, budget)
    right = cast_lenient(array.slice(middle), target, budget)
    return pa.concat_arrays([left, right])


def _epoch_seconds(timestamps: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Timestamp array -> int64 Unix seconds (rounded down), nulls as 0."""
    ticks = pc.cast(timestamps, pa.int64())
    if ticks.null_count:
        ticks = pc.fill_null(ticks, 0)
    values = to_numpy(ticks).astype(np.int64, copy=False)
    per_second = _TICKS_PER_S[timestamps.type.unit]
    return values if per_second == 1 else values // per_second


def parse_times(
    column: Any, max_invalid: int
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.bool_]]]:
    """Parse a string column of times into Unix seconds.

    Accepts ISO 8601 date-times with a zone (``Z``, ``+02:00``, ``+0200``), without a zone
    (taken as UTC), plain dates (midnight UTC), and all-digit strings (Unix seconds).

    Returns
    -------
    seconds : numpy.ndarray
        int64 seconds, 0 where the value is null or bad.
    bad : numpy.ndarray
        True where a non-null value could not be parsed.
    """
    n = len(column)
    if pa.types.is_timestamp(column.type):  # already parsed by pyarrow's JSON reader
        return _epoch_seconds(column), np.zeros(n, dtype=bool)
    # Happy paths: the whole column in one format, one vectorised cast. Whole seconds are
    # tried first: they need no division. (Arrow never reads an all-digit string as a date,
    # so trying the timestamp types first cannot shadow epoch seconds.)
    happy: tuple[Any, ...] = (
        pa.timestamp("s", tz="UTC"),
        _TS_UTC,
        pa.timestamp("s"),
        _TS_NAIVE,
        pa.int64(),
    )
    # A failed cast costs about as much as a successful one (Arrow reports the first bad
    # value only after trying): a log of Unix seconds, the event log's format, would pay four
    # failed timestamp casts per file (0.9 s per million rows). Its first value picks the
    # order; the outcome is the same either way, as no string parses as both.
    first = column[0].as_py() if n else None
    if isinstance(first, str) and first.lstrip("+-").isdigit():
        happy = (happy[-1], *happy[:-1])
    for target in happy:
        try:
            converted = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if pa.types.is_timestamp(target):
            return _epoch_seconds(converted), np.zeros(n, dtype=bool)
        return to_numpy(pc.fill_null(converted, 0)).astype(np.int64), np.zeros(n, dtype=bool)
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    present = to_numpy(pc.fill_null(pc.not_equal(array, ""), False)).astype(bool)
    digits = to_numpy(
        pc.fill_null(pc.match_substring_regex(array, r"^[+-]?[0-9]+$"), False)
    ).astype(bool)
    zoned = to_numpy(
        pc.fill_null(
            pc.match_substring_regex(array, r"[T ][0-9].*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"),
            False,
        )
    ).astype(bool)
    seconds = np.zeros(n, dtype=np.int64)
    parsed = np.zeros(n, dtype=bool)
    classes = (
        (present & digits, pa.int64()),
        (present & ~digits & zoned, _TS_UTC),
        (present & ~digits & ~zoned, _TS_NAIVE),
    )
    for mask, target in classes:
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            continue
        converted = cast_lenient(array.take(pa.array(rows)), target, [max_invalid + 1])
        parsed[rows] = to_numpy(pc.is_valid(converted)).astype(bool)
        if pa.types.is_timestamp(target):
            seconds[rows] = _epoch_seconds(converted)
        else:
            seconds[rows] = to_numpy(pc.fill_null(converted, 0)).astype(np.int64)
    return seconds, present & ~parsed


@dataclass(frozen=True)
class Check:
    """One validation rule: rows where ``mask`` is true fail with ``field`` and a message."""

    mask: np.ndarray[Any, np.dtype[np.bool_]]
    field: str
    message: Callable[[int], str]


def locate_errors(
    loaded: Loaded, checks: list[Check], where: str, max_invalid: int
) -> tuple[list[DataError], np.ndarray[Any, np.dtype[np.bool_]] | None]:
    """Find the bad rows, their lines, and apply ``max_invalid``.

    Returns the skipped rows' errors in line order and the mask of table rows to drop
    (``None`` when no table row is bad). Raises :class:`DataError` past ``max_invalid``.
    """
    bad: np.ndarray[Any, np.dtype[np.bool_]] | None = None
    for check in checks:
        if check.mask.any():
            bad = check.mask.copy() if bad is None else bad | check.mask
    if bad is None and loaded.n_rejected == 0:
        return [], None

    # Only the first max_invalid + 1 bad rows can matter: one more always raises.
    bad_rows = [] if bad is None else np.flatnonzero(bad)[: max_invalid + 1].tolist()

    def describe(row: int) -> tuple[str, str]:
        for check in checks:
            if check.mask[row]:
                return check.field, check.message(row)
        raise AssertionError(row)  # pragma: no cover - row came from the union of the masks

    invalid = InvalidRows(where, max_invalid)
    pending = iter(bad_rows)
    next_bad = next(pending, None)
    rejected_seen = 0
    row = -1
    for line, field_name, message in loaded.records():
        if message is not None:
            rejected_seen += 1
            invalid.add(line, field_name, message)
        else:
            row += 1
            if row == next_bad:
                invalid.add(line, *describe(row))
                next_bad = next(pending, None)
        if next_bad is None and rejected_seen >= loaded.n_rejected:
            break
    # Rows the re-scan could not place (the two parsers disagreed): report without a line.
    while next_bad is not None:
        invalid.add(None, *describe(next_bad))
        next_bad = next(pending, None)
    return invalid.errors, bad


def encode(column: Any) -> tuple[np.ndarray[Any, np.dtype[np.int32]], Any]:
    """Dictionary-encode a string column: (int32 codes per row, pyarrow dictionary).

    Codes follow the order of first appearance.
    """
    if isinstance(column, pa.ChunkedArray) and column.num_chunks <= 1:
        column = column.chunk(0) if column.num_chunks else pa.array([], type=column.type)
    encoded = column.dictionary_encode()
    if not isinstance(encoded, pa.ChunkedArray):
        return to_numpy(encoded.indices).astype(np.int32, copy=False), encoded.dictionary
    # Arrow gives every chunk the same, final dictionary; check rather than assume, because
    # unifying dictionaries after the fact costs several times the encoding itself.
    chunks = encoded.chunks
    dictionary = chunks[0].dictionary
    if all(_same_array(chunk.dictionary, dictionary) for chunk in chunks[1:]):
        codes = np.concatenate([to_numpy(chunk.indices) for chunk in chunks])
        return codes.astype(np.int32, copy=False), dictionary
    array = column.combine_chunks()
    if array.nbytes >= 2**31 - 1 and pa.types.is_string(array.type):
        array = pc.cast(array, pa.large_string())  # beyond int32 offsets
    combined = array.dictionary_encode()
    return to_numpy(combined.indices).astype(np.int32, copy=False), combined.dictionary


def _same_array(left: Any, right: Any) -> bool:
    left_offsets, right_offsets = left.buffers()[1], right.buffers()[1]
    if (
        left_offsets is not None
        and right_offsets is not None
        and len(left) == len(right)
        and left_offsets.address == right_offsets.address
    ):
        return True
    return bool(left.equals(right))


def recode(
    codes: np.ndarray[Any, np.dtype[np.int32]], keep: np.ndarray[Any, np.dtype[np.bool_]]
) -> tuple[np.ndarray[Any, np.dtype[np.int32]], np.ndarray[Any, np.dtype[np.intp]]]:
    """Codes of the kept rows, renumbered densely in order of first appearance.

    Returns the new codes and, for each new code, the old code it replaces.
    """
    kept = codes[keep]
    old, first, inverse = np.unique(kept, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank[inverse.ravel()], old[order].astype(np.intp)


def ids_to_numpy(dictionary: Any) -> np.ndarray[Any, np.dtype[np.object_]]:
    ids = np.empty(len(dictionary), dtype=object)
    ids[:] = dictionary.to_pylist()
    return ids
