"""Crawlers are found by their pace, not by the length of their history."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recommender.config import TrainConfig
from recommender.crawlers import SessionPace, crawler_sessions
from recommender.errors import DataError
from recommender.train import train
from recommender.windows import DAY

START = 1_700_000_000


def _bots(views: list[tuple[int, int]], **rule: object) -> list[bool]:
    """``views``: (session, seconds after START)."""
    sessions = np.array([s for s, _ in views], dtype=np.int64)
    times = np.array([START + t for _, t in views], dtype=np.int64)
    n = int(sessions.max()) + 1
    settings = {"views_per_minute": 10.0, "burst_views": 20} | rule
    return crawler_sessions(sessions, times, n, **settings).tolist()  # type: ignore[arg-type]


def test_long_history_of_a_reader_is_not_a_crawler() -> None:
    # 300 views spread over two years: one session per reader, as public logs have them
    reader = [(0, int(t)) for t in np.linspace(0, 2 * 365 * DAY, 300)]
    # the same reader, 30 of them on one evening a minute apart
    evening = [(1, int(t)) for t in np.linspace(0, 2 * 365 * DAY, 270)]
    evening += [(1, 400 * DAY + 60 * i) for i in range(30)]
    assert _bots(reader + evening) == [False, False]


def test_burst_and_sustained_pace_are_crawlers() -> None:
    burst = [(0, i) for i in range(21)]  # 21 views within 21 seconds
    pace = [(1, 5000 + 4 * i) for i in range(200)]  # 15 a minute for 13 minutes
    quick_reader = [(2, 90_000 + 30 * i) for i in range(15)]  # 2 a minute, 15 views
    few_fast = [(3, 200_000 + i) for i in range(20)]  # 20 in 20 s: at the burst limit
    assert _bots(burst + pace + quick_reader + few_fast) == [True, True, False, False]
    # each rule can be off
    assert _bots(burst + pace, burst_views=None) == [True, True]  # 21 in 21 s is a pace too
    assert _bots(burst + pace, views_per_minute=None) == [True, False]
    assert _bots(burst + pace, views_per_minute=None, burst_views=None) == [False, False]


def test_train_keeps_a_long_lived_reader_and_drops_a_crawler(tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    with articles.open("w") as handle:
        for i in range(320):
            topic = f"topic{i % 20} theme{i % 23}"
            row = {"id": f"a{i}", "title": f"Story {topic}", "body": f"About {topic}."}
            handle.write(json.dumps(row) + "\n")
    views = tmp_path / "views.csv"
    lines = ["session_id,article_id,timestamp"]
    day0 = np.datetime64("2024-01-01T00:00:00")
    for i, t in enumerate(np.linspace(0, 2 * 365 * DAY, 300).astype(np.int64)):
        lines.append(f"reader,a{i},{day0 + np.timedelta64(int(t), 's')}Z")
    for i in range(50):  # a crawler: 50 articles in 50 seconds
        lines.append(f"crawler,a{i},{day0 + np.timedelta64(100 * DAY + i, 's')}Z")
    lines.append(f"other,a0,{day0 + np.timedelta64(5 * DAY, 's')}Z")
    lines.append(f"other,a1,{day0 + np.timedelta64(5 * DAY + 60, 's')}Z")
    views.write_text("\n".join(lines) + "\n")
    result = train(articles, views, tmp_path / "models", config=TrainConfig(coview_min_count=1))
    counts = result.manifest["counts"]
    assert counts["bot_sessions"] == 1
    assert counts["sessions"] == 2  # the reader's 300 views and the other reader's 2


def test_a_config_that_still_sets_max_session_views_names_the_replacement(
    tmp_path: Path,
) -> None:
    path = tmp_path / "newsrec.toml"
    path.write_text("[train]\nmax_session_views = 100\n")
    with pytest.raises(DataError, match="bot_views_per_minute") as caught:
        TrainConfig.from_toml(path)
    assert caught.value.field == "max_session_views"
    path.write_text('[train]\nbot_views_per_minute = "off"\nbot_burst_views = 50\n')
    config = TrainConfig.from_toml(path)
    assert (config.bot_views_per_minute, config.bot_burst_views) == (None, 50)
    with pytest.raises(DataError, match="bot_burst_views"):
        TrainConfig(bot_burst_views=0)


def test_calibration_searches_the_crawler_rule_and_freshness_weight() -> None:
    from recommender.evaluation.calibrate import blend_names, train_names

    assert {"bot_burst_views", "bot_views_per_minute"} <= set(train_names())
    assert "max_session_views" not in train_names()
    assert "freshness_weight" in blend_names()


def _brute_force_bots(
    sessions: np.ndarray,
    times: np.ndarray,
    n: int,
    views_per_minute: float | None,
    burst: int | None,
) -> list[bool]:
    """The module's rule, session by session, in plain Python."""
    verdicts = []
    for code in range(n):
        own = sorted(int(t) for t in times[sessions == code])
        most = max((sum(1 for u in own if t <= u < t + 60) for t in own), default=0)
        bot = burst is not None and most > burst
        threshold = burst if burst is not None else 1
        if views_per_minute is not None and len(own) > threshold:
            minutes = max((own[-1] - own[0]) / 60.0, 1.0)
            bot = bot or (len(own) - 1) / minutes > views_per_minute
        verdicts.append(bot)
    return verdicts


def test_one_session_pace_answers_every_rule_as_the_brute_force_does() -> None:
    # a calibration builds the pace once and asks it several rules: each answer must be the
    # rule's own, as a session-by-session count gives it
    rng = np.random.default_rng(7)
    n = 40
    sessions = rng.integers(0, n, 3000)
    # some sessions read every few seconds, some every few minutes, some over days
    spread = np.array([2, 30, 300, 86_400])[rng.integers(0, 4, n)]
    position = np.zeros(3000, dtype=np.int64)
    for code in range(n):
        position[sessions == code] = np.arange(int((sessions == code).sum()))
    times = START + position * spread[sessions] + rng.integers(0, 3, 3000)
    pace = SessionPace.of(sessions, times, n + 2)  # two sessions without a view
    for rate in (None, 0.5, 5.0, 30.0):
        for burst in (None, 2, 5, 20):
            got = pace.crawlers(views_per_minute=rate, burst_views=burst).tolist()
            want = _brute_force_bots(sessions, times, n + 2, rate, burst)
            assert got == want, (rate, burst)
            assert (
                got
                == crawler_sessions(
                    sessions, times, n + 2, views_per_minute=rate, burst_views=burst
                ).tolist()
            )
    assert 0 < sum(pace.crawlers(views_per_minute=5.0, burst_views=5)) < n
