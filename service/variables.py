"""The ``NEWSREC_*`` environment variables: each with its :class:`Settings` field, default,
accepted values, one-line description and parser (:data:`ENV_VARS`).

:class:`service.settings.Settings` reads them; :func:`service.settings.settings_markdown` turns
the list into the configuration table of the documentation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service._values import (
    blend,
    blend_expected,
    boolean,
    http_token,
    integer,
    log_level,
    networks,
    number,
    optional_dir,
    origins,
    password_hash,
    path,
    redis_url,
    rules_db,
    rules_url,
    secret,
    section_half_lives,
    text,
    user_name,
    window,
)

PREFIX = "NEWSREC_"


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
        path,
    ),
    EnvVar("NEWSREC_HOST", "host", "127.0.0.1", "an address", "Address gunicorn binds to.", text),
    EnvVar(
        "NEWSREC_PORT",
        "port",
        "8000",
        "an integer from 1 to 65535",
        "Port gunicorn binds to.",
        integer(1, 65535),
    ),
    EnvVar(
        "NEWSREC_WORKERS",
        "workers",
        "",
        "an integer from 1 to 256",
        "gunicorn worker processes (unset: 2 per CPU core).",
        integer(1, 256),
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
        integer(1, 65535),
    ),
    EnvVar(
        "NEWSREC_EVENTS_WORKERS",
        "events_workers",
        "2",
        "an integer from 1 to 256",
        "Worker processes of the events pool (with `NEWSREC_EVENTS_PORT`).",
        integer(1, 256),
    ),
    EnvVar(
        "NEWSREC_EVENTS_NICE",
        "events_nice",
        "10",
        "an integer from 0 to 19",
        "CPU niceness of the events pool (with `NEWSREC_EVENTS_PORT`): counting views yields "
        "the cores to page reads when both want them.",
        integer(0, 19),
    ),
    EnvVar(
        "NEWSREC_THREADS",
        "threads",
        "1",
        "an integer from 1 to 64",
        "Threads per worker; 1 runs gunicorn's sync workers (recommended), more runs gthread.",
        integer(1, 64),
    ),
    EnvVar(
        "NEWSREC_REDIS_URL",
        "redis_url",
        "",
        "a redis://, rediss:// or unix:// URL",
        "Redis shared response cache (unset: in-process cache only).",
        redis_url,
    ),
    EnvVar(
        "NEWSREC_REDIS_TIMEOUT_MS",
        "redis_timeout_ms",
        "50",
        "an integer from 1 to 60000",
        "Redis connect/read timeout in milliseconds; a slow Redis counts as a cache miss.",
        integer(1, 60000),
    ),
    EnvVar(
        "NEWSREC_CACHE_TTL",
        "cache_ttl",
        "300",
        "an integer from 0 to 86400",
        "Seconds a cached response lives (0 turns response caching off).",
        integer(0, 86400),
    ),
    EnvVar(
        "NEWSREC_LOCAL_CACHE_SIZE",
        "local_cache_size",
        "10000",
        "an integer from 0 to 10000000",
        "Responses each worker keeps in its in-process LRU cache.",
        integer(0, 10_000_000),
    ),
    EnvVar(
        "NEWSREC_RELOAD_INTERVAL",
        "reload_interval",
        "5",
        "a number of seconds above 0",
        "How often each worker checks `models/LATEST` for a new bundle.",
        number(0.0),
    ),
    EnvVar(
        "NEWSREC_ADMIN_TOKEN",
        "admin_token",
        "",
        "any text",
        "Bearer token of `POST /v1/admin/reload` (unset: the admin route answers 404).",
        text,
    ),
    EnvVar(
        "NEWSREC_MAX_N",
        "max_n",
        "50",
        "an integer from 1 to 1000",
        "Largest `n` a request may ask for.",
        integer(1, 1000),
    ),
    EnvVar(
        "NEWSREC_DEFAULT_N",
        "default_n",
        "6",
        "an integer from 1 to NEWSREC_MAX_N",
        "`n` when a request does not give one.",
        integer(1, 1000),
    ),
    EnvVar(
        "NEWSREC_CONTENT_WEIGHT",
        "content_weight",
        "1.0",
        blend_expected("content_weight"),
        "Weight of the content (TF-IDF) score in the hybrid blend.",
        blend("content_weight"),
    ),
    EnvVar(
        "NEWSREC_COVIEW_WEIGHT",
        "coview_weight",
        "1.5",
        blend_expected("coview_weight"),
        "Weight of the co-view score once the query article has plenty of co-view evidence.",
        blend("coview_weight"),
    ),
    EnvVar(
        "NEWSREC_COVIEW_EVIDENCE",
        "coview_evidence",
        "10",
        blend_expected("coview_evidence"),
        "Sessions reading the query article at which the co-view weight reaches half.",
        blend("coview_evidence"),
    ),
    EnvVar(
        "NEWSREC_POPULARITY_WEIGHT",
        "popularity_weight",
        "0.5",
        blend_expected("popularity_weight"),
        "Exponent of each related candidate's views in the last 24 hours in the hybrid "
        "(score times (1 + views) ** weight; the bundle's last day without live counts); "
        "0 turns it off.",
        blend("popularity_weight"),
    ),
    EnvVar(
        "NEWSREC_POPULAR_CANDIDATES",
        "popular_candidates",
        "300",
        blend_expected("popular_candidates"),
        "How many of the most read articles of the last 24 hours join each hybrid list's "
        "candidates, scored by their content similarity to the article; 0 turns it off.",
        blend("popular_candidates"),
    ),
    EnvVar(
        "NEWSREC_POPULAR_MIN_SIMILARITY",
        "popular_min_similarity",
        "0.25",
        blend_expected("popular_min_similarity"),
        "A popular candidate joins a hybrid list only with a content similarity of at least "
        "this share of the article's closest neighbour's.",
        blend("popular_min_similarity"),
    ),
    EnvVar(
        "NEWSREC_SECTION_WEIGHT",
        "section_weight",
        "0",
        blend_expected("section_weight"),
        "A hybrid candidate of the article's own section has its score multiplied by "
        "1 + this weight; 0 turns it off.",
        blend("section_weight"),
    ),
    EnvVar(
        "NEWSREC_HALF_LIFE_DAYS",
        "half_life_days",
        "3",
        blend_expected("half_life_days"),
        "Freshness half-life of related articles in days (`off`: no freshness decay).",
        blend("half_life_days"),
    ),
    EnvVar(
        "NEWSREC_FRESHNESS_WEIGHT",
        "freshness_weight",
        "0.75",
        blend_expected("freshness_weight"),
        "How much freshness may move a related article: its score is multiplied by "
        "(1 - weight) + weight * 0.5 ** (age / half-life), so any article keeps at least "
        "1 - weight of it (an undated one counts as one half-life old, one dated in the "
        "future as new); 0 turns freshness off.",
        blend("freshness_weight"),
    ),
    EnvVar(
        "NEWSREC_SECTION_HALF_LIVES",
        "section_half_lives",
        "",
        "section=days pairs separated by commas",
        "Per-section half-lives overriding the default, e.g. `sports=1,culture=14`.",
        section_half_lives,
    ),
    EnvVar(
        "NEWSREC_FALLBACK_WINDOW",
        "fallback_window",
        "7d",
        "one of 1d, 7d, 30d, all",
        "Popularity window of the fallback lists that fill up related articles.",
        window,
    ),
    EnvVar(
        "NEWSREC_MAX_PER_SECTION",
        "max_per_section",
        "",
        "an integer from 1 to 1000",
        "Site-wide cap: at most this many items of one section in a related list (the "
        "request's `max_per_section` overrides it; unset: no cap). Over-cap items are skipped "
        "for the next ones, and only complete a list that could not be filled otherwise.",
        integer(1, 1000),
    ),
    EnvVar(
        "NEWSREC_MAX_PER_AUTHOR",
        "max_per_author",
        "",
        "an integer from 1 to 1000",
        "Site-wide cap: at most this many items of one author in a related list (the "
        "request's `max_per_author` overrides it; unset: no cap; needs a model trained with "
        "authors).",
        integer(1, 1000),
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
        integer(0, 1000),
    ),
    EnvVar(
        "NEWSREC_WORDS_PER_MINUTE",
        "words_per_minute",
        "230",
        "an integer from 50 to 2000",
        "Reading speed of the `reading_minutes` of every answer (words of the text divided by "
        "it, rounded up); lower it for languages with longer words.",
        integer(50, 2000),
    ),
    EnvVar(
        "NEWSREC_NOW_FROM_CLOCK",
        "now_from_clock",
        "0",
        "1 or 0 (true/false, yes/no)",
        "Measure article age against the wall clock instead of the model's end of data "
        "(set it in production with a daily model; leave it off for the demo data).",
        boolean,
    ),
    EnvVar(
        "NEWSREC_DEMO",
        "demo",
        "0",
        "1 or 0 (true/false, yes/no)",
        "Demo mode (sample data; conveniences of the demo such as its editor login).",
        boolean,
    ),
    EnvVar(
        "NEWSREC_LOG_LEVEL",
        "log_level",
        "INFO",
        "one of DEBUG, INFO, WARNING, ERROR",
        "Log level of the service.",
        log_level,
    ),
    EnvVar(
        "NEWSREC_CORS_ORIGINS",
        "cors_origins",
        "",
        "origins (scheme://host[:port]) separated by commas, or * alone",
        "Sites whose pages may call `GET /v1/*` and `POST /v1/events` from the browser (the "
        "widget), e.g. `https://news.example.com`; `*` allows every site (unset: none).",
        origins,
    ),
    EnvVar(
        "NEWSREC_RULES_DB",
        "rules_db",
        "data/rules.sqlite3",
        "a file path (a database URL goes in NEWSREC_RULES_URL)",
        "SQLite file of the editorial rules (pins and blocks) and their audit log; created on "
        "the first rule, shared by every worker on the host (not used when "
        "NEWSREC_RULES_URL is set).",
        rules_db,
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
        rules_url,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_RULES_TOKEN",
        "rules_token",
        "",
        "any text of at least 16 characters",
        "Bearer token of the `/v1/rules` API for scripts (unset: only logged-in editors).",
        secret,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_EDITOR_USER",
        "editor_user",
        "",
        "a user name",
        "User name of the editor login of `/preview` (with NEWSREC_EDITOR_PASSWORD_HASH).",
        user_name,
    ),
    EnvVar(
        "NEWSREC_EDITOR_PASSWORD_HASH",
        "editor_password_hash",
        "",
        "a werkzeug password hash",
        "The editor's password hash; make one with "
        "`python -m service.editorial.auth hash-password`.",
        password_hash,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_SECRET_KEY",
        "secret_key",
        "",
        "any text of at least 16 characters",
        "Signs editor sessions; set it (the same on every worker and host), else a random "
        "per-process key logs editors out on restart and between workers.",
        secret,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_SECURE_COOKIES",
        "secure_cookies",
        "1",
        "1 or 0 (true/false, yes/no)",
        "Mark the editor session cookie Secure (HTTPS only); turn off for plain-http "
        "localhost (NEWSREC_DEMO turns it off).",
        boolean,
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
        redis_url,
    ),
    EnvVar(
        "NEWSREC_STATE_DIR",
        "state_dir",
        "",
        "a directory path",
        "Where the service keeps its state without Redis: `live.sqlite3`, the live counts and "
        "article lifecycle changes shared by every worker of the host (unset: the folder "
        "`state` beside NEWSREC_MODELS_DIR). Must be writable: start-up fails otherwise.",
        path,
    ),
    EnvVar(
        "NEWSREC_EXPERIMENTS",
        "experiments",
        "",
        "a .toml or .json file path",
        "A/B tests of the related, most-viewed or latest lists (docs/experiments.md); more "
        "through `/v1/experiments` (bearer NEWSREC_RULES_TOKEN), kept in NEWSREC_STATE_DIR. A "
        "bad file, or a model version it names that cannot be served, stops start-up.",
        path,
    ),
    EnvVar(
        "NEWSREC_LIVE_REFRESH_SECONDS",
        "live_refresh_seconds",
        "5",
        "a number of seconds above 0",
        "How long each worker reuses its live rankings (most viewed, trending) before asking "
        "Redis again.",
        number(0.0),
    ),
    EnvVar(
        "NEWSREC_LIVE_FLUSH_SECONDS",
        "live_flush_seconds",
        "1",
        "a number of seconds, 0 or more",
        "How often each worker writes the views it counted to the live counters in Redis, "
        "one increment per article and hour however many views it had, and the "
        "impressions and clicks it counted to the experiment tallies, one per day and "
        "field (0: with every request). Whether an event counts is always decided at "
        "once; a worker killed without a graceful stop loses its last unwritten counts "
        "(not its event log).",
        number(0.0, inclusive=True),
    ),
    EnvVar(
        "NEWSREC_EVENTS_MAX_BATCH",
        "events_max_batch",
        "500",
        "an integer from 1 to 10000",
        "Most events one `POST /v1/events` may carry.",
        integer(1, 10_000),
    ),
    EnvVar(
        "NEWSREC_DEDUP_MINUTES",
        "dedup_minutes",
        "30",
        "a number of minutes above 0",
        "A session's views of one article within this many minutes count once.",
        number(0.0),
    ),
    EnvVar(
        "NEWSREC_SESSION_KEY",
        "session_key",
        "",
        "any text of at least 16 characters",
        "HMAC key of the session ids (only their keyed hashes are stored and logged); set the "
        "same on every host: unset, `newsrec serve` draws one per start, so dedup and the "
        "event log's sessions do not carry across hosts or restarts.",
        secret,
        secret=True,
    ),
    EnvVar(
        "NEWSREC_EXCLUDED_IPS",
        "excluded_ips",
        "",
        "CIDRs separated by commas",
        "Client networks whose views do not count (offices, monitoring), "
        "e.g. `10.0.0.0/8,2001:db8::/32`.",
        networks,
    ),
    EnvVar(
        "NEWSREC_TRUST_PROXY",
        "trust_proxy",
        "0",
        "an integer from 0 to 10",
        "Reverse proxies in front of the service: the client address is then read from "
        "X-Forwarded-For, that many entries from the right (0: the header is ignored).",
        integer(0, 10),
    ),
    EnvVar(
        "NEWSREC_STAFF_HEADER",
        "staff_header",
        "",
        "a header name",
        "Requests carrying this header (any value) are staff: their views do not count.",
        http_token,
    ),
    EnvVar(
        "NEWSREC_STAFF_COOKIE",
        "staff_cookie",
        "",
        "a cookie name",
        "Requests carrying this cookie are staff: their views do not count (use it with "
        "sendBeacon, which cannot set headers).",
        http_token,
    ),
    EnvVar(
        "NEWSREC_TRENDING_MIN_VIEWS",
        "trending_min_views",
        "5",
        "an integer from 1 to 1000000",
        "Views in the last 24 hours an article needs before it can trend.",
        integer(1, 1_000_000),
    ),
    EnvVar(
        "NEWSREC_EVENT_LOG_DIR",
        "event_log_dir",
        "data/events",
        "a directory path, or off",
        "Where counted views are appended as daily JSON Lines files "
        "(`newsrec train --views <dir>` reads them); `off`: no event log.",
        optional_dir,
    ),
    EnvVar(
        "NEWSREC_CMS_TOKEN",
        "cms_token",
        "",
        "any text of at least 16 characters",
        "Bearer token of `PUT` and `DELETE /v1/articles/{id}` (the CMS's publish hooks; "
        "unset: those routes answer 404).",
        secret,
        secret=True,
    ),
)
