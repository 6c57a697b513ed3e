"""The preview's article search: by id, URL or words of the title (memoised per bundle)."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from recommender.bundle import Bundle

if TYPE_CHECKING:
    pass

SEARCH_LIMIT = 20
_memo_lock = threading.Lock()


def _normal_url(text: str) -> str:
    parts = urlsplit(text.strip())
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class _SearchIndex:
    titles: list[str]
    urls: dict[str, int]
    paths: dict[str, int]


_search_indexes: weakref.WeakKeyDictionary[Bundle, _SearchIndex] = weakref.WeakKeyDictionary()


def _index(bundle: Bundle) -> _SearchIndex:
    with _memo_lock:
        found = _search_indexes.get(bundle)
        if found is None:
            urls: dict[str, int] = {}
            paths: dict[str, int] = {}
            for row, url in enumerate(bundle.meta("url")):
                if url:
                    urls.setdefault(_normal_url(url), row)
                    paths.setdefault(urlsplit(url).path.rstrip("/"), row)
            found = _SearchIndex([t.casefold() for t in bundle.meta("title")], urls, paths)
            _search_indexes[bundle] = found
        return found


def search(bundle: Bundle, query: str, limit: int = SEARCH_LIMIT) -> tuple[list[int], int]:
    """Rows matching an id, a pasted URL or words of a title; and how many titles matched.

    An exact id or URL comes first; then titles holding every word, those starting with the
    query first, newest first within each group.
    """
    text = query.strip()
    if not text:
        return [], 0
    index = _index(bundle)
    exact: list[int] = []
    if bundle.has(text):
        exact.append(bundle.row(text))
    if "/" in text:
        parts = urlsplit(text)
        row = index.urls.get(_normal_url(text))
        if row is None and parts.path:
            row = index.paths.get(parts.path.rstrip("/"))
        if row is not None and row not in exact:
            exact.append(row)
    words = sorted(text.casefold().split(), key=len, reverse=True)
    titles = index.titles
    matches = [i for i, title in enumerate(titles) if words[0] in title]
    for word in words[1:]:
        matches = [i for i in matches if word in titles[i]]
    phrase = text.casefold()
    published = bundle.published_ts
    matches.sort(key=lambda i: (not titles[i].startswith(phrase), -int(published[i]), i))
    rows = exact + [i for i in matches if i not in exact]
    return rows[:limit], len(matches)
