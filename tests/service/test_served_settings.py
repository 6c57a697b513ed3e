"""One configuration from training to the live service: a bundle's blend settings are served
(an explicit ``NEWSREC_*`` variable still wins), and ``/v1/model`` says where each came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from recommender.blend import BlendParams
from recommender.bundle import Bundle, publish
from recommender.cli import main
from recommender.errors import BundleError
from recommender.sources.sample import generate_sample
from service.app import create_app
from service.settings import Settings, served_blend
from tests.conftest import body, bundle_contents

CONFIG = """
[blend]
coview_weight = 10.0
coview_evidence = 1.0
half_life_days = "off"
popularity_weight = 0.0
popular_candidates = 0
"""


def test_served_blend_environment_wins_over_bundle_over_default() -> None:
    manifest = {
        "blend": {"coview_weight": 4.0, "half_life_days": None, "popular_candidates": 50},
        "settings_origin": {"coview_weight": "calibration", "half_life_days": "config"},
    }
    settings = Settings.from_env({"NEWSREC_HALF_LIFE_DAYS": "7", "NEWSREC_CONTENT_WEIGHT": "1"})
    served = served_blend(settings, manifest)
    assert served.params == BlendParams(
        coview_weight=4.0, half_life_days=7.0, popular_candidates=50
    )
    assert served.sources["coview_weight"] == "bundle"
    assert served.trained_with["coview_weight"] == "calibration"
    assert served.sources["half_life_days"] == "environment"
    # set explicitly, even to the default value: the environment wins
    assert served.sources["content_weight"] == "environment"
    assert served.sources["popularity_weight"] == "default"
    described = served.describe()
    assert described["coview_weight"] == {
        "value": 4.0,
        "source": "bundle",
        "trained_with": "calibration",
    }
    assert described["half_life_days"] == {"value": 7.0, "source": "environment"}


def test_served_blend_of_a_bundle_without_settings_is_the_default() -> None:
    served = served_blend(Settings.from_env({}), {"now": "2026-01-01T00:00:00Z"})
    assert served.params == BlendParams()
    assert set(served.sources.values()) == {"default"}


def test_served_blend_of_settings_made_in_code_counts_changed_values_as_explicit() -> None:
    served = served_blend(Settings(popularity_weight=0.0), {"blend": {"popularity_weight": 1.0}})
    assert served.params.popularity_weight == 0.0
    assert served.sources["popularity_weight"] == "environment"


def test_served_blend_refuses_a_bundle_value_out_of_bounds() -> None:
    with pytest.raises(BundleError, match="coview_evidence"):
        served_blend(Settings.from_env({}), {"blend": {"coview_evidence": 0}})


def test_service_refuses_to_load_a_bundle_whose_blend_settings_cannot_serve(
    tmp_path: Path,
) -> None:
    contents = bundle_contents("bad")
    contents.manifest["blend"] = {"coview_evidence": 0}
    publish(contents, tmp_path / "models", version="20260101T000000Z-bad")
    app = create_app(Settings.from_env(_env(tmp_path / "models")), redis_ping=lambda: False)
    response = app.test_client().get("/v1/model")
    assert response.status_code == 503


def _env(models: Path, **extra: str) -> dict[str, str]:
    return {
        "NEWSREC_MODELS_DIR": str(models),
        "NEWSREC_RULES_DB": str(models.parent / "rules.sqlite3"),
        "NEWSREC_EVENT_LOG_DIR": str(models.parent / "events"),
        "NEWSREC_CACHE_TTL": "0",
        **extra,
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same sample trained twice without calibration: with the config file, and without."""
    root = tmp_path_factory.mktemp("served")
    info = generate_sample(root / "data", n_articles=300, days=12, seed=3)
    config = root / "tuned.toml"
    config.write_text(CONFIG)
    argv = ["train", "--articles", str(info.articles_path), "--views", str(info.views_path)]
    assert (
        main([*argv, "--no-calibrate", "--out", str(root / "configured"), "--config", str(config)])
        == 0
    )
    assert main([*argv, "--no-calibrate", "--out", str(root / "plain")]) == 0
    return {"configured": root / "configured", "plain": root / "plain"}


