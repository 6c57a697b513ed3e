"""``POST /v1/events`` (views from pages, e.g. ``navigator.sendBeacon``) and ``GET /v1/trending``.

The body is one event or a JSON array of them (at most ``NEWSREC_EVENTS_MAX_BATCH``)::

    {"article_id": "a123", "session_id": "s-9f2c", "timestamp": 1795000000, "type": "view"}

``timestamp`` (unix seconds, or ISO 8601) and ``type`` (only ``view``) are optional. Sent as
``application/json`` or as ``text/plain`` (what ``sendBeacon`` sends for a string, which needs
no CORS preflight); a body labelled as a form (``curl -d``) is read as JSON too.

What is applied, explicitly:

- A body that is not JSON, not an event or an array of events, larger than the batch limit,
  or of another media type is refused whole: **400** (413 or 415), nothing applied.
- Every event is then checked on its own (fields and types, a known and published article,
  a timestamp at most 5 minutes ahead and at most 48 hours old). If **no** event passes:
  **400** with every event's reason, nothing applied. Otherwise **202** with
  ``{"accepted": k, "counted": c, "rejected": [{"index": i, "code": ..., "reason": ...}]}``:
  the ``k`` accepted events were taken in, the rejected ones (by their index in the batch)
  were not and need no retry unless fixed.
- ``counted`` are the accepted events that are new views: not from a bot, an excluded
  network or staff (see :mod:`service.live.bots`; such requests are answered the same 202, with
  ``counted`` 0), and not a repeat of the same session and article within
  ``NEWSREC_DEDUP_MINUTES``. Counted views go to the live counters and the event log
  (:mod:`service.live.eventlog`).
- When the live store does not answer: **503**, nothing counted or logged.

Session ids are never stored: each is replaced by its HMAC-SHA256 under
``NEWSREC_SESSION_KEY`` (:class:`SessionHasher`). Dedup across workers and hosts, and sessions
that span them in the event log, need that one key everywhere. Unset, ``newsrec serve`` draws a
key at start shared by its workers (not by other hosts, nor after a restart); an app built
another way without the setting draws one per process.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
import re
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from flask import Blueprint, Response, current_app, request

from service.answers import cache_key, dumps
from service.errors import ApiError, BadParameter, NoModel
from service.jsonbody import BodyError, bounded_json
from service.live.bots import TrafficFilter, parse_networks
from service.live.counts import FUTURE_TOLERANCE, MAX_EVENT_AGE, LiveUnavailable, View
from service.live.eventlog import EventLog, InteractionLog
from service.live.interactions import (
    INTERACTION_FIELDS,
    INTERACTION_TYPES,
    Accepted,
    BadInteraction,
    Target,
    check_target,
    log_record,
    tally_items,
)
from service.params import parse_category, parse_n
from service.ranking import card
from service.runtime import Runtime, runtime
from service.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from service.experiments.registry import Experiments
    from service.live.catalogue import LiveCatalogue
    from service.live.view import Live

log = logging.getLogger("service")
events = Blueprint("events", __name__)

EVENT_FIELDS = ("article_id", "session_id", "timestamp", "type", *INTERACTION_FIELDS)
_FIELD_SET = frozenset(EVENT_FIELDS)
EVENT_TYPES = ("view", *INTERACTION_TYPES)
MAX_ID_LENGTH = 200
#: Bytes allowed per event in a body (a generous bound; real events are ~100 bytes).
BYTES_PER_EVENT = 1024
#: The body is JSON whatever it is labelled: application/json, text/plain (sendBeacon with a
#: string) or a form type (``curl -d``); multipart bodies are refused.
JSON_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded", "")
TRENDING_PARAMETERS = ("n", "category")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class SessionHasher:
    """Keyed hashes of session ids: HMAC-SHA256, the first 128 bits in hex.

    Parameters
    ----------
    key : str or None
        The shared secret; None draws a random key for this process (and logs a warning).
    """

    def __init__(self, key: str | None) -> None:
        if not key:
            log.warning(
                "NEWSREC_SESSION_KEY is not set: session ids are hashed with a random key of "
                "this process, so views are deduplicated within this process only and its "
                "event log sessions match no other process; set one shared key"
            )
            self.key = secrets.token_bytes(32)
        else:
            self.key = key.encode()

    def __call__(self, session_id: str) -> str:
        return hmac.digest(self.key, session_id.encode(), "sha256")[:16].hex()


class InvalidEvents(ApiError):
    """A body refused whole (400)."""

    def __init__(self, message: str, rejected: list[dict[str, Any]] | None = None) -> None:
        extra: dict[str, Any] = {} if rejected is None else {"rejected": rejected}
        super().__init__(400, "invalid_events", message, **extra)


class _Reject(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _identifier(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise _Reject("malformed", f"{name} must be a non-empty string")
    if len(value) > MAX_ID_LENGTH or _CONTROL_RE.search(value):
        raise _Reject(
            "malformed", f"{name} must be at most {MAX_ID_LENGTH} characters, no control ones"
        )
    return value


def _timestamp(value: Any, now: float) -> int:
    if value is None:
        return int(now)
    if isinstance(value, bool):
        raise _Reject("bad_timestamp", "timestamp must be unix seconds or ISO 8601")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Reject("bad_timestamp", "timestamp must be unix seconds or ISO 8601") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp()
    else:
        raise _Reject("bad_timestamp", "timestamp must be unix seconds or ISO 8601")
    if not math.isfinite(seconds):
        raise _Reject("bad_timestamp", "timestamp must be unix seconds or ISO 8601")
    if seconds > now + FUTURE_TOLERANCE:
        raise _Reject(
            "future_timestamp",
            f"timestamp is more than {FUTURE_TOLERANCE} s in the future (unix seconds, not "
            "milliseconds)",
        )
    if seconds < now - MAX_EVENT_AGE:
        raise _Reject(
            "old_timestamp", f"timestamp is more than {MAX_EVENT_AGE // 3600} hours in the past"
        )
    return int(min(seconds, now))  # a clock a little ahead counts as now


class Checked(NamedTuple):
    """A valid event."""

    article_id: str
    session_id: str
    category: str
    timestamp: int
    kind: str = "view"
    target: Target | None = None


def _no_list(list_id: str) -> None:
    return None


def check_event(
    event: Any, catalogue: LiveCatalogue, now: float, resolve: Callable[[str], Any] = _no_list
) -> Checked:
    """The fields of a valid event; raises :class:`_Reject` with the reason otherwise.
    ``resolve`` gives a list id's ``(experiment, variant)`` (impressions and clicks)."""
    if not isinstance(event, dict):
        raise _Reject("malformed", "an event must be a JSON object")
    if not event.keys() <= _FIELD_SET:
        name = next(n for n in event if n not in _FIELD_SET)
        raise _Reject(
            "malformed",
            f"unknown field {str(name)[:60]!r}; accepted: {', '.join(EVENT_FIELDS)}",
        )
    kind = event.get("type", "view")
    if kind not in EVENT_TYPES:
        raise _Reject("bad_type", f"type must be one of {', '.join(EVENT_TYPES)}")
    article_id = _identifier(event, "article_id")
    session_id = _identifier(event, "session_id")
    timestamp = _timestamp(event.get("timestamp"), now)
    row = catalogue.row_or_none(article_id)
    if row is None:
        raise _Reject("unknown_article", f"the model knows no article {article_id[:120]!r}")
    if not catalogue.is_published[row]:
        raise _Reject("not_published", f"article {article_id[:120]!r} is not published")
    target = None
    if kind != "view" or "list_id" in event or "position" in event:
        try:
            target = check_target(event, kind, resolve)
        except BadInteraction as exc:
            raise _Reject(exc.code, exc.reason) from None
    return Checked(article_id, session_id, catalogue.categories[row], timestamp, kind, target)


