"""The PostgreSQL rules store: rules reach every host, survive outages, forks and restarts.

The behaviour shared with the SQLite store (create, delete, audit, expiry, restart) runs on both
in ``test_rules.py``. Here: two stores standing for two hosts, a missed notification, a forked
worker, the database going away and coming back, an unreachable database behind the API, and
two real servers (``python -m service``) sharing one database. Each test starts without rules
tables (``postgres_rules_url``); PostgreSQL at 127.0.0.1:5432 is required in CI.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask

from service.editorial.postgres_store import PostgresRulesStore, describe
from tests.conftest import HAND_RANKED_ENV, body, publish_bundle
from tests.service.editorial.test_rules import (
    N1_DEFAULT,
    TOKEN,
    FakeClock,
    auth,
    block,
    pin,
    related_ids,
)
from tests.support import free_port

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[3]


def eventually(check: Callable[[], bool], within: float = 5.0) -> float:
    """Seconds until ``check()`` held; fails after ``within``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, f"not within {within} s"
        time.sleep(0.005)
    return time.monotonic() - started


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stores(
    postgres_rules_url: str, clock: FakeClock
) -> Iterator[Callable[..., PostgresRulesStore]]:
    """Opens stores on the test's database (closed after the test)."""
    opened: list[PostgresRulesStore] = []

    def open_store(url: str = postgres_rules_url, **options: Any) -> PostgresRulesStore:
        store = PostgresRulesStore(url, clock=clock, **options)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def test_rules_pg_location_never_shows_the_password() -> None:
    url = "postgresql://editor:s3cret@db.internal:6432/site?sslmode=require"
    assert describe(url) == "postgresql://editor@db.internal:6432/site"
    assert "s3cret" not in PostgresRulesStore(url).location


def test_rules_pg_change_reaches_another_host_by_notification(
    stores: Callable[..., PostgresRulesStore],
) -> None:
    # no polling within the test: only NOTIFY can bring the change
    here, there = stores(poll_interval=3600), stores(poll_interval=3600)
    assert there.active().key == ""
    made = here.create(pin("s4", 2))
    assert [r.id for r in here.book().rules] == [made.id]  # a worker's own write: at once
    assert eventually(lambda: [r.id for r in there.book().rules] == [made.id]) < 1.0
    assert there.active().key == here.active().key != ""
    here.delete(made.id, "carl")
    eventually(lambda: there.book().rules == ())
    assert there.active().key == here.active().key
    assert here.reachable and there.reachable


def test_rules_pg_poll_catches_a_change_without_notification(
    stores: Callable[..., PostgresRulesStore], postgres_rules_url: str
) -> None:
    """A notification lost with a connection: the counter is read every poll interval."""
    here, there = stores(), stores(poll_interval=0.3)
    here.create(pin("s4", 2))
    eventually(lambda: len(there.book().rules) == 1)
    with psycopg.connect(postgres_rules_url, autocommit=True) as conn, conn.transaction():
        # what an operator's fix by hand looks like: no NOTIFY
        conn.execute("UPDATE newsrec_rules SET slot = 3")
        conn.execute("UPDATE newsrec_rules_meta SET version = version + 1")
    eventually(lambda: there.book().rules[0].slot == 3, within=3.0)


def test_rules_pg_schema_is_created_once_by_racing_hosts(
    stores: Callable[..., PostgresRulesStore],
) -> None:
    import threading

    hosts = [stores() for _ in range(4)]
    errors: list[BaseException] = []

    def write(store: PostgresRulesStore) -> None:
        try:
            store.create(block("s4"))
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(h,)) for h in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.id for r in hosts[0].book().rules) == [1, 2, 3, 4]
    assert len(hosts[0].audit()) == 4


def test_rules_pg_forked_worker_listens_on_its_own_connection(
    stores: Callable[..., PostgresRulesStore], clock: FakeClock
) -> None:
    """gunicorn forks workers: a child must not use its parent's connection or thread."""
    store, other_host = stores(), stores()
    store.create(pin("s4", 2))
    assert len(store.book().rules) == 1  # the parent's listener runs
    pid = os.fork()
    if pid == 0:  # the child: sees a change made after the fork, through its own listener
        code = 1
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if len(store.book().rules) == 2:
                    code = 0
                    break
                time.sleep(0.01)
            store.close()
        finally:
            os._exit(code)
    other_host.create(pin("s3", 1))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # the parent's own connection still works: the child did not close or use it
    other_host.create(block("n2"))
    eventually(lambda: len(store.book().rules) == 3)


