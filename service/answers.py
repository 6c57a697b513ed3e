"""The answers of the page routes, below both the Flask views and the fast path.

One request reads one :class:`Snapshot` (the model, the editorial rules and the live view in
force, and the version string naming that combination), kept in the WSGI ``environ`` so that
every look during the request (fast path, then Flask view) sees the same. An answer is the JSON
body of a ``200``, taken from the response cache (:mod:`service.cache`) under a key that
carries that version, else computed with :mod:`service.ranking` and cached. The caller gets an
:class:`Answer`: the body plus the version and lifetime it may be kept under, so the fast path
(:mod:`service.fastpath`) files it itself and the views (:mod:`service.views`) just send it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Response
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from service.errors import BadParameter, NoModel
from service.experiments.config import list_id
from service.params import (
    RelatedParams,
    parse_latest,
    parse_most_viewed,
    parse_none,
    parse_related,
)
from service.ranking import (
    article_response,
    latest_response,
    most_viewed_response,
    related_response,
    source,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from recommender.bundle import Bundle
    from service.editorial.rules import ActiveRules
    from service.experiments.registry import Assignment
    from service.live.view import LiveView
    from service.runtime import Runtime
    from service.store import LoadedModel

JSON_MIMETYPE = "application/json"
EMPTY_ARGS: MultiDict[str, str] = ImmutableMultiDict()
#: Longer keys are hashed (Redis accepts them, but 100 excluded ids make a 20 kB key).
MAX_KEY_LENGTH = 400
#: ``environ`` key of the :class:`Snapshot` a request was looked up with: a later look in the
#: same request (the Flask view after the fast path) reuses it.
SNAPSHOT = "newsrec.snapshot"
#: The reader's session id in a page read's query: it picks the reader's variant of the
#: experiment running (see :mod:`service.experiments`); it never reaches a cache key.
SESSION_PARAMETER = "session_id"
_SESSION_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,200}")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def json_response(value: Any, status: int = 200) -> Response:
    """``value`` as a compact JSON response."""
    return Response(dumps(value), status=status, mimetype=JSON_MIMETYPE)


# --- cache keys ------------------------------------------------------------------------------


def _escape(part: str) -> str:
    # Only the separator (and the escape character) need escaping for keys to be unambiguous,
    # and this runs on every request: test before replacing.
    if ":" in part or "%" in part:
        return part.replace("%", "%25").replace(":", "%3A")
    return part


def _bounded(key: str, version: str, route: str) -> str:
    if len(key) > MAX_KEY_LENGTH:
        digest = hashlib.sha256(key.encode()).hexdigest()
        key = f"nr:v1:{version}:{route}:sha256:{digest}"
    return key


def cache_key(version: str, route: str, *parts: object) -> str:
    """``nr:v1:<version>:<route>:<normalised parameters...>`` (``version``: a
    :attr:`Snapshot.version`: model, served settings, rules); ``%`` and ``:`` in a part
    are %-escaped, so parts never run into each other; ``None`` is an empty part."""
    texts = ("" if p is None else _escape(str(p)) for p in parts)
    return _bounded(":".join(("nr:v1", version, route, *texts)), version, route)


def related_key(version: str, article_id: str, params: RelatedParams) -> str:
    """:func:`cache_key` of a related request, spelled out (the hottest path)."""
    age = "" if params.max_age_days is None else params.max_age_days
    caps = ""
    if params.max_per_section is not None or params.max_per_author is not None:
        section, author = params.max_per_section, params.max_per_author
        caps = f":{'' if section is None else section}:{'' if author is None else author}"
    if params.per_story is not None:
        caps += f":s{params.per_story}"
    key = (
        f"nr:v1:{version}:related:{_escape(article_id)}:{params.n}:{params.strategy}:"
        f"{_escape(','.join(params.exclude))}:{_escape(params.category or '')}:{age}:"
        f"{int(params.explain)}{caps}"
    )
    return _bounded(key, version, "related")


# --- what one request reads ------------------------------------------------------------------


def current_model(rt: Runtime) -> LoadedModel:
    """The model in service.

    Raises
    ------
    NoModel
        No model is loaded yet (503).
    """
    model = rt.store.current()
    if model is None:
        failure = rt.store.last_failure
        raise NoModel(failure.message if failure else rt.store.waiting_for)
    return model


def _rules(rt: Runtime) -> tuple[ActiveRules | None, str]:
    """The editorial rules in force and the version for cache keys: the model's, plus the
    rules' once a rules database exists (so a cached answer never hides a rule change)."""
    if rt.rules is None:
        return None, ""
    active = rt.rules.active()
    return active, (f"+rules.{active.key}" if active.key else "")


