"""Impressions and clicks from the widget in a real browser (chromium via Playwright), counted
in an A/B test's report: scroll into view, click, a click through ``nr_list`` alone, a bot.

The service runs with an experiment of two variants; the site's pages (another origin) and
the articles' own pages (``https://news.example.com/...``, answered inside the browser with a
page holding the widget) are pages as a news site would have them.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from string import Template
from typing import Any

import pytest

from tests.service import test_widget_browser as widget_tests
from tests.service.test_widget_browser import (
    IMAGE_HOST,
    PageServer,
    Service,
    _placeholder,
    _start_service,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# the widget tests' fixtures: chromium, the trained sample, the news site
chromium_path = widget_tests.chromium_path
sample = widget_tests.sample
site = widget_tests.site
browser = widget_tests.browser

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "tests" / "data" / "widget" / "experiment.html"
READER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
TOKEN = "browser-test-rules-token-0123"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def service(
    sample: dict[str, Any], site: PageServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("experiment")
    definitions = directory / "experiments.toml"
    definitions.write_text(
        '[[experiments]]\nname = "widget-test"\nstart = "2020-01-01T00:00:00Z"\n'
        '[[experiments.variants]]\nname = "A"\n'
        '[[experiments.variants]]\nname = "B"\nstrategy = "content"\n'
    )
    running = _start_service(
        sample["models"],
        f"{site.origin},{IMAGE_HOST.rstrip('/')}",
        directory,
        {
            "NEWSREC_EXPERIMENTS": str(definitions),
            "NEWSREC_RULES_TOKEN": TOKEN,
            "NEWSREC_SESSION_KEY": "browser-test-session-key",
            "NEWSREC_STATE_DIR": str(directory / "state"),
            "NEWSREC_EVENT_LOG_DIR": str(directory / "events"),
        },
    )
    try:
        yield running
    finally:
        running.stop()


def _page(service: Service, article: dict[str, Any]) -> bytes:
    return (
        Template(TEMPLATE.read_text())
        .substitute(service=service.url, article_id=article["id"], title=article["title"])
        .encode()
    )


def _report(service: Service) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{service.url}/v1/experiments/widget-test/report",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        report: dict[str, Any] = json.loads(response.read())
    return report


def _counts(service: Service) -> dict[tuple[str, int], tuple[int, int]]:
    """(variant, position) -> (impressions, clicks)."""
    return {
        (v["name"], p["position"]): (p["impressions"], p["clicks"])
        for v in _report(service)["variants"]
        for p in v["positions"]
    }


def _until(check: Any, page: Any = None, seconds: float = 10.0) -> Any:
    """``check()`` once true, or its last value after ``seconds``. With a page, waits through
    it: Playwright delivers the page's events (the beacons recorded) only while it is called."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        if page is not None:
            page.wait_for_timeout(200)
        else:
            time.sleep(0.2)


def _context(
    browser: Any, sample: dict[str, Any], service: Service, user_agent: str, site: PageServer
) -> tuple[Any, list[dict[str, Any]]]:
    """A browser context whose article pages hold the widget; the events it sends."""
    context = browser.new_context(viewport={"width": 1000, "height": 700}, user_agent=user_agent)
    by_url = {a["url"]: a for a in sample["articles"].values()}
    sent: list[dict[str, Any]] = []

    def article_host(route: Any) -> None:
        request = route.request
        if request.resource_type == "image":
            _placeholder(route)
            return
        parts = urllib.parse.urlsplit(request.url)
        article = by_url.get(urllib.parse.urlunsplit(parts._replace(query="")))
        if request.resource_type != "document" or article is None:
            route.abort()
            return
        # the article's page, on the site's own (http) origin: an https page could not load
        # the widget from the test's http service
        path = f"/article/{article['id']}"
        site.pages[path] = ("text/html", _page(service, article))
        location = f"{site.origin}{path}" + (f"?{parts.query}" if parts.query else "")
        route.fulfill(status=302, headers={"Location": location})

    def record(request: Any) -> None:
        if request.url.endswith("/v1/events") and request.method == "POST":
            payload = json.loads(request.post_data)
            sent.extend(payload if isinstance(payload, list) else [payload])

    context.route(f"{IMAGE_HOST}**", article_host)
    context.on("request", record)
    return context, sent


