"""Same-story collapsing in related answers and in the editor preview.

The catalogue of ``tests/conftest.py`` (news-page fields of ``tests/service/news_page.py``) with
stories: n3 is another version of n1, s1 and s2 are versions of one story, every other article
a story of its own. The hybrid list of n1 is n2, n3, s2, s1, n4 (conftest); the fillers are the
7-day most viewed of news (n1, n4, n2, n3) then of the site (s1, n1, n4, s3, n2, n3, s2, s4).
With one item per story: n3 folds under n1 (the page), s1 under s2; s3 and s4 fill.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from recommender.bundle import STORIES_ARRAY, publish
from tests.conftest import IDS, ROW, VERSION_1, body
from tests.service.editorial.test_preview import HASH, SECRET, USER, log_in
from tests.service.news_page import news_page_contents

STORY = {"n1": "n1", "n3": "n1", "s1": "s1", "s2": "s1"}
COLLAPSED = ["n2", "s2", "n4", "s3", "s4"]


def publish_story_bundle(models: Path, *, stories: bool = True) -> None:
    contents = news_page_contents()
    if stories:
        contents.arrays[STORIES_ARRAY] = np.array(
            [ROW[STORY.get(a, a)] for a in IDS], dtype=np.int32
        )
    publish(contents, models, version=VERSION_1, keep=10)


@pytest.fixture
def make(make_app: Callable[..., Flask], tmp_path: Path) -> Callable[..., FlaskClient]:
    models = tmp_path / "models"
    publish_story_bundle(models)

    def build(**settings: Any) -> FlaskClient:
        return make_app(models_dir=models, event_log_dir=None, **settings).test_client()

    return build


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in body(response)["items"]]


def test_related_shows_one_item_per_story_by_default(make: Callable[..., FlaskClient]) -> None:
    client = make()
    assert ids(client.get("/v1/articles/n1/related?n=5")) == COLLAPSED
    # the other version's page never lists n1 either
    assert "n1" not in ids(client.get("/v1/articles/n3/related?n=8"))
    assert "s2" not in ids(client.get("/v1/articles/s1/related?n=8"))


def test_per_story_parameter_and_off(make: Callable[..., FlaskClient]) -> None:
    client = make()
    # two per story: s1 comes back, n3 (a version of the page) never does
    assert ids(client.get("/v1/articles/n1/related?n=5&per_story=2")) == [
        "n2",
        "s2",
        "s1",
        "n4",
        "s3",
    ]
    assert ids(client.get("/v1/articles/n1/related?n=5&per_story=0")) == [
        "n2",
        "n3",
        "s2",
        "s1",
        "n4",
    ]
    for bad in ("-1", "x", "51", "1.5"):
        response = client.get(f"/v1/articles/n1/related?per_story={bad}")
        assert response.status_code == 400
        assert "per_story" in body(response)["error"]["message"]


def test_site_setting_and_explain_say_what_was_folded(
    make: Callable[..., FlaskClient], check_schema: Callable[[str, Any], None]
) -> None:
    client = make(per_story=0)
    assert ids(client.get("/v1/articles/n1/related?n=5"))[1] == "n3"  # off for the site
    answer = body(client.get("/v1/articles/n1/related?n=5&per_story=1&explain=true"))
    check_schema("RelatedResponse", answer)
    assert [item["id"] for item in answer["items"]] == COLLAPSED
    assert answer["per_story"] == 1
    assert answer["collapsed"] == [{"id": "n3", "under": "n1"}, {"id": "s1", "under": "s2"}]
    plain = body(client.get("/v1/articles/n1/related?n=5&per_story=1"))
    assert "collapsed" not in plain


def test_per_story_variable_is_checked() -> None:
    from service.settings import Settings, SettingsError

    assert Settings.from_env({}).per_story == 1
    assert Settings.from_env({"NEWSREC_PER_STORY": "0"}).per_story == 0
    assert Settings.from_env({"NEWSREC_PER_STORY": "3"}).per_story == 3
    for bad in ("-1", "one", "1001"):
        with pytest.raises(SettingsError, match="NEWSREC_PER_STORY"):
            Settings.from_env({"NEWSREC_PER_STORY": bad})


def test_a_bundle_without_stories_collapses_nothing(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    models = tmp_path / "old-models"
    publish_story_bundle(models, stories=False)
    client = make_app(models_dir=models, event_log_dir=None).test_client()
    answer = body(client.get("/v1/articles/n1/related?n=5&explain=true"))
    assert [item["id"] for item in answer["items"]] == ["n2", "n3", "s2", "s1", "n4"]
    assert "collapsed" not in answer


def test_preview_marks_collapsed_items_and_lists_what_was_folded(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    publish_story_bundle(models)
    app = make_app(
        models_dir=models,
        rules_db=tmp_path / "rules.sqlite3",
        editor_user=USER,
        editor_password_hash=HASH,
        secret_key=SECRET,
    )
    editor = app.test_client()
    assert log_in(editor).status_code == 302
    readers = body(editor.get("/preview/api/articles/n1?n=5"))["lists"]["readers"]
    assert [item["id"] for item in readers["items"]] == COLLAPSED
    folded = {item["id"]: item["folded"] for item in readers["items"]}
    assert folded == {"n2": [], "s2": ["s1"], "n4": [], "s3": [], "s4": []}
    assert [
        (c["id"], c["folded_under"]["id"], c["is_query_story"]) for c in readers["collapsed"]
    ] == [("n3", "n1", True), ("s1", "s2", False)]
    assert readers["collapsed"][1]["folded_under"]["title"] == "[v1] Sports 2"
    assert readers["per_story"] == 1