def parse_body(data: bytes, max_batch: int) -> list[Any]:
    """The events of a body (one or a list); raises :class:`InvalidEvents` for a body that
    is refused whole."""
    try:
        payload = bounded_json(data, max_bytes=max_batch * BYTES_PER_EVENT)
    except BodyError as exc:
        message = "the body must be a JSON event or a JSON array of events"
        raise InvalidEvents(f"{message} ({exc})") from None
    if isinstance(payload, dict):
        return [payload]
    if not isinstance(payload, list):
        raise InvalidEvents("the body must be a JSON event or a JSON array of events")
    if not payload:
        raise InvalidEvents("the batch holds no event")
    if len(payload) > max_batch:
        raise InvalidEvents(
            f"the batch holds {len(payload)} events; at most {max_batch} "
            "(NEWSREC_EVENTS_MAX_BATCH) are accepted per request"
        )
    return payload


class EventIngest:
    """The events route's collaborators (besides the live layer), built once per app."""

    def __init__(
        self,
        hasher: SessionHasher,
        traffic: TrafficFilter,
        event_log: EventLog | None,
        max_batch: int,
        *,
        dedup_seconds: float = 1800.0,
        click_log: InteractionLog | None = None,
    ) -> None:
        self.hasher = hasher
        self.traffic = traffic
        self.event_log = event_log
        self.max_batch = max_batch
        self.dedup_seconds = dedup_seconds
        self.click_log = click_log
        #: set by ``create_app``: list ids and the experiment running
        self.experiments: Experiments | None = None


