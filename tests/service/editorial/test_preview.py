"""The editor preview without a browser: login, sessions, CSRF, the page and its data calls.

Lists are the hand-checkable catalogue of ``conftest.py`` (see its docstring for the hybrid
scores of ``n1``): readers get ``n2 n3 s2 s1 n4`` then the fallback ``s3``.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import check_password_hash, generate_password_hash

from recommender.bundle import NEXT_ARRAY, publish
from service.settings import Settings, SettingsError
from tests.conftest import IDS, ROW, VERSION_1, VERSION_2, VIEWS, body, bundle_contents

USER = "editor"
PASSWORD = "s3cret-passphrase"
#: A cheap hash keeps the tests fast; production hashes come from `hash-password` (scrypt).
HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
SECRET = "test-secret-key-0123456789abcdef"
N1_READERS = ["n2", "n3", "s2", "s1", "n4", "s3"]


@pytest.fixture
def editor_app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(
        rules_db=tmp_path / "rules.sqlite3",
        editor_user=USER,
        editor_password_hash=HASH,
        secret_key=SECRET,
    )


def login_form(client: FlaskClient) -> str:
    page = client.get("/preview/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def log_in(client: FlaskClient, user: str = USER, password: str = PASSWORD) -> Any:
    token = login_form(client)
    return client.post(
        "/preview/login",
        data={"username": user, "password": password, "csrf_token": token, "next": "/preview"},
    )


def page_csrf(client: FlaskClient) -> str:
    page = client.get("/preview").get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert found is not None
    return found.group(1)


@pytest.fixture
def editor(editor_app: Flask) -> FlaskClient:
    client = editor_app.test_client()
    assert log_in(client).status_code == 302
    return client


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# --- login and sessions -------------------------------------------------------------------------


def test_preview_page_sends_anonymous_visitors_to_login(editor_app: Flask) -> None:
    client = editor_app.test_client()
    response = client.get("/preview?article=n1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/preview/login?next=/preview%3Farticle%3Dn1"
    login = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/preview?article=n1"' in login
    for url in ("/preview/api/search?q=news", "/preview/api/articles/n1"):
        response = client.get(url)
        assert response.status_code == 401
        assert body(response)["error"]["code"] == "unauthorized"


def test_preview_login_with_wrong_password_is_a_401_page(editor_app: Flask) -> None:
    client = editor_app.test_client()
    for user, password in ((USER, "wrong"), ("someone", PASSWORD), ("", "")):
        response = log_in(client, user, password)
        assert response.status_code == 401
        assert "Wrong user name or password." in response.get_data(as_text=True)
    assert client.get("/preview").status_code == 302


def test_preview_login_starts_a_secure_session(editor_app: Flask) -> None:
    client = editor_app.test_client()
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/preview"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("newsrec_editor=")
    for flag in ("HttpOnly", "SameSite=Lax", "Secure"):
        assert flag in cookie
    page = client.get("/preview")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert USER in text and VERSION_1 in text


def test_preview_login_form_needs_its_csrf_token(editor_app: Flask) -> None:
    client = editor_app.test_client()
    login_form(client)
    response = client.post(
        "/preview/login", data={"username": USER, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/preview").status_code == 302


def test_preview_failed_logins_are_rate_limited(editor_app: Flask) -> None:
    client = editor_app.test_client()
    for _ in range(10):
        assert log_in(client, USER, "wrong").status_code == 401
    response = log_in(client)  # even the right password waits now
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed logins" in response.get_data(as_text=True)


def test_preview_login_redirects_only_into_the_preview(editor_app: Flask) -> None:
    client = editor_app.test_client()
    token = login_form(client)
    response = client.post(
        "/preview/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token, "next": "//evil.test"},
    )
    assert response.headers["Location"] == "/preview"


def test_preview_logout_needs_the_csrf_token(editor: FlaskClient) -> None:
    editor.post("/preview/logout", data={"csrf_token": "forged"})
    assert editor.get("/preview").status_code == 200
    editor.post("/preview/logout", data={"csrf_token": page_csrf(editor)})
    assert editor.get("/preview").status_code == 302


def test_preview_session_ends_when_the_account_changes(
    make_app: Callable[..., Flask], editor: FlaskClient, tmp_path: Path
) -> None:
    other = make_app(
        rules_db=tmp_path / "rules.sqlite3",
        editor_user="someone-else",
        editor_password_hash=HASH,
        secret_key=SECRET,
    ).test_client()
    cookie = editor.get_cookie("newsrec_editor")
    assert cookie is not None
    other.set_cookie("newsrec_editor", cookie.value)
    assert other.get("/preview").status_code == 302


def test_preview_demo_login_only_without_configured_account(
    make_app: Callable[..., Flask], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    demo = make_app(rules_db=tmp_path / "r.sqlite3", demo=True).test_client()
    assert "DEMO MODE" in caplog.text
    assert "Demo mode" in demo.get("/preview/login").get_data(as_text=True)
    response = log_in(demo, "demo", "demo")
    assert response.status_code == 302
    assert "Secure" not in response.headers["Set-Cookie"]  # demo runs on plain http
    configured = make_app(
        rules_db=tmp_path / "r.sqlite3", demo=True, editor_user=USER, editor_password_hash=HASH
    ).test_client()
    assert log_in(configured, "demo", "demo").status_code == 401
    closed = make_app(rules_db=tmp_path / "r.sqlite3").test_client()
    assert "not configured" in closed.get("/preview/login").get_data(as_text=True)
    assert log_in(closed, "demo", "demo").status_code == 401


def test_preview_pages_forbid_framing_caching_and_foreign_scripts(editor: FlaskClient) -> None:
    for url in ("/preview", "/preview/login", "/preview/api/articles/n1"):
        response = editor.get(url)
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["X-Frame-Options"] == "DENY"
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    script = editor.get("/static/preview.js")
    assert script.status_code == 200
    script.close()


def test_preview_public_api_stays_open_and_cookie_free(editor_app: Flask) -> None:
    client = editor_app.test_client()
    response = client.get("/v1/articles/n1/related")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and "Vary" not in response.headers


# --- CSRF on rule changes ------------------------------------------------------------------------


def test_preview_rule_changes_through_a_session_need_the_csrf_header(editor: FlaskClient) -> None:
    rule = {"kind": "pin", "target_id": "s4", "article_id": "n1", "slot": 1, "note": "n"}
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        response = editor.post("/v1/rules", json=rule, headers=headers)
        assert response.status_code == 403
        assert body(response)["error"]["code"] == "csrf_failed"
    assert body(editor.get("/v1/rules"))["rules"] == []  # reading needs no token
    token = page_csrf(editor)
    created = editor.post("/v1/rules", json=rule, headers={"X-CSRF-Token": token})
    assert created.status_code == 201
    assert body(created)["rule"]["author"] == USER  # the session names the author
    forged = editor.post(
        "/v1/rules", json={**rule, "author": "mallory"}, headers={"X-CSRF-Token": token}
    )
    assert forged.status_code == 400 and body(forged)["error"]["field"] == "author"
    assert editor.delete("/v1/rules/1").status_code == 403
    deleted = editor.delete("/v1/rules/1", headers={"X-CSRF-Token": token})
    assert deleted.status_code == 200
    entries = body(editor.get("/v1/rules/audit"))["entries"]
    assert [(e["action"], e["author"]) for e in entries] == [("delete", USER), ("create", USER)]


# --- search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("sports 3", "s3"),  # words of the title "[v1] Sports 3"
        ("SPORTS", "s1"),  # case does not matter; newest first: s1 is 0 days old
        ("n4", "n4"),  # an id
        ("https://news.example/n3", "n3"),  # a pasted URL
        ("https://news.example/n3/?utm_source=x#top", "n3"),
        ("http://other.example/n2", "n2"),  # the path is enough
    ],
)
def test_preview_search_finds_articles(editor: FlaskClient, query: str, first: str) -> None:
    response = editor.get("/preview/api/search", query_string={"q": query})
    assert response.status_code == 200
    assert body(response)["items"][0]["id"] == first


def test_preview_search_results_and_limits(editor: FlaskClient) -> None:
    answer = body(editor.get("/preview/api/search?q=news"))
    assert ids(answer["items"]) == ["n1", "n2", "n5", "n3", "n4"]  # newest first, drafts too
    assert answer["total"] == 5
    assert answer["items"][2]["status"] == "draft"
    assert body(editor.get("/preview/api/search?q=news&limit=2"))["total"] == 5
    assert body(editor.get("/preview/api/search?q=weather"))["items"] == []
    assert body(editor.get("/preview/api/search?q=+"))["items"] == []
    response = editor.get("/preview/api/search?q=x&limit=0")
    assert response.status_code == 400 and body(response)["error"]["parameter"] == "limit"


# --- the lists ---------------------------------------------------------------------------------


def test_preview_lists_of_an_article(editor: FlaskClient) -> None:
    answer = body(editor.get("/preview/api/articles/n1"))
    assert answer["article"]["id"] == "n1" and answer["model"]["version"] == VERSION_1
    lists = answer["lists"]
    readers = lists["readers"]["items"]
    assert ids(readers) == N1_READERS
    assert readers[0]["score"] == 0.457143 and readers[0]["source"] == "related"
    assert readers[-1]["source"] == "popular"
    assert lists["readers"]["baseline"] is None  # the service's own settings
    # content only: raw cosine, drafts left out (n5), no fallback
    assert ids(lists["content"]["items"]) == ["n2", "n3", "s1"]
    assert [i["score"] for i in lists["content"]["items"]] == [0.8, 0.6, 0.2]
    assert ids(lists["coview"]["items"]) == ["n3", "s2", "n4"]
    section = lists["section"]
    assert section["section"] == "news" and section["window"] == "7d"
    assert ids(section["items"]) == ["n1", "n4", "n2", "n3"]
    assert section["items"][0]["is_query"] and section["items"][0]["views"] == 100
    # the page's "New articles": the section's newest, the article itself left out
    latest = lists["latest"]
    assert latest["section"] == "news"
    assert ids(latest["items"]) == ["n2", "n3", "n4"]
    assert [i["rank"] for i in latest["items"]] == [1, 2, 3]


def test_preview_item_says_how_many_sessions_read_it_next(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """A bundle trained with ``coview_next_weight`` keeps, per co-view neighbour, the sessions
    that read it next; the editor sees them beside the sessions that read both."""
    contents = bundle_contents("v1")
    following = np.zeros_like(contents.arrays["coview_counts"])
    following[ROW["n1"]] = [5, 0, 2]  # n3 read next in 5 of its 12 sessions, s2 in none
    contents.arrays[NEXT_ARRAY] = following
    publish(contents, tmp_path / "models", version=VERSION_1, keep=10)
    client = make_app(
        models_dir=tmp_path / "models",
        rules_db=tmp_path / "rules.sqlite3",
        editor_user=USER,
        editor_password_hash=HASH,
        secret_key=SECRET,
    ).test_client()
    assert log_in(client).status_code == 302
    readers = body(client.get("/preview/api/articles/n1"))["lists"]["readers"]["items"]
    by_id = {item["id"]: item["coview"] for item in readers}
    assert by_id["n3"] == {"score": 0.8, "sessions": 12, "next_sessions": 5}
    assert by_id["s2"] == {"score": 0.4, "sessions": 6, "next_sessions": 0}
    assert by_id["s1"] == {"score": None, "sessions": None, "next_sessions": None}


def test_preview_item_score_parts(editor: FlaskClient) -> None:
    readers = body(editor.get("/preview/api/articles/n1"))["lists"]["readers"]["items"]
    n3 = readers[1]
    assert n3["content"]["cosine"] == 0.6  # the content neighbour's score
    # read together in 12 sessions; this bundle was trained without "read next"
    assert n3["coview"] == {"score": 0.8, "sessions": 12, "next_sessions": None}
    # 3 days old, half-life 3, weight 0.9: 0.1 + 0.9 * 0.5
    assert n3["freshness"] == 0.55 and n3["age_days"] == 3.0
    assert n3["category"] == "news" and n3["rule"] is None and n3["blocked_by"] is None
    s3 = readers[5]  # a fallback: no neighbour of n1
    assert s3["coview"] == {"score": None, "sessions": None, "next_sessions": None}
    assert s3["content"]["terms"] == []  # this hand-made bundle has no vectorizer


def test_preview_items_show_the_popularity_prior_readers_get(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app(
        rules_db=tmp_path / "rules.sqlite3",
        editor_user=USER,
        editor_password_hash=HASH,
        secret_key=SECRET,
        popularity_weight=0.5,
    )
    client = app.test_client()
    assert log_in(client).status_code == 302
    readers = body(client.get("/preview/api/articles/n1"))["lists"]["readers"]["items"]
    served = body(client.get("/v1/articles/n1/related?explain=true"))["items"]
    assert ids(readers) == [item["id"] for item in served]
    for shown, item in zip(readers, served, strict=True):
        assert shown["popularity"] == item["explain"]["popularity"]
    # no view counted live: each factor is (1 + the bundle's last-day views) ** 0.5
    last_day = {IDS[row]: views[0] for row, views in enumerate(VIEWS)}
    related = [r for r in readers if r["source"] == "related"]
    assert related
    for r in related:
        assert r["popularity"] == pytest.approx((1 + last_day[r["id"]]) ** 0.5, abs=1e-5)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # co-view only: n3 1.0 * 0.5, s2 0.5 * 0.794, n4 0.25 * 0.099, then n2 and s1 at 0
        ("content_weight=0", ["n3", "s2", "n4", "n2", "s1", "s3"]),
        # content only: n2 0.8, n3 0.6 * 0.5, s1 0.2; n4 and s2 at 0 (by row)
        ("coview_weight=0", ["n2", "n3", "s1", "n4", "s2", "s3"]),
        # no freshness: n3 (0.6 + 0.75) / 1.75 overtakes n2 0.8 / 1.75
        ("half_life_days=off", ["n3", "n2", "s2", "s1", "n4", "s3"]),
        # the freshness weight's slider at 0: the same as no freshness
        ("freshness_weight=0", ["n3", "n2", "s2", "s1", "n4", "s3"]),
        # popularity (no live view: the bundle's last day): times (1 + views) ** 0.5, so
        # s1 0.114 * sqrt(71) = 0.963 passes s2 0.174 * sqrt(4) = 0.349, not n3 0.424 * sqrt(6)
        # = 1.039 (freshness 0.55 at weight 0.9: without the floor it was 0.945)
        ("popularity_weight=0.5", ["n2", "n3", "s1", "s2", "n4", "s3"]),
    ],
)
def test_preview_overrides_rerank_without_changing_the_service(
    editor: FlaskClient, query: str, expected: list[str]
) -> None:
    answer = body(editor.get(f"/preview/api/articles/n1?{query}"))
    assert ids(answer["lists"]["readers"]["items"]) == expected
    assert answer["params"]["changed"] is True
    assert ids(answer["lists"]["readers"]["baseline"]) == N1_READERS
    assert ids(body(editor.get("/v1/articles/n1/related"))["items"]) == N1_READERS


def test_preview_overrides_are_parsed_strictly(editor: FlaskClient) -> None:
    for query, parameter in (
        ("content_weight=abc", "content_weight"),
        ("coview_weight=11", "coview_weight"),
        ("popularity_weight=2.5", "popularity_weight"),
        ("half_life_days=0", "half_life_days"),
        ("half_life_days=-1", "half_life_days"),
        ("freshness_weight=0.95", "freshness_weight"),  # at most 0.9: a floor of 0.1
        ("n=0", "n"),
        ("boost=1", "boost"),
    ):
        response = editor.get(f"/preview/api/articles/n1?{query}")
        assert response.status_code == 400, query
        assert body(response)["error"]["parameter"] == parameter
    assert editor.get("/preview/api/articles/nope").status_code == 404
    # n5 was read in no session: with no content weight nothing would rank it
    response = editor.get("/preview/api/articles/n5?content_weight=0")
    assert response.status_code == 400
    assert body(response)["error"]["parameter"] == "content_weight"
    response = editor.get("/preview/api/articles/n1?content_weight=0&coview_weight=0")
    assert response.status_code == 400


def test_preview_shows_which_rule_placed_or_removed_an_item(editor: FlaskClient) -> None:
    token = page_csrf(editor)
    for rule in (
        {"kind": "pin", "target_id": "s4", "article_id": "n1", "slot": 1, "note": "promo"},
        {"kind": "block", "target_id": "n3", "article_id": "n1", "note": "legal"},
    ):
        assert (
            editor.post("/v1/rules", json=rule, headers={"X-CSRF-Token": token}).status_code == 201
        )
    answer = body(editor.get("/preview/api/articles/n1"))
    readers = answer["lists"]["readers"]
    assert ids(readers["items"]) == ["s4", "n2", "s2", "s1", "n4", "s3"]
    assert readers["items"][0]["rule"]["id"] == 1
    assert readers["items"][0]["rule"]["note"] == "promo"  # editors see the note
    assert readers["items"][0]["source"] == "pinned"
    (removed,) = readers["blocked"]
    assert removed["id"] == "n3" and removed["blocked_by"]["note"] == "legal"
    # the diagnostic lists keep the blocked article, marked
    content = answer["lists"]["content"]["items"]
    assert [i["blocked_by"]["id"] if i["blocked_by"] else None for i in content] == [None, 2, None]
    assert [r["id"] for r in answer["rules"]] == [1, 2]
    assert answer["rules_version"]


def test_preview_compares_with_the_previous_bundle(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    previous = bundle_contents("v1")
    # in the previous bundle n1's weakest content neighbour was s4 instead of s1
    row = previous.article_ids.index
    neighbors = previous.arrays["content_neighbors"]
    neighbors[row("n1"), list(neighbors[row("n1")]).index(row("s1"))] = row("s4")
    publish(previous, models, version=VERSION_1, keep=10)
    publish(bundle_contents("v2"), models, version=VERSION_2, keep=10)
    app = make_app(
        models_dir=models, demo=True, rules_db=tmp_path / "rules.sqlite3", secret_key=SECRET
    )
    client = app.test_client()
    log_in(client, "demo", "demo")
    compared = body(client.get("/preview/api/articles/n1"))["previous"]
    assert compared["status"] == "ok" and compared["version"] == VERSION_1
    # before: n2 n3 s2 n4 s4 (40 days old) + s1 (fallback); now: n2 n3 s2 s1 n4 + s3
    assert [(i["id"], i["rank"]) for i in compared["entered"]] == [("s3", 6)]
    assert [(i["id"], i["rank"]) for i in compared["left"]] == [("s4", 5)]
    assert compared["kept"] == 5
    assert body(client.get("/preview/api/articles/n1?compare=0"))["previous"] is None


def test_preview_without_previous_bundle_says_so(editor: FlaskClient) -> None:
    compared = body(editor.get("/preview/api/articles/n1"))["previous"]
    assert compared["status"] == "none"


def test_preview_page_escapes_what_it_renders(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app(
        rules_db=tmp_path / "rules.sqlite3",
        editor_user="<b>ed</b>",
        editor_password_hash=HASH,
        secret_key=SECRET,
    )
    client = app.test_client()
    log_in(client, "<b>ed</b>")
    text = client.get("/preview").get_data(as_text=True)
    assert "&lt;b&gt;ed&lt;/b&gt;" in text and "<b>ed</b>" not in text


# --- settings and the hash command ----------------------------------------------------------------


def test_preview_settings_need_user_and_hash_together() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"NEWSREC_EDITOR_USER": "ed"})
    assert raised.value.variable == "NEWSREC_EDITOR_PASSWORD_HASH"
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"NEWSREC_EDITOR_PASSWORD_HASH": HASH})
    assert raised.value.variable == "NEWSREC_EDITOR_USER"


def test_preview_settings_never_echo_secrets() -> None:
    for name, value in (
        ("NEWSREC_EDITOR_PASSWORD_HASH", "plaintext-password"),
        ("NEWSREC_SECRET_KEY", "short"),
        ("NEWSREC_RULES_TOKEN", "short"),
    ):
        with pytest.raises(SettingsError) as raised:
            Settings.from_env({name: value, "NEWSREC_EDITOR_USER": "ed"})
        assert raised.value.variable == name and value not in str(raised.value)
    with pytest.raises(SettingsError, match="NEWSREC_RULES_DB"):
        Settings.from_env({"NEWSREC_RULES_DB": "postgresql://db/rules"})
    settings = Settings.from_env(
        {
            "NEWSREC_EDITOR_USER": "ed",
            "NEWSREC_EDITOR_PASSWORD_HASH": HASH,
            "NEWSREC_SECRET_KEY": SECRET,
        }
    )
    assert HASH not in repr(settings) and SECRET not in repr(settings)
    assert settings.secure_cookies is True and settings.rules_db == Path("data/rules.sqlite3")


def test_preview_hash_password_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.editorial.auth", "hash-password"],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        check=True,
    )
    made = done.stdout.strip()
    assert check_password_hash(made, "a long enough password")
    Settings.from_env({"NEWSREC_EDITOR_USER": "ed", "NEWSREC_EDITOR_PASSWORD_HASH": made})


def test_preview_hash_password_refuses_short_passwords(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.editorial.auth import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["hash-password"]) == 2
    assert "at least 8" in capsys.readouterr().err


def test_preview_and_api_say_the_same_content_and_coview_numbers(editor: FlaskClient) -> None:
    # s1's content list: s2 0.7, s3 0.4, n1 0.2; the hybrid blends each signal scaled to the
    # list's best (s3: 0.4 / 0.7), and says the raw cosine too, as the preview does
    readers = body(editor.get("/preview/api/articles/s1"))["lists"]["readers"]["items"]
    api = body(editor.get("/v1/articles/s1/related?explain=true&n=10"))["items"]
    explained = {item["id"]: item["explain"] for item in api}
    shown = {item["id"]: item for item in readers}
    assert explained["s3"]["content"] == pytest.approx(0.4 / 0.7, abs=1e-6)
    assert explained["s3"]["content_cosine"] == pytest.approx(0.4)
    for article_id in set(explained) & set(shown):
        preview, parts = shown[article_id], explained[article_id]
        if preview["content"]["cosine"] is not None and parts["content_cosine"] is not None:
            assert parts["content_cosine"] == pytest.approx(preview["content"]["cosine"])
        if preview["coview"]["score"] is not None and parts["coview_score"] is not None:
            assert parts["coview_score"] == pytest.approx(preview["coview"]["score"])
    checked = [a for a in shown if a in explained and shown[a]["content"]["cosine"] is not None]
    assert len(checked) >= 2


def test_preview_says_where_each_served_setting_comes_from(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    # a bundle trained with a config file: the preview starts from its settings and says so
    contents = bundle_contents("tuned")
    contents.manifest["blend"] = {"coview_weight": 3.0, "half_life_days": None}
    contents.manifest["settings_origin"] = {"coview_weight": "config", "half_life_days": "config"}
    models = tmp_path / "models"
    publish(contents, models, version="20261101T130000Z-tuned")
    app = make_app(
        models_dir=models,
        rules_db=tmp_path / "rules.sqlite3",
        editor_user=USER,
        editor_password_hash=HASH,
        secret_key=SECRET,
    )
    client = app.test_client()
    assert log_in(client).status_code == 302
    answer = body(client.get("/preview/api/articles/n1"))
    assert answer["params"]["coview_weight"] == 3.0 and answer["params"]["half_life_days"] is None
    sources = answer["params"]["sources"]
    assert sources["coview_weight"] == "bundle" and sources["half_life_days"] == "bundle"
    # the test app sets the popularity weight in code (make_app): an explicit setting
    assert sources["popularity_weight"] == "environment"
    assert sources["content_weight"] == "default"
    assert answer["model"]["blend"]["coview_weight"]["trained_with"] == "config"
    page = client.get("/preview").get_data(as_text=True)
    assert 'data-setting="coview_weight" data-source="bundle"' in page
    assert 'data-coview-weight="3.0"' in page and 'data-half-life="off"' in page
