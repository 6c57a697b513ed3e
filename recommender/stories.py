"""Same-story clusters: wire copies, updates and near-identical rewrites of one event.

Training (:mod:`recommender.train`) links every article to each of its stored content
neighbours whose TF-IDF cosine is at least :data:`STORY_THRESHOLD` and takes the connected
components of those links (:func:`story_clusters`); a component is one story, named by its
smallest row, and the bundle stores the name per article (``story_clusters.npy``). The
neighbour lists are already computed, so this costs one sparse graph pass (milliseconds at
100,000 articles, bench/RESULTS.md). The fold-in (:mod:`recommender.foldin`) puts an
article published later into the story of its best neighbour at or above the threshold
(:func:`joined_story`), or into a story of its own.

A related list then shows at most ``per_story`` items of one story (:class:`Stories`,
applied by :func:`recommender.blend.related`): the first item of a story in ranking order
(the representative that ranked highest) stays, the later ones are folded under it. The
page's own story counts as shown: another version of the query article is never listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "STORY_THRESHOLD",
    "Stories",
    "joined_story",
    "story_clusters",
]

#: The TF-IDF cosine at which two articles are versions of one story. Measured on texts
#: with known versions (bench/stories.py, bench/RESULTS.md): rewrites and updates of one
#: event score 0.55-0.95, different events of one running story 0.1-0.45.
STORY_THRESHOLD = 0.5

_Key = TypeVar("_Key")


def story_clusters(
    neighbors: np.ndarray, scores: np.ndarray, threshold: float = STORY_THRESHOLD
) -> np.ndarray:
    """The story of every row: connected components of the neighbour links scoring at least
    ``threshold``, each named by its smallest row.

    Parameters
    ----------
    neighbors : ndarray of int, shape (n, width)
        Stored content neighbours (``-1``: none).
    scores : ndarray of float, shape (n, width)
        Their cosines.
    threshold : float

    Returns
    -------
    ndarray of int32, shape (n,)
        ``clusters[row]``: the smallest row of ``row``'s story (itself when alone).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    neighbors = np.asarray(neighbors)
    n = int(neighbors.shape[0])
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    linked = (neighbors >= 0) & (np.asarray(scores) >= threshold)
    source, slot = np.nonzero(linked)
    target = neighbors[source, slot].astype(np.int64)
    graph = coo_matrix((np.ones(source.size, dtype=np.int8), (source, target)), shape=(n, n))
    _, labels = connected_components(graph.tocsr(), directed=True, connection="weak")
    # name each component by its smallest row: stable whatever order scipy numbers them in
    smallest = np.full(int(labels.max()) + 1, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n))
    clusters: np.ndarray = smallest[labels].astype(np.int32)
    return clusters


def story_counts(clusters: np.ndarray) -> dict[str, Any]:
    """The manifest's record of :func:`story_clusters`' clusters: threshold, stories, the
    articles in a story of more than one, the largest story."""
    sizes = np.bincount(clusters, minlength=1) if clusters.size else np.zeros(1, np.int64)
    return {
        "threshold": STORY_THRESHOLD,
        "stories": int((sizes > 0).sum()),
        "articles_in_shared_stories": int(sizes[sizes > 1].sum()),
        "largest": int(sizes.max()),
    }


def joined_story(
    neighbors: Sequence[tuple[_Key, float]], threshold: float = STORY_THRESHOLD
) -> _Key | None:
    """The neighbour whose story a folded-in article joins: its best neighbour scoring at
    least ``threshold`` (``neighbors`` best first), or ``None`` (a story of its own)."""
    if neighbors and neighbors[0][1] >= threshold:
        return neighbors[0][0]
    return None


@dataclass(frozen=True)
class Stories:
    """Same-story collapsing of one list: at most ``per_story`` items per story.

    Attributes
    ----------
    clusters : sequence of int
        The story of each row (rows the sequence does not reach, or ``-1``, are stories of
        their own).
    per_story : int
        Items of one story a list may show (at least 1). The page's own story counts as
        shown, so no other version of the query article is listed.
    """

    clusters: Sequence[int] | np.ndarray
    per_story: int = 1

    def story(self, row: int) -> int:
        """The story of ``row`` (``-2 - row`` for a row without one: unique, never a row)."""
        clusters = self.clusters
        if row < len(clusters):
            found = int(clusters[row])
            if found >= 0:
                return found
        return -2 - row


class StoryCount:
    """Which stories a list shows so far, and by which row (the representative)."""

    def __init__(self, stories: Stories, query: int) -> None:
        self.stories = stories
        own = stories.story(query)
        # the page's own story is full: its other versions are folded under the query
        self.shown: dict[int, list[int]] = {own: [query] * stories.per_story}

    def representative(self, row: int) -> int | None:
        """The row ``row`` would be folded under (its story is full), else ``None``."""
        shown = self.shown.get(self.stories.story(row))
        if shown is not None and len(shown) >= self.stories.per_story:
            return shown[0]
        return None

    def add(self, row: int) -> None:
        self.shown.setdefault(self.stories.story(row), []).append(row)
