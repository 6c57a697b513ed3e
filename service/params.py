"""Strict query-parameter parsing: every bad value is a 400 naming the parameter and its range.

``request.args.get("n", type=int)`` silently falls back to the default on ``?n=abc``; here every
value is checked against the exact syntax the API documents, unknown and repeated parameters are
refused, and the parsed values come back normalised (so equal requests share a cache key).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from recommender.blend import STRATEGIES
from recommender.windows import WINDOWS
from service.errors import BadParameter

#: Limits of the ``exclude`` parameter.
MAX_EXCLUDE_IDS = 100
MAX_ID_LENGTH = 200
#: Longest ``category`` accepted, and the largest age filter in days (100 years).
MAX_CATEGORY_LENGTH = 200
MAX_DAYS = 36_500.0
EXPLAIN_VALUES = ("true", "false", "1", "0")

RELATED_PARAMETERS = (
    "n",
    "strategy",
    "exclude",
    "category",
    "max_age_days",
    "explain",
    "max_per_section",
    "max_per_author",
    "per_story",
)
MOST_VIEWED_PARAMETERS = ("n", "window", "category", "published_within_days")
LATEST_PARAMETERS = ("n", "category", "exclude", "max_age_days")
#: The options of the HTML fragments (``.html`` routes), besides their JSON route's parameters.
FRAGMENT_PARAMETERS = ("title", "heading_level", "reading_text", "views_text", "image_sizes")
MAX_TITLE_LENGTH = 200
#: The ``sizes`` of card images with a ``srcset``: the browser's own layout size where it
#: knows it (``auto``, lazy images), else a card of a grid.
DEFAULT_IMAGE_SIZES = "auto, (min-width: 64rem) 16rem, (min-width: 40rem) 30vw, 100vw"
#: A text with ``{n}``: "{n} min read", "{n} Min. Lesezeit".
_SIZES_RE = re.compile(r"[A-Za-z0-9 ():,.%-]{1,200}")
_TEMPLATE_RE = re.compile(r"[^{}\x00-\x1f\x7f-\x9f]{0,60}\{n\}[^{}\x00-\x1f\x7f-\x9f]{0,60}")
#: The bundle's windows and the live ones (sliding windows ending now, see service.live).
MOST_VIEWED_WINDOWS = (*WINDOWS, "1h", "24h")

_INTEGER_RE = re.compile(r"[0-9]{1,9}")
_NUMBER_RE = re.compile(r"(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,3})?")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class RelatedParams:
    """The parsed query of ``GET /v1/articles/{article_id}/related``."""

    n: int
    strategy: str = "hybrid"
    exclude: tuple[str, ...] = ()
    category: str | None = None
    max_age_days: float | None = None
    explain: bool = False
    #: diversity caps asked for (``None``: the site's, ``0``: none)
    max_per_section: int | None = None
    max_per_author: int | None = None
    #: same-story collapsing asked for (``None``: the site's, ``0``: off)
    per_story: int | None = None


@dataclass(frozen=True)
class LatestParams:
    """The parsed query of ``GET /v1/latest``."""

    n: int
    category: str | None = None
    exclude: tuple[str, ...] = ()
    max_age_days: float | None = None


@dataclass(frozen=True)
class FragmentOptions:
    """How an HTML fragment (``.html`` routes) presents its cards; ``None``: the default."""

    title: str | None = None
    heading_level: int = 2
    reading_text: str = "{n} min read"
    views_text: str = "{n} views"
    image_sizes: str = DEFAULT_IMAGE_SIZES


@dataclass(frozen=True)
class MostViewedParams:
    """The parsed query of ``GET /v1/most-viewed``."""

    n: int
    window: str = "7d"
    category: str | None = None
    published_within_days: float | None = None


def _single(args: MultiDict[str, str], allowed: Iterable[str]) -> dict[str, str]:
    """Each parameter's one value; unknown or repeated parameters are refused."""
    allowed = tuple(allowed)
    values: dict[str, str] = {}
    for name, given in args.lists():
        if name not in allowed:
            accepted = ", ".join(allowed) if allowed else "none"
            raise BadParameter(
                name,
                f"unknown query parameter {name[:60]!r}; this route accepts: {accepted}",
            )
        if len(given) != 1:
            raise BadParameter(name, f"{name} must be given at most once")
        values[name] = given[0]
    return values


