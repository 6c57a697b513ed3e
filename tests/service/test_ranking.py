"""The answers read one interface: a live view over an empty overlay, with no live views,
answers exactly as the bundle alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.bundle import Bundle
from recommender.windows import DAY
from service.live.counts import manifest_time
from service.live.stores import LocalLiveStore
from service.live.view import Live
from service.params import MostViewedParams, RelatedParams
from service.ranking import (
    BundleView,
    RankingOptions,
    article_response,
    most_viewed_response,
    related_response,
    source,
)
from service.store import ModelStore


@pytest.fixture(scope="module")
def bundle(models_dir: Path) -> Bundle:
    loaded = ModelStore(models_dir, reload_interval=3600).current()
    assert loaded is not None
    return loaded.bundle


@pytest.fixture
def quiet_live(bundle: Bundle) -> Live:
    """A live layer whose store has no overlay record and no view, ten days after the
    bundle's end of data (so no bundle view falls in its live windows)."""
    now = manifest_time(bundle, "now")
    assert now is not None
    return Live(LocalLiveStore(), clock=lambda: now + 10 * DAY)


def test_source_is_the_live_view_or_the_bundles_own(bundle: Bundle, quiet_live: Live) -> None:
    live = quiet_live.view(bundle)
    assert source(bundle, live) is live
    own = source(bundle, None)
    assert isinstance(own, BundleView) and own.bundle is bundle
    assert source(bundle, None) is own  # memoised per bundle


@pytest.mark.parametrize(
    "params",
    [
        RelatedParams(n=6),
        RelatedParams(n=3, strategy="content", explain=True),
        RelatedParams(n=4, strategy="coview", category="news"),
        RelatedParams(n=6, exclude=("n2",), max_age_days=30),
    ],
)
def test_related_over_an_empty_overlay_is_the_bundles_answer(
    bundle: Bundle, quiet_live: Live, params: RelatedParams
) -> None:
    live = quiet_live.view(bundle)
    options = RankingOptions()
    for article_id in bundle.meta("id"):
        expected = related_response(bundle, article_id, params, options)
        assert related_response(bundle, article_id, params, options, None, live) == expected


@pytest.mark.parametrize("window", ["1d", "7d", "30d", "all"])
@pytest.mark.parametrize("category", [None, "news"])
def test_most_viewed_over_an_empty_overlay_is_the_bundles_answer(
    bundle: Bundle, quiet_live: Live, window: str, category: str | None
) -> None:
    live = quiet_live.view(bundle)
    params = MostViewedParams(n=10, window=window, category=category)
    expected = most_viewed_response(bundle, params)
    assert expected["items"]  # the comparison is about something
    assert most_viewed_response(bundle, params, None, None, live) == expected


def test_article_over_an_empty_overlay_adds_only_the_live_windows(
    bundle: Bundle, quiet_live: Live
) -> None:
    live = quiet_live.view(bundle)
    for article_id in bundle.meta("id"):
        expected = article_response(bundle, article_id)
        got = article_response(bundle, article_id, live)
        assert got.pop("recent_views") == {"1h": 0, "24h": 0}
        assert got == expected
        assert list(got) == list(expected)  # the same key order: the same JSON bytes