@dataclass(frozen=True)
class Snapshot:
    """What one request reads: the model, the rules and live layer in force, and the version
    string that names that combination in cache keys."""

    bundle: Bundle
    rules: ActiveRules | None
    live: LiveView | None
    #: the model's (or live layer's) version, the served settings' digest and the rules'
    #: version
    version: str
    #: the part of ``version`` after the model's and the settings': the rules' and the
    #: experiments'
    tail: str = ""
    #: ``+o.`` and :func:`service.ranking.options_digest` of the options the bundle is
    #: served with
    settings: str = ""

    @property
    def data_version(self) -> str:
        """The version of the model and live data, and the served settings (answers that
        ignore rules)."""
        return (self.bundle.version if self.live is None else self.live.version) + self.settings


def snapshot(rt: Runtime, environ: WSGIEnvironment | None = None) -> Snapshot:
    """The model, rules and live view a request uses, kept in ``environ`` so that every look
    during one request (fast path, then Flask view) sees the same.

    Raises
    ------
    NoModel
        No model is loaded yet (503).
    """
    if environ is not None:
        found: Snapshot | None = environ.get(SNAPSHOT)
        if found is not None:
            return found
    bundle = current_model(rt).bundle
    rules, rules_version = _rules(rt)
    live = None if rt.live is None else rt.live.view(bundle)
    version = bundle.version if live is None else live.version
    # the settings too: answers cached in Redis by a worker with other settings (before a
    # restart, or another deployment on the same Redis) are never read
    settings = f"+o.{rt.options_digest(bundle)}"
    if rt.experiments is not None:
        rules_version += rt.experiments.version()
    snap = Snapshot(
        bundle, rules, live, version + settings + rules_version, rules_version, settings
    )
    if environ is not None:
        environ[SNAPSHOT] = snap
    return snap


def variant_snapshot(rt: Runtime, snap: Snapshot, arm: Assignment | None) -> Snapshot:
    """``snap`` with the model of the reader's variant, when it names one (and it can be
    served): its bundle, its live view, and its version in cache keys."""
    if arm is None or arm.variant.model is None or rt.experiments is None:
        return snap
    bundle = rt.experiments.bundle(arm.variant.model)
    if bundle is None or bundle is snap.bundle:
        return snap
    live = None if rt.live is None else rt.live.view(bundle)
    version = bundle.version if live is None else live.version
    settings = f"+o.{rt.options_digest(bundle)}"  # the variant bundle's own served settings
    return Snapshot(bundle, snap.rules, live, version + settings + snap.tail, snap.tail, settings)


def _live_ttl(rt: Runtime) -> int:
    """Lifetime of answers showing live counts: at most one refresh tick."""
    refresh = rt.live.refresh_seconds if rt.live is not None else rt.settings.cache_ttl
    return max(1, min(rt.settings.cache_ttl, math.ceil(refresh)))


# --- the answers -----------------------------------------------------------------------------
# The three page routes, as functions of the runtime, the WSGI environ and the parsed query
# (None when the query string is empty). Each returns the Answer of a 200 or raises an
# ApiError (or the library's UnknownArticleError).