def parse_n(text: str | None, *, default: int, max_n: int) -> int:
    """``n``: an integer from 1 to ``max_n`` written in plain digits."""
    if text is None:
        return default
    if _INTEGER_RE.fullmatch(text):
        value = int(text)
        if 1 <= value <= max_n:
            return value
    raise BadParameter("n", f"n must be an integer from 1 to {max_n}")


def parse_days(name: str, text: str | None) -> float | None:
    """A positive number of days (decimal, optionally with an exponent), at most 36500."""
    if text is None:
        return None
    if _NUMBER_RE.fullmatch(text):
        value = float(text)
        if math.isfinite(value) and 0 < value <= MAX_DAYS:
            return value
    raise BadParameter(name, f"{name} must be a number of days greater than 0 and at most 36500")


def parse_category(text: str | None) -> str | None:
    """A section name: 1 to 200 characters, no control characters."""
    if text is None:
        return None
    if not text or len(text) > MAX_CATEGORY_LENGTH or _CONTROL_RE.search(text):
        raise BadParameter(
            "category",
            f"category must be a section name of 1 to {MAX_CATEGORY_LENGTH} characters "
            "without control characters",
        )
    return text


def parse_exclude(text: str | None) -> tuple[str, ...]:
    """Comma-separated article ids: sorted and deduplicated; an empty value means none."""
    if not text:
        return ()
    ids = text.split(",")
    rule = (
        f"exclude must be up to {MAX_EXCLUDE_IDS} comma-separated article ids of 1 to "
        f"{MAX_ID_LENGTH} characters without control characters"
    )
    if len(ids) > MAX_EXCLUDE_IDS:
        raise BadParameter("exclude", f"{rule} (got {len(ids)} ids)")
    for article_id in ids:
        if not article_id:
            raise BadParameter("exclude", f"{rule} (found an empty id)")
        if len(article_id) > MAX_ID_LENGTH:
            raise BadParameter("exclude", f"{rule} (found an id of {len(article_id)} characters)")
    if _CONTROL_RE.search(text):
        raise BadParameter("exclude", f"{rule} (found a control character)")
    return tuple(sorted(set(ids)))


def parse_choice(name: str, text: str | None, choices: tuple[str, ...], default: str) -> str:
    """One of a fixed list of words."""
    if text is None:
        return default
    if text in choices:
        return text
    raise BadParameter(name, f"{name} must be one of {', '.join(choices)}")


def parse_explain(text: str | None) -> bool:
    """``true``/``1`` or ``false``/``0``."""
    if text is None:
        return False
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise BadParameter("explain", f"explain must be one of {', '.join(EXPLAIN_VALUES)}")


def parse_cap(name: str, text: str | None, max_n: int) -> int | None:
    """A diversity cap: an integer from 0 (no cap, whatever the site's) to ``max_n``."""
    if text is None:
        return None
    if _INTEGER_RE.fullmatch(text):
        value = int(text)
        if value <= max_n:
            return value
    raise BadParameter(name, f"{name} must be an integer from 0 (no cap) to {max_n}")


def parse_related(
    args: MultiDict[str, str], *, default_n: int, max_n: int, extra: Iterable[str] = ()
) -> RelatedParams:
    """Parse the query of the related-articles route (``extra``: more names accepted, parsed
    by the caller)."""
    if not args:  # the common request: every default
        return RelatedParams(n=default_n)
    values = _single(args, (*RELATED_PARAMETERS, *extra))
    return RelatedParams(
        n=parse_n(values.get("n"), default=default_n, max_n=max_n),
        strategy=parse_choice("strategy", values.get("strategy"), STRATEGIES, "hybrid"),
        exclude=parse_exclude(values.get("exclude")),
        category=parse_category(values.get("category")),
        max_age_days=parse_days("max_age_days", values.get("max_age_days")),
        explain=parse_explain(values.get("explain")),
        max_per_section=parse_cap("max_per_section", values.get("max_per_section"), max_n),
        max_per_author=parse_cap("max_per_author", values.get("max_per_author"), max_n),
        per_story=parse_cap("per_story", values.get("per_story"), max_n),
    )


