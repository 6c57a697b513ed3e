"""Diversity caps of one list: at most so many items of one section, or of one author."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Caps:
    """Diversity caps of one list: at most ``max_per_section`` items of one section and at
    most ``max_per_author`` of one author (``None``: no cap).

    :func:`recommender.blend.related` applies them after ranking and before the fillers: an
    item over a cap is skipped and the next one taken, the fillers respect them too. Caps never
    shorten a list: when fewer than ``n`` items fit within them, the skipped items complete it,
    in the order they were skipped (related first), marked
    :attr:`recommender.blend.Scored.over_cap`. An unknown section or author (``""``) is never
    capped.

    Attributes
    ----------
    max_per_section, max_per_author : int or None
    authors : sequence of str, optional
        The author of each row (``None``: authors unknown, the author cap does nothing).
    """

    max_per_section: int | None = None
    max_per_author: int | None = None
    authors: Sequence[str] | None = None

    @property
    def active(self) -> bool:
        return self.max_per_section is not None or (
            self.max_per_author is not None and self.authors is not None
        )


class CapCount:
    """How many items of each section and author a list holds so far."""

    def __init__(self, caps: Caps, categories: Sequence[str]) -> None:
        self.caps = caps
        self.categories = categories
        self.sections: dict[str, int] = {}
        self.authors: dict[str, int] = {}

    def refuses(self, row: int) -> str | None:
        """The cap ``row`` would exceed, else None."""
        caps = self.caps
        section = self.categories[row]
        limit = caps.max_per_section
        if limit is not None and section and self.sections.get(section, 0) >= limit:
            return "max_per_section"
        if caps.max_per_author is not None and caps.authors is not None:
            author = caps.authors[row] if row < len(caps.authors) else ""
            if author and self.authors.get(author, 0) >= caps.max_per_author:
                return "max_per_author"
        return None

    def add(self, row: int) -> None:
        section = self.categories[row]
        self.sections[section] = self.sections.get(section, 0) + 1
        if self.caps.authors is not None and row < len(self.caps.authors):
            author = self.caps.authors[row]
            self.authors[author] = self.authors.get(author, 0) + 1
