"""The widget in a real browser: Debian's chromium, driven by Playwright, on a news page.

The real service (``python -m service``, gunicorn) serves a bundle trained on a generated
sample; a second local server, on another port and so another origin, serves
``tests/data/widget/article.html`` filled in with a real article, as a news site would. The
images of the sample (``https://news.example.com/img/...``) are answered inside the browser
with drawn placeholders: the tests never leave the machine.

"No console errors" means: no uncaught exception and no console message of level error, except
the browser's own "Failed to load resource" lines for requests that are meant to fail (to the
stopped service; the view beacon while ``POST /v1/events`` does not exist yet and answers 404).
No script can silence those lines: the browser writes them for any failed request.

Screenshots go to ``test-artifacts/`` at the root of the repository.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import pytest

from tests.support import CHROMIUM_ARGS, free_port, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "tests" / "data" / "widget" / "article.html"
WIDGET_JS = ROOT / "service" / "static" / "widget.js"
ARTIFACTS = ROOT / "test-artifacts"
IMAGE_HOST = "https://news.example.com/"
#: The live-signals work adds 1h/24h windows; until then the page asks for a window that exists.
WINDOW = "7d"
TIMEOUT_MS = 15_000


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    return require_chromium()


@pytest.fixture(scope="module")
def sample(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """~300 generated articles, a bundle trained on them, and the articles by id."""
    from recommender.sources.sample import generate_sample
    from recommender.train import train

    root = tmp_path_factory.mktemp("widget")
    info = generate_sample(root / "data", n_articles=300, days=10, seed=7)
    train(info.articles_path, info.views_path, root / "models")
    articles = {}
    with open(info.articles_path, encoding="utf-8") as lines:
        for line in lines:
            article = json.loads(line)
            articles[article["id"]] = article
    return {"root": root, "models": root / "models", "articles": articles}


class PageServer:
    """The news site: serves ``pages`` (path -> (content type, bytes)) on its own port."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = pages.get(urllib.parse.urlsplit(self.path).path)
                if found is None:
                    self.send_error(404)
                    return
                content_type, body = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Stop gunicorn (SIGTERM: a SIGKILLed master would leave workers holding the port)."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def _start_service(
    models: Path, origin: str, directory: Path, extra: dict[str, str] | None = None
) -> Service:
    """``python -m service`` on a free port serving ``models``, open to ``origin`` only
    (``extra``: more variables)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSREC_", "PROMETHEUS_"))}
    env.update(
        {
            "NEWSREC_MODELS_DIR": str(models),
            "NEWSREC_HOST": "127.0.0.1",
            "NEWSREC_PORT": str(port),
            "NEWSREC_WORKERS": "1",
            "NEWSREC_LOG_LEVEL": "WARNING",
            "NEWSREC_CORS_ORIGINS": origin,
            "PYTHONPATH": str(ROOT),
            **(extra or {}),
        }
    )
    log = directory / f"service-{port}.log"
    with open(log, "wb") as out:
        # cwd: whatever the service may write by default lands in the test's directory
        process = subprocess.Popen(
            [sys.executable, "-m", "service"], env=env, cwd=directory, stdout=out, stderr=out
        )
    running = Service(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(running.url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return running
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            running.stop()
            pytest.fail(f"the service did not become ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


class Services:
    """One running service at a time, shared by the tests; started again after a test that
    stopped it (starting one costs seconds)."""

    def __init__(self, models: Path, origin: str, directory: Path) -> None:
        self.models, self.origin, self.directory = models, origin, directory
        self.current: Service | None = None

    def running(self) -> Service:
        if self.current is None or self.current.process.poll() is not None:
            self.current = _start_service(self.models, self.origin, self.directory)
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.stop()


@pytest.fixture(scope="module")
def services(
    sample: dict[str, Any], site: PageServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    pool = Services(sample["models"], site.origin, tmp_path_factory.mktemp("service"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def service(services: Services) -> Service:
    """A running service (a test may stop it)."""
    return services.running()


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _placeholder(route: Any) -> None:
    """A drawn stand-in for the sample's images (their host does not exist)."""
    url = route.request.url
    if route.request.resource_type != "image":
        route.abort()
        return
    hue = int(hashlib.sha256(url.encode()).hexdigest()[:2], 16) * 360 // 256
    name = url.rsplit("/", 1)[-1]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360">'
        f'<rect width="640" height="360" fill="hsl({hue},45%,62%)"/>'
        '<text x="320" y="195" font-family="sans-serif" font-size="36" text-anchor="middle" '
        f'fill="#fff">{name}</text></svg>'
    )
    route.fulfill(status=200, content_type="image/svg+xml", body=svg)


