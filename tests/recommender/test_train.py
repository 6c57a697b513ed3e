"""`newsrec train` end to end: bundles, atomic publishing, bad inputs, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from recommender import bundle as bundle_mod
from recommender.bundle import Bundle, latest_version, list_versions
from recommender.cli import main
from recommender.config import TrainConfig
from recommender.errors import BundleError, DataError
from recommender.sources.sample import generate_sample, read_topics
from recommender.train import train

ARTICLES = [
    {
        "id": "a1",
        "title": "Wind farm opens off the coast",
        "category": "energy",
        "body": "<p>Offshore <b>wind</b> turbines feed the grid.</p><script>track()</script>",
        "tags": ["wind"],
        "published_at": "2026-10-01T08:00:00Z",
        "url": "https://x/a1",
    },
    {
        "id": "a2",
        "title": "Wind turbines and the grid",
        "category": "energy",
        "body": "Grid operators welcome offshore wind turbines.",
        "tags": ["wind", "grid"],
        "published_at": "2026-10-02T08:00:00+02:00",
        "url": "https://x/a2",
    },
    {
        "id": "b1",
        "title": "Striker scores in cup final",
        "category": "sports",
        "body": "The striker scored twice in the cup final.",
        "published_at": "2026-10-03",
        "url": "https://x/b1",
    },
    {
        "id": "b2",
        "title": "Cup final penalty drama",
        "category": "sports",
        "body": "A late penalty decided the cup final for the striker's team.",
        "published_at": "2026-10-04T10:00:00",
        "url": "https://x/b2",
    },
    {
        "id": "c1",
        "title": "Opera season premiere",
        "category": "culture",
        "body": "The soprano opened the opera season.",
        "status": "draft",
        "url": "https://x/c1",
    },
]
# s1, s2: a1 then a2 ; s3: b1 then b2 ; s4: a1 then b1 ; s5: a2, c1 (c1 is a draft)
VIEWS = """session_id,article_id,timestamp
s1,a1,2026-10-05T10:00:00Z
s1,a2,2026-10-05T10:01:00Z
s2,a1,2026-10-05T11:00:00Z
s2,a2,2026-10-05T11:02:00Z
s3,b1,2026-10-05T12:00:00Z
s3,b2,2026-10-05T12:03:00Z
s4,a1,2026-10-04T09:00:00Z
s4,b1,2026-10-04T09:05:00Z
s5,a2,2026-10-05T13:00:00Z
s5,c1,2026-10-05T13:01:00Z
s5,zz,2026-10-05T13:02:00Z
"""


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    views = tmp_path / "views.csv"
    views.write_text(VIEWS)
    return articles, views


def _config(**changes: object) -> TrainConfig:
    return TrainConfig(coview_min_count=1, **changes)  # type: ignore[arg-type]


def test_train_bundle_holds_the_known_answers(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    result = train(*inputs, tmp_path / "models", config=_config())
    bundle = Bundle.load_latest(tmp_path / "models")
    assert bundle.version == result.version == latest_version(tmp_path / "models")
    assert bundle.meta("id") == ["a1", "a2", "b1", "b2", "c1"]
    a1, a2, b1, b2, c1 = range(5)
    assert bundle.content_neighbors[a1, 0] == a2
    assert bundle.content_neighbors[b1, 0] == b2
    assert c1 not in bundle.content_neighbors  # drafts are never recommended
    assert bundle.coview_neighbors is not None and bundle.coview_counts is not None
    assert bundle.coview_neighbors[a1, 0] == a2 and bundle.coview_counts[a1, 0] == 2
    assert bundle.coview_neighbors[a1, 1] == b1 and bundle.coview_counts[a1, 1] == 1
    counts = result.manifest["counts"]
    assert counts["views_of_unknown_articles"] == 1
    assert counts["sessions"] == 5
    # popularity windows end at the last view (2026-10-05T13:02Z): s4's views are older than 1d
    assert bundle.popularity_views[a1].tolist() == [2, 3, 3, 3]
    assert bundle.article(a2)["published_at"] == "2026-10-02T06:00:00Z"
    assert bundle.article(b2)["published_at"] == "2026-10-04T10:00:00Z"  # no zone means UTC


def test_train_bundle_keeps_no_text_or_views(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    result = train(*inputs, tmp_path / "models", config=_config())
    names = sorted(p.name for p in result.path.iterdir())
    assert all(n.endswith((".npy", ".json", ".joblib")) for n in names)
    for file in result.path.glob("articles.*"):
        assert b"feed the grid" not in file.read_bytes()
    for file in result.path.glob("*.npy"):
        np.load(file, allow_pickle=False)


def test_train_is_deterministic(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    one = train(*inputs, tmp_path / "m1", config=_config()).path
    two = train(*inputs, tmp_path / "m2", config=_config()).path
    for file in sorted(one.glob("*.npy")):
        assert file.read_bytes() == (two / file.name).read_bytes(), file.name  # articles too


def test_train_counts_only_has_no_coview(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    counts = tmp_path / "counts.csv"
    counts.write_text("article_id,views,date\na1,10,2026-10-05\nb1,3,2026-10-01\nb2,7,2026-09-01\n")
    result = train(inputs[0], counts, tmp_path / "models", config=_config())
    bundle = Bundle.load_latest(tmp_path / "models")
    assert not bundle.has_coview and bundle.coview_neighbors is None
    assert "counts" in result.manifest["coview"]
    assert bundle.popularity_views[:, 3].tolist() == [10, 0, 3, 7, 0]
    assert bundle.popular_rows("all").tolist()[:3] == [0, 3, 2]


def test_train_bad_row_publishes_nothing(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    models = tmp_path / "models"
    train(*inputs, models, config=_config())
    before = latest_version(models)
    bad = tmp_path / "bad.csv"
    bad.write_text(VIEWS + "s9,a1,not-a-time\n")
    with pytest.raises(DataError) as info:
        train(inputs[0], bad, models, config=_config())
    assert info.value.line == 13 and info.value.field == "timestamp"
    assert latest_version(models) == before and len(list_versions(models)) == 1
    result = train(inputs[0], bad, models, config=_config(max_invalid=1))
    assert result.manifest["counts"]["invalid_view_rows"] == 1


#: Impossible view times: 2099, epoch milliseconds, year 10000 in seconds, a future ISO time.
FUTURE_TIMES = ["4070908800", "1791000000000", "253402300800", "2099-01-01T00:00:00Z"]


@pytest.mark.parametrize("value", FUTURE_TIMES)
def test_train_refuses_view_times_after_the_newest_plausible_time(
    inputs: tuple[Path, Path], tmp_path: Path, value: str
) -> None:
    models = tmp_path / "models"
    bad = tmp_path / "bad.csv"
    bad.write_text(VIEWS + f"s9,a1,{value}\n")
    with pytest.raises(DataError) as info:
        train(inputs[0], bad, models, config=_config())
    assert (info.value.path, info.value.line, info.value.field) == (str(bad), 13, "timestamp")
    assert value in info.value.message and "milliseconds" in info.value.message
    assert latest_version(models) is None
    result = train(inputs[0], bad, models, config=_config(max_invalid=1))
    counts = result.manifest["counts"]
    assert counts["invalid_view_rows"] == 1 and counts["future_view_rows"] == 1
    # the model's "now" is the last plausible view, not the refused one nor the clock
    assert result.manifest["now"] == "2026-10-05T13:02:00Z"


def test_train_future_limit_follows_the_newest_article(tmp_path: Path) -> None:
    # Data from 2099 (articles and views): plausible, since the articles say so.
    articles = tmp_path / "articles.jsonl"
    rows = [{**a, "published_at": "2099-01-05T00:00:00Z"} for a in ARTICLES]
    articles.write_text("".join(json.dumps(a) + "\n" for a in rows))
    views = tmp_path / "views.csv"
    views.write_text(VIEWS.replace("2026-10-0", "2099-01-0"))
    result = train(articles, views, tmp_path / "models", config=_config())
    assert result.manifest["now"] == "2099-01-05T13:02:00Z"
    # one day after the newest article is the limit (and the clock is long before)
    views.write_text(VIEWS + "s9,a1,2099-01-06T00:00:01Z\n")
    with pytest.raises(DataError, match=r"views\.csv:13"):
        train(articles, views, tmp_path / "models", config=_config())


def test_train_counts_refuse_future_dates(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    counts = tmp_path / "counts.jsonl"
    counts.write_text(
        '{"article_id": "a1", "views": 3, "date": "2026-10-05"}\n'
        '{"article_id": "a2", "views": 4, "date": 1791000000000}\n'
    )
    with pytest.raises(DataError) as info:
        train(inputs[0], counts, tmp_path / "models", config=_config())
    assert (info.value.line, info.value.field) == (2, "date")


def test_cli_train_summary_counts_refused_view_times(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"session_id": "s1", "article_id": "a1", "timestamp": 1791000000000}\n'
        '{"session_id": "s1", "article_id": "a2", "timestamp": "2026-10-05T10:00:00Z"}\n'
        '{"session_id": "s2", "article_id": "a1", "timestamp": 253402300800}\n'
    )
    args = ["train", "--articles", str(inputs[0]), "--views", str(bad)]
    assert main([*args, "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:1: field 'timestamp'" in err and "Traceback" not in err
    assert main([*args, "--out", str(tmp_path / "m"), "--max-invalid", "2"]) == 0
    summary = dict(line.split()[:2] for line in capsys.readouterr().out.splitlines() if line)
    assert summary["future_view_rows"] == "2" and summary["invalid_view_rows"] == "2"


def test_cli_train_exit_codes_and_summary(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    args = ["train", "--articles", str(inputs[0]), "--views", str(inputs[1]), "--out", str(models)]
    config = tmp_path / "newsrec.toml"
    config.write_text("[train]\ncoview_min_count = 1\n")
    assert main([*args, "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "published" in out and "vocabulary" in out and "co-view" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x1", "title": "ok"}\n{"id": "x2"}\n')
    assert main(["train", "--articles", str(bad), "--out", str(models)]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err
    config.write_text("[train]\nno_such_setting = 1\n")
    assert main([*args, "--config", str(config)]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["train", "--articles", str(inputs[0]), "--max-invalid", "-3"])
    assert usage.value.code == 2


def test_bundle_refuses_truncated_or_foreign(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    path = train(*inputs, tmp_path / "models", config=_config()).path
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["libraries"]["scikit-learn"] = "0.1.0"
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="scikit-learn"):
        Bundle.load(path)
    path = train(*inputs, tmp_path / "models2", config=_config()).path
    data = (path / "content_scores.npy").read_bytes()
    (path / "content_scores.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="content_scores"):
        Bundle.load(path)
    with pytest.raises(BundleError, match="LATEST"):
        Bundle.load_latest(tmp_path / "empty")


def test_models_keep_list_and_rollback(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    versions = [train(*inputs, models, config=_config(keep=2)).version for _ in range(3)]
    assert list_versions(models) == versions[1:]
    assert main(["models", "--models", str(models), "list"]) == 0
    assert f"* {versions[2]}" in capsys.readouterr().out.replace("  ", " ")
    assert main(["models", "--models", str(models), "rollback", versions[1]]) == 0
    assert latest_version(models) == versions[1]
    assert main(["models", "--models", str(models), "rollback", "20000101T000000Z"]) == 2


def test_publish_killed_mid_write_keeps_latest(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    models = tmp_path / "models"
    before = train(*inputs, models, config=_config()).version
    # A real training process, slowed down inside the bundle writer, killed while it writes.
    script = f"""
