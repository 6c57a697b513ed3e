"""Tests of the sample data generator (``recommender.sources.sample``)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from recommender.errors import DataError
from recommender.sources._sample_text import _format_timestamps
from recommender.sources.sample import (
    DEFAULT_NOW,
    SECTIONS,
    SampleInfo,
    generate_sample,
    read_topics,
)

N_ARTICLES = 300
DAYS = 30
View = tuple[str, str, datetime]  # session_id, article_id, timestamp


TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _parse_time(text: str) -> datetime:
    assert TIME.fullmatch(text), text
    return datetime.fromisoformat(text)


def _articles(info: SampleInfo) -> list[dict[str, Any]]:
    with open(info.articles_path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _views(info: SampleInfo) -> list[View]:
    with open(info.views_path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["session_id", "article_id", "timestamp"]
        return [(s, a, _parse_time(t)) for s, a, t in reader]


def _sessions(views: list[View]) -> dict[str, list[str]]:
    """Article ids of each session, in time order."""
    by_session: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for session, article, when in views:
        by_session[session].append((when, article))
    return {s: [a for _, a in sorted(v)] for s, v in by_session.items()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    out = tmp_path_factory.mktemp("sample")
    return generate_sample(out, n_articles=N_ARTICLES, days=DAYS, seed=0)


@pytest.fixture(scope="module")
def articles(sample: SampleInfo) -> list[dict[str, Any]]:
    return _articles(sample)


@pytest.fixture(scope="module")
def views(sample: SampleInfo) -> list[View]:
    return _views(sample)


@pytest.fixture(scope="module")
def sessions(views: list[View]) -> dict[str, list[str]]:
    return _sessions(views)


def test_sample_is_byte_identical_for_same_arguments(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"n_articles": 120, "days": 10, "seed": 7, "words_per_article": 80}
    first = generate_sample(tmp_path / "one", **kwargs)
    second = generate_sample(tmp_path / "two", **kwargs)
    other = generate_sample(tmp_path / "three", **{**kwargs, "seed": 8})
    for name in ("articles_path", "views_path", "topics_path"):
        path_one, path_two = getattr(first, name), getattr(second, name)
        assert path_one.read_bytes() == path_two.read_bytes(), name
    assert first.articles_path.read_bytes() != other.articles_path.read_bytes()
    assert first.views_path.read_bytes() != other.views_path.read_bytes()
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [
        "articles.jsonl",
        "topics.csv",
        "views.csv",
    ]


def test_sample_counts_match_info(
    sample: SampleInfo, articles: list[dict[str, Any]], views: list[View]
) -> None:
    assert sample.n_articles == len(articles) == N_ARTICLES
    assert len(read_topics(sample.topics_path)) == N_ARTICLES
    assert sample.n_events == len(views)
    assert sample.n_sessions == len({s for s, _, _ in views}) == 20 * N_ARTICLES
    assert sample.now == DEFAULT_NOW
    assert 4.0 <= sample.n_events / sample.n_sessions <= 6.0


def test_sample_views_follow_publication_and_end_by_now(
    sample: SampleInfo, articles: list[dict[str, Any]], views: list[View]
) -> None:
    published = {a["id"]: _parse_time(a["published_at"]) for a in articles}
    start = sample.now - timedelta(days=DAYS)
    assert all(start <= when < sample.now for when in published.values())
    for _, article_id, when in views:
        assert published[article_id] <= when <= sample.now


def test_sample_views_are_sorted_by_time_and_skip_drafts(
    articles: list[dict[str, Any]], views: list[View]
) -> None:
    status = {a["id"]: a["status"] for a in articles}
    assert [when for _, _, when in views] == sorted(when for _, _, when in views)
    assert all(status[a] != "draft" for _, a, _ in views)
    assert all(re.fullmatch(r"s\d{7}", s) for s, _, _ in views)


def test_sample_sessions_mostly_stay_on_topic(
    sample: SampleInfo, sessions: dict[str, list[str]]
) -> None:
    topic = read_topics(sample.topics_path)
    pairs = [pair for articles in sessions.values() for pair in pairwise(articles)]
    same = sum(topic[a] == topic[b] for a, b in pairs)
    assert same / len(pairs) >= 0.6


def test_sample_sessions_are_short_with_a_few_bots(sessions: dict[str, list[str]]) -> None:
    lengths = [len(v) for v in sessions.values()]
    assert sum(n <= 8 for n in lengths) / len(lengths) >= 0.8
    bots = sum(n >= 200 for n in lengths)
    assert 1 <= bots <= 0.005 * len(lengths)


def test_sample_popularity_has_a_long_tail(views: list[View]) -> None:
    counts = sorted(Counter(a for _, a, _ in views).values(), reverse=True)
    top = sum(counts[: N_ARTICLES // 10])
    assert top / len(views) > 0.4


def test_sample_bodies_contain_html_to_strip(articles: list[dict[str, Any]]) -> None:
    bodies = [a["body"] for a in articles]
    assert any("<script" in b and "</script>" in b for b in bodies)
    assert sum('<a href="' in b for b in bodies) > 0.1 * len(bodies)
    assert sum("&amp;" in b for b in bodies) > 0.1 * len(bodies)
    for body in bodies:
        text = re.sub(r"<script[^>]*>.*?</script>", "", body, flags=re.S).strip()
        assert text.startswith("<p>") and text.endswith("</p>")
        assert text.count("<p>") == text.count("</p>") >= 1
        assert body.count("<a href") == body.count("</a>")


def test_sample_statuses_include_unpublished(articles: list[dict[str, Any]]) -> None:
    statuses = Counter(a["status"] for a in articles)
    assert set(statuses) <= {"published", "draft", "trash"}
    assert statuses["published"] >= 0.9 * N_ARTICLES
    assert statuses["draft"] + statuses["trash"] >= 1


def test_sample_article_fields_are_well_formed(
    sample: SampleInfo, articles: list[dict[str, Any]]
) -> None:
    topic = read_topics(sample.topics_path)
    ids = [a["id"] for a in articles]
    assert ids == sorted(ids) == [f"a{i:06d}" for i in range(1, N_ARTICLES + 1)]
    published = [a["published_at"] for a in articles]
    assert published == sorted(published)  # ids follow publication time
    topics_of_tag: dict[str, set[str]] = defaultdict(set)
    for a in articles:
        assert list(a) == [
            "id", "title", "body", "category", "tags", "author", "published_at",
            "url", "image_url", "status", "language",
        ]  # fmt: skip
        assert a["category"] in SECTIONS
        assert 6 <= len(a["title"].split()) <= 10
        assert a["title"][0].isupper()
        assert 1 <= len(a["tags"]) <= 4 and len(set(a["tags"])) == len(a["tags"])
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", a["author"])
        url = rf"https://news\.example\.com/{a['category']}/[a-z]+(-[a-z]+)*-{a['id']}"
        assert re.fullmatch(url, a["url"])
        assert a["image_url"] == f"https://news.example.com/img/{a['id']}.jpg"
        assert a["language"] == "en"
        for tag in a["tags"]:
            topics_of_tag[tag].add(topic[a["id"]])
    assert all(len(t) == 1 for t in topics_of_tag.values())  # tags come from one topic


def test_sample_topics_file_names_sections(
    sample: SampleInfo, articles: list[dict[str, Any]]
) -> None:
    category = {a["id"]: a["category"] for a in articles}
    with open(sample.topics_path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["article_id"] for r in rows] == sorted(category)
    assert all(r["category"] == category[r["article_id"]] for r in rows)
    section_of_topic = {r["topic"]: r["category"] for r in rows}
    assert all(section_of_topic[r["topic"]] == r["category"] for r in rows)
    assert 5 <= len(section_of_topic) <= 50
    assert len(set(section_of_topic.values())) >= 2


def test_sample_bodies_of_a_topic_share_vocabulary(
    sample: SampleInfo, articles: list[dict[str, Any]]
) -> None:
    # Content words only, as the content model sees them: stop words are ~45% of the text,
    # as in real news, and fill most of any topic's 40 most common words.
    topic = read_topics(sample.topics_path)
    words: dict[str, Counter[str]] = defaultdict(Counter)
    for a in articles:
        text = re.sub(r"<script.*?</script>|<[^>]+>|&[#a-z0-9]+;", " ", a["body"], flags=re.S)
        found = re.findall(r"[a-z]+", text.lower())
        words[topic[a["id"]]].update(w for w in found if w not in ENGLISH_STOP_WORDS)
    tops = {t: {w for w, _ in c.most_common(40)} for t, c in words.items()}
    for t, top in tops.items():
        others = set().union(*(o for u, o in tops.items() if u != t))
        assert len(top - others) >= 10, t  # each topic has many frequent words of its own


def _body_words(info: SampleInfo) -> set[str]:
    words: set[str] = set()
    for a in _articles(info):
        text = re.sub(r"<script.*?</script>|<[^>]+>|&[#a-z0-9]+;", " ", a["body"], flags=re.S)
        words.update(re.findall(r"[a-z]+", text.lower()))
    return words


def test_sample_vocabulary_keeps_growing_with_the_catalogue(tmp_path: Path) -> None:
    # Heaps' law, as in real news (the Lee corpus: 10x the text, 10**0.6x the words); a
    # fixed word list would stop growing.
    small, large = (
        _body_words(
            generate_sample(
                tmp_path / str(n), n_articles=n, days=30, sessions=0, words_per_article=100
            )
        )
        for n in (400, 4000)
    )
    assert len(large) / len(small) >= 10**0.55


def test_sample_topics_are_stories_clustered_in_time(tmp_path: Path) -> None:
    info = generate_sample(tmp_path, n_articles=4000, days=30, sessions=0, words_per_article=20)
    topic = read_topics(info.topics_path)
    published = {a["id"]: _parse_time(a["published_at"]) for a in _articles(info)}
    members: dict[str, list[datetime]] = defaultdict(list)
    for article_id, name in topic.items():
        members[name].append(published[article_id])
    sizes = sorted(len(m) for m in members.values())
    assert len(sizes) > 100  # the number of topics grows with the catalogue
    assert sizes[-1] <= 4000 // 8
    assert 10 <= sizes[len(sizes) // 2] <= 40  # stories of a few dozen articles
    spans = []  # days from a story's first 10% of articles to its last 10%
    for times in members.values():
        if len(times) >= 10:
            times.sort()
            spans.append(
                (times[-len(times) // 10 - 1] - times[len(times) // 10]) / timedelta(days=1)
            )
    assert sorted(spans)[len(spans) // 2] <= 5  # most stories unfold within days, of 30


def test_sample_tiny_sizes_still_have_sections_and_topics(tmp_path: Path) -> None:
    info = generate_sample(tmp_path, n_articles=5, days=1, sessions=40, words_per_article=20)
    with open(info.topics_path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert max(Counter(r["topic"] for r in rows).values()) <= 2  # so at least 3 topics
    assert len({r["category"] for r in rows}) == 2
    assert info.n_sessions == 40
    assert all(when <= info.now for _, _, when in _views(info))


def test_sample_takes_now_and_sessions(tmp_path: Path) -> None:
    now = datetime(2025, 3, 30, 3, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    info = generate_sample(tmp_path, n_articles=50, days=3, sessions=25, now=now)
    assert info.now == now and info.now.tzinfo == UTC
    assert info.n_sessions == 25
    assert max(when for _, _, when in _views(info)) <= now


def test_sample_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_sample(tmp_path, n_articles=10, days=1, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="n_articles"):
        generate_sample(tmp_path, n_articles=0, days=1)
    with pytest.raises(ValueError, match="days"):
        generate_sample(tmp_path, n_articles=10, days=0)
    with pytest.raises(ValueError, match="sessions"):
        generate_sample(tmp_path, n_articles=10, days=1, sessions=-1)


def test_sample_read_topics_rejects_bad_files(tmp_path: Path) -> None:
    bad_header = tmp_path / "header.csv"
    bad_header.write_text("id,topic\na000001,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="header"):
        read_topics(bad_header)
    duplicate = tmp_path / "duplicate.csv"
    duplicate.write_text(
        "article_id,topic,category\na000001,x,local\na000001,y,local\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"duplicate\.csv:3"):
        read_topics(duplicate)


def test_sample_timestamp_formatting_matches_datetime() -> None:
    # Oracle for the vectorised formatter: leap days, year ends, epoch edges.
    rng = np.random.default_rng(3)
    fixed = [0, 951_782_399, 951_782_400, 1_709_164_800, 1_735_689_599, 4_102_444_800]
    seconds = np.concatenate([np.array(fixed), rng.integers(0, 4_200_000_000, size=2_000)])
    expected = [
        datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for s in seconds.tolist()
    ]
    assert _format_timestamps(seconds.astype(np.int64)) == expected
