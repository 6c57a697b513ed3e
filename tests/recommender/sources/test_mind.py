"""Tests of ``recommender.sources.mind``: the MIND adapter.

Hand-written fixtures check the replay rule; the MIND sample in the shared data folder
(``<repo>/../shared/data/mind-sample`` or ``$NEWSREC_SHARED_DATA/mind-sample``) checks the
counts and the conversion round trip on real rows. It is never copied into the repository.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from recommender.config import TrainConfig
from recommender.crawlers import crawler_sessions
from recommender.data.articles import read_articles
from recommender.data.views import ViewEvents, read_views
from recommender.errors import DataError
from recommender.sources.mind import convert_mind, read_mind_behaviors, read_mind_news

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get("NEWSREC_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
MIND_SAMPLE = SHARED_DATA / "mind-sample"

needs_sample = pytest.mark.skipif(
    not (MIND_SAMPLE / "news.tsv").is_file() or not (MIND_SAMPLE / "behaviors.tsv").is_file(),
    reason=f"MIND sample not found at {MIND_SAMPLE} (set NEWSREC_SHARED_DATA)",
)


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def _tsv(folder: Path, name: str, rows: list[list[str]]) -> Path:
    path = folder / name
    path.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


_NEWS_ROWS = [
    ["N2", "sports", "football_nfl", "Late  win", "A <b>close</b> game & more.", "https://x/2"],
    ["N1", "news", "", "Storm", "", "https://x/1"],
]
for _row in _NEWS_ROWS:
    _row += ["[]", "[]"]  # title and abstract entities, unused

_BEHAVIOR_ROWS = [
    ["1", "U1", "11/12/2019 2:14:46 PM", "N1 N2", "N5-0 N3-1 N4-0 N2-1"],
    ["2", "U2", "11/12/2019 12:00:00 AM", "", "N3-1"],
    ["3", "U1", "11/13/2019 12:30:05 PM", "N1 N2 N3", "N6-0"],  # no click: no session
    ["4", "U1", "11/13/2019 1:00:00 PM", "N1 N2 N3", "N4-1"],
]


# ---------------------------------------------------------------------------------------------
# Hand-written fixtures
# ---------------------------------------------------------------------------------------------


def test_read_mind_news_maps_fields(tmp_path: Path) -> None:
    table = read_mind_news(_tsv(tmp_path, "news.tsv", _NEWS_ROWS))
    first, second = table.articles
    assert (first.id, first.title, first.body, first.category, first.tags) == (
        "N1",
        "Storm",
        "",
        "news",
        (),
    )
    assert second.id == "N2"
    assert second.title == "Late win"
    assert second.body == "A <b>close</b> game & more."  # MIND abstracts are plain text
    assert second.tags == ("football_nfl",)
    assert (second.url, second.status, second.language) == ("https://x/2", "published", "en")
    assert second.published_at is None


def test_read_mind_news_bad_line_names_line(tmp_path: Path) -> None:
    rows = [*_NEWS_ROWS, ["N3", "news", "x", "only four fields"], ["N4", "news", "", "", *"abcd"]]
    path = _tsv(tmp_path, "news.tsv", rows)
    with pytest.raises(DataError) as info:
        read_mind_news(path)
    assert (info.value.line, info.value.field) == (3, None)
    table = read_mind_news(path, max_invalid=2)
    assert [(e.line, e.field) for e in table.invalid] == [(3, None), (4, "title")]
    assert [a.id for a in table.articles] == ["N1", "N2"]


def test_read_mind_behaviors_replays_clicks_a_minute_apart(tmp_path: Path) -> None:
    events = read_mind_behaviors(_tsv(tmp_path, "behaviors.tsv", _BEHAVIOR_ROWS))
    assert isinstance(events, ViewEvents)
    assert events.article_ids.tolist() == ["N3", "N2", "N4"]
    assert events.article_codes.tolist() == [0, 1, 0, 2]
    assert events.session_codes.tolist() == [0, 0, 1, 2]
    assert events.n_sessions == 3
    assert events.timestamps.tolist() == [
        _ts("2019-11-12T14:14:46"),
        _ts("2019-11-12T14:15:46"),
        _ts("2019-11-12T00:00:00"),
        _ts("2019-11-13T13:00:00"),
    ]


def test_read_mind_behaviors_history_once_per_user(tmp_path: Path) -> None:
    events = read_mind_behaviors(
        _tsv(tmp_path, "behaviors.tsv", _BEHAVIOR_ROWS), include_history=True
    )
    # U1's history comes from its first row only, as its own session, ending an hour
    # before that row's impression; U2 has no history.
    end = _ts("2019-11-12T13:14:46")
    viewed = [events.article_ids[code] for code in events.article_codes]
    assert viewed == ["N1", "N2", "N3", "N2", "N3", "N4"]
    assert events.session_codes.tolist() == [0, 0, 1, 1, 2, 3]
    assert events.timestamps[:2].tolist() == [end - 60, end]
    assert events.n_sessions == 4


def test_read_mind_behaviors_long_history_is_a_reader_not_a_crawler(tmp_path: Path) -> None:
    """A history of 300 clicks replayed at a reader's pace: the crawler rule keeps it (at a
    second apart it would be 60 views a minute, a crawler's burst)."""
    history = " ".join(f"N{i}" for i in range(300))
    rows = [["1", "U1", "11/12/2019 2:14:46 PM", history, "N1-1"]]
    events = read_mind_behaviors(_tsv(tmp_path, "behaviors.tsv", rows), include_history=True)
    bots = crawler_sessions(
        events.session_codes,
        events.timestamps,
        events.n_sessions,
        views_per_minute=TrainConfig().bot_views_per_minute,
        burst_views=TrainConfig().bot_burst_views,
    )
    assert events.n_sessions == 2 and not bots.any()


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (["5", "U3", "11/12/2019 2:14:46 PM", ""], None),
        (["", "U3", "11/12/2019 2:14:46 PM", "", "N1-1"], "impression_id"),
        (["5", "", "11/12/2019 2:14:46 PM", "", "N1-1"], "user_id"),
        (["5", "U3", "2019-11-12 14:14:46", "", "N1-1"], "time"),
        (["5", "U3", "11/12/2019 13:14:46 PM", "", "N1-1"], "time"),
        (["5", "U3", "11/31/2019 2:14:46 PM", "", "N1-1"], "time"),
        (["5", "U3", "11/12/2019 2:14:46 PM", "", "N1-2"], "impressions"),
        (["5", "U3", "11/12/2019 2:14:46 PM", "", "N1"], "impressions"),
    ],
)
def test_read_mind_behaviors_bad_line_names_line_and_field(
    tmp_path: Path, row: list[str], field: str | None
) -> None:
    path = _tsv(tmp_path, "behaviors.tsv", [_BEHAVIOR_ROWS[0], row, _BEHAVIOR_ROWS[1]])
    with pytest.raises(DataError) as info:
        read_mind_behaviors(path)
    assert (info.value.line, info.value.field) == (2, field)