@dataclass(frozen=True)
class Answer:
    """The JSON body of a ``200``, with what a cache of it must respect."""

    body: bytes
    #: the :attr:`Snapshot.version` it was computed under: a new model, rule change or live
    #: change gives another
    version: str
    #: seconds it may be kept
    ttl: int


def _cached(
    rt: Runtime, key: str, build: Callable[[], dict[str, Any]], ttl: int | None, version: str
) -> Answer:
    """The answer under ``key`` from the response cache, else built and cached."""
    cache = rt.cache
    lifetime = rt.settings.cache_ttl if ttl is None else ttl
    body = None if cache is None else cache.get(key)
    if body is None:
        body = dumps(build())
        if cache is not None:
            cache.set(key, body, lifetime)
    return Answer(body, version, lifetime)


def split_session(
    args: MultiDict[str, str] | None,
) -> tuple[MultiDict[str, str] | None, str | None]:
    """The query without ``session_id``, and the session id (checked: a 400 names it)."""
    if not args or SESSION_PARAMETER not in args:
        return args, None
    given = args.getlist(SESSION_PARAMETER)
    if len(given) != 1 or not _SESSION_RE.fullmatch(given[0]):
        raise BadParameter(
            SESSION_PARAMETER, "session_id must be given once, 1 to 200 characters, no control ones"
        )
    rest: MultiDict[str, str] = ImmutableMultiDict(
        [(k, v) for k, v in args.items(multi=True) if k != SESSION_PARAMETER]
    )
    return (rest or None), given[0]


def assignment(rt: Runtime, session_id: str | None, surface: str = "related") -> Assignment | None:
    """The reader's variant in the experiment of ``surface`` running now, if any."""
    return None if rt.experiments is None else rt.experiments.assign(session_id, surface=surface)


def _holdout(answer: dict[str, Any]) -> dict[str, Any]:
    """An empty list (a holdout variant's)."""
    answer["items"] = []
    return answer


def listed(answer: dict[str, Any], experiment: str, variant: str, list_key: str) -> dict[str, Any]:
    """``answer`` with its ``list_id`` and ``variant`` and each item's ``position`` (1 first):
    what impressions and clicks name (see :mod:`service.live.interactions`)."""
    answer["list_id"] = list_id(experiment, variant, list_key)
    answer["variant"] = variant if experiment else None
    if experiment:
        answer["experiment"] = experiment
    for position, item in enumerate(answer["items"], 1):
        item["position"] = position
    return answer


def answer_related(
    rt: Runtime, environ: WSGIEnvironment, article_id: str, args: MultiDict[str, str] | None
) -> Answer:
    """Related articles for one article page."""
    settings = rt.settings
    args, session_id = split_session(args)
    if args:
        params = parse_related(args, default_n=settings.default_n, max_n=settings.max_n)
    else:  # the common request: skip parsing an empty query
        params = rt.default_related
    main = snapshot(rt, environ)
    arm = assignment(rt, session_id)
    # a variant with its own model reads that bundle (and its live view) throughout; the
    # answer's version stays the main one, which the fast path files it under
    snap = variant_snapshot(rt, main, arm)
    options = rt.options_for(snap.bundle)
    if arm is None:
        experiment, variant = "", f"related.{params.strategy}"
        key = related_key(snap.version, article_id, params)
    else:
        experiment, variant = arm.experiment.name, arm.variant.name
        if arm.variant.strategy is not None:
            params = dataclasses.replace(params, strategy=arm.variant.strategy)
        if arm.variant.blend:
            blend = dataclasses.replace(options.blend, **arm.variant.blend)
            options = dataclasses.replace(options, blend=blend)
        key = related_key(snap.version, article_id, params) + f":x:{_escape(arm.tag)}"
    list_key = related_key("", article_id, params)

    def build() -> dict[str, Any]:
        if arm is not None and arm.variant.holdout:
            source(snap.bundle, snap.live).row(article_id)  # an unknown id is still a 404
            answer: dict[str, Any] = {
                "article_id": article_id,
                "model_version": snap.bundle.version,
                "strategy": params.strategy,
                "items": [],
            }
        else:
            answer = related_response(
                snap.bundle, article_id, params, options, snap.rules, snap.live
            )
        return listed(answer, experiment, variant, list_key)

    return _cached(rt, key, build, None, main.version)