def _lists(app: Flask, article_ids: list[str]) -> dict[str, list[str]]:
    client = app.test_client()
    out = {}
    for article_id in article_ids:
        response = client.get(f"/v1/articles/{article_id}/related?n=10")
        assert response.status_code == 200
        out[article_id] = [item["id"] for item in body(response)["items"]]
    return out


def test_config_reaches_the_served_ranking_and_model_without_any_variable(
    trained: dict[str, Path], check_schema: Callable[[str, Any], None]
) -> None:
    configured = create_app(
        Settings.from_env(_env(trained["configured"])), redis_ping=lambda: False
    )
    data = body(configured.test_client().get("/v1/model"))
    check_schema("ModelResponse", data)
    blend = data["blend"]
    assert blend["coview_weight"] == {"value": 10.0, "source": "bundle", "trained_with": "config"}
    assert blend["half_life_days"] == {"value": None, "source": "bundle", "trained_with": "config"}
    assert blend["content_weight"] == {"value": 1.0, "source": "bundle", "trained_with": "default"}
    assert data["calibration"] == "off"

    bundle = Bundle.load_latest(trained["configured"])
    probe = bundle.meta("id")[:60]
    served = _lists(configured, probe)
    # the reference: the bundle trained without the file, told the same values by variables
    told = create_app(
        Settings.from_env(
            _env(
                trained["plain"],
                NEWSREC_COVIEW_WEIGHT="10",
                NEWSREC_COVIEW_EVIDENCE="1",
                NEWSREC_HALF_LIFE_DAYS="off",
                NEWSREC_POPULARITY_WEIGHT="0",
                NEWSREC_POPULAR_CANDIDATES="0",
            )
        ),
        redis_ping=lambda: False,
    )
    assert served == _lists(told, probe)
    # and the file mattered: at the defaults the lists differ
    plain = create_app(Settings.from_env(_env(trained["plain"])), redis_ping=lambda: False)
    assert served != _lists(plain, probe)


def test_environment_variable_wins_over_the_bundle_and_says_so(
    trained: dict[str, Path],
) -> None:
    app = create_app(
        Settings.from_env(_env(trained["configured"], NEWSREC_COVIEW_WEIGHT="0.5")),
        redis_ping=lambda: False,
    )
    blend = body(app.test_client().get("/v1/model"))["blend"]
    assert blend["coview_weight"] == {"value": 0.5, "source": "environment"}
    assert blend["coview_evidence"]["source"] == "bundle"


def test_section_weight_variable_lifts_the_page_section_and_explain_shows_it(
    trained: dict[str, Path],
) -> None:
    """NEWSREC_SECTION_WEIGHT reaches the served ranking: a candidate of the page's own section
    scores 1 + weight times what it scores without, explain gives the factor."""
    env = _env(trained["plain"], NEWSREC_SECTION_WEIGHT="2")
    client = create_app(Settings.from_env(env), redis_ping=lambda: False).test_client()
    plain = create_app(
        Settings.from_env(_env(trained["plain"])), redis_ping=lambda: False
    ).test_client()
    checked = {1.0: 0, 3.0: 0}
    for page in body(client.get("/v1/most-viewed?n=20"))["items"]:
        url = f"/v1/articles/{page['id']}/related?n=50&explain=true"
        answer, before = body(client.get(url)), body(plain.get(url))
        assert all(i["explain"]["section"] is None for i in before["items"])
        scores = {i["id"]: i["score"] for i in before["items"] if i["source"] == "related"}
        for item in answer["items"]:
            if item["source"] != "related" or item["id"] not in scores:
                continue
            factor = 3.0 if item["category"] == page["category"] else 1.0
            assert item["explain"]["section"] == factor
            assert item["score"] == pytest.approx(scores[item["id"]] * factor, rel=1e-3)
            checked[factor] += 1
    assert checked[1.0] and checked[3.0], checked
