"""A view log read file by file in bounded memory (`newsrec train --stream-views`).

The oracle is the in-memory path: the streamed bundle must be the one `train` publishes from
the whole log, file for file, however the sessions are spread over the files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from recommender.cli import main
from recommender.config import TrainConfig
from recommender.coview import session_matrix
from recommender.data.views import read_views
from recommender.errors import DataError
from recommender.sources.sample import generate_sample
from recommender.train import train
from recommender.viewlog import reduce_view_log
from tests.support import assert_same_bundle

CONFIG = TrainConfig(chunk_size=40)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A sample's log as daily files of two hosts each, so most sessions span files: a
    crawler whose burst is split over two files, views of articles the catalogue lacks, and
    a directory where two of the files are keyed by user (several sessions per user)."""
    root = tmp_path_factory.mktemp("viewlog")
    info = generate_sample(root / "sample", n_articles=400, days=6, seed=7)
    lines = info.views_path.read_text().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    crawler = [["bot-1", rows[i * 7][1], f"2026-10-30T09:00:{i:02d}Z"] for i in range(30)]
    ghosts = [["s0000003", "no-such-article", rows[5][2]], ["ghost", "nope", rows[9][2]]]
    days: dict[str, list[list[str]]] = {}
    for row in rows + crawler + ghosts:
        days.setdefault(row[2][:10], []).append(row)
    by_session = root / "events"
    mixed = root / "mixed"
    by_session.mkdir()
    mixed.mkdir()
    for n, (date, day_rows) in enumerate(sorted(days.items())):
        for host in (0, 1):
            part = day_rows[host::2]
            name = f"events-{date}-host{host}.csv"
            text = "\n".join(["session_id,article_id,timestamp", *map(",".join, part)])
            (by_session / name).write_text(text + "\n")
            if n % 3 == 1:  # users: one per 40 sessions, split into sessions at time gaps
                users = [[f"u{hash_free(r[0]) % 40}", r[1], r[2]] for r in part]
                text = "\n".join(["user_id,article_id,timestamp", *map(",".join, users)])
            (mixed / name).write_text(text + "\n")
    return {"articles": info.articles_path, "events": by_session, "mixed": mixed}


def hash_free(session: str) -> int:
    """A number of a session id, the same in every run."""
    return sum(ord(c) * 31**i for i, c in enumerate(session))


@pytest.mark.parametrize(
    ("source", "config"),
    [
        ("events", CONFIG),
        ("mixed", TrainConfig(chunk_size=40, coview_half_life_days=2.0)),
        ("mixed", TrainConfig(chunk_size=40, bot_burst_views=None, coview_normalization="llr")),
    ],
)
def test_streamed_log_trains_the_in_memory_bundle(
    sample: dict[str, Path], tmp_path: Path, source: str, config: TrainConfig
) -> None:
    whole = train(sample["articles"], sample[source], tmp_path / "whole", config=config)
    streamed = train(
        sample["articles"],
        sample[source],
        tmp_path / "streamed",
        config=config,
        stream_views=True,
        spill_dir=tmp_path / "spill",
    )
    assert_same_bundle(streamed.path, whole.path)
    counts = whole.manifest["counts"]
    # the fixture is what it claims: crawlers dropped, unknown articles, pairs
    assert counts["bot_sessions"] >= (1 if config.bot_burst_views else 0)
    assert counts["views_of_unknown_articles"] == 2
    assert counts["coview_pairs"] > 0
    # the spill is gone
    assert list((tmp_path / "spill").iterdir()) == []


def test_streamed_log_numbers_sessions_spanning_files_as_the_whole_log(
    sample: dict[str, Path], tmp_path: Path
) -> None:
    with (sample["articles"]).open() as handle:
        ids = [json.loads(line)["id"] for line in handle if line.strip()]
    whole = read_views(sample["mixed"])
    reduced = reduce_view_log(sample["mixed"], ids, n_buckets=3, spill_dir=tmp_path)
    assert reduced is not None
    assert reduced.summary.n_sessions == whole.n_sessions
    assert reduced.summary.n_rows == whole.article_codes.size
    # the session x article matrix of the whole log, array for array
    lookup = {a: i for i, a in enumerate(ids)}
    rows = np.array([lookup.get(a, -1) for a in whole.article_ids])[whole.article_codes]
    known = rows >= 0
    expected = session_matrix(whole.session_codes[known], rows[known], whole.n_sessions, len(ids))
    for name in ("indptr", "indices", "data"):
        got, want = getattr(reduced.sessions, name), getattr(expected, name)
        assert got.dtype == want.dtype, name
        assert np.array_equal(got, want), name
    pairs = zip(whole.session_codes[known].tolist(), rows[known].tolist(), strict=True)
    coo = reduced.sessions.tocoo()
    assert set(zip(coo.row.tolist(), coo.col.tolist(), strict=True)) == set(pairs)