@dataclass
class Visit:
    """One browser tab on the site, recording what the widget did."""

    page: Any
    requests: list[Any] = field(default_factory=list)
    console: list[Any] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def errors(self, may_fail: str | None = None, events_404: bool = False) -> list[str]:
        """Console errors and uncaught exceptions, minus the failed loads that are expected:
        requests under ``may_fail``, and a 404 of ``/v1/events`` when ``events_404``."""
        found = list(self.page_errors)
        for message in self.console:
            if message.type != "error":
                continue
            url = message.location.get("url", "")
            if message.text.startswith("Failed to load resource"):
                if may_fail and url.startswith(may_fail):
                    continue
                if events_404 and url.endswith("/v1/events") and "status of 404" in message.text:
                    continue
            found.append(f"{message.text} ({url})")
        return found

    def api_requests(self, path: str) -> list[Any]:
        return [r for r in self.requests if urllib.parse.urlsplit(r.url).path == path]

    def view_beacons(self) -> list[Any]:
        """The view beacons (impressions and clicks go to the same route, as arrays)."""
        return [
            r
            for r in self.api_requests("/v1/events")
            if isinstance(json.loads(r.post_data), dict)
            and json.loads(r.post_data).get("type") == "view"
        ]


@pytest.fixture
def visit(browser: Any) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.route(f"{IMAGE_HOST}**", _placeholder)
    page = context.new_page()
    recorded = Visit(page)
    page.on("request", lambda request: recorded.requests.append(request))
    page.on("console", lambda message: recorded.console.append(message))
    page.on("pageerror", lambda error: recorded.page_errors.append(str(error)))
    try:
        yield recorded
    finally:
        context.close()


def _article_page(
    sample: dict[str, Any], service_url: str, article_id: str, teaser_id: str, widget_script: str
) -> bytes:
    article = sample["articles"][article_id]
    teaser = sample["articles"][teaser_id]
    paragraphs = re.findall(r"<p>.*?</p>", article["body"], flags=re.S)[:4]
    page = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        service=service_url,
        widget_script=widget_script,
        article_id=article_id,
        title=article["title"],
        category=article["category"],
        author=article["author"],
        published_at=article["published_at"],
        published_on=article["published_at"][:10],
        image_url=article["image_url"],
        body="\n".join(paragraphs),
        teaser_id=teaser_id,
        teaser_title=teaser["title"],
        teaser_url=teaser["url"],
        window=WINDOW,
    )
    return page.encode()


def _choose_articles(service_url: str) -> tuple[str, str]:
    """A much-read article, and the first article its related list shows (the teaser that the
    page shows too, so the widget must leave it out)."""
    popular = _get_json(f"{service_url}/v1/most-viewed?window=7d&n=1")["items"][0]["id"]
    related = _get_json(f"{service_url}/v1/articles/{popular}/related?n=5")["items"]
    return popular, related[0]["id"]


def _screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _wait_for_state(page: Any, block: str, state: str) -> None:
    page.wait_for_selector(
        f"[{block}][data-newsrec-state={state}]", state="attached", timeout=TIMEOUT_MS
    )


# --- tests ----------------------------------------------------------------------------------


