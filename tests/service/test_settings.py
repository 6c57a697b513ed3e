"""Settings: read from NEWSREC_* variables, validated, every variable documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from recommender.blend import BlendParams
from service.settings import Settings, SettingsError, settings_markdown
from service.variables import ENV_VARS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_settings_defaults_from_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.models_dir == Path("models")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.redis_url is None
    assert (settings.default_n, settings.max_n, settings.cache_ttl) == (6, 50, 300)
    assert settings.fallback_window == "7d"
    assert settings.now_from_clock is False
    assert settings.blend_params() == BlendParams()


def test_settings_read_every_variable() -> None:
    env = {
        "NEWSREC_MODELS_DIR": "/srv/models",
        "NEWSREC_PORT": "9000",
        "NEWSREC_WORKERS": "3",
        "NEWSREC_REDIS_URL": "redis://cache:6379/2",
        "NEWSREC_RELOAD_INTERVAL": "0.5",
        "NEWSREC_HALF_LIFE_DAYS": "off",
        "NEWSREC_SECTION_HALF_LIVES": "sports=1, culture=14",
        "NEWSREC_NOW_FROM_CLOCK": "true",
        "NEWSREC_LOG_LEVEL": "debug",
        "NEWSREC_DEFAULT_N": "",  # empty means default
    }
    settings = Settings.from_env(env)
    assert settings.models_dir == Path("/srv/models")
    assert (settings.port, settings.workers, settings.reload_interval) == (9000, 3, 0.5)
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.half_life_days is None
    assert settings.section_half_lives == (("culture", 14.0), ("sports", 1.0))
    assert settings.blend_params().half_life("sports") == 1.0
    assert settings.now_from_clock is True
    assert settings.log_level == "DEBUG"
    assert settings.default_n == 6


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEWSREC_PORT", "http"),
        ("NEWSREC_PORT", "70000"),
        ("NEWSREC_WORKERS", "0"),
        ("NEWSREC_MAX_N", "-5"),
        ("NEWSREC_CACHE_TTL", "5m"),
        ("NEWSREC_RELOAD_INTERVAL", "0"),
        ("NEWSREC_COVIEW_WEIGHT", "nan"),
        ("NEWSREC_HALF_LIFE_DAYS", "-1"),
        ("NEWSREC_SECTION_HALF_LIVES", "sports"),
        ("NEWSREC_SECTION_HALF_LIVES", "sports=fast"),
        ("NEWSREC_FALLBACK_WINDOW", "2d"),
        ("NEWSREC_NOW_FROM_CLOCK", "maybe"),
        ("NEWSREC_REDIS_URL", "localhost:6379"),
        ("NEWSREC_LOG_LEVEL", "LOUD"),
    ],
)
def test_settings_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}={value!r}: expected ")


def test_settings_default_n_cannot_exceed_max_n() -> None:
    with pytest.raises(SettingsError, match="NEWSREC_DEFAULT_N"):
        Settings.from_env({"NEWSREC_MAX_N": "5", "NEWSREC_DEFAULT_N": "6"})


def test_settings_every_field_has_one_documented_variable() -> None:
    read = [f.name for f in dataclasses.fields(Settings) if f.metadata.get("variable", True)]
    assert sorted(v.field for v in ENV_VARS) == sorted(read)
    assert len({v.name for v in ENV_VARS}) == len(ENV_VARS)
    for var in ENV_VARS:
        assert var.name.startswith("NEWSREC_") and var.description and var.expected
        # the documented default is the field's default
        default = Settings.from_env({var.name: var.default} if var.default else {})
        assert default == Settings(), var.name


def test_settings_table_in_docs_is_current() -> None:
    table = settings_markdown()
    for var in ENV_VARS:
        assert f"`{var.name}`" in table
    assert table in DOCS.read_text(), "regenerate docs/configuration.md (see its header)"


def test_settings_unknown_variables_are_reported() -> None:
    env = {"NEWSREC_PORT": "1", "NEWSREC_WORKRES": "2", "HOME": "/"}
    assert Settings.unknown_variables(env) == ["NEWSREC_WORKRES"]


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        # an article without co-view evidence would be ranked by nothing
        ({"NEWSREC_CONTENT_WEIGHT": "0"}, "NEWSREC_CONTENT_WEIGHT"),
        # the co-view weight divides by support + evidence: 0 would divide 0 by 0
        ({"NEWSREC_COVIEW_EVIDENCE": "0"}, "NEWSREC_COVIEW_EVIDENCE"),
        ({"NEWSREC_SECTION_HALF_LIVES": "sports=0"}, "NEWSREC_SECTION_HALF_LIVES"),
        ({"NEWSREC_POPULAR_CANDIDATES": "100001"}, "NEWSREC_POPULAR_CANDIDATES"),
    ],
)
def test_settings_blend_bounds_are_the_librarys(environ: dict[str, str], variable: str) -> None:
    from recommender.config import check_blend_settings
    from recommender.errors import SettingError

    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    assert raised.value.variable == variable
    # the same value is refused by the [blend] table and tune: one set of bounds
    name = {
        "NEWSREC_CONTENT_WEIGHT": ("content_weight", 0),
        "NEWSREC_COVIEW_EVIDENCE": ("coview_evidence", 0),
        "NEWSREC_SECTION_HALF_LIVES": ("section_half_life_days", {"sports": 0}),
        "NEWSREC_POPULAR_CANDIDATES": ("popular_candidates", 100_001),
    }[variable]
    with pytest.raises(SettingError):
        check_blend_settings({name[0]: name[1]})
