"""Small input files for the data reader tests, written into ``tmp_path``."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from recommender.data.views import ViewCounts, ViewEvents

__all__ = ["_counts", "_events", "_jsonl", "_ts", "_write"]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _jsonl(*records: object) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _ts(text: str) -> int:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def _events(result: ViewEvents | ViewCounts) -> ViewEvents:
    assert isinstance(result, ViewEvents)
    return result


def _counts(result: ViewEvents | ViewCounts) -> ViewCounts:
    assert isinstance(result, ViewCounts)
    return result