def test_widget_renders_related_and_most_viewed_on_a_news_page(
    sample: dict[str, Any], site: PageServer, service: Service, visit: Visit
) -> None:
    article_id, teaser_id = _choose_articles(service.url)
    script = f'<script src="{service.url}/widget.js" async></script>'
    site.pages["/news/article.html"] = (
        "text/html; charset=utf-8",
        _article_page(sample, service.url, article_id, teaser_id, script),
    )
    expected = _get_json(f"{service.url}/v1/articles/{article_id}/related?n=5&exclude={teaser_id}")[
        "items"
    ]
    most_viewed = _get_json(f"{service.url}/v1/most-viewed?window={WINDOW}&n=5")["items"]
    page = visit.page

    page.goto(f"{site.origin}/news/article.html")
    _wait_for_state(page, "data-newsrec-related", "done")
    _wait_for_state(page, "data-newsrec-most-viewed", "done")

    # the request: five related articles and 3 spare, leaving out the teaser on the page
    (related_request,) = visit.api_requests(f"/v1/articles/{article_id}/related")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(related_request.url).query)
    reader = query.pop("session_id")  # the reader's variant of an A/B test
    assert query == {"n": ["8"], "exclude": [teaser_id]}
    assert related_request.headers.get("origin") == site.origin

    # five accessible cards, in the API's order, with real links
    section = page.locator("main section.newsrec--related")
    assert section.get_attribute("aria-label") == "You might also like"
    assert section.locator("h2.newsrec__title").inner_text() == "You might also like"
    cards = section.locator("ul.newsrec__list > li.newsrec__item > article.newsrec__card")
    assert cards.count() == 5
    hrefs = [cards.nth(i).locator("a.newsrec__link").get_attribute("href") for i in range(5)]
    assert hrefs == [item["url"] for item in expected]
    assert sample["articles"][teaser_id]["url"] not in hrefs
    assert article_id not in [item["id"] for item in expected]
    for i, item in enumerate(expected):
        card = cards.nth(i)
        assert card.locator(".newsrec__headline").inner_text() == item["title"]
        assert card.locator(".newsrec__section").inner_text().lower() == item["category"]
        date = card.locator("time.newsrec__date")
        assert date.get_attribute("datetime") == item["published_at"]
        image = card.locator("img.newsrec__image")
        assert image.get_attribute("src") == item["image_url"]
        assert image.get_attribute("alt") == ""  # decorative: the headline names the link
        assert image.get_attribute("loading") == "lazy"

    # most viewed: the window passed through as given, a ranked list in the sidebar
    (most_viewed_request,) = visit.api_requests("/v1/most-viewed")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(most_viewed_request.url).query)
    assert query.pop("session_id") == reader  # its A/B tests too
    assert query == {"n": ["8"], "window": [WINDOW]}
    ranked = page.locator("aside section.newsrec--most-viewed")
    assert ranked.get_attribute("aria-label") == "Most read"
    titles = ranked.locator("ol.newsrec__list .newsrec__headline").all_inner_texts()
    assert titles == [item["title"] for item in most_viewed]

    # one view beacon for this article, as text/plain, with a first-party session id
    (beacon,) = visit.view_beacons()
    assert beacon.method == "POST"
    assert beacon.headers["content-type"].startswith("text/plain")
    sent = json.loads(beacon.post_data)
    session_id = sent.pop("session_id")
    assert sent == {"type": "view", "article_id": article_id}
    assert re.fullmatch(r"[0-9a-f]{32}", session_id)
    assert reader == [session_id]
    stored = json.loads(page.evaluate("localStorage.getItem('newsrec_session')"))
    assert stored["id"] == session_id

    # scanning again (a single-page app would) renders nothing twice and sends no second view
    page.evaluate("window.newsrecWidget.scan()")
    page.wait_for_timeout(300)
    assert len(visit.view_beacons()) == 1
    assert page.locator("section.newsrec").count() == 2

    _screenshot(page, "widget-article.png")
    # 202: taken in; a 404 (the events route missing) must not break anything either
    beacon_status = beacon.response().status
    assert beacon_status in (202, 404)
    assert visit.errors(events_404=beacon_status == 404) == []

    # the next page of the visit: a new view, the same session
    page.reload()
    _wait_for_state(page, "data-newsrec-related", "done")
    beacons = visit.view_beacons()
    assert len(beacons) == 2
    assert json.loads(beacons[1].post_data)["session_id"] == session_id
    assert visit.errors(events_404=beacon_status == 404) == []


def test_widget_from_an_origin_not_allowed_renders_nothing(
    sample: dict[str, Any], site: PageServer, service: Service, visit: Visit
) -> None:
    article_id, teaser_id = _choose_articles(service.url)
    script = f'<script src="{service.url}/widget.js" async></script>'
    site.pages["/foreign/article.html"] = (
        "text/html; charset=utf-8",
        _article_page(sample, service.url, article_id, teaser_id, script),
    )
    # the same page under another name is another origin, which the service does not allow
    page = visit.page
    page.goto(f"http://localhost:{site.port}/foreign/article.html")
    _wait_for_state(page, "data-newsrec-related", "empty")
    _wait_for_state(page, "data-newsrec-most-viewed", "empty")
    assert page.locator("section.newsrec").count() == 0
    assert visit.page_errors == []
    # the browser refused the answers: CORS errors only, nothing of the widget itself
    blocked = [m.text for m in visit.console if m.type == "error"]
    assert blocked and all("CORS" in t or "Failed to" in t for t in blocked), blocked


def test_widget_page_renders_without_blocks_when_the_service_is_down(
    sample: dict[str, Any], site: PageServer, service: Service, visit: Visit
) -> None:
    article_id, teaser_id = _choose_articles(service.url)
    service.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(service.url + "/healthz", timeout=2)
    page = visit.page

    # the snippet as sites paste it: the script itself cannot load
    script = f'<script src="{service.url}/widget.js" async></script>'
    site.pages["/down/article.html"] = (
        "text/html; charset=utf-8",
        _article_page(sample, service.url, article_id, teaser_id, script),
    )
    page.goto(f"{site.origin}/down/article.html")
    page.wait_for_load_state("load")
    assert page.locator("article h1").inner_text() == sample["articles"][article_id]["title"]
    assert page.locator("section.newsrec").count() == 0
    assert page.locator("[data-newsrec-related]").inner_html() == ""
    assert visit.errors(may_fail=service.url) == []

    # the script cached (or hosted by the site) but the API down: the widget runs, its
    # requests fail, and it hides its blocks without a word on the console
    site.pages["/assets/widget.js"] = ("text/javascript", WIDGET_JS.read_bytes())
    script = f'<script src="/assets/widget.js" data-newsrec-api="{service.url}" async></script>'
    site.pages["/down/self-hosted.html"] = (
        "text/html; charset=utf-8",
        _article_page(sample, service.url, article_id, teaser_id, script),
    )
    page.goto(f"{site.origin}/down/self-hosted.html")
    _wait_for_state(page, "data-newsrec-related", "empty")
    _wait_for_state(page, "data-newsrec-most-viewed", "empty")
    assert page.locator("section.newsrec").count() == 0
    assert page.locator("[data-newsrec-related]").is_hidden()
    assert page.locator("[data-newsrec-most-viewed]").is_hidden()
    assert page.locator("article h1").is_visible()
    assert visit.api_requests(f"/v1/articles/{article_id}/related")  # it did try
    _screenshot(page, "widget-article-service-down.png")
    assert visit.errors(may_fail=service.url) == []