def parse_latest(
    args: MultiDict[str, str], *, default_n: int, max_n: int, extra: Iterable[str] = ()
) -> LatestParams:
    """Parse the query of the latest-articles route."""
    values = _single(args, (*LATEST_PARAMETERS, *extra))
    return LatestParams(
        n=parse_n(values.get("n"), default=default_n, max_n=max_n),
        category=parse_category(values.get("category")),
        exclude=parse_exclude(values.get("exclude")),
        max_age_days=parse_days("max_age_days", values.get("max_age_days")),
    )


def _template(name: str, text: str | None, default: str) -> str:
    if text is None:
        return default
    if _TEMPLATE_RE.fullmatch(text):
        return text
    raise BadParameter(
        name,
        f"{name} must hold {{n}} once, with at most 60 characters on each side, no braces and "
        "no control characters",
    )


def parse_fragment(args: MultiDict[str, str]) -> FragmentOptions:
    """The presentation options of an HTML fragment (only those names are read here; the
    route's own parser refuses anything else)."""
    title = args.get("title")
    if title is not None and (
        not title.strip() or len(title) > MAX_TITLE_LENGTH or _CONTROL_RE.search(title)
    ):
        raise BadParameter(
            "title",
            f"title must be 1 to {MAX_TITLE_LENGTH} characters without control characters",
        )
    level = args.get("heading_level")
    if level is not None and level not in ("2", "3", "4", "5", "6"):
        raise BadParameter("heading_level", "heading_level must be an integer from 2 to 6")
    sizes = args.get("image_sizes")
    if sizes is not None and not _SIZES_RE.fullmatch(sizes):
        raise BadParameter(
            "image_sizes",
            "image_sizes must be an HTML sizes value of 1 to 200 characters (letters, digits, "
            "spaces and ( ) : , . - % only)",
        )
    return FragmentOptions(
        title=title,
        heading_level=2 if level is None else int(level),
        reading_text=_template("reading_text", args.get("reading_text"), "{n} min read"),
        views_text=_template("views_text", args.get("views_text"), "{n} views"),
        image_sizes=DEFAULT_IMAGE_SIZES if sizes is None else sizes,
    )


def parse_most_viewed(
    args: MultiDict[str, str], *, default_n: int, max_n: int, extra: Iterable[str] = ()
) -> MostViewedParams:
    """Parse the query of the most-viewed route."""
    values = _single(args, (*MOST_VIEWED_PARAMETERS, *extra))
    return MostViewedParams(
        n=parse_n(values.get("n"), default=default_n, max_n=max_n),
        window=parse_choice("window", values.get("window"), MOST_VIEWED_WINDOWS, "7d"),
        category=parse_category(values.get("category")),
        published_within_days=parse_days(
            "published_within_days", values.get("published_within_days")
        ),
    )


def parse_none(args: MultiDict[str, str]) -> None:
    """Routes without query parameters still refuse unknown ones."""
    _single(args, ())


# --- the editors' routes (preview sliders, rules API) ---------------------------------------

_PLAIN_NUMBER_RE = re.compile(r"[0-9]{1,6}(?:\.[0-9]{0,6})?|\.[0-9]{1,6}")


def parse_values(args: MultiDict[str, str], allowed: tuple[str, ...]) -> dict[str, str]:
    """Each of ``allowed`` given at most once, nothing else (400 otherwise)."""
    values: dict[str, str] = {}
    for name, given in args.lists():
        if name not in allowed:
            raise BadParameter(
                name, f"unknown query parameter {name[:60]!r}; accepted: {', '.join(allowed)}"
            )
        if len(given) != 1:
            raise BadParameter(name, f"{name} must be given at most once")
        values[name] = given[0]
    return values


def parse_bounded_number(
    name: str, text: str | None, default: float, low: float, high: float
) -> float:
    """A plain decimal number in ``[low, high]``; ``default`` when not given."""
    if text is None:
        return default
    if _PLAIN_NUMBER_RE.fullmatch(text):
        value = float(text)
        if low <= value <= high:
            return value
    raise BadParameter(name, f"{name} must be a number from {low:g} to {high:g}")


def parse_bounded_integer(name: str, text: str | None, default: int, low: int, high: int) -> int:
    """A whole number in ``[low, high]``; ``default`` when not given."""
    if text is None:
        return default
    if text.isdigit() and len(text) <= 6 and low <= int(text) <= high:
        return int(text)
    raise BadParameter(name, f"{name} must be an integer from {low} to {high}")
