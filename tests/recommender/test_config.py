"""The one place of the blend settings' bounds (``recommender.config``): every path that takes
a blend setting (one value, text, a whole mapping, a TOML table, a BlendParams) refuses the
same values, and says which setting and which bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.blend import BlendParams
from recommender.config import (
    BLEND_BOUNDS,
    TrainConfig,
    check_blend_settings,
    check_blend_value,
    parse_blend_value,
)
from recommender.errors import DataError, SettingError


def test_every_blend_param_has_a_bound() -> None:
    assert set(BLEND_BOUNDS) == set(BlendParams.__dataclass_fields__)


def test_coview_evidence_zero_is_refused_by_every_path(tmp_path: Path) -> None:
    with pytest.raises(SettingError) as one:
        check_blend_value("coview_evidence", 0)
    assert one.value.setting == "coview_evidence"
    assert "above 0" in str(one.value) and "coview_evidence" in str(one.value)
    with pytest.raises(SettingError):
        parse_blend_value("coview_evidence", "0")
    with pytest.raises(SettingError) as whole:
        check_blend_settings({"coview_evidence": 0.0})
    assert whole.value.setting == "coview_evidence"
    with pytest.raises(SettingError):
        BlendParams(coview_evidence=0)
    with pytest.raises(DataError) as table:
        BlendParams.from_table({"coview_evidence": 0}, "newsrec.toml")
    assert table.value.field == "coview_evidence"
    toml = tmp_path / "newsrec.toml"
    toml.write_text("[blend]\ncoview_evidence = 0\n")
    with pytest.raises(DataError) as file:
        BlendParams.from_toml(toml)
    assert (file.value.path, file.value.field) == (str(toml), "coview_evidence")


def test_content_weight_zero_is_a_value_but_not_a_served_setting() -> None:
    # the preview may try it on an article with co-view evidence ...
    assert check_blend_value("content_weight", 0) == 0.0
    assert BlendParams(content_weight=0).content_weight == 0
    # ... a configuration may not: a new article is ranked by content alone
    with pytest.raises(SettingError) as caught:
        check_blend_settings({"content_weight": 0})
    assert caught.value.setting == "content_weight"
    with pytest.raises(DataError):
        BlendParams.from_table({"content_weight": 0})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("coview_weight", -1),
        ("popularity_weight", float("nan")),
        ("half_life_days", 0),
        ("section_half_life_days", 0),
        ("popular_candidates", 2.5),
        ("popular_candidates", 100_001),
        ("popular_min_similarity", float("inf")),
        ("coview_weight", "high"),
        ("coview_weight", True),
        ("coview_weight", None),
        ("nonsense", 1),
    ],
)
def test_check_blend_value_refuses_and_names_the_setting(name: str, value: object) -> None:
    with pytest.raises(SettingError) as caught:
        check_blend_value(name, value)
    assert caught.value.setting == name
    assert str(caught.value).startswith(name)


def test_check_blend_value_normalises() -> None:
    assert check_blend_value("popular_candidates", 300.0) == 300
    assert isinstance(check_blend_value("popular_candidates", 300.0), int)
    assert check_blend_value("coview_weight", 3) == 3.0
    for off in (None, False, "off", " OFF ", "none"):
        assert check_blend_value("half_life_days", off) is None
    assert parse_blend_value("half_life_days", "2.5") == 2.5
    assert parse_blend_value("popular_candidates", "300") == 300
    with pytest.raises(SettingError):
        parse_blend_value("half_life_days", "soon")


def test_slider_range_is_the_previews_only() -> None:
    assert check_blend_value("content_weight", 25) == 25.0
    assert check_blend_value("content_weight", 10, slider=True) == 10.0
    with pytest.raises(SettingError) as caught:
        check_blend_value("content_weight", 25, slider=True)
    assert "from 0 to 10" in str(caught.value)
    with pytest.raises(SettingError):
        parse_blend_value("popularity_weight", "2.5", slider=True)


def test_bound_descriptions() -> None:
    assert BLEND_BOUNDS["coview_evidence"].describe() == "a number above 0"
    assert BLEND_BOUNDS["half_life_days"].describe() == "a number above 0, or off"
    assert BLEND_BOUNDS["half_life_days"].describe(slider=True) == (
        "a number above 0 and at most 3650, or off"
    )
    assert BLEND_BOUNDS["popular_candidates"].describe() == "an integer from 0 to 100000"
    assert BLEND_BOUNDS["content_weight"].describe() == "a number >= 0"


def test_section_half_lives_are_checked_per_section() -> None:
    assert check_blend_settings({"section_half_life_days": {"sports": 1}}) == {
        "section_half_life_days": {"sports": 1.0}
    }
    with pytest.raises(SettingError):
        check_blend_settings({"section_half_life_days": {"sports": 0}})
    with pytest.raises(SettingError):
        BlendParams(section_half_life_days={"sports": -1.0})


def test_train_config_from_toml_reads_train_and_refuses_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "newsrec.toml"
    path.write_text("[train]\ntitle_weight = 2\n[blend]\ncoview_weight = 2.0\n")
    assert TrainConfig.from_toml(path, keep=None).title_weight == 2
    assert TrainConfig.from_toml(path, title_weight=4).title_weight == 4
    path.write_text("[train]\ntitel_weight = 2\n")
    with pytest.raises(DataError) as caught:
        TrainConfig.from_toml(path)
    assert caught.value.field == "titel_weight"
    with pytest.raises(DataError, match="no such file"):
        TrainConfig.from_toml(tmp_path / "missing.toml")
