"""Diversity caps per section and author, on a catalogue ranked by hand.

Row 0 is the query; its content list, best first: rows 1-6. Sections and authors::

    row  section   author   content
    1    politics  ann      0.9
    2    politics  ann      0.8
    3    politics  bob      0.7
    4    economy   ann      0.6
    5    economy   cid      0.5
    6    ""        ""       0.4    (unknown section and author: never capped)
    7    politics  bob      -      (the section's most viewed: a filler)
    8    culture   dan      -      (the site's most viewed: a filler)
"""

from __future__ import annotations

import numpy as np
import pytest

from recommender.blend import BlendParams, SignalArrays, related
from recommender.caps import Caps

NOW = 1_000_000
SECTIONS = ["politics", "politics", "politics", "politics", "economy", "economy", "", "politics"]
SECTIONS.append("culture")
AUTHORS = ["ann", "ann", "ann", "bob", "ann", "cid", "", "bob", "dan"]


def _signals() -> SignalArrays:
    n = 9
    neighbors = np.full((n, 6), -1, dtype=np.int32)
    scores = np.zeros((n, 6), dtype=np.float32)
    neighbors[0] = [1, 2, 3, 4, 5, 6]
    scores[0] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    return SignalArrays(
        categories=SECTIONS,
        published_ts=np.full(n, NOW, dtype=np.int64),
        is_published=np.ones(n, dtype=bool),
        content_neighbors=neighbors,
        content_scores=scores,
        has_coview=False,
        coview_neighbors=None,
        coview_scores=None,
        coview_counts=None,
        coview_support=None,
        popularity_views=np.zeros((n, 4), dtype=np.int64),
    )


def _related(n: int, caps: Caps | None, skipped: list[tuple[int, str]] | None = None) -> list:
    return related(
        _signals(),
        0,
        n,
        now_ts=NOW,
        strategy="content",
        params=BlendParams(),
        section_popular=[7, 3],
        site_popular=[8],
        caps=caps,
        skipped=skipped,
    )


def test_related_without_caps_is_the_ranking() -> None:
    assert [s.row for s in _related(4, None)] == [1, 2, 3, 4]
    assert [s.row for s in _related(4, Caps())] == [1, 2, 3, 4]


def test_section_cap_skips_and_takes_the_next() -> None:
    skipped: list[tuple[int, str]] = []
    items = _related(4, Caps(max_per_section=2), skipped)
    # politics 1, 2; row 3 (a third politics) skipped; then economy 4, 5
    assert [s.row for s in items] == [1, 2, 4, 5]
    assert [s.source for s in items] == ["related"] * 4
    assert all(s.over_cap is None for s in items)
    assert skipped == [(3, "max_per_section")]


def test_author_cap_counts_authors_and_ignores_unknown_ones() -> None:
    skipped: list[tuple[int, str]] = []
    caps = Caps(max_per_author=1, authors=AUTHORS)
    items = _related(5, caps, skipped)
    # ann 1; ann 2 skipped; bob 3; ann 4 skipped; cid 5; row 6 (no author) kept; the section's
    # filler 7 is bob's second: skipped; the site's 8 (dan) fills the list
    assert [s.row for s in items] == [1, 3, 5, 6, 8]
    assert [s.source for s in items] == ["related"] * 4 + ["popular"]
    assert skipped == [(2, "max_per_author"), (4, "max_per_author"), (7, "max_per_author")]


def test_author_cap_without_authors_does_nothing() -> None:
    assert not Caps(max_per_author=1).active
    assert [s.row for s in _related(4, Caps(max_per_author=1))] == [1, 2, 3, 4]


def test_caps_never_shorten_the_list_skipped_items_complete_it() -> None:
    skipped: list[tuple[int, str]] = []
    items = _related(8, Caps(max_per_section=1), skipped)
    # within the cap: politics 1, economy 4, unknown 6, culture 8 (site filler); then the
    # skipped ones in the order skipped: 2, 3 (related), 5 (related), 7 (section filler)
    assert [s.row for s in items] == [1, 4, 6, 8, 2, 3, 5, 7]
    assert [s.over_cap for s in items] == [None] * 4 + ["max_per_section"] * 4
    assert [s.source for s in items] == [
        "related",
        "related",
        "related",
        "popular",
        "related",
        "related",
        "related",
        "section_popular",
    ]
    # a restored related item keeps its score parts
    assert items[4].score == pytest.approx(0.8) and items[4].content == pytest.approx(0.8)
    assert skipped == []  # every skipped item came back


def test_section_cap_leaves_the_query_and_filters_alone() -> None:
    from recommender.blend import Filters

    items = related(
        _signals(),
        0,
        3,
        now_ts=NOW,
        strategy="content",
        filters=Filters(exclude={1}),
        caps=Caps(max_per_section=1),
    )
    assert [s.row for s in items] == [2, 4, 6]  # 1 excluded: 2 is the first politics
    assert 0 not in [s.row for s in items]
