"""What every reader of input files shares: formats, opening, row errors and ``max_invalid``.

Private to :mod:`recommender.data`: the article reader (:mod:`recommender.data.articles`) and
the view readers (:mod:`recommender.data.views`) report bad rows the same way.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal, cast

from recommender.errors import DataError

FileFormat = Literal["jsonl", "csv", "parquet"]


def type_name(value: object) -> str:
    return {dict: "object", list: "list", bool: "boolean", float: "number", int: "integer"}.get(
        type(value), type(value).__name__
    )


class RowError(Exception):
    """A problem with one row, before the path and line are known."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class InvalidRows:
    """Bad rows seen so far, with the ``max_invalid`` rule: the (N+1)th bad row raises."""

    def __init__(self, path: str, max_invalid: int) -> None:
        if max_invalid < 0:
            raise ValueError(f"max_invalid must be >= 0, got {max_invalid}")
        self.path = path
        self.max_invalid = max_invalid
        self.errors: list[DataError] = []

    def add(self, line: int | None, field: str | None, message: str) -> None:
        if len(self.errors) >= self.max_invalid:
            if self.max_invalid == 0:
                raise DataError(self.path, line, field, message)
            raise DataError(
                self.path,
                line,
                field,
                f"more than {self.max_invalid} invalid rows (max_invalid={self.max_invalid} "
                f"exceeded); this row: {message}",
            )
        self.errors.append(DataError(self.path, line, field, message))


def file_format(path: Path, *, parquet: bool = False) -> tuple[FileFormat, bool]:
    """Return the format chosen by the file's extension and whether it is gzip-compressed
    (``parquet``: whether ``.parquet`` is accepted; it compresses itself, never ``.gz``)."""
    name = path.name.lower()
    if parquet and name.endswith(".parquet"):
        return "parquet", False
    gz = name.endswith(".gz")
    if gz:
        name = name[: -len(".gz")]
    if name.endswith((".jsonl", ".json")):
        return "jsonl", gz
    if name.endswith(".csv"):
        return "csv", gz
    suffix = "".join(path.suffixes) or "(none)"
    raise DataError(
        str(path),
        None,
        None,
        f"unsupported extension {suffix!r}: expected .jsonl, .json or .csv, optionally .gz"
        + (", or .parquet" if parquet else ""),
    )


def open_binary(path: Path, gz: bool) -> IO[bytes]:
    if gz:
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def open_text(path: Path, gz: bool) -> IO[str]:
    # newline="" lets the csv module see the raw line endings (its line_num counts them).
    if gz:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def utf8_error(path: Path, gz: bool) -> DataError:
    """The error for a file that is not UTF-8, naming its first undecodable line."""
    with open_binary(path, gz) as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return DataError(str(path), line_number, None, f"not valid UTF-8: {exc}")
    return DataError(str(path), None, None, "not valid UTF-8")


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_datetime(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        # Python >= 3.11 accepts "Z", offsets, fractions and plain dates ("2026-01-02").
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise RowError("published_at", f"not an ISO 8601 date or date-time: {text!r}") from None
    return to_utc(parsed)