def runtime_live(rt: Runtime) -> Live:
    """The app's live layer (always built by ``create_app``)."""
    if rt.live is None:
        raise RuntimeError("the app has no live layer")
    return rt.live


def body_limit(environ: WSGIEnvironment, ingest: EventIngest) -> int:
    """The most bytes a body may have, after checking what the headers announce.

    Raises
    ------
    ApiError
        415 for a media type that is not read as JSON, 413 for an announced length over the
        limit.
    """
    mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if mimetype not in JSON_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the events as JSON (application/json or text/plain)",
        )
    limit = ingest.max_batch * BYTES_PER_EVENT
    length = environ.get("CONTENT_LENGTH")
    if length and length.isdigit() and int(length) > limit:
        raise ApiError(413, "body_too_large", f"the body may be at most {limit} bytes")
    return limit


def record_events(rt: Runtime, ingest: EventIngest, environ: WSGIEnvironment, data: bytes) -> bytes:
    """Check and record the events of one body; the JSON of the 202 answer.

    Called by the Flask view below and by :mod:`service.fastpath` (which answers this route
    without Flask); ``environ`` gives the traffic filter its headers.

    Raises
    ------
    ApiError
        The body is refused whole (400, 413), no model is loaded (503) or the live store
        does not answer (503).
    """
    metrics = rt.metrics
    limit = ingest.max_batch * BYTES_PER_EVENT
    if len(data) > limit:
        raise ApiError(413, "body_too_large", f"the body may be at most {limit} bytes")
    try:
        items = parse_body(data, ingest.max_batch)
    except InvalidEvents:
        metrics.event_rejected("malformed_body", 1)
        raise
    model = rt.store.current()
    if model is None:
        raise NoModel(rt.store.waiting_for)
    live = runtime_live(rt)
    catalogue = live.view(model.bundle).catalogue
    now = live.clock()
    valid: list[Checked] = []
    rejected: list[dict[str, Any]] = []
    experiments = ingest.experiments
    resolve = _no_list if experiments is None else experiments.resolve
    for index, item in enumerate(items):
        try:
            valid.append(check_event(item, catalogue, now, resolve))
        except _Reject as exc:
            rejected.append({"index": index, "code": exc.code, "reason": exc.reason})
            metrics.event_rejected(exc.code, 1)
    if not valid:
        message = rejected[0]["reason"] if len(rejected) == 1 else "no event was accepted"
        raise InvalidEvents(message, rejected)
    dropped = ingest.traffic.classify(environ)
    if dropped is not None:
        metrics.event_dropped(dropped, len(valid))
        return _accepted(len(valid), 0, rejected)
    hasher = ingest.hasher
    hashed: dict[str, str] = {}  # a batch usually comes from one page view: one session
    views = []
    sessions = []
    for event in valid:
        key = hashed.get(event.session_id)
        if key is None:
            key = hashed[event.session_id] = hasher(event.session_id)
        sessions.append(key)
        if event.kind == "view":
            views.append(View(key, event.article_id, event.category, event.timestamp))
    try:
        flags = live.store.record(views, now) if views else []
        shown = 0
        if any(e.target is not None for e in valid) or (
            experiments is not None and bool(experiments.running_all(now))
        ):
            shown = _record_interactions(ingest, live, valid, sessions, flags, now)
    except LiveUnavailable as exc:
        metrics.event_outcome("unavailable", len(views))
        raise ApiError(
            503,
            "live_unavailable",
            f"the live store does not answer; nothing was counted ({exc})",
            headers={"Retry-After": "5"},
        ) from None
    counted = [v for v, flag in zip(views, flags, strict=True) if flag]
    metrics.event_outcome("counted", len(counted))
    metrics.event_outcome("duplicate", len(views) - len(counted))
    if counted and ingest.event_log is not None:
        try:
            ingest.event_log.append((v.session, v.article_id, v.timestamp) for v in counted)
        except OSError as exc:
            metrics.event_log_failed(len(counted))
            log.error("cannot append %d views to the event log: %s", len(counted), exc)
    return _accepted(len(valid), len(counted) + shown, rejected)


