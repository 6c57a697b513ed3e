"""The server-rendered fragments: the JSON routes' answers as the widget's cards, escaped,
only web links, cacheable (ETag, Cache-Control, versioned cache keys), 204 when empty."""

from __future__ import annotations

import html.parser
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.bundle import publish
from service.fragments import http_url, safe_srcset
from tests.conftest import IDS, VERSION_1, DictCache, body
from tests.service.news_page import news_page_contents

HOSTILE_TITLE = '</a><script>window.pwned=1</script><img src=x onerror="pwned()"> & "Q"'


class Tree(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text, of a fragment."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    contents = news_page_contents()
    row = {a: i for i, a in enumerate(IDS)}
    contents.meta["title"][row["n2"]] = HOSTILE_TITLE
    contents.meta["url"][row["n3"]] = "javascript:window.pwned=2"
    contents.meta["image_url"][row["s2"]] = "data:image/svg+xml,<svg onload=alert(1)>"
    contents.meta["image_srcset"][row["s1"]] = "javascript:x 320w, https://news.example/s1.jpg 640w"
    contents.meta["category"][row["s1"]] = '<b class="x">sports</b>'
    publish(contents, tmp_path / "models", version=VERSION_1)
    return make_app(models_dir=tmp_path / "models", event_log_dir=None, local_cache_size=0)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_related_fragment_renders_the_json_answer_as_cards(client: FlaskClient) -> None:
    answer = body(client.get("/v1/articles/n1/related?n=5"))
    items = answer["items"]
    response = client.get("/v1/articles/n1/related.html?n=5")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    tree = Tree(response.get_data(as_text=True))
    (section,) = tree.all("section")
    assert section["class"] == "newsrec newsrec--related"
    assert section["aria-label"] == "You might also like"
    assert [t for t, _ in tree.tags[:3]] == ["section", "h2", "ul"]
    # n3's javascript: link is no card; the others in the API's order, with real links
    links = tree.all("a")
    expected = [i for i in items if i["id"] != "n3"]
    # each link names its list and position: a click counts without JavaScript too
    assert [a["href"] for a in links] == [
        f"{i['url']}?nr_list={answer['list_id']}&nr_pos={i['position']}" for i in expected
    ]
    assert len(tree.all("li")) == len(tree.all("article")) == len(expected) == 4
    assert len(tree.all("h3")) == 4  # each card's headline one level below the block's
    assert "window.pwned=2" not in response.get_data(as_text=True)


def test_hostile_data_is_escaped_and_only_web_urls_are_written(client: FlaskClient) -> None:
    markup = client.get("/v1/articles/n1/related.html?n=5").get_data(as_text=True)
    tree = Tree(markup)
    assert tree.all("script") == [] and tree.all("b") == []
    assert HOSTILE_TITLE in tree.text  # shown as text, whole
    assert "&lt;script&gt;" in markup and "<script" not in markup
    assert '<b class="x">sports</b>' in tree.text
    images = {img["src"]: img for img in tree.all("img")}
    assert all(src is not None and src.startswith("https://") for src in images)
    assert not any("data:" in (img.get("src") or "") for img in tree.all("img"))
    # a srcset with one bad candidate is left out whole; n2's good one is kept
    s1 = images["https://news.example/img/s1.jpg"]
    assert "srcset" not in s1 and s1["width"] == "640" and s1["height"] == "360"
    n2 = images["https://news.example/img/n2.jpg"]
    assert n2["srcset"] == (
        "https://news.example/img/n2-320.jpg 320w, https://news.example/img/n2-640.jpg 640w"
    )
    assert n2["sizes"] and n2["loading"] == "lazy" and n2["alt"] == ""
    for attrs in tree.all("a") + tree.all("img"):
        for name in attrs:
            assert not name.startswith("on"), attrs


def test_fragment_options_and_reading_time(client: FlaskClient) -> None:
    query = "n=2&title=Lesen%20Sie%20auch&heading_level=3&reading_text={n}%20Min.%20Lesezeit"
    tree = Tree(client.get(f"/v1/latest.html?{query}").get_data(as_text=True))
    assert [t for t, _ in tree.tags[:3]] == ["section", "h3", "ul"]
    assert tree.all("section")[0]["aria-label"] == "Lesen Sie auch"
    assert "6 Min. Lesezeit" in tree.text and "Lesen Sie auch" in tree.text
    assert tree.all("time")[0]["datetime"] == "2026-11-01T12:00:00Z"
    assert "2026-11-01" in tree.text


def test_most_viewed_fragment_is_an_ordered_list_with_views(client: FlaskClient) -> None:
    response = client.get("/v1/most-viewed.html?n=2&window=all&views_text={n}%20Aufrufe")
    tree = Tree(response.get_data(as_text=True))
    assert [t for t, _ in tree.tags[:3]] == ["section", "h2", "ol"]
    # all time: s1 12345, s4 2000
    assert "12k Aufrufe" in tree.text and "2k Aufrufe" in tree.text


def test_nothing_to_show_is_204(client: FlaskClient) -> None:
    # the lifetime is the JSON answer's: most viewed shows live counts (a 5-second tick)
    for url, max_age in (
        ("/v1/latest.html?category=weather", 300),
        ("/v1/most-viewed.html?category=weather", 5),
        ("/v1/articles/n1/related.html?category=weather", 300),
    ):
        response = client.get(url)
        assert response.status_code == 204
        assert response.get_data() == b""
        assert response.headers["Cache-Control"] == f"public, max-age={max_age}"


def test_fragments_are_cacheable(app: Flask, client: FlaskClient) -> None:
    first = client.get("/v1/articles/n1/related.html?n=3")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    again = client.get("/v1/articles/n1/related.html?n=3", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    other = client.get("/v1/articles/n1/related.html?n=3&title=More")
    assert other.status_code == 200 and other.headers["ETag"] != etag
    cache: DictCache = app.extensions["newsrec"].cache
    keys = [k for k in cache.data if ".html:" in k]
    # the version: the bundle's, then the served settings' digest (+o.)
    assert len(keys) == 2 and all(k.startswith(f"nr:v1:{VERSION_1}+o.") for k in keys)
    assert all(":related.html:" in k for k in keys)
    assert cache.data[keys[0]] == first.get_data()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("heading_level=7", "heading_level"),
        ("heading_level=h2", "heading_level"),
        ("reading_text=min%20read", "reading_text"),
        ("reading_text={n}{n}", "reading_text"),
        ("title=", "title"),
        ("title=a&title=b", "title"),
        ("image_sizes=%22%3E%3Cscript%3E", "image_sizes"),
        ("n=0", "n"),
        ("bogus=1", "bogus"),
    ],
)
def test_fragment_parameters_are_strict(client: FlaskClient, query: str, parameter: str) -> None:
    response = client.get(f"/v1/articles/n1/related.html?{query}")
    assert response.status_code == 400
    error: dict[str, Any] = body(response)["error"]
    assert error["code"] == "bad_parameter" and error["parameter"] == parameter
    assert client.get("/v1/articles/nope/related.html").status_code == 404


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://news.example/a", True),
        ("http://news.example/a?b=1", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,x", False),
        ("//news.example/a", False),
        ("/relative", False),
        ("https://news.example/a b", False),
        ("https:///nohost", False),
        ("", False),
    ],
)
def test_http_url_keeps_only_absolute_web_links(url: str, ok: bool) -> None:
    assert (http_url(url) == url) is ok


def test_safe_srcset_checks_every_candidate() -> None:
    assert (
        safe_srcset("https://a/1.jpg 1x,https://a/2.jpg   2x")
        == "https://a/1.jpg 1x, https://a/2.jpg 2x"
    )
    assert safe_srcset("https://a/1.jpg") == "https://a/1.jpg"
    assert safe_srcset("https://a/1.jpg 320q") is None
    assert safe_srcset("https://a/1.jpg 320w, data:x 640w") is None
    assert safe_srcset("") is None