HOSTILE_PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>hostile</title></head><body>
<article data-article-id="a1"><h1>An article</h1></article>
<aside><p data-article-id="t1">teaser</p><p data-article-id="t,2">an id with a comma</p></aside>
<div data-newsrec-related data-article-id="a1" data-n="7" data-exclude=" x1 ,x2,a1"
     data-title="<i>Read more</i>" data-heading-level="3"></div>
<div data-newsrec-most-viewed data-window="24h" data-category="sports"><p>fallback</p></div>
<script src="/assets/widget.js" data-newsrec-api="https://newsrec.test/" data-newsrec-beacon="off"
        async></script>
</body></html>
"""


def test_widget_escapes_what_the_api_sends_and_keeps_only_web_links(
    site: PageServer, visit: Visit
) -> None:
    """The API is played by the browser itself here: answers no real service would give."""
    hostile: dict[str, Any] = {
        "items": [
            {
                "id": "h1",
                "title": '<img src=x onerror="window.pwned=1">',
                "url": "https://news.example.com/h1",
                "image_url": "javascript:window.pwned=2",
                "category": "<b>bold</b>",
                "published_at": "not a date",
            },
            {"id": "h2", "title": "script link", "url": "javascript:window.pwned=3"},
            {"id": "h3", "title": "data link", "url": "data:text/html,<script>1</script>"},
            {
                "id": "h4",
                "title": "relative link, data image",
                "url": "/local/h4",
                "image_url": "data:image/png;base64,iVBORw0KGgo=",
                "published_at": "2026-10-30T08:00:00Z",
            },
            {"id": "h5", "title": "", "url": "https://news.example.com/h5"},
            "not an object",
        ]
    }

    def api(route: Any) -> None:
        headers = {"Access-Control-Allow-Origin": site.origin}
        if "/most-viewed" in route.request.url:
            route.fulfill(status=500, headers=headers, json={"error": {"code": "x"}})
        else:
            route.fulfill(status=200, headers=headers, json=hostile)

    site.pages["/assets/widget.js"] = ("text/javascript", WIDGET_JS.read_bytes())
    site.pages["/hostile.html"] = ("text/html; charset=utf-8", HOSTILE_PAGE.encode())
    page = visit.page
    page.route("https://newsrec.test/**", api)
    page.goto(f"{site.origin}/hostile.html")
    _wait_for_state(page, "data-newsrec-related", "done")
    _wait_for_state(page, "data-newsrec-most-viewed", "empty")

    (request,) = visit.api_requests("/v1/articles/a1/related")
    assert request.url.startswith("https://newsrec.test/v1/")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    # the block's own id is never excluded; an id the API cannot take is left out
    assert "session_id" not in query  # data-newsrec-beacon="off": no session id either
    assert query == {"n": ["10"], "exclude": ["t1,x1,x2"]}  # data-n 7 and 3 spare

    section = page.locator("section.newsrec--related")
    assert section.get_attribute("aria-label") == "<i>Read more</i>"
    assert section.locator("h3.newsrec__title").inner_text() == "<i>Read more</i>"
    cards = section.locator("article.newsrec__card")
    assert cards.count() == 2
    first, relative = cards.nth(0), cards.nth(1)
    assert first.locator(".newsrec__headline").inner_text() == hostile["items"][0]["title"]
    assert first.locator(".newsrec__section").inner_text().lower() == "<b>bold</b>"
    assert first.locator("img, time").count() == 0  # a javascript: image, a date that is none
    assert relative.locator("a").get_attribute("href") == f"{site.origin}/local/h4"
    assert relative.locator("img").count() == 0
    assert relative.locator("time").get_attribute("datetime") == "2026-10-30T08:00:00Z"
    assert relative.locator("time").inner_text() == "30 Oct 2026"  # the page's language
    assert section.locator("i, b, script").count() == 0
    assert page.evaluate("window.pwned") is None

    # most viewed: the window passed through as given; a failing answer hides the block
    (request,) = visit.api_requests("/v1/most-viewed")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    # data-newsrec-beacon="off": no session id
    assert query == {"n": ["8"], "window": ["24h"], "category": ["sports"]}
    assert page.locator("[data-newsrec-most-viewed]").is_hidden()
    assert visit.api_requests("/v1/events") == []  # data-newsrec-beacon="off"
    assert visit.page_errors == []
    assert visit.errors(may_fail="https://newsrec.test/v1/most-viewed") == []


def test_widget_sends_views_to_the_events_base_when_given(
    sample: dict[str, Any], site: PageServer, service: Service, visit: Visit
) -> None:
    # the same service under another name stands for an events pool of its own
    events_base = service.url.replace("127.0.0.1", "localhost")
    assert events_base != service.url
    article_id, teaser_id = _choose_articles(service.url)
    script = (
        f'<script src="{service.url}/widget.js" data-newsrec-events="{events_base}/" '
        "async></script>"
    )
    site.pages["/news/pooled.html"] = (
        "text/html; charset=utf-8",
        _article_page(sample, service.url, article_id, teaser_id, script),
    )
    page = visit.page
    page.goto(f"{site.origin}/news/pooled.html")
    _wait_for_state(page, "data-newsrec-related", "done")
    page.wait_for_timeout(300)
    (beacon,) = visit.view_beacons()
    assert beacon.url == f"{events_base}/v1/events"  # not the API's base, no double slash
    assert json.loads(beacon.post_data)["article_id"] == article_id
    assert all(
        r.url.startswith(service.url)
        for r in visit.api_requests(f"/v1/articles/{article_id}/related")
    )


# --- the seed page: three blocks of cards, from the widget and from the fragments ------------

NEWS_PAGE = ROOT / "tests" / "data" / "widget" / "news-page.html"
#: Months as de-DE's Intl.DateTimeFormat writes them (month: "short"); the sample is in Oct/Nov.
GERMAN_MONTHS = {10: "Okt.", 11: "Nov."}


def _news_page(
    sample: dict[str, Any],
    service_url: str,
    article_id: str,
    blocks: dict[str, str],
    script: str = "",
) -> bytes:
    article = sample["articles"][article_id]
    views = _get_json(f"{service_url}/v1/articles/{article_id}")["views_label"]
    paragraphs = re.findall(r"<p>.*?</p>", article["body"], flags=re.S)[:2]
    page = Template(NEWS_PAGE.read_text(encoding="utf-8")).substitute(
        service=service_url,
        article_id=article_id,
        title=article["title"],
        category=article["category"],
        author=article["author"],
        published_at=article["published_at"],
        published_on=article["published_at"][:10],
        views_label=views,
        image_url=article["image_url"],
        body="\n".join(paragraphs),
        script=script,
        **blocks,
    )
    return page.encode()


WIDGET_BLOCKS = {
    "related": '<div data-newsrec-related data-article-id="{id}" data-n="4"></div>',
    "latest": '<div data-newsrec-latest data-n="5" data-locale="de-DE" '
    'data-reading-text="{{n}} Min. Lesezeit"></div>',
    "most_viewed": '<div data-newsrec-most-viewed data-window="7d" data-n="3" '
    'data-heading-level="2"></div>',
}


def _skeleton(page: Any, selector: str) -> list[str]:
    """The tags and classes of a block's elements, in document order (no text, no URLs)."""
    found: list[str] = page.eval_on_selector(
        selector,
        "root => Array.from(root.querySelectorAll('*'), e => e.tagName + '.' + e.className)",
    )
    return found


