"""Tests of ``recommender.data.views``: view events and counts, bad rows and line numbers.

The vectorised view reader is also compared against a brute-force row-by-row oracle.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from recommender.data import views as views_module
from recommender.data.articles import read_articles
from recommender.data.views import read_views
from recommender.errors import DataError
from tests.recommender.data.files import _counts, _events, _jsonl, _ts, _write

# ---------------------------------------------------------------------------------------------
# read_articles: bad rows
# ---------------------------------------------------------------------------------------------

_GOOD = json.dumps({"id": "ok", "title": "fine"})


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        ('{"id": "x", "title": "t"', None),  # invalid JSON
        ('["id", "title"]', None),  # not an object
        ('{"title": "t"}', "id"),
        ('{"id": "  ", "title": "t"}', "id"),
        ('{"id": 1.5, "title": "t"}', "id"),
        ('{"id": "x"}', "title"),
        ('{"id": "x", "title": "   "}', "title"),
        ('{"id": "x", "title": 12}', "title"),
        ('{"id": "x", "title": "t", "published_at": "02/01/2026"}', "published_at"),
        ('{"id": "x", "title": "t", "published_at": 1767312000}', "published_at"),
        ('{"id": "x", "title": "t", "tags": 5}', "tags"),
        ('{"id": "x", "title": "t", "tags": ["a", 3]}', "tags"),
        ('{"id": "x", "title": "t", "body": ["<p>"]}', "body"),
    ],
)
def test_read_articles_bad_jsonl_row_names_line_and_field(
    tmp_path: Path, bad_line: str, field: str | None
) -> None:
    # Line 1 good, line 2 blank (still counted), line 3 bad.
    path = _write(tmp_path, "a.jsonl", f"{_GOOD}\n\n{bad_line}\n{_GOOD}\n")
    with pytest.raises(DataError) as info:
        read_articles(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 3, field)


@pytest.mark.parametrize(
    ("bad_row", "field"),
    [
        ("x,t,extra", None),  # wrong column count
        ("x", None),
        (",t", "id"),
        ("x,", "title"),
    ],
)
def test_read_articles_bad_csv_row_names_line_and_field(
    tmp_path: Path, bad_row: str, field: str | None
) -> None:
    path = _write(tmp_path, "a.csv", f"id,title\nok,fine\n\n{bad_row}\nok2,fine\n")
    with pytest.raises(DataError) as info:
        read_articles(path)
    assert (info.value.line, info.value.field) == (4, field)


def test_read_articles_csv_bad_date_line_after_multiline_body(tmp_path: Path) -> None:
    # A quoted body over lines 2-4; csv's line_num then counts physical lines.
    text = 'id,title,body,published_at\n1,t,"<p>one</p>\n<p>two</p>\nthree",2026-01-01\n2,t,,soon\n'
    path = _write(tmp_path, "a.csv", text)
    with pytest.raises(DataError) as info:
        read_articles(path)
    assert (info.value.line, info.value.field) == (5, "published_at")


def test_read_articles_csv_long_body_and_field_limit_restored(tmp_path: Path) -> None:
    limit = csv.field_size_limit()
    body = "word " * 60_000  # 300 kB, over the csv module's default 128 KiB field limit
    path = _write(tmp_path, "a.csv", f"id,title,body\n1,t,{body}\n2,,x\n")
    with pytest.raises(DataError):
        read_articles(path)
    assert csv.field_size_limit() == limit
    assert len(read_articles(path, max_invalid=1).articles[0].body) == len(body) - 1


def test_read_articles_csv_without_title_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", "id,name\n1,x\n")
    with pytest.raises(DataError) as info:
        read_articles(path)
    assert (info.value.line, info.value.field) == (1, "title")


def test_read_articles_max_invalid_skips_and_records(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "a.jsonl",
        _jsonl({"id": "a", "title": "A"}, {"id": "b"}, {"id": "c", "title": "C"}) + "not json\n",
    )
    table = read_articles(path, max_invalid=2)
    assert [a.id for a in table.articles] == ["a", "c"]
    assert [(e.line, e.field) for e in table.invalid] == [(2, "title"), (4, None)]
    assert table.n_rows == 2


def test_read_articles_max_invalid_overflow_raises_on_next_bad_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "a.jsonl",
        _jsonl({"id": "a"}, {"title": "no id"}, {"id": "c", "title": "C"}, {"id": "d"}),
    )
    with pytest.raises(DataError) as info:
        read_articles(path, max_invalid=2)
    assert (info.value.line, info.value.field) == (4, "title")
    assert "max_invalid=2" in info.value.message
    assert "missing title" in info.value.message


def test_read_articles_rejects_negative_max_invalid(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_invalid"):
        read_articles(_write(tmp_path, "a.jsonl", _GOOD + "\n"), max_invalid=-1)


# ---------------------------------------------------------------------------------------------
# read_views: events
# ---------------------------------------------------------------------------------------------


def test_read_views_events_with_session_id(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "views.csv",
        "session_id,article_id,timestamp\n"
        "s1,a,2026-10-05T12:00:00Z\n"
        "s2,b,2026-10-05T12:00:05Z\n"
        "s1,b,2026-10-05T12:01:00Z\n"
        "s3,c,2026-10-05T11:00:00Z\n",
    )
    views = _events(read_views(path))
    assert views.article_ids.dtype == object
    assert views.article_ids.tolist() == ["a", "b", "c"]
    assert views.article_codes.dtype == np.int32
    assert views.article_codes.tolist() == [0, 1, 1, 2]
    assert views.session_codes.dtype == np.int64
    assert views.session_codes.tolist() == [0, 1, 0, 2]
    assert views.n_sessions == 3
    assert views.timestamps.dtype == np.int64
    assert views.timestamps.tolist() == [
        _ts("2026-10-05T12:00:00Z"),
        _ts("2026-10-05T12:00:05Z"),
        _ts("2026-10-05T12:01:00Z"),
        _ts("2026-10-05T11:00:00Z"),
    ]
    assert (views.invalid, views.path) == ([], str(path))


_USER_VIEWS = (
    "user_id,article_id,timestamp\n"
    "u1,a,2026-01-01T10:00:00Z\n"
    "u2,b,2026-01-01T10:05:00Z\n"
    "u1,b,2026-01-01T10:20:00Z\n"
    "u1,c,2026-01-01T10:50:00Z\n"  # 30 min after the previous view: same session
    "u1,a,2026-01-01T11:20:01Z\n"  # 30 min 1 s: a new session
    "u2,c,2026-01-01T10:00:00Z\n"  # earlier than u2's first row: sorted by time per user
)


def test_read_views_user_sessions_split_after_30_minute_gap(tmp_path: Path) -> None:
    views = _events(read_views(_write(tmp_path, "views.csv", _USER_VIEWS)))
    # Sessions are numbered by (user's first appearance, time): u1 10:00-10:50, u1 11:20, u2.
    assert views.session_codes.tolist() == [0, 2, 0, 0, 1, 2]
    assert views.n_sessions == 3
    assert views.article_codes.tolist() == [0, 1, 1, 2, 0, 2]  # file order kept


def test_read_views_session_gap_minutes_is_a_parameter(tmp_path: Path) -> None:
    path = _write(tmp_path, "views.csv", _USER_VIEWS)
    views = _events(read_views(path, session_gap_minutes=10))
    assert views.session_codes.tolist() == [0, 4, 1, 2, 3, 4]
    assert views.n_sessions == 5


def test_read_views_session_id_wins_over_user_id(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "views.csv",
        "user_id,session_id,article_id,timestamp\n"
        "u1,s1,a,2026-01-01T10:00:00Z\nu1,s2,b,2026-01-01T10:00:10Z\n",
    )
    assert _events(read_views(path)).session_codes.tolist() == [0, 1]


def test_read_views_timestamp_formats_and_epoch_seconds(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "views.csv",
        "session_id,article_id,timestamp\n"
        "s,a,2026-10-05T12:34:56Z\n"
        "s,a,2026-10-05T14:34:56+02:00\n"
        "s,a,2026-10-05T07:34:56-0500\n"
        "s,a,2026-10-05T12:34:56\n"
        "s,a,2026-10-05 12:34:56.900\n"
        "s,a,2026-10-05\n"
        "s,a,1791210896\n",
    )
    expected = _ts("2026-10-05T12:34:56Z")
    views = _events(read_views(path))
    assert views.timestamps.tolist() == [expected] * 5 + [_ts("2026-10-05"), 1791210896]


def test_read_views_epoch_only_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "v.csv", "session_id,article_id,timestamp\ns,a,0\ns,b,1791210896\n")
    assert _events(read_views(path)).timestamps.tolist() == [0, 1791210896]


@pytest.mark.parametrize("name", ["views.jsonl", "views.json", "views.jsonl.gz"])
def test_read_views_jsonl_events(tmp_path: Path, name: str) -> None:
    path = _write(
        tmp_path,
        name,
        _jsonl(
            {"session_id": 10, "article_id": 1, "timestamp": 1791210896, "referrer": "x"},
            {"session_id": 11, "article_id": 2, "timestamp": 1791210897},
            {"session_id": 10, "article_id": 2, "timestamp": 1791210898},
        ),
    )
    views = _events(read_views(path))
    assert views.article_ids.tolist() == ["1", "2"]
    assert views.article_codes.tolist() == [0, 1, 1]
    assert views.session_codes.tolist() == [0, 1, 0]
    assert views.timestamps.tolist() == [1791210896, 1791210897, 1791210898]


def test_read_views_jsonl_iso_times_stay_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyarrow infers ISO strings as timestamps; that must not send the file to the slow,
    # row-by-row parser.
    def no_slow_path(path: Path, gz: bool) -> None:
        raise AssertionError("row-by-row parser used")

    monkeypatch.setattr(views_module, "load_views_jsonl_slow", no_slow_path)
    path = _write(
        tmp_path,
        "v.jsonl",
        _jsonl(
            {"session_id": "s", "article_id": "a", "timestamp": "2026-10-05T12:34:56Z"},
            {"session_id": "s", "article_id": "b", "timestamp": "2026-10-05T14:34:57+02:00"},
            {"session_id": "s", "article_id": "c", "timestamp": None},
        ),
    )
    with pytest.raises(DataError) as info:
        read_views(path)
    assert (info.value.line, info.value.field) == (3, "timestamp")
    views = _events(read_views(path, max_invalid=1))
    assert views.timestamps.tolist() == [_ts("2026-10-05T12:34:56Z"), _ts("2026-10-05T12:34:57Z")]
    counts = _write(
        tmp_path, "c.jsonl", _jsonl({"article_id": "a", "views": 2, "date": "2026-01-02"})
    )
    timestamps = _counts(read_views(counts)).timestamps
    assert timestamps is not None and timestamps.tolist() == [_ts("2026-01-02")]


def test_read_views_jsonl_mixed_timestamp_types(tmp_path: Path) -> None:
    # A column mixing numbers and strings makes pyarrow give up: the row parser takes over.
    path = _write(
        tmp_path,
        "v.jsonl",
        _jsonl(
            {"user_id": "u", "article_id": "a", "timestamp": 1791210896},
            {"user_id": "u", "article_id": "b", "timestamp": "2026-10-05T14:35:56Z"},
        ),
    )
    views = _events(read_views(path))
    assert views.timestamps.tolist() == [1791210896, 1791210956]
    assert views.session_codes.tolist() == [0, 0]


def test_read_views_csv_gz(tmp_path: Path) -> None:
    path = _write(tmp_path, "v.csv.gz", "session_id,article_id,timestamp\ns,a,2026-01-01\n")
    assert _events(read_views(path)).article_ids.tolist() == ["a"]


def test_read_views_header_only(tmp_path: Path) -> None:
    views = _events(read_views(_write(tmp_path, "v.csv", "session_id,article_id,timestamp\n")))
    assert (views.article_ids.size, views.article_codes.size, views.n_sessions) == (0, 0, 0)


# ---------------------------------------------------------------------------------------------
# read_views: counts
# ---------------------------------------------------------------------------------------------


def test_read_views_counts_with_dates(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "counts.csv",
        "article_id,views,date\na,10,2026-01-02\nb,0,2026-01-02T12:00:00+01:00\na,5,2026-01-03\n",
    )
    counts = _counts(read_views(path))
    assert counts.article_ids.tolist() == ["a", "b"]
    assert counts.article_codes.tolist() == [0, 1, 0]
    assert counts.views.dtype == np.int64
    assert counts.views.tolist() == [10, 0, 5]
    assert counts.timestamps is not None
    assert counts.timestamps.tolist() == [
        _ts("2026-01-02"),
        _ts("2026-01-02T11:00:00Z"),
        _ts("2026-01-03"),
    ]


def test_read_views_counts_without_date(tmp_path: Path) -> None:
    path = _write(tmp_path, "counts.jsonl", _jsonl({"article_id": "a", "views": 3}))
    counts = _counts(read_views(path))
    assert (counts.views.tolist(), counts.timestamps) == ([3], None)


@pytest.mark.parametrize("value", ["-1", "2.5", "many", ""])
def test_read_views_counts_bad_views_line(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, "counts.csv", f"article_id,views\na,1\nb,{value}\n")
    with pytest.raises(DataError) as info:
        read_views(path)
    assert (info.value.line, info.value.field) == (3, "views")


@pytest.mark.parametrize("reader", [read_views, read_articles])
def test_read_csv_not_utf8_names_line(tmp_path: Path, reader: object) -> None:
    path = tmp_path / "v.csv"
    path.write_bytes(
        b"id,title,session_id,article_id,timestamp\n1,t,s,a,2026\n2,\xff,s,\xffb,2026\n"
    )
    with pytest.raises(DataError, match="UTF-8") as info:
        reader(path)  # type: ignore[operator]
    assert info.value.line == 3


def test_read_views_unrecognised_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "v.csv", "article_id,when\na,2026-01-01\n")
    with pytest.raises(DataError, match="cannot tell") as info:
        read_views(path)
    assert info.value.line == 1


# ---------------------------------------------------------------------------------------------
# read_views: bad rows and line numbers
# ---------------------------------------------------------------------------------------------


def test_read_views_unparsable_timestamp_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "v.csv",
        "session_id,article_id,timestamp\n"
        "s,a,2026-01-01T00:00:00Z\n"
        "s,b,2026-01-01T00:00:01Z\n"
        "s,c,2026-13-01T00:00:00Z\n",
    )
    with pytest.raises(DataError) as info:
        read_views(path)
    assert (info.value.line, info.value.field) == (4, "timestamp")
    assert "2026-13-01" in info.value.message


def test_read_views_csv_wrong_column_count_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "v.csv",
        "session_id,article_id,timestamp\ns,a,2026-01-01\n\ns,b,2026-01-01,extra\ns,c,2026-01-01\n",
    )
    with pytest.raises(DataError) as info:
        read_views(path)
    assert (info.value.line, info.value.field) == (4, None)
    assert "expected 3 columns, found 4" in info.value.message


def test_read_views_line_numbers_account_for_skipped_rows(tmp_path: Path) -> None:
    # A blank line, a quoted value over two lines and a rejected row all come before the
    # bad row, which must still be reported on its own line.
    path = _write(
        tmp_path,
        "v.csv",
        "session_id,article_id,timestamp\n"
        "s,a,2026-01-01\n"
        "\n"
        's,"b\nb",2026-01-01\n'
        "s,c\n"
        "s,,2026-01-01\n",
    )
    views = _events(read_views(path, max_invalid=5))
    assert [(e.line, e.field) for e in views.invalid] == [(6, None), (7, "article_id")]
    assert views.article_ids.tolist() == ["a", "b\nb"]


def test_read_views_jsonl_line_numbers_with_blank_lines(tmp_path: Path) -> None:
    good = json.dumps({"session_id": "s", "article_id": "a", "timestamp": "2026-01-01"})
    bad = json.dumps({"session_id": "s", "article_id": "", "timestamp": "2026-01-01"})
    path = _write(tmp_path, "v.jsonl", f"{good}\n\n   \n{good}\n{bad}\n")
    with pytest.raises(DataError) as info:
        read_views(path)
    assert (info.value.line, info.value.field) == (5, "article_id")


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        ('{"session_id": "s", "article_id": "a", ', None),
        ("[1, 2]", None),
        ('{"session_id": "s", "article_id": ["a"], "timestamp": "2026-01-01"}', "article_id"),
        ('{"session_id": "s", "article_id": "a", "timestamp": 1.5}', "timestamp"),
        ('{"session_id": "s", "article_id": "a"}', "timestamp"),
        ('{"session_id": "s", "article_id": "a", "timestamp": "noon"}', "timestamp"),
        ('{"article_id": "a", "timestamp": "2026-01-01"}', "session_id"),
    ],
)
def test_read_views_bad_jsonl_row_line_and_field(
    tmp_path: Path, bad_line: str, field: str | None
) -> None:
    good = json.dumps({"session_id": "s", "article_id": "a", "timestamp": "2026-01-01"})
    path = _write(tmp_path, "v.jsonl", f"{good}\n\n{bad_line}\n{good}\n")
    with pytest.raises(DataError) as info:
        read_views(path)
    assert (info.value.line, info.value.field) == (3, field)


def test_read_views_max_invalid_drops_rows_and_renumbers(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "v.csv",
        "session_id,article_id,timestamp\n"
        ",gone,2026-01-01T00:00:00Z\n"
        "s1,a,2026-01-01T00:00:01Z\n"
        "s0,b,later\n"
        "s2,b,2026-01-01T00:00:03Z\n",
    )
    views = _events(read_views(path, max_invalid=2))
    assert [(e.line, e.field) for e in views.invalid] == [(2, "session_id"), (4, "timestamp")]
    # "gone" and session s0 only appear on bad rows: the codes are dense without them.
    assert views.article_ids.tolist() == ["a", "b"]
    assert views.article_codes.tolist() == [0, 1]
    assert views.session_codes.tolist() == [0, 1]
    assert views.n_sessions == 2
    assert views.timestamps.tolist() == [_ts("2026-01-01T00:00:01Z"), _ts("2026-01-01T00:00:03")]


def test_read_views_max_invalid_overflow_reports_first_row_too_many(tmp_path: Path) -> None:
    # Errors of different kinds, in line order: 3 (columns), 4 (timestamp), 5 (article_id).
    path = _write(
        tmp_path,
        "v.csv",
        "session_id,article_id,timestamp\ns,a,2026-01-01\ns,a\ns,a,never\ns,,2026-01-01\n",
    )
    with pytest.raises(DataError) as info:
        read_views(path, max_invalid=2)
    assert (info.value.line, info.value.field) == (5, "article_id")
    assert "max_invalid=2" in info.value.message
    assert "missing article id" in info.value.message


def test_read_views_many_bad_timestamps_stop_at_the_limit(tmp_path: Path) -> None:
    rows = [f"s,a,{'bad' if i % 2 else '2026-01-01'}" for i in range(20_000)]
    path = _write(tmp_path, "v.csv", "session_id,article_id,timestamp\n" + "\n".join(rows))
    with pytest.raises(DataError) as info:
        read_views(path, max_invalid=3)
    # Bad rows are data rows 1, 3, 5, 7 (0-based) -> lines 3, 5, 7, 9: the fourth raises.
    assert (info.value.line, info.value.field) == (9, "timestamp")


# ---------------------------------------------------------------------------------------------
# read_views against a row-by-row oracle
# ---------------------------------------------------------------------------------------------

_VALID_TIMES = [
    "2026-10-05T12:34:56Z",
    "2026-10-05T12:34:56+02:00",
    "2026-10-05T12:34:56.5Z",
    "2026-10-05T23:59:59",
    "2026-10-05 08:00:00",
    "2026-10-06",
    "1791210896",
]
_INVALID_TIMES = ["never", "2026-13-01T00:00:00Z", "2026-10-05T25:00:00", "12/10/2026", ""]


_OracleResult = tuple[list[str], list[int], list[int], list[int], list[tuple[int, str | None]]]


def _oracle(text: str, gap_minutes: float) -> _OracleResult:
    """Brute force, row by row with the csv module and datetime.

    Returns article ids, article codes, session codes, timestamps and the (line, field) of
    every bad row.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    key = "session_id" if "session_id" in header else "user_id"
    index = {name: header.index(name) for name in ("article_id", key, "timestamp")}
    rows: list[tuple[str, str, int]] = []
    bad_lines: list[tuple[int, str | None]] = []
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            bad_lines.append((reader.line_num, None))
            continue
        article, owner, stamp = (row[index[n]] for n in ("article_id", key, "timestamp"))
        if not article:
            bad_lines.append((reader.line_num, "article_id"))
            continue
        if not owner:
            bad_lines.append((reader.line_num, key))
            continue
        try:
            seconds = int(stamp) if stamp.isdigit() else _ts(stamp)
        except ValueError:
            bad_lines.append((reader.line_num, "timestamp"))
            continue
        rows.append((article, owner, seconds))
    article_ids = list(dict.fromkeys(a for a, _, _ in rows))
    codes = [article_ids.index(a) for a, _, _ in rows]
    if key == "session_id":
        owners = list(dict.fromkeys(o for _, o, _ in rows))
        sessions = [owners.index(o) for _, o, _ in rows]
    else:
        users = list(dict.fromkeys(o for _, o, _ in rows))
        order = sorted(range(len(rows)), key=lambda i: (users.index(rows[i][1]), rows[i][2], i))
        sessions = [0] * len(rows)
        current = -1
        for position, i in enumerate(order):
            previous = order[position - 1] if position else None
            if (
                previous is None
                or rows[previous][1] != rows[i][1]
                or rows[i][2] - rows[previous][2] > gap_minutes * 60
            ):
                current += 1
            sessions[i] = current
    return article_ids, codes, sessions, [s for _, _, s in rows], bad_lines