def test_rules_pg_database_outage_keeps_the_last_rules(
    stores: Callable[..., PostgresRulesStore],
    postgres_rules_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database goes away: reads keep the last rules (one error logged), writes fail
    clearly; it comes back: the listener reconnects and catches up."""
    name = postgres_rules_url.rsplit("/", 1)[1]
    reader, writer = stores(), stores()
    writer.create(pin("s4", 2))
    eventually(lambda: len(reader.book().rules) == 1)
    admin = psycopg.connect(postgres_rules_url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    with admin, caplog.at_level(logging.WARNING, logger="service"):
        try:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            time.sleep(1.5)  # the listener fails and retries (0.5 s, then 1 s)
            assert [r.target_id for r in reader.book().rules] == ["s4"]
            from service.editorial.rules import RulesStoreError

            with pytest.raises(RulesStoreError, match="PostgreSQL at postgresql://postgres@"):
                writer.create(block("n2"))
            errors = [r for r in caplog.records if "keeping the last ones" in r.getMessage()]
            assert len(errors) == 1  # at most once a minute, not once per attempt
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        writer.create(block("n2"))
        eventually(lambda: len(reader.book().rules) == 2, within=15)
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_rules_pg_unreachable_database_public_api_answers_writes_are_503(
    make_app: Callable[..., Flask],
) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/newsrec"
    app = make_app(rules_url=closed, rules_token=TOKEN)
    client = app.test_client()
    try:
        assert related_ids(client) == N1_DEFAULT
        ready = client.get("/readyz")
        assert ready.status_code == 200 and body(ready)["rules"] == "unreachable"
        assert client.get("/v1/most-viewed").status_code == 200
        listed = client.get("/v1/rules", headers=auth())
        assert listed.status_code == 200 and body(listed)["rules"] == []
        rule = {"kind": "block", "target_id": "s4", "note": "n", "author": "a"}
        for response in (
            client.post("/v1/rules", json=rule, headers=auth()),
            client.delete("/v1/rules/1?author=a", headers=auth()),
            client.get("/v1/rules/audit", headers=auth()),
        ):
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.mimetype == "application/json"
            error = body(response)["error"]
            assert error["code"] == "rules_unavailable"
            assert "Connection refused" in error["message"]
    finally:
        app.extensions["newsrec"].rules.close()


# --- two real servers, one database ---------------------------------------------------------


def _request(url: str, data: dict[str, Any] | None = None, method: str = "GET") -> Any:
    request = urllib.request.Request(
        url,
        method=method,
        data=None if data is None else json.dumps(data).encode(),
        headers={**auth(), "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers["X-Request-ID"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers.get("X-Request-ID", "")


@pytest.fixture
def two_hosts(tmp_path: Path, postgres_rules_url: str) -> Iterator[list[str]]:
    """Two services as on two hosts: own ports, own models and SQLite paths, one database."""
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    bases = []
    try:
        for host in ("a", "b"):
            root = tmp_path / host
            models = root / "models"
            publish_bundle(models, "20261101T120000Z-v1")
            port = free_port()
            env = {
                k: v for k, v in os.environ.items() if not k.startswith(("NEWSREC_", "PROMETHEUS_"))
            }
            env.update(
                NEWSREC_MODELS_DIR=str(models),
                NEWSREC_PORT=str(port),
                NEWSREC_WORKERS="2",
                NEWSREC_RULES_URL=postgres_rules_url,
                NEWSREC_RULES_DB=str(root / "never-used.sqlite3"),
                NEWSREC_RULES_TOKEN=TOKEN,
                NEWSREC_EVENT_LOG_DIR="off",
                NEWSREC_LOG_LEVEL="WARNING",
                **HAND_RANKED_ENV,
            )
            log = root / "server.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "service"],
                    env=env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            procs.append((proc, log))
            bases.append(f"http://127.0.0.1:{port}")
        for (proc, log), base in zip(procs, bases, strict=True):
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=5) as ready:
                        if ready.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log.read_text()}")
                time.sleep(0.1)
        yield bases
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    for host in ("a", "b"):
        assert not (tmp_path / host / "never-used.sqlite3").exists()


@pytest.mark.slow
def test_rules_pg_pin_on_one_host_applies_on_every_worker_of_another(
    two_hosts: list[str],
) -> None:
    host_a, host_b = two_hosts
    related = "/v1/articles/n1/related"

    def ids(base: str) -> tuple[list[str], str]:
        status, data, request_id = _request(base + related)
        assert status == 200, data
        return [item["id"] for item in data["items"]], request_id[:16]

    assert ids(host_b)[0] == N1_DEFAULT  # and cached now
    rule = {"kind": "pin", "target_id": "s4", "article_id": "n1", "slot": 2, "note": "derby"}
    status, created, _ = _request(host_a + "/v1/rules", {**rule, "author": "cms"}, "POST")
    assert status == 201, created
    pinned = ["n2", "s4", "n3", "s2", "s1", "n4"]

    def every_worker_shows(base: str, expected: list[str]) -> Callable[[], bool]:
        seen: set[str] = set()

        def check() -> bool:
            found, worker = ids(base)
            if found == expected:
                seen.add(worker)
            return len(seen) == 2  # both workers of the host (ids carry the process)

        return check

    eventually(every_worker_shows(host_b, pinned), within=10)
    eventually(every_worker_shows(host_a, pinned), within=10)
    listed = _request(host_b + "/v1/rules")[1]
    assert [r["id"] for r in listed["rules"]] == [created["rule"]["id"]]

    status, _, _ = _request(f"{host_b}/v1/rules/{created['rule']['id']}?author=cms", None, "DELETE")
    assert status == 200
    eventually(every_worker_shows(host_a, N1_DEFAULT), within=10)
    audit = _request(host_a + "/v1/rules/audit")[1]["entries"]
    assert [(e["action"], e["author"]) for e in audit] == [("delete", "cms"), ("create", "cms")]