def test_widget_cards_with_new_articles_reading_time_and_views(
    sample: dict[str, Any], site: PageServer, service: Service, visit: Visit
) -> None:
    article_id, _ = _choose_articles(service.url)
    blocks = {k: v.format(id=article_id) for k, v in WIDGET_BLOCKS.items()}
    script = f'<script src="{service.url}/widget.js" async></script>'
    site.pages["/news/cards.html"] = (
        "text/html; charset=utf-8",
        _news_page(sample, service.url, article_id, blocks, script),
    )
    page = visit.page
    pending: list[Any] = []

    def hold(route: Any) -> None:  # images wait until the test lets them load
        pending.append(route)

    page.route(f"{IMAGE_HOST}**", hold)
    page.goto(f"{site.origin}/news/cards.html", wait_until="domcontentloaded")
    for block in ("data-newsrec-related", "data-newsrec-latest", "data-newsrec-most-viewed"):
        _wait_for_state(page, block, "done")

    # new articles: the page's own article left out, newest first, as the API answers
    (request,) = visit.api_requests("/v1/latest")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    assert len(query.pop("session_id")) == 1  # the reader's variant of an A/B test
    assert query == {"n": ["8"], "exclude": [article_id]}  # 5 and 3 spare
    latest = _get_json(f"{service.url}/v1/latest?n=5&exclude={article_id}")["items"]
    block = page.locator("aside section.newsrec--latest")
    assert block.get_attribute("aria-label") == "New articles"
    links = block.locator("ul.newsrec__list > li > article.newsrec__card h3 > a.newsrec__link")
    assert links.count() == 5
    assert [links.nth(i).get_attribute("href") for i in range(5)] == [i["url"] for i in latest]
    for i, item in enumerate(latest):
        card = block.locator("article.newsrec__card").nth(i)
        year, month, day = (int(x) for x in item["published_at"][:10].split("-"))
        assert card.locator("time").inner_text() == f"{day}. {GERMAN_MONTHS[month]} {year}"
        assert card.locator(".newsrec__reading").inner_text() == (
            f"{item['reading_minutes']} Min. Lesezeit"
        )
        assert card.locator(".newsrec__section").inner_text().lower() == item["category"]

    # related: "6 min read" in English by default, minutes as the API gives them
    related = _get_json(f"{service.url}/v1/articles/{article_id}/related?n=4")["items"]
    readings = page.locator("main .newsrec__reading").all_inner_texts()
    assert readings == [f"{i['reading_minutes']} min read" for i in related]
    # most viewed: the view count, compact in the page's language
    ranked = _get_json(f"{service.url}/v1/most-viewed?window=7d&n=3")["items"]
    shown = page.locator(".newsrec--most-viewed .newsrec__views").all_inner_texts()
    expected = page.evaluate(
        "counts => counts.map(n => new Intl.NumberFormat('en', "
        "{notation: 'compact', maximumFractionDigits: 1}).format(n) + ' views')",
        [i["views"] for i in ranked],
    )
    assert shown == expected and len(shown) == 3

    # a screen reader's view: one region per block, headings, one named link per card
    for name in ("You might also like", "New articles", "Most viewed"):
        assert page.get_by_role("region", name=name).count() == 1
        assert page.get_by_role("heading", name=name, level=2).count() == 1
    for item in related:
        assert page.get_by_role("link", name=item["title"], exact=True).count() >= 1
        assert page.get_by_role("heading", name=item["title"], level=3).count() >= 1
    assert page.locator(".newsrec__card a").count() == page.locator(".newsrec__card").count()

    # the keyboard: every card is one tab stop, in the page's order
    card_links = page.locator(".newsrec__link")
    expected_order = [card_links.nth(i).get_attribute("href") for i in range(card_links.count())]
    page.evaluate("document.activeElement && document.activeElement.blur()")
    visited: list[str] = []
    for _ in range(len(expected_order) + 10):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e && e.classList.contains('newsrec__link') ? e.getAttribute('href') : null }"
        )
        if focused:
            visited.append(focused)
            if len(visited) == len(expected_order):
                break
    assert visited == expected_order
    focus_ring = page.evaluate(
        "() => getComputedStyle(document.activeElement, '::after').outlineStyle"
    )
    assert focus_ring == "solid"

    # no layout shift: the image boxes are reserved before any image arrives
    first = page.locator("main .newsrec__card").first
    media = first.locator(".newsrec__media").bounding_box()
    assert media is not None and media["height"] == pytest.approx(media["width"] * 9 / 16, abs=1)
    before = [
        page.locator(sel).first.bounding_box()
        for sel in ("main .newsrec__headline", "aside .newsrec--latest .newsrec__headline")
    ]
    assert pending, "the cards asked for their images"
    for route in pending:
        _placeholder(route)
    page.unroute(f"{IMAGE_HOST}**", hold)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('main .newsrec__image'))"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=TIMEOUT_MS,
    )
    after = [
        page.locator(sel).first.bounding_box()
        for sel in ("main .newsrec__headline", "aside .newsrec--latest .newsrec__headline")
    ]
    assert after == before

    # themed through custom properties on :root
    color = page.evaluate(
        "() => getComputedStyle(document.querySelector('.newsrec__section')).color"
    )
    assert color == "rgb(179, 38, 30)"
    _screenshot(page, "widget-cards.png")
    assert visit.errors(events_404=True) == []


