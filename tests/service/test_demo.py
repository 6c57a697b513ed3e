"""The demo's article page (NEWSREC_DEMO only): the seed page with the three blocks."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.conftest import body


def test_demo_pages_need_demo_mode(make_app: Callable[..., Flask]) -> None:
    client = make_app(demo=False).test_client()
    for url in ("/demo", "/demo/articles/n1", "/demo/go?url=https://news.example/n1"):
        assert client.get(url).status_code == 404, url
    assert client.get("/").headers["Location"] == "/docs"


def test_demo_page_shows_the_article_and_the_three_blocks(make_app: Callable[..., Flask]) -> None:
    client = make_app(demo=True).test_client()
    assert client.get("/").headers["Location"] == "/demo"
    # the most viewed article of the fallback window (7 days): s1
    assert client.get("/demo").headers["Location"] == "/demo/articles/s1"
    response = client.get("/demo/articles/n1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>[v1] News 1</h1>" in page and "1.7k views" in page
    for block in (
        '<div data-newsrec-related data-article-id="n1"',
        "<div data-newsrec-latest",
        "<div data-newsrec-most-viewed",
        'src="/widget.js"',
        'href="/widget.css"',
    ):
        assert block in page, block
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert client.get("/demo/articles/nope").status_code == 404
    assert body(client.get("/demo/articles/nope"))["error"]["code"] == "unknown_article"


def test_demo_cards_lead_to_the_demo_page_of_their_article(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(demo=True).test_client()
    go = client.get("/demo/go?url=https://news.example/n2")
    assert go.status_code == 302 and go.headers["Location"] == "/demo/articles/n2"
    assert client.get("/demo/go?url=https://elsewhere.example/x").status_code == 404