def test_streamed_log_pairs_of_a_big_catalogue_keep_their_sessions(
    sample: dict[str, Path], tmp_path: Path
) -> None:
    # session x number of articles passes 2**31 in one bucket: the pairs' keys are int64
    with (sample["articles"]).open() as handle:
        ids = [json.loads(line)["id"] for line in handle if line.strip()]
    ids += [f"padding-{i}" for i in range(2_000_000)]
    whole = read_views(sample["events"])
    assert whole.n_sessions * len(ids) > 2**31
    reduced = reduce_view_log(sample["events"], ids, n_buckets=1, spill_dir=tmp_path)
    assert reduced is not None
    lookup = {a: i for i, a in enumerate(ids)}
    rows = np.array([lookup.get(a, -1) for a in whole.article_ids])[whole.article_codes]
    known = rows >= 0
    expected = session_matrix(whole.session_codes[known], rows[known], whole.n_sessions, len(ids))
    assert np.array_equal(reduced.sessions.indptr, expected.indptr)
    assert np.array_equal(reduced.sessions.indices, expected.indices)


def _broken(tmp_path: Path, sample: dict[str, Path], rows: dict[int, str]) -> Path:
    """A copy of the daily files with ``rows[i]`` appended to the ``i``-th file."""
    log = tmp_path / "broken"
    log.mkdir()
    for i, file in enumerate(sorted(sample["events"].iterdir())):
        text = file.read_text() + (rows[i] + "\n" if i in rows else "")
        (log / file.name).write_text(text)
    return log


@pytest.mark.parametrize(
    ("rows", "max_invalid"),
    [
        ({3: "s1,a000001"}, 0),  # a malformed row
        ({2: "s1,a000001,2099-01-01T00:00:00Z"}, 0),  # a view dated in the future
        ({1: "s1,,2026-10-30T00:00:00Z", 4: "s1,a000001,yesterday"}, 1),  # one too many
    ],
)
def test_streamed_log_raises_the_in_memory_error_naming_file_and_line(
    sample: dict[str, Path], tmp_path: Path, rows: dict[int, str], max_invalid: int
) -> None:
    log = _broken(tmp_path, sample, rows)
    config = TrainConfig(max_invalid=max_invalid)
    with pytest.raises(DataError) as whole:
        train(sample["articles"], log, tmp_path / "a", config=config)
    with pytest.raises(DataError) as streamed:
        train(sample["articles"], log, tmp_path / "b", config=config, stream_views=True)

    # the latest plausible time in a future row's message follows the clock: the two runs
    # may read it a second apart
    def same(message: str) -> str:
        return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, the latest", "<clock>", message)

    assert same(str(streamed.value)) == same(str(whole.value))
    assert streamed.value.line is not None
    assert sorted(log.iterdir())[max(rows)].name in str(streamed.value)
    assert not (tmp_path / "b").exists() or list((tmp_path / "b").iterdir()) == []


def test_streamed_log_within_max_invalid_counts_the_skipped_rows(
    sample: dict[str, Path], tmp_path: Path
) -> None:
    log = _broken(tmp_path, sample, {0: "s1,a000001", 5: "s2,a000002,2099-01-01T00:00:00Z"})
    config = TrainConfig(chunk_size=40, max_invalid=2)
    whole = train(sample["articles"], log, tmp_path / "a", config=config)
    streamed = train(sample["articles"], log, tmp_path / "b", config=config, stream_views=True)
    assert_same_bundle(streamed.path, whole.path)
    assert streamed.manifest["counts"]["invalid_view_rows"] == 2
    assert streamed.manifest["counts"]["future_view_rows"] == 1


def test_streamed_counts_log_is_read_whole(sample: dict[str, Path], tmp_path: Path) -> None:
    counts = tmp_path / "counts.csv"
    counts.write_text("article_id,views,date\na000001,5,2026-10-30\na000002,3,2026-10-31\n")
    whole = train(sample["articles"], counts, tmp_path / "a", config=CONFIG)
    streamed = train(sample["articles"], counts, tmp_path / "b", config=CONFIG, stream_views=True)
    assert_same_bundle(streamed.path, whole.path)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.csv").write_text(counts.read_text())
    (mixed / "b.csv").write_text("session_id,article_id,timestamp\ns1,a000001,1790000000\n")
    with pytest.raises(DataError, match="mixes view counts with view events"):
        train(sample["articles"], mixed, tmp_path / "c", config=CONFIG, stream_views=True)


def test_stream_views_cli_trains_without_calibration(
    sample: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    argv = ["train", "--articles", str(sample["articles"]), "--views", str(sample["events"])]
    argv += ["--out", str(models), "--stream-views", "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "calibration: off (--stream-views" in out
    with pytest.raises(ValueError, match="without calibration"):
        train(
            sample["articles"],
            sample["events"],
            tmp_path / "x",
            stream_views=True,
            calibrator=lambda *a, **k: None,
        )
    with pytest.raises(ValueError, match="read-next"):
        train(
            sample["articles"],
            sample["events"],
            tmp_path / "y",
            config=TrainConfig(coview_next_weight=0.5),
            stream_views=True,
        )
    config = tmp_path / "next.toml"
    config.write_text("[train]\ncoview_next_weight = 0.5\n")
    assert main([*argv[:-1], "--config", str(config), "--no-progress"]) == 2
    assert "read-next" in capsys.readouterr().err
