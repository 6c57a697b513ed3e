"""``POST /v1/events``: validation, what is applied, dedup, bots and staff, the event log."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.live.redis_store import RedisLiveStore
from service.live.view import Live
from tests.conftest import body

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
HEADERS = {"User-Agent": BROWSER}
KEY = "a-shared-session-key-of-the-site"


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(
        event_log_dir=tmp_path / "events",
        session_key=KEY,
        events_max_batch=3,
        excluded_ips=("10.0.0.0/8",),
        staff_header="X-Newsroom",
        staff_cookie="newsroom",
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post(client: FlaskClient, payload: Any, **kwargs: Any) -> Any:
    headers = {**HEADERS, **kwargs.pop("headers", {})}
    return client.post("/v1/events", json=payload, headers=headers, **kwargs)


def hour_views(client: FlaskClient, article_id: str) -> int:
    data = body(client.get(f"/v1/articles/{article_id}"))
    return int(data["recent_views"]["1h"])


def logged(tmp_path: Path) -> list[dict[str, Any]]:
    files = sorted((tmp_path / "events").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def metric(client: FlaskClient, name: str, label: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_events_one_view_is_counted_once_per_session(client: FlaskClient) -> None:
    response = post(client, {"article_id": "s4", "session_id": "reader-1"})
    assert response.status_code == 202
    assert body(response) == {"accepted": 1, "counted": 1, "rejected": []}
    assert body(post(client, {"article_id": "s4", "session_id": "reader-1"}))["counted"] == 0
    assert body(post(client, {"article_id": "s4", "session_id": "reader-2"}))["counted"] == 1


def test_events_batch_with_bad_events_says_which_were_rejected(
    client: FlaskClient, tmp_path: Path
) -> None:
    response = post(
        client,
        [
            {"article_id": "n1", "session_id": "a"},
            {"article_id": "nope", "session_id": "a"},
            {"article_id": "n5", "session_id": "a"},  # a draft
        ],
    )
    assert response.status_code == 202
    data = body(response)
    assert (data["accepted"], data["counted"]) == (1, 1)
    assert [(r["index"], r["code"]) for r in data["rejected"]] == [
        (1, "unknown_article"),
        (2, "not_published"),
    ]
    assert "'nope'" in data["rejected"][0]["reason"]
    assert [e["article_id"] for e in logged(tmp_path)] == ["n1"]


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"article_id": "n1"}, "malformed"),
        ({"article_id": "n1", "session_id": ""}, "malformed"),
        ({"article_id": 7, "session_id": "a"}, "malformed"),
        ({"article_id": "n1", "session_id": "a", "page": "/x"}, "malformed"),
        ({"article_id": "n1", "session_id": "a", "type": "share"}, "bad_type"),
        ({"article_id": "n1", "session_id": "a", "timestamp": "yesterday"}, "bad_timestamp"),
        ({"article_id": "n1", "session_id": "a", "timestamp": True}, "bad_timestamp"),
        (
            {"article_id": "n1", "session_id": "a", "timestamp": time.time() + 3600},
            "future_timestamp",
        ),
        # milliseconds, as Date.now() gives them, are far in the future
        (
            {"article_id": "n1", "session_id": "a", "timestamp": time.time() * 1000},
            "future_timestamp",
        ),
        (
            {"article_id": "n1", "session_id": "a", "timestamp": time.time() - 3 * 86400},
            "old_timestamp",
        ),
        ({"article_id": "zz", "session_id": "a"}, "unknown_article"),
        (["n1"], "malformed"),
    ],
)
def test_events_an_invalid_event_is_400_with_its_reason(
    client: FlaskClient,
    tmp_path: Path,
    check_schema: Callable[[str, Any], None],
    event: Any,
    code: str,
) -> None:
    response = post(client, event)
    assert response.status_code == 400
    data = body(response)
    check_schema("Error", data)
    assert data["error"]["code"] == "invalid_events"
    assert [(r["index"], r["code"]) for r in data["error"]["rejected"]] == [(0, code)]
    assert data["error"]["message"] == data["error"]["rejected"][0]["reason"]
    assert logged(tmp_path) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "must be a JSON event or a JSON array"),
        (b'"n1"', "must be a JSON event or a JSON array"),
        (b"[]", "holds no event"),
        (
            json.dumps([{"article_id": "n1", "session_id": str(i)} for i in range(4)]).encode(),
            "at most 3 (NEWSREC_EVENTS_MAX_BATCH)",
        ),
    ],
)
def test_events_a_body_refused_whole_applies_nothing(
    client: FlaskClient, tmp_path: Path, raw: bytes, message: str
) -> None:
    response = client.post("/v1/events", data=raw, headers=HEADERS, content_type="application/json")
    assert response.status_code == 400
    assert body(response)["error"]["code"] == "invalid_events"
    assert message in body(response)["error"]["message"]
    assert logged(tmp_path) == []
    assert hour_views(client, "n1") == 0


def test_events_all_invalid_batch_applies_nothing(client: FlaskClient, tmp_path: Path) -> None:
    response = post(client, [{"article_id": "zz", "session_id": "a"}, {"article_id": "n1"}])
    assert response.status_code == 400
    assert body(response)["error"]["message"] == "no event was accepted"
    assert len(body(response)["error"]["rejected"]) == 2
    assert logged(tmp_path) == []


def test_events_accept_text_plain_as_sendbeacon_sends_it(
    client: FlaskClient, tmp_path: Path
) -> None:
    response = client.post(
        "/v1/events",
        data=json.dumps({"article_id": "s2", "session_id": "b1", "type": "view"}),
        headers={**HEADERS, "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 202
    assert body(response)["counted"] == 1
    assert [e["article_id"] for e in logged(tmp_path)] == ["s2"]


def test_events_other_media_types_and_huge_bodies_are_refused(client: FlaskClient) -> None:
    multipart = {"article_id": "n1", "file": (io.BytesIO(b"x"), "x.txt")}
    response = client.post("/v1/events", data=multipart, headers=HEADERS)
    assert response.status_code == 415
    huge = json.dumps({"article_id": "n1", "session_id": "x" * 5000})
    response = client.post("/v1/events", data=huge, headers=HEADERS, content_type="text/plain")
    assert response.status_code == 413
    assert body(response)["error"]["code"] == "body_too_large"


def test_events_json_labelled_as_a_form_is_read_as_json(client: FlaskClient) -> None:
    # what curl -d sends
    response = client.post(
        "/v1/events",
        data=json.dumps({"article_id": "s2", "session_id": "curl"}),
        headers={**HEADERS, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 202
    assert body(response)["counted"] == 1


def test_events_iso_timestamps_and_log_lines(client: FlaskClient, tmp_path: Path) -> None:
    at = time.time() - 600
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    assert (
        body(post(client, {"article_id": "n2", "session_id": "r", "timestamp": iso}))["counted"]
        == 1
    )
    (line,) = logged(tmp_path)
    assert line["timestamp"] == int(at)
    # only the keyed hash of the session id is written, never the id itself
    assert line["session_id"] == hmac.new(KEY.encode(), b"r", hashlib.sha256).hexdigest()[:32]
    assert set(line) == {"session_id", "article_id", "timestamp"}
    (log_file,) = (tmp_path / "events").iterdir()
    assert log_file.name.startswith("events-" + time.strftime("%Y-%m-%d", time.gmtime(at)))


@pytest.mark.parametrize(
    ("headers", "environ", "cookie", "reason"),
    [
        ({"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}, {}, None, "bot"),
        ({"User-Agent": "python-requests/2.31"}, {}, None, "bot"),
        ({"User-Agent": ""}, {}, None, "no_user_agent"),
        ({}, {"REMOTE_ADDR": "10.1.2.3"}, None, "excluded_ip"),
        ({"X-Newsroom": "1"}, {}, None, "staff"),
        ({}, {}, "newsroom", "staff"),
    ],
)
def test_events_of_bots_excluded_networks_and_staff_are_not_counted(
    client: FlaskClient,
    tmp_path: Path,
    headers: dict[str, str],
    environ: dict[str, str],
    cookie: str | None,
    reason: str,
) -> None:
    client.set_cookie("theme", "dark")
    if cookie is not None:
        client.set_cookie(cookie, "editor")
    response = client.post(
        "/v1/events",
        json=[{"article_id": "s3", "session_id": "x"}, {"article_id": "s2", "session_id": "x"}],
        headers={**HEADERS, **headers},
        environ_base=environ,
    )
    assert response.status_code == 202
    assert body(response) == {"accepted": 2, "counted": 0, "rejected": []}
    assert logged(tmp_path) == []
    assert metric(client, "newsrec_events_dropped_total", f'reason="{reason}"') == 2.0


def test_events_forwarded_addresses_only_behind_a_trusted_proxy(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    def counted(app: Flask, forwarded: str) -> int:
        response = app.test_client().post(
            "/v1/events",
            json={"article_id": "s3", "session_id": forwarded},
            headers={**HEADERS, "X-Forwarded-For": forwarded},
            environ_base={"REMOTE_ADDR": "192.0.2.1"},
        )
        return int(body(response)["counted"])

    settings = {"event_log_dir": None, "excluded_ips": ("10.0.0.0/8",)}
    direct = make_app(**settings)
    assert counted(direct, "10.0.0.7") == 1  # the header is anyone's to write: ignored
    proxied = make_app(trust_proxy=1, **settings)
    assert counted(proxied, "10.0.0.8") == 0  # what the proxy saw
    # a client writing its own entry in front does not escape the exclusion
    assert counted(proxied, "203.0.113.9, 10.0.0.9") == 0
    assert counted(proxied, "10.0.0.10, 203.0.113.9") == 1


def test_events_metrics_count_each_outcome(client: FlaskClient) -> None:
    post(client, [{"article_id": "n1", "session_id": "m"}, {"article_id": "zz", "session_id": "m"}])
    post(client, {"article_id": "n1", "session_id": "m"})
    assert metric(client, "newsrec_events_total", 'outcome="counted"') == 1.0
    assert metric(client, "newsrec_events_total", 'outcome="duplicate"') == 1.0
    assert metric(client, "newsrec_events_total", 'outcome="rejected"') == 1.0
    assert metric(client, "newsrec_events_rejected_total", 'reason="unknown_article"') == 1.0


def test_events_answer_503_and_apply_nothing_when_the_live_store_is_down(
    app: Flask, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.extensions["newsrec"].live = Live(RedisLiveStore(f"redis://127.0.0.1:{port}/14"))
    response = post(app.test_client(), {"article_id": "n1", "session_id": "a"})
    assert response.status_code == 503
    assert body(response)["error"]["code"] == "live_unavailable"
    assert logged(tmp_path) == []
    # reading falls back to the bundle's counts
    assert app.test_client().get("/v1/most-viewed?window=1h").status_code == 200


def test_events_from_another_origin_get_cors_headers(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(event_log_dir=None, cors_origins=("https://news.example",))
    response = app.test_client().post(
        "/v1/events",
        data=json.dumps({"article_id": "n3", "session_id": "c"}),
        headers={**HEADERS, "Origin": "https://news.example", "Content-Type": "text/plain"},
    )
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == "https://news.example"


def test_events_refuse_query_parameters(client: FlaskClient) -> None:
    response = client.post("/v1/events?debug=1", json={"article_id": "n1", "session_id": "q"})
    assert response.status_code == 400
    assert body(response)["error"]["parameter"] == "debug"
