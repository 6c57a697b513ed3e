"""Reading time: words counted at training, stored per article, and old bundles without them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from recommender.bundle import MANIFEST, WORDS_ARRAY, Bundle
from recommender.reading import count_words, reading_minutes
from recommender.train import train
from tests.recommender.test_articletable import to_format_1
from tests.recommender.test_train import ARTICLES, VIEWS


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", 0),
        ("   ", 0),
        ("One.", 1),
        ("Offshore wind turbines feed the grid.", 6),
        ("The striker's team — don't panic — won 3-1 in a well-known final.", 11),
        ("Énergie: l'éolien en mer s'accélère", 5),
    ],
)
def test_count_words_counts_words_not_punctuation(text: str, words: int) -> None:
    assert count_words(text) == words


def test_reading_minutes_rounds_up_at_the_stated_speed() -> None:
    assert reading_minutes(230) == 1
    assert reading_minutes(231) == 2
    assert reading_minutes(1380) == 6  # 6 * 230
    assert reading_minutes(1000, words_per_minute=200) == 5
    assert reading_minutes(1, words_per_minute=200) == 1
    assert reading_minutes(0) is None
    with pytest.raises(ValueError):
        reading_minutes(10, words_per_minute=0)


def _inputs(tmp_path: Path, extra: dict[str, dict[str, str]]) -> tuple[Path, Path]:
    articles = tmp_path / "articles.jsonl"
    rows = [{**a, **extra.get(str(a["id"]), {})} for a in ARTICLES]
    articles.write_text("".join(json.dumps(a) + "\n" for a in rows))
    views = tmp_path / "views.csv"
    views.write_text(VIEWS)
    return articles, views


def test_train_stores_word_counts_authors_and_image_srcsets(tmp_path: Path) -> None:
    srcset = "https://x/a1-320.jpg 320w,\n https://x/a1-640.jpg 640w"
    inputs = _inputs(
        tmp_path, {"a1": {"author": "Ada Lovelace", "image_srcset": srcset}, "b1": {"body": ""}}
    )
    train(*inputs, tmp_path / "models")
    bundle = Bundle.load_latest(tmp_path / "models")
    a1, a2, b1, b2, _ = range(5)
    # HTML stripped before counting: "Offshore wind turbines feed the grid." (the script is gone)
    assert bundle.words(a1) == 6
    assert bundle.words(a2) == 6
    assert bundle.words(b1) == 0
    assert bundle.words(b2) == 11
    assert bundle.author(a1) == "Ada Lovelace" and bundle.author(a2) == ""
    assert (
        bundle.article(a1)["image_srcset"] == "https://x/a1-320.jpg 320w, https://x/a1-640.jpg 640w"
    )
    assert "image_srcset" not in bundle.article(a2)  # no srcset: the key is left out


def test_bundle_without_word_counts_or_authors_still_loads(tmp_path: Path) -> None:
    train(*_inputs(tmp_path, {"a1": {"author": "Ada"}}), tmp_path / "models")
    path = Bundle.load_latest(tmp_path / "models").path
    old = tmp_path / "old" / path.name
    shutil.copytree(path, old)
    to_format_1(old)
    # a bundle written before reading times and authors: no array, no columns
    (old / f"{WORDS_ARRAY}.npy").unlink()
    manifest = json.loads((old / MANIFEST).read_text())
    del manifest["arrays"][WORDS_ARRAY]
    (old / MANIFEST).write_text(json.dumps(manifest))
    meta = json.loads((old / "articles.json").read_text())
    del meta["author"], meta["image_srcset"]
    (old / "articles.json").write_text(json.dumps(meta))
    bundle = Bundle.load(old)
    assert bundle.word_counts is None and bundle.words(0) is None
    assert bundle.authors is None and bundle.author(0) == ""
    assert "image_srcset" not in bundle.article(0)


def test_bundle_refuses_a_short_optional_column(tmp_path: Path) -> None:
    from recommender.errors import BundleError

    train(*_inputs(tmp_path, {}), tmp_path / "models")
    path = Bundle.load_latest(tmp_path / "models").path
    to_format_1(path)
    meta = json.loads((path / "articles.json").read_text())
    meta["author"] = meta["author"][:-1]
    (path / "articles.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="every column"):
        Bundle.load(path)
