"""The hand-checkable catalogue of ``tests/conftest.py`` with what a news page shows besides:
word counts (reading times) and authors (caps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recommender.bundle import WORDS_ARRAY, BundleContents, publish
from tests.conftest import IDS, VERSION_1, bundle_contents

#: Words per article: n1 6 minutes at 230 words a minute, n2 2 (231 words), n3 no text.
WORDS = {"n1": 1380, "n2": 231, "n3": 0}
AUTHORS = {
    "n1": "Ann",
    "n2": "Ann",
    "n3": "Bob",
    "n4": "Ann",
    "n5": "Ann",
    "s1": "Cid",
    "s2": "Cid",
    "s3": "Dan",
    "s4": "",
}


def news_page_contents(tag: str = "v1") -> BundleContents:
    contents = bundle_contents(tag)
    contents.arrays[WORDS_ARRAY] = np.array([WORDS.get(a, 500) for a in IDS], dtype=np.int32)
    contents.meta["author"] = [AUTHORS[a] for a in IDS]
    contents.meta["image_srcset"] = [
        f"https://news.example/img/{a}-320.jpg 320w, https://news.example/img/{a}-640.jpg 640w"
        if a == "n2"
        else ""
        for a in IDS
    ]
    return contents


def publish_news_page_bundle(models_dir: Path, version: str = VERSION_1) -> Path:
    return publish(news_page_contents(), models_dir, version=version, keep=10)
