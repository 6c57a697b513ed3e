"""``reading_minutes`` on every item and article answer, and the diversity caps of related
lists (per request and per site), with ``explain`` saying what they skipped.

The catalogue of ``tests/conftest.py`` with word counts and authors
(``tests/service/news_page.py``): n1 1380 words (6 min at 230 a minute), n2 231 (2 min),
n3 none, the others 500 (3 min). The hybrid list of n1 is n2, n3, s2, s1, n4 (conftest);
sections news, news, sports, sports, news; authors Ann, Bob, Cid, Cid, Ann.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import body
from tests.service.news_page import publish_news_page_bundle

TOKEN = "cms-token-of-the-test-site"


@pytest.fixture
def make(make_app: Callable[..., Flask], tmp_path: Path) -> Callable[..., FlaskClient]:
    models = tmp_path / "models"
    publish_news_page_bundle(models)

    def build(**settings: Any) -> FlaskClient:
        return make_app(models_dir=models, event_log_dir=None, **settings).test_client()

    return build


def minutes(answer: dict[str, Any]) -> dict[str, int | None]:
    return {item["id"]: item.get("reading_minutes") for item in answer["items"]}


def test_reading_minutes_on_every_answer(
    make: Callable[..., FlaskClient], check_schema: Callable[[str, Any], None]
) -> None:
    client = make()
    related = body(client.get("/v1/articles/n1/related?n=5"))
    check_schema("RelatedResponse", related)
    assert minutes(related) == {"n2": 2, "n3": None, "s2": 3, "s1": 3, "n4": 3}
    assert "reading_minutes" not in related["items"][1]  # no text: left out, not 0
    most_viewed = body(client.get("/v1/most-viewed?n=2"))
    check_schema("MostViewedResponse", most_viewed)
    assert minutes(most_viewed) == {"s1": 3, "n1": 6}
    latest = body(client.get("/v1/latest?n=2"))
    check_schema("LatestResponse", latest)
    assert minutes(latest) == {"n1": 6, "n2": 2}
    article = body(client.get("/v1/articles/n1"))
    check_schema("ArticleResponse", article)
    assert article["reading_minutes"] == 6
    # the site's srcset comes along when the articles file gives one
    assert latest["items"][1]["image_srcset"].startswith("https://news.example/img/n2-320.jpg")
    assert "image_srcset" not in latest["items"][0]


def test_words_per_minute_is_a_setting(make: Callable[..., FlaskClient]) -> None:
    client = make(words_per_minute=100)
    assert body(client.get("/v1/articles/n1"))["reading_minutes"] == 14  # 1380 / 100, up
    assert body(client.get("/v1/articles/n2"))["reading_minutes"] == 3


def test_words_per_minute_variable_is_checked() -> None:
    from service.settings import Settings, SettingsError

    assert Settings.from_env({"NEWSREC_WORDS_PER_MINUTE": "180"}).words_per_minute == 180
    assert Settings.from_env({}).words_per_minute == 230
    for bad in ("0", "fast", "49", "2001"):
        with pytest.raises(SettingsError, match="NEWSREC_WORDS_PER_MINUTE"):
            Settings.from_env({"NEWSREC_WORDS_PER_MINUTE": bad})


def test_a_published_article_has_its_own_reading_time(make: Callable[..., FlaskClient]) -> None:
    client = make(cms_token=TOKEN)
    words = " ".join(["word"] * 461)  # 461 / 230: 3 minutes
    fields = {"title": "Long read", "category": "news", "body": f"<p>{words}</p>"}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.put("/v1/articles/x1", json=fields, headers=auth).status_code == 200
    assert body(client.get("/v1/articles/x1"))["reading_minutes"] == 3
    # an update of a trained article counts its new text
    update = {"title": "News 2, shorter", "category": "news", "body": "Three words here."}
    assert client.put("/v1/articles/n2", json=update, headers=auth).status_code == 200
    assert body(client.get("/v1/articles/n2"))["reading_minutes"] == 1


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in body(response)["items"]]


def test_related_caps_per_request(make: Callable[..., FlaskClient]) -> None:
    client = make()
    assert ids(client.get("/v1/articles/n1/related?n=5")) == ["n2", "n3", "s2", "s1", "n4"]
    # one item per section: n2 (news), n3 skipped, s2 (sports), s1 and n4 skipped; the
    # fillers have no third section either (the site's most viewed s3 is sports: skipped),
    # so the first skipped item, n3, completes the list, marked
    answer = body(client.get("/v1/articles/n1/related?n=3&max_per_section=1&explain=true"))
    assert [item["id"] for item in answer["items"]] == ["n2", "s2", "n3"]
    assert answer["caps"] == {"max_per_section": 1, "max_per_author": None}
    assert answer["items"][2]["explain"]["over_cap"] == "max_per_section"
    assert answer["items"][2]["source"] == "related"
    assert "over_cap" not in answer["items"][0]["explain"]
    assert answer["capped"] == [
        {"id": "s1", "cap": "max_per_section", "value": "sports"},
        {"id": "n4", "cap": "max_per_section", "value": "news"},
        {"id": "s3", "cap": "max_per_section", "value": "sports"},
    ]


def test_related_caps_per_author(make: Callable[..., FlaskClient]) -> None:
    client = make()
    answer = body(client.get("/v1/articles/n1/related?n=4&max_per_author=1&explain=true"))
    # n2 Ann, n3 Bob, s2 Cid, s1 Cid (skipped), n4 Ann (skipped); fillers: news most viewed
    # n5 is a draft, n1 the query, n2, n3 taken, n4 Ann skipped; then the site's: s1 seen,
    # s3 Dan
    assert [item["id"] for item in answer["items"]] == ["n2", "n3", "s2", "s3"]
    assert answer["items"][3]["source"] == "popular"
    assert answer["capped"] == [
        {"id": "s1", "cap": "max_per_author", "value": "Cid"},
        {"id": "n4", "cap": "max_per_author", "value": "Ann"},
    ]
    # without explain: no caps, no capped
    plain = body(client.get("/v1/articles/n1/related?n=4&max_per_author=1"))
    assert "capped" not in plain and "caps" not in plain
    assert "explain" not in plain["items"][0]


def test_site_caps_apply_unless_the_request_says_otherwise(
    make: Callable[..., FlaskClient],
) -> None:
    client = make(max_per_section=1)
    assert ids(client.get("/v1/articles/n1/related?n=3")) == ["n2", "s2", "n3"]
    # 0: no cap for this request; 2: its own cap
    assert ids(client.get("/v1/articles/n1/related?n=3&max_per_section=0")) == [
        "n2",
        "n3",
        "s2",
    ]
    assert ids(client.get("/v1/articles/n1/related?n=4&max_per_section=2")) == [
        "n2",
        "n3",
        "s2",
        "s1",
    ]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("max_per_section=-1", "max_per_section"),
        ("max_per_section=51", "max_per_section"),
        ("max_per_section=two", "max_per_section"),
        ("max_per_author=1.5", "max_per_author"),
        ("max_per_author=1&max_per_author=2", "max_per_author"),
    ],
)
def test_caps_refuse_bad_values_naming_them(
    make: Callable[..., FlaskClient], query: str, parameter: str
) -> None:
    response = make().get(f"/v1/articles/n1/related?{query}")
    assert response.status_code == 400
    assert body(response)["error"]["parameter"] == parameter


def test_caps_are_part_of_the_cache_key(make: Callable[..., FlaskClient]) -> None:
    client = make(local_cache_size=0)
    first = ids(client.get("/v1/articles/n1/related?n=3"))
    capped = ids(client.get("/v1/articles/n1/related?n=3&max_per_section=1"))
    assert first != capped
    assert ids(client.get("/v1/articles/n1/related?n=3")) == first
