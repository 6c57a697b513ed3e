"""Editorial rules: the stores, what rules do to lists, and the ``/v1/rules`` API.

The store's behaviour tests run on both backends (``backend``: the SQLite file and, marked
``postgres``, the machine's PostgreSQL); what rules do to lists runs on SQLite only (the
backends hand the ranking the same :class:`~service.editorial.rules.ActiveRules`). PostgreSQL's own
tests (hosts, servers, outages, forks) are in ``test_postgres_store.py``.

Lists are the hand-checkable catalogue of ``conftest.py``. With the service's settings the
related list of ``n1`` (n = 6) is ``n2 n3 s2 s1 n4`` from the ranking, then ``s3``, the first
fallback not already listed (news by 7-day views: n1 n4 n2 n3, all taken; then the site: s1 n1
n4 s3 ...). Asked for 7 it ends with ``s4`` (site fallback after s3, n2, n3, s2).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.errors import UnknownArticleError
from service.editorial.postgres_store import PostgresRulesStore
from service.editorial.rules import NewRule, RuleError, RulesBackend, parse_rule
from service.editorial.sqlite_store import RulesStore
from tests.conftest import NOW, body

T0 = NOW.timestamp()
HOUR = 3600
TOKEN = "rules-token-for-tests-0123"
N1_DEFAULT = ["n2", "n3", "s2", "s1", "n4", "s3"]
MOST_VIEWED_7D = ["s1", "n1", "n4", "s3", "n2", "n3"]


class FakeClock:
    """Unix seconds that move only when a test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "rules" / "rules.sqlite3"


@pytest.fixture
def store(db: Path, clock: FakeClock) -> RulesStore:
    return RulesStore(db, clock=clock)


class Backend:
    """Stores on one rules database, as the workers, hosts or restarts of a service open them;
    every store it opened is closed after the test.

    ``within`` is how long a change may take to reach another store: SQLite's workers see it
    at once (0: checked once), PostgreSQL's listeners within milliseconds (NOTIFY).
    """

    def __init__(
        self, settings: dict[str, Any], opener: Callable[[FakeClock], RulesBackend], within: float
    ) -> None:
        self.settings = settings
        self.opener = opener
        self.within = within
        self.opened: list[RulesBackend] = []

    def open(self, clock: FakeClock) -> RulesBackend:
        return self.adopt(self.opener(clock))

    def adopt(self, store: RulesBackend) -> RulesBackend:
        self.opened.append(store)
        return store

    def settles(self, check: Callable[[], bool]) -> bool:
        """Whether ``check()`` holds, now or within ``within`` seconds."""
        deadline = time.monotonic() + self.within
        while not check():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, db: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        found = Backend({"rules_db": db}, lambda clock: RulesStore(db, clock=clock), 0.0)
    else:
        url: str = request.getfixturevalue("postgres_rules_url")
        found = Backend({"rules_url": url}, lambda clock: PostgresRulesStore(url, clock=clock), 5.0)
    yield found
    found.close()


@pytest.fixture
def rules(backend: Backend, clock: FakeClock) -> RulesBackend:
    """A store of either backend."""
    return backend.open(clock)


@pytest.fixture
def backend_app(make_app: Callable[..., Flask], backend: Backend, clock: FakeClock) -> Flask:
    """An app whose rules live in either backend."""
    app = make_app(rules_token=TOKEN, **backend.settings)
    backend.adopt(app.extensions["newsrec"].rules).clock = clock
    return app


def pin(target: str, slot: int, *, article: str | None = "n1", **extra: Any) -> NewRule:
    return NewRule(
        kind="pin", target_id=target, slot=slot, article_id=article, author="ann", note="x", **extra
    )


def block(target: str, *, article: str | None = "n1", **extra: Any) -> NewRule:
    return NewRule(
        kind="block", target_id=target, article_id=article, author="bob", note="y", **extra
    )