def test_fragments_render_the_same_cards_without_javascript(
    sample: dict[str, Any], site: PageServer, service: Service, visit: Visit, browser: Any
) -> None:
    article_id, _ = _choose_articles(service.url)

    def fragment(path: str) -> str:
        with urllib.request.urlopen(f"{service.url}{path}", timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["ETag"] and "max-age" in response.headers["Cache-Control"]
            return str(response.read().decode())

    # what a site's server includes (PHP, ESI, SSI): the same queries as the widget's
    blocks = {
        "related": fragment(f"/v1/articles/{article_id}/related.html?n=4&exclude={article_id}"),
        "latest": fragment(f"/v1/latest.html?n=5&exclude={article_id}"),
        "most_viewed": fragment("/v1/most-viewed.html?window=7d&n=3"),
    }
    site.pages["/static/article.html"] = (
        "text/html; charset=utf-8",
        _news_page(sample, service.url, article_id, blocks),
    )
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", java_script_enabled=False
    )
    context.route(f"{IMAGE_HOST}**", _placeholder)
    static = context.new_page()
    static.goto(f"{site.origin}/static/article.html")
    static.wait_for_load_state("load")
    related = _get_json(f"{service.url}/v1/articles/{article_id}/related?n=4")["items"]
    hrefs = static.locator("main .newsrec__link").evaluate_all("a => a.map(e => e.href)")
    assert [h.partition("?nr_list=")[0] for h in hrefs] == [i["url"] for i in related]
    assert static.locator("aside .newsrec--latest .newsrec__card").count() == 5
    assert static.locator("aside .newsrec--most-viewed ol > li").count() == 3
    assert static.locator("script").count() == 0
    reading = static.locator("main .newsrec__reading").all_inner_texts()
    assert reading == [f"{i['reading_minutes']} min read" for i in related]
    assert static.get_by_role("region", name="New articles").count() == 1
    _screenshot(static, "fragments.png")
    fragment_shapes = {
        kind: _skeleton(static, f"section.newsrec--{kind}")
        for kind in ("related", "latest", "most-viewed")
    }
    context.close()

    # the widget on the same page renders the same elements with the same classes
    widget_blocks = {k: v.format(id=article_id) for k, v in WIDGET_BLOCKS.items()}
    script = f'<script src="{service.url}/widget.js" async></script>'
    site.pages["/news/same.html"] = (
        "text/html; charset=utf-8",
        _news_page(sample, service.url, article_id, widget_blocks, script),
    )
    page = visit.page
    page.goto(f"{site.origin}/news/same.html")
    for block in ("data-newsrec-related", "data-newsrec-latest", "data-newsrec-most-viewed"):
        _wait_for_state(page, block, "done")
    for kind, shape in fragment_shapes.items():
        assert _skeleton(page, f"section.newsrec--{kind}") == shape, kind


