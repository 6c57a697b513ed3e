"""The event log closes the loop: the service appends views, ``newsrec train --views DIR``
reads the directory as one log (``recommender.data.read_views_dir``)."""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys
from datetime import datetime
from multiprocessing import Process
from pathlib import Path

import numpy as np
import pytest

from recommender.bundle import Bundle
from recommender.data.views import ViewCounts, ViewEvents, read_views, read_views_dir
from recommender.errors import DataError
from recommender.sources.sample import generate_sample
from service.live.eventlog import EventLog, log_name

DAY1 = 1_793_448_000  # 2026-10-31T12:00:00Z
DAY2 = DAY1 + 86_400


def _events(views: object) -> ViewEvents:
    assert isinstance(views, ViewEvents)
    return views


def test_event_log_writes_one_file_per_day_and_host(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events", host="web-1")
    assert log.append([("h1", "a", DAY1), ("h1", "b", DAY1 + 5), ("h2", 'q"x', DAY2)]) == 3
    log.close()
    files = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert files == [log_name("2026-10-31", "web-1"), log_name("2026-11-01", "web-1")]
    second = (tmp_path / "events" / files[1]).read_text()
    assert second == '{"session_id":"h2","article_id":"q\\"x","timestamp":' + f"{DAY2}}}\n"


def _append_many(directory: str, worker: int) -> None:
    log = EventLog(directory, host="shared")
    for i in range(200):
        log.append([(f"w{worker}", f"a{j}", DAY1) for j in range(i % 7 + 1)])
    log.close()


def test_event_log_lines_of_concurrent_processes_never_interleave(tmp_path: Path) -> None:
    workers = [Process(target=_append_many, args=(str(tmp_path), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    lines = (tmp_path / log_name("2026-10-31", "shared")).read_text().splitlines()
    assert len(lines) == 4 * sum(i % 7 + 1 for i in range(200))
    views = _events(read_views(tmp_path / log_name("2026-10-31", "shared")))
    assert views.n_sessions == 4


def test_read_views_dir_joins_sessions_across_files(tmp_path: Path) -> None:
    # one session read on two hosts and two days: still one session
    (tmp_path / "events-2026-10-31-web-1.jsonl").write_text(
        '{"session_id":"s1","article_id":"a","timestamp":1793534400}\n'
        '{"session_id":"s2","article_id":"b","timestamp":1793534401}\n'
    )
    (tmp_path / "events-2026-11-01-web-2.jsonl").write_text(
        '{"session_id":"s1","article_id":"c","timestamp":1793620800}\n'
    )
    with gzip.open(tmp_path / "old.csv.gz", "wt") as handle:
        handle.write("session_id,article_id,timestamp\ns3,a,2026-10-30T00:00:00Z\n")
    (tmp_path / "README.txt").write_text("not a view file")
    views = _events(read_views(tmp_path))  # a directory goes to read_views_dir
    assert views.path == str(tmp_path)
    assert views.n_sessions == 3
    # files in name order (events-...-web-1, events-...-web-2, old.csv.gz), rows in file order
    assert views.article_ids[views.article_codes].tolist() == ["a", "b", "c", "a"]
    assert views.timestamps.tolist() == [1793534400, 1793534401, 1793620800, 1793318400]
    assert views.session_codes.tolist() == [0, 1, 0, 2]  # s1 on both hosts is one session


def test_read_views_dir_user_ids_are_split_after_the_join(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("user_id,article_id,timestamp\nu1,x,1000\n")
    (tmp_path / "b.csv").write_text("user_id,article_id,timestamp\nu1,y,1600\nu1,z,99999\n")
    views = _events(read_views_dir(tmp_path, session_gap_minutes=30))
    assert views.n_sessions == 2  # x and y 10 minutes apart: one session; z much later
    assert views.session_codes.tolist() == [0, 0, 1]


def test_read_views_dir_counts_and_shape_errors(tmp_path: Path) -> None:
    (tmp_path / "1.csv").write_text("article_id,views\na,3\n")
    (tmp_path / "2.csv").write_text("article_id,views\nb,4\na,1\n")
    counts = read_views_dir(tmp_path)
    assert isinstance(counts, ViewCounts)
    assert counts.article_ids[counts.article_codes].tolist() == ["a", "b", "a"]
    assert counts.views.tolist() == [3, 4, 1]
    (tmp_path / "3.csv").write_text("session_id,article_id,timestamp\ns,a,1\n")
    with pytest.raises(DataError, match="mixes"):
        read_views_dir(tmp_path)


def test_read_views_dir_bad_rows_name_their_file_and_share_max_invalid(tmp_path: Path) -> None:
    for name in ("1.csv", "2.csv"):
        (tmp_path / name).write_text("session_id,article_id,timestamp\ns,a,1\ns,b,soon\n")
    with pytest.raises(DataError) as caught:
        read_views_dir(tmp_path, max_invalid=1)
    assert caught.value.path == str(tmp_path / "2.csv") and caught.value.line == 3
    views = read_views_dir(tmp_path, max_invalid=2)
    assert [e.path for e in views.invalid] == [str(tmp_path / "1.csv"), str(tmp_path / "2.csv")]


def test_read_views_dir_needs_a_view_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no view files"):
        read_views_dir(tmp_path)


@pytest.mark.slow
def test_train_reads_the_services_event_log(tmp_path: Path) -> None:
    info = generate_sample(tmp_path / "sample", n_articles=80, days=4, seed=3)
    log = EventLog(tmp_path / "events", host="web-1")
    other = EventLog(tmp_path / "events", host="web-2")
    with open(info.views_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):  # alternate hosts: sessions span files
        seconds = int(datetime.fromisoformat(row["timestamp"]).timestamp())
        (log if i % 2 else other).append([(row["session_id"], row["article_id"], seconds)])
    log.close()
    other.close()
    newsrec = str(Path(sys.executable).parent / "newsrec")
    for name, views in (("direct", info.views_path), ("log", tmp_path / "events")):
        done = subprocess.run(
            [
                *(newsrec, "train", "--articles", str(info.articles_path)),
                *("--views", str(views), "--out", str(tmp_path / name), "--no-progress"),
                # the readers are compared, not the calibration (whose search stops at a
                # wall-clock budget, so its choice may differ between two loaded runs)
                "--no-calibrate",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    direct = Bundle.load_latest(tmp_path / "direct")
    from_log = Bundle.load_latest(tmp_path / "log")
    assert from_log.manifest["counts"]["sessions"] == direct.manifest["counts"]["sessions"]
    np.testing.assert_array_equal(from_log.popularity_views, direct.popularity_views)
    np.testing.assert_array_equal(from_log.coview_neighbors, direct.coview_neighbors)
    assert from_log.manifest["inputs"][1]["path"] == str(tmp_path / "events")