def test_widget_impressions_and_clicks_reach_the_report(
    browser: Any, sample: dict[str, Any], site: PageServer, service: Service
) -> None:
    article = next(iter(sample["articles"].values()))
    popular = urllib.request.urlopen(f"{service.url}/v1/most-viewed?n=1", timeout=10)
    with popular:
        article = sample["articles"][json.loads(popular.read())["items"][0]["id"]]
    site.pages["/experiment.html"] = ("text/html", _page(service, article))

    # a bot scrolls and clicks: nothing counts
    context, sent = _context(browser, sample, service, BOT, site)
    page = context.new_page()
    page.goto(f"{site.origin}/experiment.html")
    block = page.locator("[data-newsrec-related]")
    block.locator(".newsrec__link").first.wait_for(timeout=TIMEOUT_MS)
    block.scroll_into_view_if_needed()
    _until(lambda: any(e["type"] == "impression" for e in sent), page)
    with page.expect_navigation():
        block.locator(".newsrec__link").nth(1).click()
    _until(lambda: any(e["type"] == "click" for e in sent), page)
    assert {e["type"] for e in sent} >= {"impression", "click", "view"}
    context.close()
    assert _counts(service) == {}

    context, sent = _context(browser, sample, service, READER, site)
    page = context.new_page()
    page.goto(f"{site.origin}/experiment.html")
    links = block = page.locator("[data-newsrec-related]")
    links = block.locator(".newsrec__link")
    links.first.wait_for(timeout=TIMEOUT_MS)
    variant = block.get_attribute("data-newsrec-variant")
    assert variant in ("A", "B")
    page.wait_for_timeout(500)
    assert [e for e in sent if e["type"] == "impression"] == []  # below the fold: not seen
    block.scroll_into_view_if_needed()
    shown = _until(lambda: [e for e in sent if e["type"] == "impression"], page)
    assert [e["position"] for e in shown] == [1, 2, 3, 4]
    assert {e["variant"] for e in shown} == {variant}
    page.mouse.wheel(0, -3000)
    page.wait_for_timeout(300)
    block.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    assert len([e for e in sent if e["type"] == "impression"]) == 4  # once per list
    counted = _until(lambda: _counts(service).get((variant, 1)) == (1, 0))
    assert counted, _counts(service)
    assert links.nth(1).get_attribute("href") == links.nth(1).evaluate("a => a.href")
    assert "nr_list" not in (links.nth(1).get_attribute("href") or "")

    with page.expect_navigation():
        links.nth(1).click()
    (click,) = _until(lambda: [e for e in sent if e["type"] == "click"], page)
    assert (click["list_id"], click["position"], click["variant"]) == (
        shown[0]["list_id"],
        2,
        variant,
    )
    # the target page: its view names the list, and the address bar is clean again
    arrived = _until(lambda: [e for e in sent if e["type"] == "view" and "list_id" in e], page)
    assert arrived[0]["position"] == 2
    page.wait_for_function("() => !location.search.includes('nr_list')", timeout=TIMEOUT_MS)
    assert _until(lambda: _counts(service).get((variant, 2)) == (1, 1)), _counts(service)
    report = _report(service)
    arm = next(v for v in report["variants"] if v["name"] == variant)
    assert (arm["impressions"], arm["clicks"]) == (1, 1)
    context.close()

    # a click without the widget's beacon (a page without JavaScript, a lost beacon): the
    # target page's view with nr_list/nr_pos counts it
    target = next(a for a in sample["articles"].values() if a["url"] != article["url"])
    context, sent = _context(browser, sample, service, READER, site)
    page = context.new_page()
    list_id = shown[0]["list_id"]
    page.goto(f"{target['url']}?nr_list={list_id}&nr_pos=3")
    page.wait_for_function("() => !location.search.includes('nr_list')", timeout=TIMEOUT_MS)
    assert page.url == f"{site.origin}/article/{target['id']}"
    assert _until(lambda: _counts(service).get((variant, 3)) == (1, 1)), _counts(service)
    context.close()