def test_widget_card_srcset_and_texts_from_the_script_tag(site: PageServer, visit: Visit) -> None:
    """Site-wide texts on the script tag; a srcset only when every candidate is a web URL."""
    items = [
        {
            "id": "a",
            "title": "With sizes",
            "url": "https://news.example.com/a",
            "image_url": "https://news.example.com/img/a.jpg",
            "image_srcset": "https://news.example.com/img/a-320.jpg 320w, "
            "https://news.example.com/img/a-640.jpg 640w",
            "reading_minutes": 6,
            "published_at": "2026-10-30T08:00:00Z",
        },
        {
            "id": "b",
            "title": "Bad srcset",
            "url": "https://news.example.com/b",
            "image_url": "https://news.example.com/img/b.jpg",
            "image_srcset": "https://news.example.com/img/b-320.jpg 320w, javascript:x 640w",
            "reading_minutes": "6",
        },
    ]
    page_html = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8"></head><body>'
        '<div data-newsrec-latest data-image-sizes="(min-width: 50rem) 20rem, 90vw"></div>'
        '<script src="/assets/widget.js" data-newsrec-api="https://newsrec.test/" '
        'data-newsrec-beacon="off" data-reading-text="Lesezeit: {n} Min." '
        'data-locale="fr-FR" async></script></body></html>'
    )

    def api(route: Any) -> None:
        headers = {"Access-Control-Allow-Origin": site.origin}
        route.fulfill(status=200, headers=headers, json={"items": items})

    site.pages["/assets/widget.js"] = ("text/javascript", WIDGET_JS.read_bytes())
    site.pages["/srcset.html"] = ("text/html; charset=utf-8", page_html.encode())
    page = visit.page
    page.route("https://newsrec.test/**", api)
    page.goto(f"{site.origin}/srcset.html")
    _wait_for_state(page, "data-newsrec-latest", "done")
    cards = page.locator("article.newsrec__card")
    good, bad = cards.nth(0).locator("img"), cards.nth(1).locator("img")
    assert good.get_attribute("srcset") == items[0]["image_srcset"]
    assert good.get_attribute("sizes") == "(min-width: 50rem) 20rem, 90vw"
    assert (good.get_attribute("width"), good.get_attribute("height")) == ("640", "360")
    assert bad.get_attribute("srcset") is None and bad.get_attribute("sizes") is None
    assert bad.get_attribute("src") == items[1]["image_url"]
    assert cards.nth(0).locator(".newsrec__reading").inner_text() == "Lesezeit: 6 Min."
    assert cards.nth(1).locator(".newsrec__reading").count() == 0  # not a number: not shown
    assert cards.nth(0).locator("time").inner_text() == "30 oct. 2026"  # data-locale fr-FR
    assert visit.page_errors == []