@pytest.mark.parametrize("key", ["session_id", "user_id"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_read_views_matches_row_by_row_oracle(tmp_path: Path, key: str, seed: int) -> None:
    rng = random.Random(seed)
    lines = [f"{key},article_id,timestamp"]
    for _ in range(400):
        roll = rng.random()
        owner = f"k{rng.randrange(15)}"
        article = f"art{rng.randrange(30)}"
        if roll < 0.03:
            lines.append("")
        elif roll < 0.06:
            lines.append(f"{owner},{article}")
        elif roll < 0.09:
            lines.append(f",{article},{rng.choice(_VALID_TIMES)}")
        elif roll < 0.12:
            lines.append(f"{owner},,{rng.choice(_VALID_TIMES)}")
        elif roll < 0.16:
            lines.append(f"{owner},{article},{rng.choice(_INVALID_TIMES)}")
        elif roll < 0.18:
            lines.append(f'{owner},"{article}\nsecond line",{rng.choice(_VALID_TIMES)}')
        else:
            seconds = 1_791_000_000 + rng.randrange(0, 6 * 3600)
            stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append(f"{owner},{article},{rng.choice([stamp, stamp, *_VALID_TIMES])}")
    text = "\n".join(lines) + "\n"
    path = _write(tmp_path, "v.csv", text)
    views = _events(read_views(path, max_invalid=len(lines)))
    article_ids, codes, sessions, stamps, bad_lines = _oracle(text, 30)
    assert views.article_ids.tolist() == article_ids
    assert views.article_codes.tolist() == codes
    assert views.session_codes.tolist() == sessions
    assert views.n_sessions == (max(sessions) + 1 if sessions else 0)
    assert views.timestamps.tolist() == stamps
    assert [(e.line, e.field) for e in views.invalid] == bad_lines


# ---------------------------------------------------------------------------------------------
# Speed (opt-in):
#   NEWSREC_RUN_SLOW=1 .venv/bin/pytest tests/recommender/data/test_views.py -k ten_million -s
# ---------------------------------------------------------------------------------------------


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)


def write_events_csv(path: Path, n_rows: int, seed: int = 0) -> None:
    """Write ``session_id,article_id,timestamp`` rows (ISO ``Z`` times), ~49 bytes a row."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-10-01T00:00:00", "s")
    with open(path, "wb") as handle:
        handle.write(b"session_id,article_id,timestamp\n")
        for low in range(0, n_rows, 1_000_000):
            n = min(1_000_000, n_rows - low)
            sessions = rng.integers(0, max(n_rows // 4, 1), n)
            articles = rng.zipf(1.3, n) % 200_000
            seconds = np.sort(rng.integers(0, 86_400, n)) + (low // 1_000_000) * 86_400
            stamps = np.datetime_as_string(start + seconds.astype("timedelta64[s]"), unit="s")
            parts = [
                np.full((n, 5), list(b"sess-"), dtype=np.uint8),
                _digits(sessions, 7),
                np.full((n, 9), list(b",article-"), dtype=np.uint8),
                _digits(articles, 6),
                np.full((n, 1), ord(","), dtype=np.uint8),
                stamps.astype("S19").view(np.uint8).reshape(n, 19),
                np.full((n, 2), list(b"Z\n"), dtype=np.uint8),
            ]
            handle.write(np.hstack(parts).tobytes())


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("NEWSREC_RUN_SLOW") != "1", reason="set NEWSREC_RUN_SLOW=1 (writes ~490 MB)"
)
def test_read_views_ten_million_rows_under_15_seconds(tmp_path: Path) -> None:
    path = tmp_path / "views.csv"
    write_events_csv(path, 10_000_000)
    start = time.perf_counter()
    views = _events(read_views(path))
    elapsed = time.perf_counter() - start
    print(f"\nread_views: 10M rows, {path.stat().st_size / 1e6:.0f} MB in {elapsed:.2f} s")
    assert views.article_codes.size == 10_000_000
    assert elapsed < 15


def test_read_views_not_after_refuses_later_rows_in_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    header = "session_id,article_id,timestamp\n"
    (folder / "1.csv").write_text(header + "s1,a,1000\ns1,b,1791000000000\n")
    (folder / "2.csv").write_text(header + "s2,a,1500\ns2,c,2001\n")
    with pytest.raises(DataError) as info:
        read_views(folder, not_after=2000)
    assert (info.value.path, info.value.line, info.value.field) == (
        str(folder / "1.csv"),
        3,
        "timestamp",
    )
    views = read_views(folder, not_after=2000, max_invalid=2)
    assert views.n_future == 2 and [e.line for e in views.invalid] == [3, 3]
    assert views.timestamps.tolist() == [1000, 1500]
    assert read_views(folder).n_future == 0  # no limit given: nothing refused