def answer_most_viewed(
    rt: Runtime, environ: WSGIEnvironment, args: MultiDict[str, str] | None
) -> Answer:
    """The most viewed articles of a window, optionally of one section."""
    args, session_id = split_session(args)
    params = parse_most_viewed(
        args or EMPTY_ARGS, default_n=rt.settings.default_n, max_n=rt.settings.max_n
    )
    snap = snapshot(rt, environ)
    arm = assignment(rt, session_id, "most-viewed")
    experiment, variant, tag = "", "most-viewed", ""
    if arm is not None:
        experiment, variant = arm.experiment.name, arm.variant.name
        tag = f":x:{_escape(arm.tag)}"
        if arm.variant.window is not None:
            params = dataclasses.replace(params, window=arm.variant.window)
        if arm.variant.published_within_days is not None:
            days = arm.variant.published_within_days
            params = dataclasses.replace(params, published_within_days=days)
    parts = (params.window, params.category, params.n, params.published_within_days)
    key = cache_key(snap.version, "most-viewed", *parts) + tag
    list_key = cache_key("", "most-viewed", *parts)
    holdout = arm is not None and arm.variant.holdout

    def build() -> dict[str, Any]:
        answer = most_viewed_response(
            snap.bundle, params, rt.options_for(snap.bundle), snap.rules, snap.live
        )
        return listed(_holdout(answer) if holdout else answer, experiment, variant, list_key)

    return _cached(rt, key, build, None if snap.live is None else _live_ttl(rt), snap.version)


def answer_latest(
    rt: Runtime, environ: WSGIEnvironment, args: MultiDict[str, str] | None
) -> Answer:
    """The newest published articles, optionally of one section."""
    args, session_id = split_session(args)
    params = parse_latest(
        args or EMPTY_ARGS, default_n=rt.settings.default_n, max_n=rt.settings.max_n
    )
    snap = snapshot(rt, environ)
    arm = assignment(rt, session_id, "latest")
    experiment, variant, tag = "", "latest", ""
    if arm is not None:
        experiment, variant = arm.experiment.name, arm.variant.name
        tag = f":x:{_escape(arm.tag)}"
        if arm.variant.category is not None:
            params = dataclasses.replace(params, category=arm.variant.category)
        if arm.variant.max_age_days is not None:
            params = dataclasses.replace(params, max_age_days=arm.variant.max_age_days)
    parts = (params.n, params.category, ",".join(params.exclude), params.max_age_days)
    key = cache_key(snap.version, "latest", *parts) + tag
    list_key = cache_key("", "latest", *parts)
    holdout = arm is not None and arm.variant.holdout

    def build() -> dict[str, Any]:
        answer = latest_response(snap.bundle, params, rt.options, snap.rules, snap.live)
        return listed(_holdout(answer) if holdout else answer, experiment, variant, list_key)

    # the version moves with every publish and unpublish (the lifecycle generation): a
    # cached list never outlives a change of the catalogue
    return _cached(rt, key, build, None, snap.version)


def answer_article(
    rt: Runtime, environ: WSGIEnvironment, article_id: str, args: MultiDict[str, str] | None
) -> Answer:
    """One article's metadata and view counts."""
    parse_none(args or EMPTY_ARGS)
    snap = snapshot(rt, environ)
    key = cache_key(snap.data_version, "article", article_id)
    return _cached(
        rt,
        key,
        lambda: article_response(snap.bundle, article_id, snap.live, rt.options),
        None if snap.live is None else _live_ttl(rt),
        snap.version,
    )
