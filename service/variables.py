"""The ``NEWSREC_*`` environment variables: each with its :class:`Settings` field, default,
accepted values, one-line description and parser (:data:`ENV_VARS`).

:class:`service.settings.Settings` reads them; :func:`service.settings.settings_markdown` turns
the list into the configuration table of the documentation.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.config import BLEND_BOUNDS, parse_blend_value
from recommender.windows import WINDOWS

PREFIX = "NEWSREC_"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_SECTION_RE = re.compile(r"^[^=,\s]+$")


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,9}", text.strip()):
            raise ValueError
        value = int(text)
        if value < low or (high is not None and value > high):
            raise ValueError
        return value

    return parse


def _number(low: float, *, inclusive: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise ValueError
        return value

    return parse


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError


def _text(text: str) -> str:
    return text


def _path(text: str) -> Path:
    return Path(text)


def _redis_url(text: str) -> str:
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError
    return text


def _window(text: str) -> str:
    if text not in WINDOWS:
        raise ValueError
    return text


def _blend(name: str) -> Callable[[str], Any]:
    """The parser of a blend setting: the library's one set of bounds (a
    :class:`~recommender.errors.SettingError` is a ``ValueError``)."""

    def parse(text: str) -> Any:
        return parse_blend_value(name, text)

    return parse


def _blend_expected(name: str) -> str:
    return BLEND_BOUNDS[name].describe()


def _section_half_lives(text: str) -> tuple[tuple[str, float], ...]:
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


def _rules_db(text: str) -> Path:
    # A URL here would be taken for a relative file name: refuse it rather than surprise.
    if "://" in text:
        raise ValueError
    return Path(text)


def _rules_url(text: str) -> str:
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


def _secret(text: str) -> str:
    if len(text.strip()) < 16:
        raise ValueError
    return text.strip()


def _user_name(text: str) -> str:
    name = text.strip()
    if not re.fullmatch(r"[^\s:]{1,100}", name):
        raise ValueError
    return name


def _password_hash(text: str) -> str:
    # werkzeug's format: method$salt$hash, e.g. scrypt:32768:8:1$<salt>$<hex>
    method, *rest = text.strip().split("$")
    if len(rest) != 2 or not method.startswith(("scrypt", "pbkdf2")) or not all(rest):
        raise ValueError
    return text.strip()


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in _LOG_LEVELS:
        raise ValueError
    return level


_ORIGIN_RE = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origins(text: str) -> tuple[str, ...]:
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


def _networks(text: str) -> tuple[str, ...]:
    networks = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(str(ipaddress.ip_network(part, strict=False)) for part in networks)


def _http_token(text: str) -> str:
    # header and cookie names are HTTP tokens
    if not _TOKEN_RE.fullmatch(text.strip()):
        raise ValueError
    return text.strip()


def _optional_dir(text: str) -> Path | None:
    if text.strip().lower() in ("off", "none"):
        return None
    return Path(text)


@dataclass(frozen=True)
class EnvVar:
    """One documented environment variable and the :class:`Settings` field it sets."""

    name: str
    field: str
    default: str
    expected: str
    description: str
    parse: Callable[[str], Any]
    #: Never echo the value in errors (tokens, keys, password hashes).
    secret: bool = False


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "NEWSREC_MODELS_DIR",
        "models_dir",
        "models",
        "a directory path",
        "Directory holding the model bundles and the `LATEST` pointer.",
        _path,
    ),
    EnvVar("NEWSREC_HOST", "host", "127.0.0.1", "an address", "Address gunicorn binds to.", _text),
    EnvVar(
        "NEWSREC_PORT",
        "port",
        "8000",
        "an integer from 1 to 65535",
        "Port gunicorn binds to.",
        _integer(1, 65535),
    ),
    EnvVar(
        "NEWSREC_WORKERS",
        "workers",
        "",
        "an integer from 1 to 256",
        "gunicorn worker processes (unset: 2 per CPU core).",
        _integer(1, 256),
    ),
    EnvVar(
        "NEWSREC_EVENTS_PORT",
        "events_port",
        "",
        "an integer from 1 to 65535",
        "`newsrec serve` also runs a second pool of workers on this port, for "
        "`POST /v1/events`: route `/v1/events` there from the proxy (or point the widget's "
        "`data-newsrec-events` at it) so page reads never queue behind view beacons "
        "(unset: one pool serves everything).",
        _integer(1, 65535),
    ),
    EnvVar(
        "NEWSREC_EVENTS_WORKERS",
        "events_workers",
        "2",
        "an integer from 1 to 256",
        "Worker processes of the events pool (with `NEWSREC_EVENTS_PORT`).",
        _integer(1, 256),
    ),
    EnvVar(
        "NEWSREC_EVENTS_NICE",
        "events_nice",
        "10",
        "an integer from 0 to 19",
        "CPU niceness of the events pool (with `NEWSREC_EVENTS_PORT`): counting views yields "
        "the cores to page reads when both want them.",
        _integer(0, 19),
    ),
    EnvVar(
        "NEWSREC_THREADS",
        "threads",
        "1",
        "an integer from 1 to 64",
        "Threads per worker; 1 runs gunicorn's sync workers (recommended), more runs gthread.",
        _integer(1, 64),
    ),
    EnvVar(
        "NEWSREC_REDIS_URL",
        "redis_url",
        "",
        "a redis://, rediss:// or unix:// URL",
        "Redis shared response cache (unset: in-process cache only).",
        _redis_url,
    ),
    EnvVar(
        "NEWSREC_REDIS_TIMEOUT_MS",
        "redis_timeout_ms",
        "50",
        "an integer from 1 to 60000",
        "Redis connect/read timeout in milliseconds; a slow Redis counts as a cache miss.",
        _integer(1, 60000),
    ),
    EnvVar(
        "NEWSREC_CACHE_TTL",
        "cache_ttl",
        "300",
        "an integer from 0 to 86400",
        "Seconds a cached response lives (0 turns response caching off).",
        _integer(0, 86400),
    ),
    EnvVar(
        "NEWSREC_LOCAL_CACHE_SIZE",
        "local_cache_size",
        "10000",
        "an integer from 0 to 10000000",
        "Responses each worker keeps in its in-process LRU cache.",
        _integer(0, 10_000_000),
    ),
    EnvVar(
        "NEWSREC_RELOAD_INTERVAL",
        "reload_interval",
        "5",
        "a number of seconds above 0",
        "How often each worker checks `models/LATEST` for a new bundle.",
        _number(0.0),
    ),
    EnvVar(
        "NEWSREC_ADMIN_TOKEN",
        "admin_token",
        "",
        "any text",
        "Bearer token of `POST /v1/admin/reload` (unset: the admin route answers 404).",
        _text,
    ),
    EnvVar(
        "NEWSREC_MAX_N",
        "max_n",
        "50",
        "an integer from 1 to 1000",
        "Largest `n` a request may ask for.",
        _integer(1, 1000),
    ),
    EnvVar(
        "NEWSREC_DEFAULT_N",
        "default_n",
        "6",
        "an integer from 1 to NEWSREC_MAX_N",
        "`n` when a request does not give one.",
        _integer(1, 1000),
    ),
    EnvVar(
        "NEWSREC_CONTENT_WEIGHT",
        "content_weight",
        "1.0",
        _blend_expected("content_weight"),
        "Weight of the content (TF-IDF) score in the hybrid blend.",
        _blend("content_weight"),
    ),
    EnvVar(
        "NEWSREC_COVIEW_WEIGHT",
        "coview_weight",
        "1.5",
        _blend_expected("coview_weight"),
        "Weight of the co-view score once the query article has plenty of co-view evidence.",
        _blend("coview_weight"),
    ),
    EnvVar(
        "NEWSREC_COVIEW_EVIDENCE",
        "coview_evidence",
        "10",
        _blend_expected("coview_evidence"),
        "Sessions reading the query article at which the co-view weight reaches half.",
        _blend("coview_evidence"),
    ),
    EnvVar(
        "NEWSREC_POPULARITY_WEIGHT",
        "popularity_weight",
        "0.5",
        _blend_expected("popularity_weight"),
        "Exponent of each related candidate's views in the last 24 hours in the hybrid "
        "(score times (1 + views) ** weight; the bundle's last day without live counts); "
        "0 turns it off.",
        _blend("popularity_weight"),
    ),
    EnvVar(
        "NEWSREC_POPULAR_CANDIDATES",
        "popular_candidates",
        "300",
        _blend_expected("popular_candidates"),
        "How many of the most read articles of the last 24 hours join each hybrid list's "
        "candidates, scored by their content similarity to the article; 0 turns it off.",
        _blend("popular_candidates"),
    ),
    EnvVar(
        "NEWSREC_POPULAR_MIN_SIMILARITY",
        "popular_min_similarity",
        "0.25",
        _blend_expected("popular_min_similarity"),
        "A popular candidate joins a hybrid list only with a content similarity of at least "
        "this share of the article's closest neighbour's.",
        _blend("popular_min_similarity"),
    ),
    EnvVar(
        "NEWSREC_HALF_LIFE_DAYS",
        "half_life_days",
        "3",
        _blend_expected("half_life_days"),
        "Freshness half-life of related articles in days (`off`: no freshness decay).",
        _blend("half_life_days"),
    ),
    EnvVar(
        "NEWSREC_SECTION_HALF_LIVES",
        "section_half_lives",
        "",
        "section=days pairs separated by commas",
        "Per-section half-lives overriding the default, e.g. `sports=1,culture=14`.",
        _section_half_lives,
    ),
    EnvVar(
        "NEWSREC_FALLBACK_WINDOW",
        "fallback_window",
        "7d",
        "one of 1d, 7d, 30d, all",
        "Popularity window of the fallback lists that fill up related articles.",
        _window,
    ),
    EnvVar(
        "NEWSREC_MAX_PER_SECTION",
        "max_per_section",
        "",
        "an integer from 1 to 1000",
        "Site-wide cap: at most this many items of one section in a related list (the "
        "request's `max_per_section` overrides it; unset: no cap). Over-cap items are skipped "
        "for the next ones, and only complete a list that could not be filled otherwise.",
        _integer(1, 1000),
    ),
    EnvVar(
        "NEWSREC_MAX_PER_AUTHOR",
        "max_per_author",
        "",
        "an integer from 1 to 1000",
        "Site-wide cap: at most this many items of one author in a related list (the "
        "request's `max_per_author` overrides it; unset: no cap; needs a model trained with "
        "authors).",
        _integer(1, 1000),
    ),
    EnvVar(
        "NEWSREC_PER_STORY",
        "per_story",
        "1",
        "an integer from 0 to 1000",
        "Same-story collapsing: at most this many items of one story (wire copies, updates, "
        "rewrites of one event) in a related list, the highest ranked kept; another version "
        "of the page's own article is never listed. 0: off. A request's `per_story` "
        "overrides it.",
        _integer(0, 1000),
    ),
    EnvVar(
        "NEWSREC_WORDS_PER_MINUTE",
        "words_per_minute",
        "230",
        "an integer from 50 to 2000",
        "Reading speed of the `reading_minutes` of every answer (words of the text divided by "
        "it, rounded up); lower it for languages with longer words.",
        _integer(50, 2000),
    ),
    EnvVar(
        "NEWSREC_NOW_FROM_CLOCK",
        "now_from_clock",
        "0",
        "1 or 0 (true/false, yes/no)",
        "Measure article age against the wall clock instead of the model's end of data "
        "(set it in production with a daily model; leave it off for the demo data).",
        _boolean,
    ),
    EnvVar(
        "NEWSREC_DEMO",
        "demo",
        "0",
        "1 or 0 (true/false, yes/no)",
        "Demo mode (sample data; conveniences of the demo such as its editor login).",
        _boolean,
    ),
    EnvVar(
        "NEWSREC_LOG_LEVEL",
        "log_level",
        "INFO",
        "one of DEBUG, INFO, WARNING, ERROR",
        "Log level of the service.",
        _log_level,
    ),
    EnvVar(
        "NEWSREC_CORS_ORIGINS",
        "cors_origins",
        "",
        "origins (scheme://host[:port]) separated by commas, or * alone",
        "Sites whose pages may call `GET /v1/*` and `POST /v1/events` from the browser (the "
        "widget), e.g. `https://news.example.com`; `*` allows every site (unset: none).",
        _origins,
    ),
    EnvVar(
        "NEWSREC_RULES_DB",
        "rules_db",
        "data/rules.sqlite3",
        "a file path (a database URL goes in NEWSREC_RULES_URL)",
        "SQLite file of the editorial rules (pins and blocks) and their audit log; created on "
        "the first rule, shared by every worker on the host (not used when "
        "NEWSREC_RULES_URL is set).",
        _rules_db,
    ),
    EnvVar(
        "NEWSREC_RULES_URL",
        "rules_url",
        "",
        "a postgresql:// URL",
        "PostgreSQL database of the editorial rules and their audit log, shared by every "
        "worker of every host, e.g. `postgresql://newsrec@db.internal/newsrec` (tables "
        "`newsrec_rules*`, created on the first rule; unset: the SQLite file "
        "NEWSREC_RULES_DB, one host only).",
        _rules_url,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_RULES_TOKEN",
        "rules_token",
        "",
        "any text of at least 16 characters",
        "Bearer token of the `/v1/rules` API for scripts (unset: only logged-in editors).",
        _secret,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_EDITOR_USER",
        "editor_user",
        "",
        "a user name",
        "User name of the editor login of `/preview` (with NEWSREC_EDITOR_PASSWORD_HASH).",
        _user_name,
    ),
    EnvVar(
        "NEWSREC_EDITOR_PASSWORD_HASH",
        "editor_password_hash",
        "",
        "a werkzeug password hash",
        "The editor's password hash; make one with "
        "`python -m service.editorial.auth hash-password`.",
        _password_hash,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_SECRET_KEY",
        "secret_key",
        "",
        "any text of at least 16 characters",
        "Signs editor sessions; set it (the same on every worker and host), else a random "
        "per-process key logs editors out on restart and between workers.",
        _secret,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_SECURE_COOKIES",
        "secure_cookies",
        "1",
        "1 or 0 (true/false, yes/no)",
        "Mark the editor session cookie Secure (HTTPS only); turn off for plain-http "
        "localhost (NEWSREC_DEMO turns it off).",
        _boolean,
    ),
    EnvVar(
        "NEWSREC_LIVE_REDIS_URL",
        "live_redis_url",
        "",
        "a redis://, rediss:// or unix:// URL",
        "Redis of the live counts and article lifecycle changes (unset: NEWSREC_REDIS_URL; "
        "neither: an SQLite file in NEWSREC_STATE_DIR, shared by the workers of one host). "
        "Needs a Redis that does not evict keys (`maxmemory-policy noeviction` or "
        "`volatile-*`).",
        _redis_url,
    ),
    EnvVar(
        "NEWSREC_STATE_DIR",
        "state_dir",
        "",
        "a directory path",
        "Where the service keeps its state without Redis: `live.sqlite3`, the live counts and "
        "article lifecycle changes shared by every worker of the host (unset: the folder "
        "`state` beside NEWSREC_MODELS_DIR). Must be writable: start-up fails otherwise.",
        _path,
    ),
    EnvVar(
        "NEWSREC_LIVE_REFRESH_SECONDS",
        "live_refresh_seconds",
        "5",
        "a number of seconds above 0",
        "How long each worker reuses its live rankings (most viewed, trending) before asking "
        "Redis again.",
        _number(0.0),
    ),
    EnvVar(
        "NEWSREC_LIVE_FLUSH_SECONDS",
        "live_flush_seconds",
        "1",
        "a number of seconds, 0 or more",
        "How often each worker writes the views it counted to the live counters in Redis, "
        "one increment per article and hour however many views it had (0: with every "
        "request). Whether a view counts is always decided at once; a worker killed "
        "without a graceful stop loses its last unwritten counts (not its event log).",
        _number(0.0, inclusive=True),
    ),
    EnvVar(
        "NEWSREC_EVENTS_MAX_BATCH",
        "events_max_batch",
        "500",
        "an integer from 1 to 10000",
        "Most events one `POST /v1/events` may carry.",
        _integer(1, 10_000),
    ),
    EnvVar(
        "NEWSREC_DEDUP_MINUTES",
        "dedup_minutes",
        "30",
        "a number of minutes above 0",
        "A session's views of one article within this many minutes count once.",
        _number(0.0),
    ),
    EnvVar(
        "NEWSREC_SESSION_KEY",
        "session_key",
        "",
        "any text of at least 16 characters",
        "HMAC key of the session ids (only their keyed hashes are stored and logged); set the "
        "same on every host: unset, `newsrec serve` draws one per start, so dedup and the "
        "event log's sessions do not carry across hosts or restarts.",
        _secret,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_EXCLUDED_IPS",
        "excluded_ips",
        "",
        "CIDRs separated by commas",
        "Client networks whose views do not count (offices, monitoring), "
        "e.g. `10.0.0.0/8,2001:db8::/32`.",
        _networks,
    ),
    EnvVar(
        "NEWSREC_TRUST_PROXY",
        "trust_proxy",
        "0",
        "an integer from 0 to 10",
        "Reverse proxies in front of the service: the client address is then read from "
        "X-Forwarded-For, that many entries from the right (0: the header is ignored).",
        _integer(0, 10),
    ),
    EnvVar(
        "NEWSREC_STAFF_HEADER",
        "staff_header",
        "",
        "a header name",
        "Requests carrying this header (any value) are staff: their views do not count.",
        _http_token,
    ),
    EnvVar(
        "NEWSREC_STAFF_COOKIE",
        "staff_cookie",
        "",
        "a cookie name",
        "Requests carrying this cookie are staff: their views do not count (use it with "
        "sendBeacon, which cannot set headers).",
        _http_token,
    ),
    EnvVar(
        "NEWSREC_TRENDING_MIN_VIEWS",
        "trending_min_views",
        "5",
        "an integer from 1 to 1000000",
        "Views in the last 24 hours an article needs before it can trend.",
        _integer(1, 1_000_000),
    ),
    EnvVar(
        "NEWSREC_EVENT_LOG_DIR",
        "event_log_dir",
        "data/events",
        "a directory path, or off",
        "Where counted views are appended as daily JSON Lines files "
        "(`newsrec train --views <dir>` reads them); `off`: no event log.",
        _optional_dir,
    ),
    EnvVar(
        "NEWSREC_CMS_TOKEN",
        "cms_token",
        "",
        "any text of at least 16 characters",
        "Bearer token of `PUT` and `DELETE /v1/articles/{id}` (the CMS's publish hooks; "
        "unset: those routes answer 404).",
        _secret,
        secret=True,
    ),
)
