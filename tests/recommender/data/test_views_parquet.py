"""View logs as Parquet files (what a data pipeline writes): read as the same log as CSV, in
memory and streamed, with errors that name the file, the row and the column."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recommender.config import TrainConfig
from recommender.data.views import ViewCounts, ViewEvents, read_views
from recommender.errors import DataError
from recommender.sources.sample import generate_sample
from recommender.train import train
from tests.support import assert_same_bundle

CONFIG = TrainConfig(chunk_size=40)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _typed(rows: list[dict[str, str]]) -> pa.Table:
    """The log as a pipeline types it: times as timestamps (ms, UTC), ids as strings."""
    times = [dt.datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) for r in rows]
    return pa.table(
        {
            "session_id": pa.array([r["session_id"] for r in rows]),
            "article_id": pa.array([r["article_id"] for r in rows]),
            "timestamp": pa.array(times, type=pa.timestamp("ms", tz="UTC")),
            "referrer": pa.array([1.5] * len(rows)),  # other columns are ignored, any type
        }
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A sample's log as daily files twice: CSV, and Parquet (typed columns, one file of Unix
    seconds as integers and integer session ids)."""
    root = tmp_path_factory.mktemp("parquet")
    info = generate_sample(root / "sample", n_articles=300, days=5, seed=3)
    rows = _rows(info.views_path)
    # session ids as numbers in every file, so a file that types them as integers names the
    # same sessions as the others
    numbers = {s: i for i, s in enumerate(sorted({r["session_id"] for r in rows}))}
    rows = [{**r, "session_id": str(numbers[r["session_id"]])} for r in rows]
    days: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        days.setdefault(row["timestamp"][:10], []).append(row)
    as_csv, as_parquet = root / "csv", root / "parquet"
    as_csv.mkdir()
    as_parquet.mkdir()
    for n, (date, part) in enumerate(sorted(days.items())):
        with open(as_csv / f"events-{date}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, ["session_id", "article_id", "timestamp"])
            writer.writeheader()
            writer.writerows(part)
        table = _typed(part)
        if n == 1:  # integers: session numbers and Unix seconds
            seconds = pa.compute.cast(table.column("timestamp"), pa.int64()).to_numpy() // 1000
            table = pa.table(
                {
                    "session_id": pa.array([int(r["session_id"]) for r in part]),
                    "article_id": table.column("article_id"),
                    "timestamp": pa.array(seconds, type=pa.int64()),
                }
            )
        pq.write_table(table, as_parquet / f"events-{date}.parquet")
    return {"articles": info.articles_path, "csv": as_csv, "parquet": as_parquet}


def test_parquet_log_reads_as_the_csv_log(sample: dict[str, Path]) -> None:
    left, right = read_views(sample["csv"]), read_views(sample["parquet"])
    assert isinstance(left, ViewEvents) and isinstance(right, ViewEvents)
    assert right.timestamps.size > 1000
    np.testing.assert_array_equal(right.timestamps, left.timestamps)
    np.testing.assert_array_equal(
        right.article_ids[right.article_codes], left.article_ids[left.article_codes]
    )
    np.testing.assert_array_equal(right.session_codes, left.session_codes)
    assert right.n_sessions == left.n_sessions


@pytest.mark.parametrize("stream", [False, True])
def test_parquet_log_trains_the_csv_bundle(
    sample: dict[str, Path], tmp_path: Path, stream: bool
) -> None:
    kwargs = {"stream_views": True, "spill_dir": tmp_path / "spill"} if stream else {}
    from_csv = train(sample["articles"], sample["csv"], tmp_path / "csv", config=CONFIG)
    from_parquet = train(
        sample["articles"], sample["parquet"], tmp_path / "pq", config=CONFIG, **kwargs
    )
    assert from_csv.manifest["counts"]["coview_pairs"] > 0
    # the same model; only the inputs' names and digests differ
    assert_same_bundle(from_parquet.path, from_csv.path, ignore=("inputs",))
    assert len(from_parquet.manifest["inputs"]) == len(from_csv.manifest["inputs"])


def test_parquet_bad_time_names_file_row_and_column(tmp_path: Path) -> None:
    table = pa.table(
        {
            "session_id": ["s1", "s1", "s2"],
            "article_id": ["a", "b", "a"],
            "timestamp": ["2026-11-01T10:00:00Z", "yesterday", "2026-11-01T10:05:00Z"],
        }
    )
    path = tmp_path / "views.parquet"
    pq.write_table(table, path)
    with pytest.raises(DataError) as caught:
        read_views(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (
        str(path),
        2,
        "timestamp",
    )
    kept = read_views(path, max_invalid=1)
    assert isinstance(kept, ViewEvents) and kept.timestamps.size == 2


def test_parquet_column_of_another_type_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "views.parquet"
    table = pa.table({"session_id": ["s1"], "article_id": ["a"], "timestamp": [1.7e9]})
    pq.write_table(table, path)
    with pytest.raises(DataError, match="double") as caught:
        read_views(path)
    assert caught.value.field == "timestamp" and caught.value.path == str(path)


def test_parquet_counts_with_a_date_column(tmp_path: Path) -> None:
    path = tmp_path / "counts.parquet"
    table = pa.table(
        {
            "article_id": ["a", "b"],
            "views": pa.array([12, 3], type=pa.int32()),
            "date": pa.array([dt.date(2026, 11, 1), dt.date(2026, 11, 2)], type=pa.date32()),
        }
    )
    pq.write_table(table, path)
    counts = read_views(path)
    assert isinstance(counts, ViewCounts)
    midnight = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp())
    assert counts.timestamps is not None and counts.timestamps.max() == midnight


def test_a_damaged_parquet_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "views.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="cannot read Parquet"):
        read_views(path)
