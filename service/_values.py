"""Parsers of the ``NEWSREC_*`` variables' values (:mod:`service.variables` names which
variable each one reads): each returns the value or raises ``ValueError`` saying what it expects."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recommender.config import BLEND_BOUNDS, parse_blend_value
from recommender.windows import WINDOWS

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_SECTION_RE = re.compile(r"^[^=,\s]+$")


def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,9}", text.strip()):
            raise ValueError
        value = int(text)
        if value < low or (high is not None and value > high):
            raise ValueError
        return value

    return parse


def number(low: float, *, inclusive: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise ValueError
        return value

    return parse


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError


def text(text: str) -> str:
    return text


def path(text: str) -> Path:
    return Path(text)


def redis_url(text: str) -> str:
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError
    return text


def window(text: str) -> str:
    if text not in WINDOWS:
        raise ValueError
    return text


def blend(name: str) -> Callable[[str], Any]:
    """The parser of a blend setting: the library's one set of bounds (a
    :class:`~recommender.errors.SettingError` is a ``ValueError``)."""

    def parse(text: str) -> Any:
        return parse_blend_value(name, text)

    return parse


def blend_expected(name: str) -> str:
    return BLEND_BOUNDS[name].describe()


def section_half_lives(text: str) -> tuple[tuple[str, float], ...]:
    pairs: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not _SECTION_RE.match(name):
            raise ValueError
        days = parse_blend_value("section_half_life_days", value)
        assert days is not None  # a section's half-life has no "off": refused above
        pairs[name] = float(days)
    return tuple(sorted(pairs.items()))


def rules_db(text: str) -> Path:
    # A URL here would be taken for a relative file name: refuse it rather than surprise.
    if "://" in text:
        raise ValueError
    return Path(text)


def rules_url(text: str) -> str:
    # libpq's own URL forms only; checked here so a typo fails start-up, not the first request
    if not text.strip().startswith(("postgresql://", "postgres://")):
        raise ValueError
    from psycopg import ProgrammingError  # imported only when the variable is set
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(text.strip())
    except ProgrammingError as exc:
        raise ValueError from exc
    return text.strip()


def secret(text: str) -> str:
    if len(text.strip()) < 16:
        raise ValueError
    return text.strip()


def user_name(text: str) -> str:
    name = text.strip()
    if not re.fullmatch(r"[^\s:]{1,100}", name):
        raise ValueError
    return name


def password_hash(text: str) -> str:
    # werkzeug's format: method$salt$hash, e.g. scrypt:32768:8:1$<salt>$<hex>
    method, *rest = text.strip().split("$")
    if len(rest) != 2 or not method.startswith(("scrypt", "pbkdf2")) or not all(rest):
        raise ValueError
    return text.strip()


def log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in _LOG_LEVELS:
        raise ValueError
    return level


_ORIGIN_RE = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origins(text: str) -> tuple[str, ...]:
    """Exact origins, normalised as browsers send them (lower case, no default port); ``*``
    only on its own, so a typo next to real origins cannot open the API to every site."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if parts == ["*"]:
        return ("*",)
    origins = set()
    for part in parts:
        match = _ORIGIN_RE.fullmatch(part.lower())
        if match is None:
            raise ValueError
        scheme, host, port = match.groups()
        number = None if port is None else int(port)
        if number is not None and not 0 < number < 65536:
            raise ValueError
        suffix = "" if number in (None, _DEFAULT_PORTS[scheme]) else f":{number}"
        origins.add(f"{scheme}://{host}{suffix}")
    return tuple(sorted(origins))


_TOKEN_RE = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")


def networks(text: str) -> tuple[str, ...]:
    networks = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(str(ipaddress.ip_network(part, strict=False)) for part in networks)


def http_token(text: str) -> str:
    # header and cookie names are HTTP tokens
    if not _TOKEN_RE.fullmatch(text.strip()):
        raise ValueError
    return text.strip()


def optional_dir(text: str) -> Path | None:
    if text.strip().lower() in ("off", "none"):
        return None
    return Path(text)