def test_read_mind_behaviors_max_invalid_skips_whole_line(tmp_path: Path) -> None:
    bad = ["5", "U3", "11/12/2019 2:14:46 PM", "", "N7-1 N8-x"]
    path = _tsv(tmp_path, "behaviors.tsv", [bad, *_BEHAVIOR_ROWS])
    events = read_mind_behaviors(path, max_invalid=1)
    assert [(e.line, e.field) for e in events.invalid] == [(1, "impressions")]
    assert "N7" not in events.article_ids.tolist()  # nothing of a bad line is kept
    assert events.article_codes.size == 4


def test_convert_mind_missing_input(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        convert_mind(tmp_path, tmp_path / "out")


def test_convert_mind_round_trip_on_fixture(tmp_path: Path) -> None:
    _tsv(tmp_path, "news.tsv", _NEWS_ROWS)
    _tsv(tmp_path, "behaviors.tsv", _BEHAVIOR_ROWS)
    articles_path, views_path = convert_mind(tmp_path, tmp_path / "out", include_history=True)
    assert (articles_path.name, views_path.name) == ("articles.jsonl", "views.csv")
    assert read_articles(articles_path).articles == read_mind_news(tmp_path / "news.tsv").articles
    assert views_path.read_text().splitlines()[:2] == [
        "session_id,article_id,timestamp",
        "history-U1,N1,2019-11-12T13:13:46Z",
    ]
    _assert_same_events(
        read_views(views_path),
        read_mind_behaviors(tmp_path / "behaviors.tsv", include_history=True),
    )


def _assert_same_events(actual: object, expected: ViewEvents) -> None:
    assert isinstance(actual, ViewEvents)
    assert actual.article_ids.tolist() == expected.article_ids.tolist()
    np.testing.assert_array_equal(actual.article_codes, expected.article_codes)
    np.testing.assert_array_equal(actual.session_codes, expected.session_codes)
    np.testing.assert_array_equal(actual.timestamps, expected.timestamps)
    assert actual.n_sessions == expected.n_sessions


# ---------------------------------------------------------------------------------------------
# The MIND sample
# ---------------------------------------------------------------------------------------------


def _sample_rows() -> list[list[str]]:
    text = (MIND_SAMPLE / "behaviors.tsv").read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line]