def test_demo_page_shows_the_three_blocks_of_the_seed_page(
    sample: dict[str, Any], site: PageServer, visit: Visit, tmp_path: Path
) -> None:
    """What ``make demo`` serves at ``/``: the seed page of a sample article, same origin."""
    demo = _start_service(sample["models"], site.origin, tmp_path, {"NEWSREC_DEMO": "1"})
    try:
        page = visit.page
        page.goto(demo.url + "/")
        assert re.search(r"/demo/articles/[^/]+$", page.url)
        for block in ("data-newsrec-related", "data-newsrec-latest", "data-newsrec-most-viewed"):
            _wait_for_state(page, block, "done")
        article_id = page.url.rsplit("/", 1)[-1]
        assert page.locator("h1").inner_text() == sample["articles"][article_id]["title"]
        assert re.search(r"[0-9.]+[kM]? views", page.locator(".byline").inner_text())
        assert page.locator("main .newsrec--related .newsrec__card").count() == 5
        assert page.locator("aside .newsrec--latest .newsrec__card").count() == 10
        assert page.locator("aside .newsrec--most-viewed .newsrec__card").count() == 5
        latest_ids = [
            i["id"] for i in _get_json(f"{demo.url}/v1/latest?n=10&exclude={article_id}")["items"]
        ]
        assert article_id not in latest_ids
        _screenshot(page, "demo.png")
        # a card opens the demo page of its article
        first = page.locator("main .newsrec__link").first
        title = first.inner_text()
        first.click()
        page.wait_for_url(re.compile(r"/demo/articles/"), timeout=TIMEOUT_MS)
        assert page.locator("h1").inner_text() == title
        _wait_for_state(page, "data-newsrec-related", "done")
        assert visit.page_errors == []
    finally:
        demo.stop()


def test_widget_fills_its_n_cards_when_an_item_has_no_usable_link(
    site: PageServer, visit: Visit
) -> None:
    # the API answers the n asked for; two of its items cannot be links (not http(s), none)
    items = [
        {
            "id": f"a{i}",
            "title": f"Story {i}",
            "url": f"https://news.example.org/a{i}",
            "category": "news",
            "published_at": None,
            "image_url": "",
        }
        for i in range(20)
    ]
    items[1]["url"] = "javascript:alert(1)"
    items[3]["url"] = ""
    items[0]["views"], items[2]["views"] = 1, 2
    asked: list[int] = []

    def answer(route: Any) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(route.request.url).query)
        n = int(query["n"][0])
        asked.append(n)
        if n > 9:  # a service whose NEWSREC_MAX_N is 9
            route.fulfill(
                status=400,
                content_type="application/json",
                headers={"Access-Control-Allow-Origin": "*"},
                body='{"error": {"code": "bad_parameter", "message": "n", "parameter": "n"}}',
            )
            return
        route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": "*"},
            body=json.dumps({"items": items[:n]}),
        )

    visit.page.route("https://api.example.test/**", answer)
    widget = (ROOT / "service" / "static" / "widget.js").read_bytes()
    site.pages["/widget.js"] = ("text/javascript", widget)
    site.pages["/news/spare.html"] = (
        "text/html; charset=utf-8",
        b"<!doctype html><html lang=en><title>t</title><main>"
        b'<div data-newsrec-related data-article-id="q" data-n="6"></div>'
        b'<div data-newsrec-most-viewed data-n="7"></div></main>'
        b'<script src="/widget.js" data-newsrec-api="https://api.example.test" '
        b'data-newsrec-beacon="off" async></script></html>',
    )
    visit.page.goto(f"{site.origin}/news/spare.html")
    _wait_for_state(visit.page, "data-newsrec-related", "done")
    _wait_for_state(visit.page, "data-newsrec-most-viewed", "done")
    related = visit.page.locator("section.newsrec--related article.newsrec__card a.newsrec__link")
    assert related.count() == 6  # not 4: the spare items took the unusable ones' places
    hrefs = [related.nth(i).get_attribute("href") for i in range(6)]
    assert hrefs == [f"https://news.example.org/a{i}" for i in (0, 2, 4, 5, 6, 7)]
    # 7 + 3 is over the service's limit: asked again for 7, which the two gaps leave at 5
    assert visit.page.locator("section.newsrec--most-viewed article.newsrec__card").count() == 5
    views = visit.page.locator("section.newsrec--most-viewed .newsrec__views").all_inner_texts()
    assert views == ["1 view", "2 views"]  # not "1 views"
    assert sorted(asked) == [7, 9, 10]
