"""The generator's real English: topical vocabularies per section, and titles that say their
subject."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from recommender.sources._sample_text import (
    _GENERAL_ENGLISH,
    _SECTION_VOCAB,
    _STOP_WORDS,
    SECTIONS,
    _topical_words,
)
from recommender.sources._sample_words import GENERAL, TOPICAL
from recommender.sources.sample import generate_sample


def _words() -> dict[str, list[str]]:
    """Each section's words as the generator takes them."""
    stop = tuple(dict.fromkeys(_STOP_WORDS))
    general = dict.fromkeys((*_GENERAL_ENGLISH, *GENERAL.split()))
    return _topical_words(stop, tuple(w for w in general if w not in stop))


def test_every_section_has_its_own_real_words() -> None:
    assert set(TOPICAL) == set(SECTIONS)
    assert {"politics", "economy", "energy", "climate", "culture", "defense", "transport"} <= set(
        SECTIONS
    )
    words = _words()
    for section, own in words.items():
        # enough for the section's pool, none the content model would drop, none shared
        assert len(own) >= _SECTION_VOCAB, section
        assert not set(own) & ENGLISH_STOP_WORDS, section
        assert all(w.isalpha() and w.islower() for w in own), section
        for other, theirs in words.items():
            if other != section:
                assert not set(own) & set(theirs), (section, other)


def test_titles_use_words_of_their_section(tmp_path: Path) -> None:
    info = generate_sample(tmp_path, n_articles=600, days=20, sessions=0, seed=3)
    words = _words()
    owner = {w: section for section, own in words.items() for w in own}
    hits: Counter[str] = Counter()
    with open(info.articles_path, encoding="utf-8") as lines:
        articles = [json.loads(line) for line in lines]
    for article in articles:
        sections = {owner.get(w.lower()) for w in article["title"].split()}
        hits["own" if article["category"] in sections else "none"] += 1
        # the other sections' words do not appear in a title
        assert sections - {None, article["category"]} == set(), article["title"]
    # nearly every title names its subject in its section's words
    assert hits["own"] >= 0.9 * len(articles)
