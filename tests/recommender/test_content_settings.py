"""Content settings that hold on real text: stop words (english, none, a file), the author's
weight, and a clear error for anything else (never a scikit-learn traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recommender.blend import related
from recommender.bundle import Bundle
from recommender.cli import main
from recommender.config import TrainConfig
from recommender.errors import DataError
from recommender.train import train

WORDS = ["harbour", "council", "budget", "school", "river", "bridge", "market", "museum"]


def _articles(path: Path) -> Path:
    """Twenty-four articles: three per topic word; the column "Ferry notes" by one author
    spreads over three topics."""
    with path.open("w") as handle:
        for i in range(24):
            topic = WORDS[i % 8]
            row = {
                "id": f"a{i:02d}",
                "title": f"The {topic} story number {i}",
                "body": f"Readers asked about the {topic} again. The {topic} plan moves on.",
                "category": "local",
                "author": "Ferry notes" if i in (0, 9, 18) else f"Reporter {i}",
            }
            handle.write(json.dumps(row) + "\n")
    return path


def test_stop_words_english_none_or_a_file(tmp_path: Path) -> None:
    articles = _articles(tmp_path / "articles.jsonl")
    english = train(articles, None, tmp_path / "m1", config=TrainConfig(min_df=1, max_df=1.0)).path
    vocabulary = Bundle.load(english).vectorizer.vocabulary_
    assert "the" not in vocabulary and "harbour" in vocabulary
    kept = train(
        articles, None, tmp_path / "m2", config=TrainConfig(min_df=1, max_df=1.0, stop_words=None)
    )
    assert "the" in Bundle.load(kept.path).vectorizer.vocabulary_
    words = tmp_path / "stop.txt"
    words.write_text("# our own list\nHarbour\nreaders' # a comment\n")
    config = tmp_path / "newsrec.toml"
    config.write_text(
        '[train]\nmin_df = 1\nmax_df = 1.0\nstop_words = "stop.txt"\n'
    )  # beside the file
    own = train(articles, None, tmp_path / "m3", config=TrainConfig.from_toml(config))
    vocabulary = Bundle.load(own.path).vectorizer.vocabulary_
    assert "harbour" not in vocabulary and "readers" not in vocabulary and "the" in vocabulary
    config.write_text('[train]\nstop_words = "none"\n')
    assert TrainConfig.from_toml(config).stop_words is None


@pytest.mark.parametrize("value", ['""', '"englsh"', '"missing.txt"', "3"])
def test_stop_words_anything_else_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    config = tmp_path / "newsrec.toml"
    config.write_text(f"[train]\nstop_words = {value}\n")
    with pytest.raises(DataError, match="must be english, none, or the path of a file") as caught:
        TrainConfig.from_toml(config)
    assert caught.value.field == "stop_words" and caught.value.path == str(config)
    articles = _articles(tmp_path / "articles.jsonl")
    code = main(
        [
            "train",
            "--articles",
            str(articles),
            "--out",
            str(tmp_path / "m"),
            "--config",
            str(config),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "stop_words" in err and "Traceback" not in err


def test_author_weight_joins_a_columns_articles(tmp_path: Path) -> None:
    articles = _articles(tmp_path / "articles.jsonl")
    plain = Bundle.load(
        train(articles, None, tmp_path / "m1", config=TrainConfig(min_df=1, max_df=1.0)).path
    )
    weighted = Bundle.load(
        train(articles, None, tmp_path / "m2", config=TrainConfig(min_df=1, author_weight=3)).path
    )
    assert weighted.manifest["parameters"]["author_weight"] == 3

    def column(bundle: Bundle) -> set[str]:
        items = related(bundle, bundle.row("a00"), 4, now_ts=0, strategy="content")
        return {bundle.article_id(i.row) for i in items}

    assert not {"a09", "a18"} & column(plain)  # other topics: no word in common
    assert {"a09", "a18"} <= column(weighted)  # the same column
    with pytest.raises(DataError, match="author_weight"):
        TrainConfig(author_weight=-1)