@needs_sample
def test_read_mind_news_sample_counts() -> None:
    table = read_mind_news(MIND_SAMPLE / "news.tsv")
    assert len(table.articles) == 1916
    assert (table.n_rows, table.n_duplicates, table.invalid) == (1916, 0, [])
    assert [a.id for a in table.articles] == sorted(a.id for a in table.articles)
    assert len({a.category for a in table.articles}) == 15
    assert all(a.published_at is None and a.language == "en" for a in table.articles)
    assert sum(1 for a in table.articles if not a.body) > 0  # some abstracts are empty


@needs_sample
def test_read_mind_behaviors_sample_clicks_equal_positive_labels() -> None:
    rows = _sample_rows()
    labels = [token.rsplit("-", 1)[1] for row in rows for token in row[4].split()]
    events = read_mind_behaviors(MIND_SAMPLE / "behaviors.tsv")
    assert events.article_codes.size == labels.count("1")
    assert events.n_sessions == sum(1 for row in rows if "-1" in row[4])
    assert events.timestamps.min() >= _ts("2019-11-09T00:00:00")
    assert events.timestamps.max() < _ts("2019-11-14T00:00:00")


@needs_sample
def test_read_mind_behaviors_sample_history_counted_once_per_user() -> None:
    rows = _sample_rows()
    first_history: dict[str, int] = {}
    for row in rows:
        first_history.setdefault(row[1], len(row[3].split()))
    clicks = read_mind_behaviors(MIND_SAMPLE / "behaviors.tsv").article_codes.size
    events = read_mind_behaviors(MIND_SAMPLE / "behaviors.tsv", include_history=True)
    assert events.article_codes.size == clicks + sum(first_history.values())


@needs_sample
@pytest.mark.parametrize("include_history", [False, True])
def test_convert_mind_sample_round_trip(tmp_path: Path, include_history: bool) -> None:
    articles_path, views_path = convert_mind(MIND_SAMPLE, tmp_path, include_history=include_history)
    assert (
        read_articles(articles_path).articles == read_mind_news(MIND_SAMPLE / "news.tsv").articles
    )
    _assert_same_events(
        read_views(views_path),
        read_mind_behaviors(MIND_SAMPLE / "behaviors.tsv", include_history=include_history),
    )