import time, numpy as np
from recommender import bundle
original = np.save
def slow_save(*args, **kwargs):
    original(*args, **kwargs)
    print("wrote", flush=True)
    time.sleep(0.5)
np.save = slow_save
from recommender.config import TrainConfig
from recommender.train import train
train({str(inputs[0])!r}, {str(inputs[1])!r}, {str(models)!r},
      config=TrainConfig(coview_min_count=1))
"""
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        for _ in range(3):
            assert proc.stdout.readline().startswith("wrote")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert latest_version(models) == before
    assert Bundle.load_latest(models).version == before
    assert list_versions(models) == [before]  # the half-written bundle is only a .tmp dir
    # the next successful run cleans nothing it should not and publishes normally
    time.sleep(1.1)
    after = train(*inputs, models, config=_config()).version
    assert latest_version(models) == after != before


def test_train_sample_related_share_topic(tmp_path: Path) -> None:
    info = generate_sample(tmp_path / "data", n_articles=400, days=20, seed=1)
    train(info.articles_path, info.views_path, tmp_path / "models")
    bundle = Bundle.load_latest(tmp_path / "models")
    topics = read_topics(info.topics_path)
    for neighbors in ("content_neighbors", "coview_neighbors"):
        array = getattr(bundle, neighbors)
        same = total = 0
        for row, article_id in enumerate(bundle.meta("id")):
            first = int(array[row, 0])
            if first >= 0:
                total += 1
                same += topics[article_id] == topics[bundle.article_id(first)]
        assert total > 0.8 * len(bundle) * (0.5 if neighbors == "coview_neighbors" else 1)
        assert same / total > 0.8, neighbors


def test_recommender_never_imports_flask_or_redis() -> None:
    # every module of the package, not only the entry points
    code = (
        "import importlib, pkgutil, sys, recommender\n"
        "for info in pkgutil.walk_packages(recommender.__path__, 'recommender.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "assert 'recommender.foldin' in sys.modules and 'recommender.cli.train' in sys.modules\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'redis', 'service')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bundle_publish_rejects_object_arrays(tmp_path: Path) -> None:
    contents = bundle_mod.BundleContents(
        article_ids=["a"],
        meta={k: [""] for k in bundle_mod.META_FIELDS},
        arrays={"ids": np.array(["a"], dtype=object)},
        vectorizer=None,
    )
    with pytest.raises(BundleError, match="object"):
        bundle_mod.publish(contents, tmp_path / "models")
    assert latest_version(tmp_path / "models") is None


def test_train_says_coview_absent_when_no_session_reads_two_articles(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    views = tmp_path / "single.csv"
    views.write_text(
        "session_id,article_id,timestamp\n"
        + "".join(f"s{i},{a['id']},2026-10-05T1{i}:00:00Z\n" for i, a in enumerate(ARTICLES[:3]))
    )
    result = train(inputs[0], views, tmp_path / "models", config=_config())
    assert result.manifest["coview"].startswith("absent: no usable sessions (0 of 3 sessions")
    assert result.manifest["counts"]["usable_sessions"] == 0
    assert not Bundle.load(result.path).has_coview
    args = ["train", "--articles", str(inputs[0]), "--views", str(views)]
    assert main([*args, "--out", str(tmp_path / "m2"), "--no-calibrate"]) == 0
    out = capsys.readouterr().out
    assert "co-view: absent: no usable sessions" in out and "co-view: built" not in out


def test_train_config_read_next_puts_the_article_opened_next_first(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """a2 is read just before a1 as often as b1 just after it: co-views alone tie them (a2,
    the lower id, first); with ``coview_next_weight`` b1, opened after a1, comes first."""
    views = tmp_path / "ordered.csv"
    views.write_text(
        "session_id,article_id,timestamp\n"
        + "".join(
            f"s{i},a2,2026-10-05T1{i}:00:00Z\ns{i},a1,2026-10-05T1{i}:01:00Z\n"
            f"t{i},a1,2026-10-05T1{i}:00:00Z\nt{i},b1,2026-10-05T1{i}:01:00Z\n"
            for i in range(3)
        )
    )
    config = tmp_path / "newsrec.toml"
    config.write_text("[train]\ncoview_min_count = 1\ncoview_next_weight = 0.5\n")
    args = ["train", "--articles", str(inputs[0]), "--views", str(views), "--no-calibrate"]
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    assert main([*args, "--out", str(tmp_path / "next"), "--config", str(config)]) == 0
    a1, a2, b1 = 0, 1, 2
    plain = Bundle.load_latest(tmp_path / "plain")
    ordered = Bundle.load_latest(tmp_path / "next")
    assert plain.coview_neighbors is not None and ordered.coview_neighbors is not None
    assert plain.coview_neighbors[a1, :2].tolist() == [a2, b1]
    assert ordered.coview_neighbors[a1, :2].tolist() == [b1, a2]
    # the editor's "read next in 3 sessions": b1 came after a1 in all 3, a2 in none
    assert plain.coview_next_sessions is None
    assert ordered.coview_next_sessions is not None
    assert ordered.coview_next_sessions[a1, :2].tolist() == [3, 0]
    assert ordered.coview_counts is not None and ordered.coview_counts[a1, :2].tolist() == [3, 3]
    manifest = json.loads((ordered.path / "manifest.json").read_text())
    assert manifest["settings_origin"]["coview_next_weight"] == "config"
