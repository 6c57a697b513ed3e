"""The /v1 API against the hand-checkable catalogue of ``conftest.py``: answers known ahead."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.ranking import views_label
from tests.conftest import (
    IDS,
    N1_HYBRID,
    NOW,
    SECTIONS,
    STATUSES,
    VERSION_1,
    body,
    bundle_contents,
)

PUBLISHED = [a for a, s in zip(IDS, STATUSES, strict=True) if s == "published"]


def ids(response: Any) -> list[str]:
    return [item["id"] for item in body(response)["items"]]


def sources(response: Any) -> list[str]:
    return [item["source"] for item in body(response)["items"]]


# --- related ------------------------------------------------------------------------------


def test_related_hybrid_ranks_as_computed_by_hand(
    client: FlaskClient, check_schema: Callable[[str, Any], None]
) -> None:
    response = client.get("/v1/articles/n1/related?n=5")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = body(response)
    check_schema("RelatedResponse", data)
    assert data["article_id"] == "n1"
    assert data["model_version"] == VERSION_1
    assert data["strategy"] == "hybrid"
    assert ids(response) == N1_HYBRID
    assert sources(response) == ["related"] * 5
    scores = [item["score"] for item in data["items"]]
    assert scores == pytest.approx([0.457143, 0.424286, 0.174499, 0.114286, 0.020281], abs=2e-6)
    first = data["items"][0]
    assert first == {
        "id": "n2",
        "title": "[v1] News 2",
        "url": "https://news.example/n2",
        "category": "news",
        "published_at": "2026-11-01T12:00:00Z",
        "image_url": "https://news.example/img/n2.jpg",
        "score": pytest.approx(0.457143, abs=2e-6),
        "source": "related",
        "position": 1,
    }


def test_related_default_n_is_six_and_filled_from_popular(client: FlaskClient) -> None:
    # five related candidates survive (n5 is a draft), then the news section's most viewed
    # are all taken already, so the sixth is the site's most viewed not yet shown: s3
    response = client.get("/v1/articles/n1/related")
    assert ids(response) == [*N1_HYBRID, "s3"]
    assert sources(response) == ["related"] * 5 + ["popular"]
    # a filler's score shows its place: below every related item, above 0 (the lowest
    # related score, n4's, times (m - k) / (m + 1) for the k-th of m fillers)
    scores = [item["score"] for item in body(response)["items"]]
    assert scores[-1] == pytest.approx(0.020281 / 2, abs=2e-6)


def test_related_fallback_chain_section_then_site(client: FlaskClient) -> None:
    # n4 has no neighbours: news by 7-day views (n1 100, n2 50, n3 30), then the site (s1, s3)
    response = client.get("/v1/articles/n4/related?n=5")
    assert ids(response) == ["n1", "n2", "n3", "s1", "s3"]
    assert sources(response) == ["section_popular"] * 3 + ["popular"] * 2


@pytest.mark.parametrize("strategy", ["hybrid", "content", "coview"])
@pytest.mark.parametrize("article_id", IDS)
def test_related_never_returns_query_excluded_or_unpublished(
    client: FlaskClient, article_id: str, strategy: str
) -> None:
    excluded = "s1" if article_id != "s1" else "n1"
    response = client.get(
        f"/v1/articles/{article_id}/related?n=50&strategy={strategy}&exclude={excluded},nope"
    )
    got = ids(response)
    assert article_id not in got
    assert excluded not in got
    assert "n5" not in got  # the draft
    assert len(got) == len(set(got))
    # always as many items as the catalogue allows: every other published article
    allowed = set(PUBLISHED) - {article_id, excluded}
    assert set(got) == allowed


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_related_returns_exactly_n_items(client: FlaskClient, n: int) -> None:
    for article_id in IDS:
        assert len(ids(client.get(f"/v1/articles/{article_id}/related?n={n}"))) == n


def test_related_content_strategy_uses_raw_content_scores(client: FlaskClient) -> None:
    response = client.get("/v1/articles/n1/related?n=3&strategy=content")
    assert body(response)["strategy"] == "content"
    assert ids(response) == ["n2", "n3", "s1"]
    assert [i["score"] for i in body(response)["items"]] == pytest.approx([0.8, 0.6, 0.2])


def test_related_coview_strategy_uses_coview_scores(client: FlaskClient) -> None:
    response = client.get("/v1/articles/n1/related?n=3&strategy=coview")
    assert ids(response) == ["n3", "s2", "n4"]
    assert [i["score"] for i in body(response)["items"]] == pytest.approx([0.8, 0.4, 0.2])


def test_related_exclude_skips_ids_and_ignores_unknown_ones(client: FlaskClient) -> None:
    response = client.get("/v1/articles/n1/related?n=3&exclude=n2,unknown-id,s2")
    assert response.status_code == 200
    assert ids(response) == ["n3", "s1", "n4"]


def test_related_empty_exclude_means_none(client: FlaskClient) -> None:
    assert ids(client.get("/v1/articles/n1/related?n=5&exclude=")) == N1_HYBRID


def test_related_category_keeps_one_section(client: FlaskClient) -> None:
    # sports candidates of n1: s2 then s1; then sports by 7-day views: s3 (60), s4 (5)
    response = client.get("/v1/articles/n1/related?n=4&category=sports")
    assert ids(response) == ["s2", "s1", "s3", "s4"]
    assert sources(response) == ["related", "related", "section_popular", "section_popular"]


def test_related_unknown_category_gives_no_items(client: FlaskClient) -> None:
    response = client.get("/v1/articles/n1/related?category=weather")
    assert response.status_code == 200
    assert body(response)["items"] == []


def test_related_max_age_days_drops_older_articles(client: FlaskClient) -> None:
    # n4 is 10 days old and s4 40 days: left out; s3 (3 days) fills the list
    response = client.get("/v1/articles/n1/related?n=5&max_age_days=5")
    assert ids(response) == ["n2", "n3", "s2", "s1", "s3"]
    response = client.get("/v1/articles/n1/related?n=50&max_age_days=0.5")
    assert ids(response) == ["n2", "s1"]  # the articles published on the model's last day


def test_related_explain_gives_score_parts(
    client: FlaskClient, check_schema: Callable[[str, Any], None]
) -> None:
    response = client.get("/v1/articles/n1/related?n=6&explain=true")
    data = body(response)
    check_schema("RelatedResponse", data)
    n3 = data["items"][1]
    assert n3["id"] == "n3"
    assert n3["explain"] == {
        "content": pytest.approx(0.6),
        "coview": pytest.approx(1.0),
        "coview_count": 12,
        "freshness": pytest.approx(0.55),  # 0.1 + 0.9 * 0.5
        "coview_weight": pytest.approx(0.75),
        "popularity": None,
        "section": None,  # the same-section factor is off by default
        # the raw signals beside the blended ones: n1's best content neighbour scores 1.0,
        # its best co-view one 0.8 (n3 itself)
        "content_cosine": pytest.approx(0.6),
        "coview_score": pytest.approx(0.8),
        "final": pytest.approx(0.424286, abs=2e-6),
    }
    fallback = data["items"][-1]
    assert fallback["source"] == "popular"
    assert fallback["explain"]["content"] is None
    assert fallback["explain"]["final"] == pytest.approx(0.020281 / 2, abs=2e-6)
    for value in ("1", "false", "0"):
        items = body(client.get(f"/v1/articles/n1/related?explain={value}"))["items"]
        assert ("explain" in items[0]) == (value == "1")


def test_related_section_half_lives_from_settings(make_app: Callable[..., Flask]) -> None:
    # news ageing over 30 days instead of 3: n3 (3 days old) keeps 0.933 of its score,
    # 0.771 * 0.933 = 0.720, and overtakes n2 (0.457)
    client = make_app(section_half_lives=(("news", 30.0),)).test_client()
    assert ids(client.get("/v1/articles/n1/related?n=2")) == ["n3", "n2"]


def test_related_ages_from_wall_clock_only_when_configured(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    from recommender.bundle import publish

    # a model whose data ended 100 days ago: by the clock every article is > 100 days old
    models = tmp_path / "old-models"
    long_ago = dt.datetime.fromtimestamp(time.time(), dt.UTC) - dt.timedelta(days=100)
    publish(bundle_contents("old", now=long_ago), models, version=VERSION_1)
    by_model = make_app(models_dir=models).test_client()
    by_clock = make_app(models_dir=models, now_from_clock=True).test_client()
    url = "/v1/articles/n1/related?n=5&max_age_days=30"
    assert len(ids(by_model.get(url))) == 5
    assert ids(by_clock.get(url)) == []


def test_related_unknown_article_is_404(client: FlaskClient) -> None:
    response = client.get("/v1/articles/nope/related")
    assert response.status_code == 404
    assert body(response) == {
        "error": {"code": "unknown_article", "message": "the model knows no article 'nope'"}
    }


# --- most viewed ----------------------------------------------------------------------------


def test_most_viewed_orders_by_views_in_window(
    client: FlaskClient, check_schema: Callable[[str, Any], None]
) -> None:
    response = client.get("/v1/most-viewed?n=10")
    data = body(response)
    check_schema("MostViewedResponse", data)
    assert data["window"] == "7d"
    assert data["category"] is None
    # the draft n5 (500 views) is never listed
    assert ids(response) == ["s1", "n1", "n4", "s3", "n2", "n3", "s2", "s4"]
    assert [i["views"] for i in data["items"]] == [200, 100, 80, 60, 50, 30, 10, 5]


def test_most_viewed_leaves_out_articles_without_views(client: FlaskClient) -> None:
    # n4 and s4 have no views in the last day
    assert ids(client.get("/v1/most-viewed?window=1d&n=50")) == ["s1", "n1", "n2", "s3", "n3", "s2"]


def test_most_viewed_filters(client: FlaskClient) -> None:
    assert ids(client.get("/v1/most-viewed?category=news&n=2")) == ["n1", "n4"]
    assert ids(client.get("/v1/most-viewed?window=all&n=3")) == ["s1", "s4", "n1"]
    within = client.get("/v1/most-viewed?published_within_days=2&n=50")
    assert ids(within) == ["s1", "n1", "n2", "s2"]
    assert body(client.get("/v1/most-viewed?category=weather"))["items"] == []
    assert len(ids(client.get("/v1/most-viewed"))) == 6


# --- one article ----------------------------------------------------------------------------


def test_article_has_views_per_window_and_label(
    client: FlaskClient, check_schema: Callable[[str, Any], None]
) -> None:
    response = client.get("/v1/articles/n1")
    data = body(response)
    check_schema("ArticleResponse", data)
    assert data["id"] == "n1"
    assert data["category"] == SECTIONS[0]
    assert data["status"] == "published"
    assert data["views"] == {"1d": 40, "7d": 100, "30d": 400, "all": 1734}
    assert data["views_label"] == "1.7k views"
    assert body(client.get("/v1/articles/s1"))["views_label"] == "12k views"
    assert client.get("/v1/articles/nope").status_code == 404


@pytest.mark.parametrize(
    ("count", "label"),
    [
        (0, "0 views"),
        (1, "1 view"),
        (999, "999 views"),
        (1000, "1k views"),
        (1734, "1.7k views"),
        (1799, "1.7k views"),
        (12_345, "12k views"),
        (999_999, "999k views"),
        (1_000_000, "1M views"),
        (1_250_000, "1.2M views"),
        (3_000_000_000, "3B views"),
    ],
)
def test_views_label_rounds_down(count: int, label: str) -> None:
    assert views_label(count) == label


def test_model_summarises_the_manifest(
    make_app: Callable[..., Flask], check_schema: Callable[[str, Any], None]
) -> None:
    # an app of its own: the session's shared app loaded its model when the session began,
    # which may be minutes ago in a full run
    client = make_app().test_client()
    data = body(client.get("/v1/model"))
    check_schema("ModelResponse", data)
    assert data["version"] == VERSION_1
    assert data["now"] == "2026-11-01T12:00:00Z"
    assert data["created_at"] == "2026-11-01T13:00:00Z"
    assert data["n_articles"] == 9
    assert data["counts"]["published_articles"] == 8
    assert data["parameters"] == {"n_neighbors": 4}
    assert data["has_coview"] is True
    loaded = dt.datetime.fromisoformat(data["loaded_at"])
    # when this worker loaded the bundle (the app is shared by the session: any time before
    # now), not a time from the manifest
    assert loaded > NOW and loaded.timestamp() <= time.time() + 1


# --- errors ---------------------------------------------------------------------------------

RELATED = "/v1/articles/n1/related"
N_RULE = "n must be an integer from 1 to 50"
EXCLUDE_RULE = "exclude must be up to 100 comma-separated article ids of 1 to 200 characters"
DAYS_RULE = "must be a number of days greater than 0 and at most 36500"


@pytest.mark.parametrize(
    ("url", "parameter", "message"),
    [
        (f"{RELATED}?n=abc", "n", N_RULE),
        (f"{RELATED}?n=0", "n", N_RULE),
        (f"{RELATED}?n=100000", "n", N_RULE),
        (f"{RELATED}?n=-1", "n", N_RULE),
        (f"{RELATED}?n=2.5", "n", N_RULE),
        (f"{RELATED}?n=", "n", N_RULE),
        (f"{RELATED}?n=%206", "n", N_RULE),
        (f"{RELATED}?n={'9' * 5000}", "n", N_RULE),
        (
            f"{RELATED}?strategy=magic",
            "strategy",
            "strategy must be one of hybrid, content, coview",
        ),
        (f"{RELATED}?exclude=a,,b", "exclude", EXCLUDE_RULE),
        (f"{RELATED}?exclude=a,", "exclude", EXCLUDE_RULE),
        (f"{RELATED}?exclude={'x' * 201}", "exclude", EXCLUDE_RULE),
        (f"{RELATED}?exclude={','.join(f'a{i}' for i in range(101))}", "exclude", EXCLUDE_RULE),
        (f"{RELATED}?exclude=a%00b", "exclude", EXCLUDE_RULE),
        (f"{RELATED}?exclude=a%0Ab", "exclude", EXCLUDE_RULE),
        (f"{RELATED}?category=", "category", "category must be a section name of 1 to 200"),
        (f"{RELATED}?category=a%09b", "category", "category must be a section name"),
        (f"{RELATED}?max_age_days=0", "max_age_days", f"max_age_days {DAYS_RULE}"),
        (f"{RELATED}?max_age_days=-3", "max_age_days", f"max_age_days {DAYS_RULE}"),
        (f"{RELATED}?max_age_days=nan", "max_age_days", f"max_age_days {DAYS_RULE}"),
        (f"{RELATED}?max_age_days=inf", "max_age_days", f"max_age_days {DAYS_RULE}"),
        (f"{RELATED}?max_age_days=1e999", "max_age_days", f"max_age_days {DAYS_RULE}"),
        (f"{RELATED}?max_age_days=99999", "max_age_days", f"max_age_days {DAYS_RULE}"),
        (f"{RELATED}?explain=yes", "explain", "explain must be one of true, false, 1, 0"),
        (f"{RELATED}?explain=TRUE", "explain", "explain must be one of true, false, 1, 0"),
        (f"{RELATED}?foo=1", "foo", "unknown query parameter 'foo'; this route accepts: n,"),
        (f"{RELATED}?n=1&n=2", "n", "n must be given at most once"),
        ("/v1/most-viewed?window=2d", "window", "window must be one of 1d, 7d, 30d, all"),
        ("/v1/most-viewed?n=51", "n", N_RULE),
        ("/v1/most-viewed?published_within_days=0", "published_within_days", DAYS_RULE),
        ("/v1/most-viewed?strategy=hybrid", "strategy", "unknown query parameter 'strategy'"),
        ("/v1/articles/n1?n=3", "n", "unknown query parameter 'n'; this route accepts: none"),
        ("/v1/model?verbose=1", "verbose", "unknown query parameter 'verbose'"),
    ],
)
def test_bad_parameter_is_400_naming_parameter_and_range(
    client: FlaskClient,
    check_schema: Callable[[str, Any], None],
    url: str,
    parameter: str,
    message: str,
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    data = body(response)
    check_schema("Error", data)
    assert data["error"]["code"] == "bad_parameter"
    assert data["error"]["parameter"] == parameter
    assert message in data["error"]["message"]


def test_bad_parameter_beats_unknown_article(client: FlaskClient) -> None:
    assert client.get("/v1/articles/nope/related?n=0").status_code == 400


def test_max_n_follows_settings(make_app: Callable[..., Flask]) -> None:
    client = make_app(max_n=3, default_n=2).test_client()
    assert len(ids(client.get(RELATED))) == 2
    assert len(ids(client.get(f"{RELATED}?n=3"))) == 3
    error = body(client.get(f"{RELATED}?n=4"))["error"]
    assert error["message"] == "n must be an integer from 1 to 3"


def test_unknown_route_and_method_are_json(client: FlaskClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert body(response)["error"]["code"] == "not_found"
    response = client.delete("/v1/most-viewed")
    assert response.status_code == 405
    assert body(response)["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_request_id_is_echoed_or_generated(client: FlaskClient) -> None:
    given = client.get("/v1/model", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/v1/model")
    other = client.get("/v1/model")
    assert len(generated.headers["X-Request-ID"]) == 32
    assert generated.headers["X-Request-ID"] != other.headers["X-Request-ID"]
    # an id that is not safe to log or echo is replaced
    unsafe = client.get("/v1/model", headers={"X-Request-ID": "x" * 300})
    assert unsafe.headers["X-Request-ID"] != "x" * 300
    error = client.get("/v1/articles/n1/related?n=0", headers={"X-Request-ID": "err-1"})
    assert error.headers["X-Request-ID"] == "err-1"


def test_unexpected_error_is_json_500_logged_with_request_id(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()

    def explode() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/v1/explode", view_func=explode)
    with caplog.at_level(logging.ERROR, logger="service"):
        response = app.test_client().get("/v1/explode", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-42"
    error = body(response)["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == "req-42"
    assert "boom" not in error["message"]
    assert any("req-42" in r.getMessage() and r.exc_info for r in caplog.records)
