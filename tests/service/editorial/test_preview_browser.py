"""The editor preview in a real browser: Debian's chromium, driven by Playwright.

A real ``python -m service`` (two gunicorn workers, so a rule must reach the other worker too)
serves a bundle trained on a small hand-made catalogue whose answers are known in advance:

- ``e-wind-1`` "Offshore wind farm approved" is the article under test;
- ``e-wind-2`` shares some of its words (its closest content neighbour of another story) but
  no reader;
- ``e-wind-wire`` is a wire copy of it (the same words: its top content neighbour, one story
  with it), so readers never get it: the preview lists it as folded away;
- ``s-derby`` shares no words but 30 sessions (the top co-view neighbour), so with the
  service's weights (co-view 1.5) it leads the readers' list, and with the co-view weight at 0
  ``e-wind-2`` does;
- ``e-xss`` is titled ``<script>alert(1)</script> test`` and is read with ``e-wind-1``: it must
  show as text, and no dialog may open.

Screenshots land in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from tests.support import CHROMIUM_ARGS, free_port, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_MS = 15_000
USER = "editor"
PASSWORD = "correct horse battery"
TOKEN = "browser-test-rules-token"
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
QUERY = "e-wind-1"
CONTENT_TWIN = "e-wind-2"
WIRE_COPY = "e-wind-wire"
COVIEW_TWIN = "s-derby"
XSS_ID = "e-xss"
XSS_TITLE = "<script>alert(1)</script> test"

WIND = (
    "offshore wind farm turbines coast regulator megawatt grid cable seabed blades "
    "foundation harbour"
)
#: id, title, section, body words, days before NOW it was published
ARTICLES = [
    (QUERY, "Offshore wind farm approved", "energy", WIND + " approval permit", 1),
    (
        CONTENT_TWIN,
        "Second offshore wind farm planned",
        "energy",
        "offshore wind farm turbines coast planned second expansion ministry tender auction bids",
        1,
    ),
    (WIRE_COPY, "Coastal turbines get the go-ahead", "energy", WIND + " approval permit", 1),
    ("e-grid", "Grid operator upgrades substations", "energy", "grid substations power lines", 2),
    (XSS_ID, XSS_TITLE, "energy", "harbour turbines blades crane vessel", 1),
    (COVIEW_TWIN, "City derby ends with a late winner", "sports", "derby goal striker match", 1),
    ("s-coach", "Coach praises young striker", "sports", "coach striker training squad", 2),
    ("s-tennis", "Tennis final goes to five sets", "sports", "tennis final sets serve", 3),
    ("p-budget", "Council passes the budget", "politics", "council budget vote taxes", 1),
    ("p-election", "Mayor calls early election", "politics", "mayor election vote ballot", 2),
    ("p-schools", "New schools plan unveiled", "politics", "schools teachers plan pupils", 3),
    ("c-soup", "Autumn soup recipes", "food", "soup pumpkin recipe autumn", 2),
    ("c-bread", "Bakery wins bread award", "food", "bakery bread award flour", 4),
    ("c-pie", "Apple pie contest judged", "food", "apple pie contest judges", 5),
]


def _sessions(extra: bool) -> list[list[str]]:
    """Reading sessions: 30 read the query and the derby, 6 the query and the XSS article, the
    content twin is read only with politics; the rest spreads views for the popular lists."""
    sessions: list[list[str]] = []
    sessions += [[QUERY, COVIEW_TWIN]] * 30
    sessions += [[QUERY, XSS_ID]] * 6
    sessions += [[QUERY, "s-coach"]] * 4
    sessions += [[CONTENT_TWIN, "p-budget"]] * 12
    sessions += [["e-grid", "p-election"]] * 5
    sessions += [["s-tennis", "s-coach"]] * 6
    sessions += [["c-soup", "c-bread"]] * 4
    sessions += [["p-schools"], ["p-budget"], ["e-grid"]] * 3
    sessions += [["c-pie"]]  # read once: "1 view", not "1 views"
    if extra:  # the second bundle: the query is now read with the soup recipes too
        sessions += [[QUERY, "c-soup"]] * 20
    return sessions


def write_catalogue(directory: Path, *, extra: bool = False) -> tuple[Path, Path]:
    """Write ``articles.jsonl`` and ``views.csv`` of the hand-made catalogue."""
    directory.mkdir(parents=True, exist_ok=True)
    articles = directory / "articles.jsonl"
    with open(articles, "w", encoding="utf-8") as out:
        for article_id, title, section, words, age in ARTICLES:
            record = {
                "id": article_id,
                "title": title,
                "body": f"<p>{words}. {words}.</p>",
                "category": section,
                "published_at": (NOW - dt.timedelta(days=age)).isoformat(),
                "url": f"https://news.example.com/{section}/{article_id}",
                "status": "published",
            }
            out.write(json.dumps(record) + "\n")
    views = directory / "views.csv"
    start = NOW - dt.timedelta(hours=20)
    with open(views, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["session_id", "article_id", "timestamp"])
        for number, session in enumerate(_sessions(extra)):
            for step, article_id in enumerate(session):
                when = start + dt.timedelta(minutes=number, seconds=20 * step)
                stamp = when.isoformat().replace("+00:00", "Z")
                writer.writerow([f"s{number:04d}", article_id, stamp])
    return articles, views


def build_models(root: Path) -> Path:
    """Two bundles: the previous one, then the one in service (a second later: versions are
    stamped to the second)."""
    from recommender.config import TrainConfig
    from recommender.train import train

    models = root / "models"
    config = TrainConfig(n_threads=1)
    for extra in (False, True):
        articles, views = write_catalogue(root / f"data-{int(extra)}", extra=extra)
        if extra:
            time.sleep(1.05 - (time.time() % 1))
        train(articles, views, models, config=config, now=NOW)
    return models


def _request(url: str, *, method: str = "GET", body: Any = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    return require_chromium()


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM: gunicorn stops its workers (a SIGKILLed master would leave them behind)."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``python -m service`` with two workers, an editor account and a rules token."""
    root = tmp_path_factory.mktemp("preview")
    models = build_models(root)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSREC_", "PROMETHEUS_"))}
    env.update(
        {
            "NEWSREC_MODELS_DIR": str(models),
            "NEWSREC_HOST": "127.0.0.1",
            "NEWSREC_PORT": str(port),
            "NEWSREC_WORKERS": "2",
            "NEWSREC_LOG_LEVEL": "WARNING",
            "NEWSREC_RULES_DB": str(root / "rules.sqlite3"),
            "NEWSREC_RULES_TOKEN": TOKEN,
            "NEWSREC_EDITOR_USER": USER,
            "NEWSREC_EDITOR_PASSWORD_HASH": generate_password_hash(PASSWORD),
            "NEWSREC_SECRET_KEY": "browser-test-secret-key-0123456789",
            # plain http on 127.0.0.1: a Secure cookie would not come back
            "NEWSREC_SECURE_COOKIES": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    log = root / "service.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"], env=env, cwd=root, stdout=out, stderr=out
        )
    running = Service(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(running.url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            running.stop()
            pytest.fail(f"the service did not become ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def page(chromium_path: Path, service: Service) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            dialogs: list[str] = []
            errors: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.dialogs = dialogs  # type: ignore[attr-defined]
            page.errors = errors  # type: ignore[attr-defined]
            yield page
        finally:
            browser.close()


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky bar belongs at the top of the image
    page.screenshot(path=str(ARTIFACTS / f"preview-{name}.png"), full_page=True)


def _login(page: Any, service: Service) -> None:
    page.goto(service.url + "/preview")
    assert "/preview/login" in page.url  # anonymous: sent to the login page
    page.fill("#username", USER)
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert "Wrong user name or password" in page.inner_text("#login-error")
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(service.url + "/preview")


def _reader_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "#list-readers ol.items > li.item", "items => items.map(i => i.dataset.id)"
    )
    return ids


def _wait_first_reader(page: Any, article_id: str) -> None:
    page.wait_for_function(
        "id => { const li = document.querySelector('#list-readers ol.items > li.item');"
        " return li && li.dataset.id === id && !document.getElementById('app')"
        ".hasAttribute('aria-busy'); }",
        arg=article_id,
    )


# --- the test ---------------------------------------------------------------------------------


def test_preview_editor_workflow_in_a_real_browser(page: Any, service: Service) -> None:
    _login(page, service)

    # "/" in the empty search that has the focus already goes to it: no slash typed
    page.focus("#search")
    page.keyboard.press("/")
    assert page.input_value("#search") == ""
    assert page.evaluate("document.activeElement.id") == "search"

    # search by a fragment of a title, with the keyboard: "/" focuses, arrows choose, Enter picks
    page.keyboard.press("Escape")
    page.click("body")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type("wind farm appro")
    page.wait_for_selector("#results li[role=option]")
    assert page.inner_text("#results li[role=option] .r-title") == "Offshore wind farm approved"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.wait_for_selector("#article:not([hidden])")
    assert page.inner_text("#a-title") == "Offshore wind farm approved"
    assert f"article={QUERY}" in page.url

    # the five lists, with the service's settings the co-view twin leads
    _wait_first_reader(page, COVIEW_TWIN)
    for list_id in ("list-readers", "list-content", "list-coview", "list-section", "list-latest"):
        assert page.locator(f"#{list_id} ol.items > li.item").count() > 0, list_id
    content_ids = page.eval_on_selector_all(
        "#list-content ol.items > li.item", "items => items.map(i => i.dataset.id)"
    )
    assert content_ids[:2] == [WIRE_COPY, CONTENT_TWIN]  # text only: no stories there
    # readers never get the wire copy: folded away as the page's own story, and said so
    assert WIRE_COPY not in _reader_ids(page)
    folded = page.inner_text(f"#list-readers .collapsed-list li[data-id='{WIRE_COPY}']")
    assert "Coastal turbines get the go-ahead" in folded and "same story as this article" in folded
    assert "Folded away: same story" in page.inner_text("#list-readers .collapsed-list h3")
    first = page.locator("#list-readers ol.items > li.item").first
    assert "30 sessions" in first.inner_text()
    twin = page.locator(f"#list-content li.item[data-id='{CONTENT_TWIN}']")
    assert "shared:" in twin.inner_text() and "offshore" in twin.inner_text()
    assert page.inner_text("#model-version")
    # since the previous model the soup recipes entered the list (read with it 20 times)
    assert page.locator("#compare .entered + ul li[data-id='c-soup']").count() == 1
    _screenshot(page, "lists")
    page.locator("#list-readers .collapsed-list").screenshot(
        path=str(ARTIFACTS / "preview-stories-folded.png")
    )

    # the XSS title is text, in the lists as in the search results; no dialog opened
    xss = page.locator(f"#list-readers li.item[data-id='{XSS_ID}'] .title")
    assert xss.inner_text() == XSS_TITLE
    assert page.locator("#list-readers script").count() == 0

    # the co-view weight to 0 (keyboard: Home) re-ranks live: the content twin leads
    page.focus("#coview-weight")
    page.keyboard.press("Home")
    _wait_first_reader(page, CONTENT_TWIN)
    assert "nothing is saved" in page.inner_text("#settings-state")
    assert page.locator(f"#list-readers li.item[data-id='{CONTENT_TWIN}'] .move.up").count() == 1
    _screenshot(page, "slider")
    # nothing was saved: the public API still leads with the co-view twin
    public = _request(f"{service.url}/v1/articles/{QUERY}/related")
    assert public["items"][0]["id"] == COVIEW_TWIN
    page.click("#reset")
    _wait_first_reader(page, COVIEW_TWIN)
    # the popularity weight to 0: the server takes the override (no error), the page says so
    page.focus("#popularity-weight")
    page.keyboard.press("Home")
    page.wait_for_function(
        "document.getElementById('popularity-weight-out').textContent === '0.00'"
    )
    assert "nothing is saved" in page.inner_text("#settings-state")
    page.wait_for_function("document.getElementById('app').getAttribute('aria-busy') !== 'true'")
    assert page.locator("#error").is_hidden()
    assert page.locator("#list-readers ol.items > li.item").count() > 0
    page.click("#reset")
    _wait_first_reader(page, COVIEW_TWIN)
    assert page.inner_text("#settings-state") == "Service settings"

    # pin the grid story at slot 1 through the page (session + CSRF)
    page.fill("#rule-target", "e-grid")
    page.fill("#rule-slot", "1")
    page.fill("#rule-note", "Explainer for the wind farm decision")
    page.click("#rule-submit")
    page.wait_for_selector("#rule-status.ok")
    _wait_first_reader(page, "e-grid")
    pinned = page.locator("#list-readers ol.items > li.item").first
    assert "pinned by rule #1" in pinned.inner_text()
    # a separate client, no session, whichever worker answers: the pin is at its slot
    for _ in range(4):
        public = _request(f"{service.url}/v1/articles/{QUERY}/related?explain=true")
        assert public["items"][0]["id"] == "e-grid"
        assert public["items"][0]["source"] == "pinned"
        assert public["items"][0]["explain"]["rule"] == {
            "id": 1,
            "kind": "pin",
            "scope": "article",
            "slot": 1,
        }
    rows = page.locator("#rules-table tbody tr")
    assert rows.count() == 1 and "Explainer for the wind farm decision" in rows.first.inner_text()
    page.wait_for_selector("#audit-table tbody tr")
    assert f"created rule #1: pin e-grid at slot 1 on {QUERY}" in page.inner_text("#audit-table")
    _screenshot(page, "pinned")

    # block the XSS article on this page: it is listed under the list as removed by the rule
    page.locator(f"#list-readers li.item[data-id='{XSS_ID}']").hover()
    page.locator(f"#list-readers li.item[data-id='{XSS_ID}'] button", has_text="Block…").click()
    assert page.input_value("#rule-target") == XSS_ID
    page.fill("#rule-note", "Test article, not for readers")
    page.click("#rule-submit")
    page.wait_for_selector(f"#list-readers .blocked-list li[data-id='{XSS_ID}']")
    blocked = page.inner_text(f"#list-readers .blocked-list li[data-id='{XSS_ID}']")
    assert XSS_TITLE in blocked and "blocked by rule #2" in blocked
    assert XSS_ID not in _reader_ids(page)

    # delete the pin (two clicks: no native dialog); the public API loses it at once
    delete = page.locator("#rules-table button[data-rule='1']")
    delete.click()
    delete.click()
    page.wait_for_selector("#rules-table tbody tr[data-rule='1']", state="detached")
    _wait_first_reader(page, COVIEW_TWIN)
    for _ in range(4):
        public = _request(f"{service.url}/v1/articles/{QUERY}/related")
        assert public["items"][0]["id"] == COVIEW_TWIN
        assert XSS_ID not in [item["id"] for item in public["items"]]
    # scripts: the token works, its absence is a 401
    listed = _request(f"{service.url}/v1/rules", token=TOKEN)
    assert [rule["id"] for rule in listed["rules"]] == [2]
    with pytest.raises(urllib.error.HTTPError) as refused:
        _request(f"{service.url}/v1/rules")
    refused.value.close()  # the error holds the answer's socket
    assert refused.value.code == 401
    _screenshot(page, "final")

    # search by the XSS fragment: the title is shown as text in the results too
    page.keyboard.press("/")
    page.keyboard.type("alert(1)")
    page.wait_for_selector("#results li[role=option]")
    assert page.inner_text("#results li[role=option] .r-title") == XSS_TITLE
    _screenshot(page, "search")
    # one view is "1 view"
    page.fill("#search", "apple pie")
    page.wait_for_selector("#results li[role=option] >> text=Apple pie contest judged")
    assert page.inner_text("#results li[role=option] .r-views") == "1 view/7d"
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