def _record_interactions(
    ingest: EventIngest,
    live: Live,
    valid: list[Checked],
    sessions: list[str],
    flags: list[bool],
    now: float,
) -> int:
    """Tally a request's impressions, clicks and (during an experiment) views; log the
    impressions and clicks counted; how many of them were counted."""
    counted_views = iter(flags)
    accepted = [
        Accepted(
            e.kind,
            session,
            e.article_id,
            e.timestamp,
            e.target,
            e.kind == "view" and next(counted_views),
        )
        for e, session in zip(valid, sessions, strict=True)
    ]
    experiments = ingest.experiments
    running = [] if experiments is None else experiments.running_all(now)
    items, logged = tally_items(accepted, running, ingest.dedup_seconds)
    if not items:
        return 0
    done = live.store.record_interactions(items, now)
    records = [log_record(accepted[event], kind) for item, event, kind in logged if done[item]]
    if records and ingest.click_log is not None:
        try:
            ingest.click_log.append_records(records)
        except OSError as exc:
            log.error("cannot append %d clicks to the click log: %s", len(records), exc)
    return sum(1 for item, event, kind in logged if done[item] and accepted[event].kind != "view")


@events.post("/v1/events")
def post_events() -> Response:
    """Record page views (one event or a batch); 202 with what was accepted and counted."""
    rt = runtime()
    ingest: EventIngest = current_app.extensions["newsrec.events"]
    environ = request.environ  # read directly: this route is hot, request's properties are not
    if environ.get("QUERY_STRING") and request.args:
        raise BadParameter(next(iter(request.args)), "this route accepts no query parameters")
    body_limit(environ, ingest)
    data = request.get_data(cache=False)
    body = record_events(rt, ingest, environ, data)
    return Response(body, status=202, mimetype="application/json")


def _accepted(accepted: int, counted: int, rejected: list[dict[str, Any]]) -> bytes:
    if not rejected:  # nearly every answer: the same bytes as dumps() gives, without it
        return b'{"accepted":%d,"counted":%d,"rejected":[]}' % (accepted, counted)
    return dumps({"accepted": accepted, "counted": counted, "rejected": rejected})


def _trending_params(args: Any, default_n: int, max_n: int) -> tuple[int, str | None]:
    for name, values in args.lists():
        if name not in TRENDING_PARAMETERS:
            raise BadParameter(
                name,
                f"unknown query parameter {name[:60]!r}; this route accepts: "
                f"{', '.join(TRENDING_PARAMETERS)}",
            )
        if len(values) != 1:
            raise BadParameter(name, f"{name} must be given at most once")
    return (
        parse_n(args.get("n"), default=default_n, max_n=max_n),
        parse_category(args.get("category")),
    )


@events.get("/v1/trending")
def trending() -> Response:
    """Articles whose views rise fastest against their own baseline (live, merged)."""
    rt = runtime()
    live = runtime_live(rt)
    n, category = _trending_params(request.args, rt.settings.default_n, rt.settings.max_n)
    model = rt.store.current()
    if model is None:
        raise NoModel(rt.store.waiting_for)
    view = live.view(model.bundle)
    key = cache_key(view.version, "trending", category, n)
    cache = rt.cache
    if cache is not None:
        body = cache.get(key)
        if body is not None:
            return Response(body, mimetype="application/json")
    answer: dict[str, Any] = {
        "model_version": model.bundle.version,
        "category": category,
        "items": [],
    }
    if category is None or category in view.known_categories():
        scores, recent = view.trending()
        answer["items"] = [
            {
                **card(view, int(r), rt.options.words_per_minute),
                "views": int(recent[r]),
                "score": round(float(scores[r]), 6),
            }
            for r in view.trending_rows(category)[:n]
        ]
    body = dumps(answer)
    if cache is not None:
        ttl = min(rt.settings.cache_ttl, max(1, math.ceil(live.refresh_seconds)))
        cache.set(key, body, ttl)
    return Response(body, mimetype="application/json")


def build_ingest(settings: Settings) -> EventIngest:
    """The events route's collaborators for ``settings``."""
    return EventIngest(
        SessionHasher(settings.session_key),
        TrafficFilter(
            excluded_networks=parse_networks(",".join(settings.excluded_ips)),
            trust_proxy=settings.trust_proxy,
            staff_header=settings.staff_header,
            staff_cookie=settings.staff_cookie,
        ),
        None if settings.event_log_dir is None else EventLog(settings.event_log_dir),
        settings.events_max_batch,
        dedup_seconds=settings.dedup_minutes * 60,
        click_log=(
            None
            if settings.event_log_dir is None
            else InteractionLog(settings.event_log_dir / "clicks")
        ),
    )
