"""Impressions and clicks of recommendation lists, and the experiment tallies they feed.

Every ``related``, ``most-viewed`` and ``latest`` answer names its list (``list_id``: the
variant's code and the list's own, see :func:`service.experiments.config.list_id`) and each
item its ``position`` (1 first). Pages send, through ``POST /v1/events`` with the views:

- ``{"type": "impression", "list_id", "position", "article_id", "session_id"}``: the item was
  shown (the widget sends one per item, in one batch, when the block is seen);
- ``{"type": "click", ...}`` the same fields: the item was opened;
- a ``view`` with ``list_id`` and ``position``: the view of a page reached through a list's
  link (``nr_list``/``nr_pos``): it counts a click too (a page without JavaScript, or a click
  whose beacon was lost). A click already counted is not counted again.

They pass the views' rules (bots, staff, excluded networks: nothing counted; sessions as keyed
hashes). Each is counted once per (session, list, position) within ``NEWSREC_DEDUP_MINUTES``,
in the live store's tally per (experiment, variant, position, day)
(:meth:`service.live.stores.LiveStore.tally`); lists outside an experiment under experiment
``""`` and their kind as variant (``related.hybrid``, ``most-viewed``, ``latest``). While an
experiment runs, every counted view is also tallied for the reader's variant (position 0):
``view``, ``session`` (once per session), and after the session's first recommendation click
``click_session`` and ``after_click`` (its later page views): pages per session, also of a
holdout that shows no list.

Counted impressions and clicks are appended to the click log
(:class:`service.live.eventlog.InteractionLog`), beside the view log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from service.live.counts import Interaction

#: Fields an event may carry besides the views' ones.
INTERACTION_FIELDS = ("list_id", "position", "variant", "page_id")
INTERACTION_TYPES = ("impression", "click")
MAX_POSITION = 999
#: Lifetime of the per-session markers (sessions seen, sessions that clicked).
SESSION_SECONDS = 24 * 3600
_LIST_RE = re.compile(r"[0-9a-f]{16}")
_VARIANT_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PAGE_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,200}")


class BadInteraction(ValueError):
    """An event whose list fields cannot be used: ``code`` and the reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Target(NamedTuple):
    """The list item an impression or click is about."""

    list_id: str
    position: int
    experiment: str
    variant: str
    #: the article whose page showed the list (related lists; for ``newsrec evaluate --clicks``)
    page_id: str | None = None


def check_target(event: Mapping[str, Any], kind: str, resolve: Any) -> Target | None:
    """The list item of an event; None for a view without one. ``resolve(list_id)`` gives
    ``(experiment, variant)`` or None.

    Raises
    ------
    BadInteraction
        A missing or malformed field, or a list id no experiment or list kind knows.
    """
    given = event.get("list_id")
    position = event.get("position")
    if kind == "view" and given is None and position is None:
        return None
    if not isinstance(given, str) or not _LIST_RE.fullmatch(given):
        raise BadInteraction("malformed", "list_id must be the list_id of an answer")
    if (
        isinstance(position, bool)
        or not isinstance(position, int)
        or not 1 <= position <= MAX_POSITION
    ):
        raise BadInteraction("malformed", f"position must be an integer from 1 to {MAX_POSITION}")
    variant = event.get("variant")
    if variant is not None and (not isinstance(variant, str) or not _VARIANT_RE.fullmatch(variant)):
        raise BadInteraction("malformed", "variant must be the variant of the answer")
    page = event.get("page_id")
    if page is not None and (not isinstance(page, str) or not _PAGE_RE.fullmatch(page)):
        raise BadInteraction("malformed", "page_id must be the id of the page's article")
    found = resolve(given)
    if found is None:
        raise BadInteraction("unknown_list", "list_id names no list kind or experiment known here")
    experiment, named = found
    if variant is not None and experiment and variant != named:
        raise BadInteraction("malformed", "variant is not the variant of this list")
    return Target(given, position, experiment, named, page)


class Accepted(NamedTuple):
    """An accepted event, as the tallies need it."""

    kind: str
    session: str
    article_id: str
    timestamp: int
    target: Target | None
    counted_view: bool


def tally_items(
    events: Sequence[Accepted], running: Sequence[Any], dedup_seconds: float
) -> tuple[list[Interaction], list[tuple[int, int, str]]]:
    """The tally increments of a request's accepted events, in order, and for each
    impression or click (its increment's index, the event's index, its kind), to log it.

    ``running`` are the experiments readers are assigned to now (one per surface at most).
    """
    items: list[Interaction] = []
    logged: list[tuple[int, int, str]] = []
    for index, event in enumerate(events):
        session, at = event.session, event.timestamp
        target = event.target
        if target is not None:
            kind = "impression" if event.kind == "impression" else "click"
            letter = kind[0]
            key = f"{letter}:{session}:{target.list_id}:{target.position}"
            logged.append((len(items), index, kind))
            items.append(
                Interaction(
                    kind,
                    target.experiment,
                    target.variant,
                    target.position,
                    at,
                    key,
                    dedup_seconds,
                )
            )
            if kind == "click" and target.experiment:
                items.append(
                    Interaction(
                        "click_session",
                        target.experiment,
                        target.variant,
                        0,
                        at,
                        f"c:{target.experiment}:{session}",
                        SESSION_SECONDS,
                    )
                )
        if not event.counted_view:
            continue
        for experiment in running:
            variant = experiment.assign(session).name
            name = experiment.name
            items += (
                Interaction("view", name, variant, 0, at),
                Interaction(
                    "session", name, variant, 0, at, f"s:{name}:{session}", SESSION_SECONDS
                ),
                Interaction("after_click", name, variant, 0, at, after=f"c:{name}:{session}"),
            )
    return items, logged


def log_record(event: Accepted, kind: str) -> dict[str, object]:
    """The click log's line of a counted impression or click."""
    target = event.target
    assert target is not None
    return {
        "type": kind,
        "session_id": event.session,
        "article_id": event.article_id,
        "list_id": target.list_id,
        "position": target.position,
        "experiment": target.experiment,
        "variant": target.variant,
        "page_id": target.page_id,
        "timestamp": event.timestamp,
    }