@pytest.fixture
def rules_app(make_app: Callable[..., Flask], db: Path, clock: FakeClock) -> Flask:
    app = make_app(rules_db=db, rules_token=TOKEN)
    app.extensions["newsrec"].rules.clock = clock
    return app


@pytest.fixture
def client(rules_app: Flask) -> FlaskClient:
    return rules_app.test_client()


def related_ids(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get(f"/v1/articles/n1/related{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in body(response)["items"]]


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the store ----------------------------------------------------------------------------------


def test_rules_store_creates_nothing_until_the_first_rule(store: RulesStore, db: Path) -> None:
    assert store.active().key == ""
    assert store.audit() == []
    assert not db.exists()
    store.create(pin("s4", 2))
    assert db.exists() and store.journal_mode() == "wal"


def test_rules_survive_a_restart_of_the_service(backend: Backend, clock: FakeClock) -> None:
    first = backend.open(clock)
    made = first.create(pin("s4", 2))
    first.create(block("s1", article=None))
    first.close()
    again = backend.open(clock)  # a new process on the same database
    rules = again.book().rules
    assert [r.id for r in rules] == [made.id, made.id + 1]
    assert rules[0] == made
    assert rules[1].scope == "everywhere" and rules[1].kind == "block"


def test_rules_change_is_seen_by_another_worker_at_once(backend: Backend, clock: FakeClock) -> None:
    reader = backend.open(clock)
    writer = backend.open(clock)
    reader.book()  # a worker that already answered requests
    writer.create(pin("s4", 2))
    assert backend.settles(lambda: len(reader.book().rules) == 1)
    before = reader.active().key
    created = writer.create(pin("s3", 1))
    assert backend.settles(lambda: [r.id for r in reader.book().rules] == [1, created.id])
    writer.delete(1, "carl")
    assert backend.settles(lambda: [r.id for r in reader.book().rules] == [created.id])
    assert reader.active().key != before


def test_rules_store_serves_every_thread_of_a_worker(rules: RulesBackend) -> None:
    rules.create(pin("s4", 2))
    assert len(rules.book().rules) == 1  # opens the read connection in this thread
    found: list[int] = []
    threads = [
        threading.Thread(target=lambda: found.append(len(rules.book().rules))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [1, 1, 1, 1]


def test_rules_ids_are_never_reused(rules: RulesBackend) -> None:
    first = rules.create(pin("s4", 2))
    rules.delete(first.id, "ann")
    assert rules.create(pin("s4", 2)).id == first.id + 1


def test_rules_audit_log_records_each_change(rules: RulesBackend, clock: FakeClock) -> None:
    assert rules.audit() == []
    made = rules.create(pin("s4", 2))
    clock.now += 60
    rules.delete(made.id, "carl")
    delete, create = rules.audit()
    assert (create.action, create.author, create.rule_id, create.before) == (
        "create",
        "ann",
        made.id,
        None,
    )
    assert create.after is not None and create.after["target_id"] == "s4"
    assert create.after["slot"] == 2 and create.at == int(T0)
    assert (delete.action, delete.author, delete.after) == ("delete", "carl", None)
    assert delete.before == create.after and delete.at == int(T0) + 60
    assert [e.id for e in rules.audit(limit=1)] == [delete.id]


def test_rules_delete_unknown_rule_raises(rules: RulesBackend) -> None:
    from service.editorial.rules import UnknownRuleError

    with pytest.raises(UnknownRuleError):
        rules.delete(99, "ann")
    made = rules.create(pin("s4", 2))
    with pytest.raises(UnknownRuleError):
        rules.delete(made.id + 1, "ann")
    assert [r.id for r in rules.book().rules] == [made.id]  # nothing changed
    assert [e.action for e in rules.audit()] == ["create"]


def test_rules_outside_their_period_do_not_apply(rules: RulesBackend, clock: FakeClock) -> None:
    rules.create(pin("s4", 1, starts_at=int(T0) + HOUR, ends_at=int(T0) + 2 * HOUR))
    keys = []
    for offset, applies in ((0, False), (HOUR, True), (2 * HOUR - 1, True), (2 * HOUR, False)):
        clock.now = T0 + offset
        active = rules.active()
        assert bool(active.for_page("n1", "news")) is applies, offset
        assert active.book.rules[0].state(clock.now) == (
            "scheduled" if offset == 0 else "active" if applies else "expired"
        )
        keys.append(active.key)
    # the cache key part moves at each boundary, so cached answers follow the clock
    assert keys[0] != keys[1] == keys[2] != keys[3]


def test_rules_unreadable_database_keeps_the_last_rules(store: RulesStore, db: Path) -> None:
    store.create(pin("s4", 2))
    assert len(store.book().rules) == 1
    store.close()
    db.with_name(db.name + "-wal").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    assert len(store.book().rules) == 1  # logged, not raised


# --- validation ---------------------------------------------------------------------------------


BLOCK = {"kind": "block", "target_id": "s4", "note": "n", "author": "a"}
PIN = {**BLOCK, "kind": "pin", "slot": 1}
DROP = object()


@pytest.mark.parametrize(
    ("base", "changes", "field"),
    [
        (BLOCK, {"size": 1}, "size"),
        (BLOCK, {"kind": "boost"}, "kind"),
        (BLOCK, {"target_id": DROP}, "target_id"),
        (BLOCK, {"target_id": "s\x00"}, "target_id"),
        (BLOCK, {"target_id": "n1", "article_id": "n1"}, "target_id"),
        (BLOCK, {"article_id": "n1", "section": "news"}, "section"),
        (BLOCK, {"slot": 1}, "slot"),
        (PIN, {"slot": DROP}, "slot"),
        (PIN, {"slot": 0}, "slot"),
        (PIN, {"slot": True}, "slot"),
        (PIN, {"slot": "2"}, "slot"),
        (PIN, {"slot": 51}, "slot"),
        (BLOCK, {"note": DROP}, "note"),
        (BLOCK, {"note": " "}, "note"),
        (BLOCK, {"author": DROP}, "author"),
        (BLOCK, {"starts_at": "tomorrow"}, "starts_at"),
        (BLOCK, {"starts_at": "2026-11-02T10:00:00"}, "starts_at"),  # no time zone
        (BLOCK, {"ends_at": 5}, "ends_at"),
        (BLOCK, {"ends_at": "2026-10-01T00:00:00Z"}, "ends_at"),  # in the past
        (BLOCK, {"starts_at": "2026-11-05T00:00Z", "ends_at": "2026-11-04T00:00Z"}, "ends_at"),
    ],
)
def test_rules_validation_names_the_field(
    base: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    data = {k: v for k, v in {**base, **changes}.items() if v is not DROP}
    with pytest.raises(RuleError) as raised:
        parse_rule(data, author=None, max_slot=50, now=T0)
    assert raised.value.field == field


def test_rules_validation_wants_an_object() -> None:
    with pytest.raises(RuleError) as raised:
        parse_rule([BLOCK], author=None, max_slot=50, now=T0)
    assert raised.value.field == "body"


def test_rules_parse_accepts_dates_with_zones_and_bare_dates() -> None:
    rule = parse_rule(
        {
            "kind": "pin",
            "target_id": " s4 ",
            "section": "news",
            "slot": 3,
            "starts_at": "2026-11-02",
            "ends_at": "2026-11-03T01:00:00+01:00",
            "note": "derby week",
        },
        author="ann",
        max_slot=50,
        now=T0,
    )
    assert (rule.target_id, rule.scope, rule.slot, rule.author) == ("s4", "section", 3, "ann")
    assert rule.starts_at == int(T0) + 12 * HOUR  # 2026-11-02T00:00Z
    assert rule.ends_at == int(T0) + 36 * HOUR  # 2026-11-03T00:00Z


# --- what rules do to the public lists ----------------------------------------------------------


def test_rules_pin_puts_the_article_at_its_slot(client: FlaskClient, store: RulesStore) -> None:
    assert related_ids(client) == N1_DEFAULT
    store.create(pin("s4", 2))
    assert related_ids(client) == ["n2", "s4", "n3", "s2", "s1", "n4"]
    answer = body(client.get("/v1/articles/n1/related?explain=true"))
    item = answer["items"][1]
    assert item["source"] == "pinned"
    # s4 is no related candidate of n1: its parts are empty, the rule is named
    assert item["explain"]["rule"] == {"id": 1, "kind": "pin", "scope": "article", "slot": 2}
    assert "rule" not in answer["items"][0]["explain"]


def test_rules_pin_of_a_ranked_article_moves_it(client: FlaskClient, store: RulesStore) -> None:
    store.create(pin("n4", 1))
    answer = body(client.get("/v1/articles/n1/related?explain=1"))
    assert [i["id"] for i in answer["items"]] == ["n4", "n2", "n3", "s2", "s1", "s3"]
    # the pinned item keeps its own score parts
    assert answer["items"][0]["explain"]["coview_count"] == 3


def test_rules_block_removes_the_article_and_says_so(
    client: FlaskClient, store: RulesStore
) -> None:
    store.create(block("n3"))
    assert related_ids(client) == ["n2", "s2", "s1", "n4", "s3", "s4"]
    answer = body(client.get("/v1/articles/n1/related?explain=1"))
    assert answer["blocked"] == [
        {"id": "n3", "rule": {"id": 1, "kind": "block", "scope": "article", "slot": None}}
    ]
    assert "blocked" not in body(client.get("/v1/articles/n1/related"))
    assert "n3" in [i["id"] for i in body(client.get("/v1/articles/n2/related"))["items"]]


def test_rules_block_everywhere_reaches_every_list(client: FlaskClient, store: RulesStore) -> None:
    store.create(block("s1", article=None))
    assert related_ids(client) == ["n2", "n3", "s2", "n4", "s3", "s4"]
    assert "s1" not in [i["id"] for i in body(client.get("/v1/articles/s2/related"))["items"]]
    viewed = body(client.get("/v1/most-viewed?window=7d"))["items"]
    assert [i["id"] for i in viewed] == [*MOST_VIEWED_7D[1:], "s2"]


def test_rules_section_pin_applies_to_every_article_of_the_section(
    client: FlaskClient, store: RulesStore
) -> None:
    store.create(pin("s4", 1, article=None, section="news"))
    assert related_ids(client)[0] == "s4"
    assert body(client.get("/v1/articles/n2/related"))["items"][0]["id"] == "s4"
    assert body(client.get("/v1/articles/s1/related"))["items"][0]["id"] != "s4"


def test_rules_precedence_article_pin_then_section_pin_and_block_wins(
    client: FlaskClient, store: RulesStore
) -> None:
    store.create(pin("s4", 1, article=None, section="news"))
    store.create(pin("s3", 1))  # more specific: takes slot 1, the section pin moves to 2
    assert related_ids(client)[:3] == ["s3", "s4", "n2"]
    store.create(block("s3"))  # a block beats a pin of the same article
    assert related_ids(client)[:2] == ["s4", "n2"]


def test_rules_pin_respects_the_request_filters(client: FlaskClient, store: RulesStore) -> None:
    store.create(pin("s4", 2))
    assert "s4" not in related_ids(client, "?exclude=s4")
    assert "s4" not in related_ids(client, "?category=news")
    assert "s4" not in related_ids(client, "?max_age_days=30")  # s4 is 40 days old
    assert related_ids(client, "?n=1") == ["n2"]  # slot 2 is beyond the list
    assert related_ids(client, "?n=2") == ["n2", "s4"]


def test_rules_pin_moves_up_when_the_list_runs_short(
    make_app: Callable[..., Flask], store: RulesStore
) -> None:
    store.create(pin("s4", 5, article=None, section="news"))
    client = make_app(rules_db=store.path).test_client()
    items = body(client.get("/v1/articles/n1/related?category=news&n=5"))["items"]
    # news holds only n2 n3 n4 besides n1 (n5 is a draft), and s4 is no news: it stays out
    assert [i["id"] for i in items] == ["n2", "n3", "n4"]
    store.create(pin("n4", 5))
    items = body(client.get("/v1/articles/n1/related?category=news&n=5"))["items"]
    assert [i["id"] for i in items] == ["n2", "n3", "n4"]
    assert items[2]["source"] == "pinned"


def test_rules_expiry_is_honoured_in_the_api(
    client: FlaskClient, store: RulesStore, clock: FakeClock
) -> None:
    store.create(pin("s4", 1, ends_at=int(T0) + HOUR))
    assert related_ids(client)[0] == "s4"
    clock.now = T0 + HOUR
    assert related_ids(client) == N1_DEFAULT  # the cached answer with the pin is not used


def test_rules_cached_answer_never_hides_a_new_rule(
    backend_app: Flask, backend: Backend, clock: FakeClock
) -> None:
    client = backend_app.test_client()
    cache = backend_app.extensions["newsrec"].cache
    assert related_ids(client) == N1_DEFAULT
    assert related_ids(client) == N1_DEFAULT  # from the cache
    other_worker = backend.open(clock)
    other_worker.create(block("n2"))
    assert backend.settles(lambda: related_ids(client)[0] == "n3")
    other_worker.delete(1, "ann")
    assert backend.settles(lambda: related_ids(client) == N1_DEFAULT)
    # one key per rules version: the old answers stay cached but are never asked for
    assert len([k for k in cache.data if ":related:n1:" in k]) == 3


def test_rules_without_database_keep_the_cache_keys(client: FlaskClient, db: Path) -> None:
    related_ids(client)
    rt = client.application.extensions["newsrec"]
    keys = list(rt.cache.data)
    bundle = rt.store.current().bundle
    # the model's version and its served settings' digest, nothing of the rules
    served = f"{bundle.version}+o.{rt.options_digest(bundle)}"
    assert keys == [f"nr:v1:{served}:related:n1:6:hybrid::::0"]
    assert not db.exists()


def test_rules_apply_to_unknown_targets_quietly(client: FlaskClient, store: RulesStore) -> None:
    store.create(pin("gone", 1))  # an article the model no longer knows
    store.create(block("gone"))
    assert related_ids(client) == N1_DEFAULT


# --- the API --------------------------------------------------------------------------------


def test_rules_api_needs_a_token_or_an_editor(client: FlaskClient) -> None:
    for method, url in (
        ("GET", "/v1/rules"),
        ("POST", "/v1/rules"),
        ("DELETE", "/v1/rules/1"),
        ("GET", "/v1/rules/audit"),
    ):
        for headers in ({}, auth("wrong-token-wrong-token"), {"Authorization": "Basic eDp5"}):
            response = client.open(url, method=method, headers=headers, json={"kind": "pin"})
            assert response.status_code == 401, (method, url, headers)
            assert body(response)["error"]["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_rules_api_token_is_refused_when_none_is_configured(
    make_app: Callable[..., Flask], db: Path
) -> None:
    client = make_app(rules_db=db).test_client()
    assert client.get("/v1/rules", headers=auth()).status_code == 401


def test_rules_api_create_list_delete(backend_app: Flask) -> None:
    client = backend_app.test_client()
    rule = {
        "kind": "pin",
        "target_id": "s4",
        "article_id": "n1",
        "slot": 2,
        "ends_at": "2026-11-08T12:00:00Z",
        "note": "Derby week",
        "author": "script:cms",
    }
    created = client.post("/v1/rules", json=rule, headers=auth())
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["Location"] == "/v1/rules/1"
    assert body(created)["rule"] == {
        "id": 1,
        "kind": "pin",
        "scope": "article",
        "target_id": "s4",
        "article_id": "n1",
        "section": None,
        "slot": 2,
        "starts_at": None,
        "ends_at": "2026-11-08T12:00:00Z",
        "author": "script:cms",
        "note": "Derby week",
        "created_at": "2026-11-01T12:00:00Z",
        "state": "active",
    }
    assert related_ids(client)[1] == "s4"
    listed = body(client.get("/v1/rules", headers=auth()))
    assert [r["id"] for r in listed["rules"]] == [1] and listed["rules_version"]
    deleted = client.delete("/v1/rules/1?author=script:cms", headers=auth())
    assert deleted.status_code == 200 and body(deleted)["deleted"]["id"] == 1
    assert related_ids(client) == N1_DEFAULT
    entries = body(client.get("/v1/rules/audit", headers=auth()))["entries"]
    assert [(e["action"], e["author"], e["rule_id"]) for e in entries] == [
        ("delete", "script:cms", 1),
        ("create", "script:cms", 1),
    ]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "pin", "target_id": "nope", "slot": 1}, "target_id"),
        ({"kind": "pin", "target_id": "s4", "article_id": "nope", "slot": 1}, "article_id"),
        ({"kind": "block", "target_id": "s4", "section": "weather"}, "section"),
        ({"kind": "pin", "target_id": "s4"}, "slot"),
        ({"kind": "pin", "target_id": "s4", "slot": 51}, "slot"),
        ({"kind": "pin", "target_id": "s4", "slot": 1, "colour": "red"}, "colour"),
    ],
)
def test_rules_api_validation_is_a_400_naming_the_field(
    client: FlaskClient, rule: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/rules", json={**rule, "note": "n", "author": "a"}, headers=auth())
    assert response.status_code == 400
    error = body(response)["error"]
    assert (error["code"], error["field"]) == ("invalid_rule", field)
    assert field in error["message"]


def test_rules_api_refuses_bodies_that_are_not_json(client: FlaskClient) -> None:
    for data, content_type in (
        ("kind=pin", "application/x-www-form-urlencoded"),
        ("{", "application/json"),
    ):
        response = client.post("/v1/rules", data=data, content_type=content_type, headers=auth())
        assert response.status_code == 400
        assert body(response)["error"]["field"] == "body"


def test_rules_api_delete_needs_an_author_and_a_known_rule(client: FlaskClient) -> None:
    response = client.delete("/v1/rules/7", headers=auth())
    assert response.status_code == 400 and body(response)["error"]["field"] == "author"
    response = client.delete("/v1/rules/7?author=ann", headers=auth())
    assert response.status_code == 404 and body(response)["error"]["code"] == "unknown_rule"


def test_rules_api_database_failure_is_a_503(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the directory should be")
    client = make_app(rules_db=blocker / "rules.sqlite3", rules_token=TOKEN).test_client()
    rule = {"kind": "block", "target_id": "s4", "note": "n", "author": "a"}
    response = client.post("/v1/rules", json=rule, headers=auth())
    assert response.status_code == 503
    assert body(response)["error"]["code"] == "rules_unavailable"


def test_rules_store_is_plain_sqlite(store: RulesStore, db: Path) -> None:
    """Operators can read the rules with any SQLite client (backups, reports)."""
    store.create(pin("s4", 2))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT target_id, slot FROM rules").fetchall() == [("s4", 2)]
        (after,) = conn.execute("SELECT after FROM audit").fetchone()
    assert json.loads(after)["target_id"] == "s4"


def test_rules_page_ignores_the_query_article_itself(rules: RulesBackend) -> None:
    rules.create(pin("n1", 1, article=None, section="news"))
    from tests.conftest import IDS

    class Catalogue:
        def has(self, article_id: str) -> bool:
            return article_id in IDS

        def row(self, article_id: str) -> int:
            if article_id not in IDS:
                raise UnknownArticleError(article_id)
            return IDS.index(article_id)

    active = rules.active()
    assert active.page(Catalogue(), "n1", "news") is None  # n1 is never its own neighbour
    page = active.page(Catalogue(), "n2", "news")
    assert page is not None and [(slot, row) for slot, row, _ in page.pins] == [(1, 0)]
