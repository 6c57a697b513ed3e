"""Editorial rules: pins and blocks on related-article lists, kept durably in SQLite (one host)
or PostgreSQL (several hosts): :mod:`service.editorial.sqlite_store`,
:mod:`service.editorial.postgres_store`; :func:`service.editorial.stores.build_rules` chooses.

A *pin* shows article ``target_id`` at slot ``slot`` (1 = first) of the related list of one
article (``article_id``), of every article of a section (``section``) or of every article; a
*block* keeps ``target_id`` out of those lists (a block everywhere also keeps it out of the most
viewed lists). Each rule has an author, a note and an optional period ``[starts_at, ends_at)``
outside which it does nothing.

Why SQLite: the rules are editors' work, so a restart of the service or of Redis must not lose
them, and every worker must see a change on its next request. An SQLite file in WAL mode is
embedded (no extra server), durable (``synchronous=FULL``: a committed rule survives a power
cut) and shared by every worker on a host; readers never wait for a writer. Each worker keeps
one read connection and asks it ``PRAGMA data_version`` per request (a read of shared memory,
microseconds): the number changes when another connection committed, and only then are the
rules read again. Writes go through a fresh connection, so a worker's own changes are seen the
same way. Several hosts share one PostgreSQL database instead (``NEWSREC_RULES_URL``,
:mod:`service.editorial.postgres_store`); both stores offer :class:`RulesBackend`.

Cache keys carry :attr:`ActiveRules.key`: the database's random instance id, its change counter
and the number of rule start and end times already passed, so a cached answer never hides a new,
deleted, starting or expiring rule.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from recommender.blend import Scored

log = logging.getLogger("service")

KINDS = ("pin", "block")
SCOPES = ("article", "section", "everywhere")
#: ``source`` of an item a pin placed.
PINNED = "pinned"
#: Lengths accepted from editors and scripts.
MAX_ID_LENGTH = 200
MAX_SECTION_LENGTH = 200
MAX_AUTHOR_LENGTH = 100
MAX_NOTE_LENGTH = 2000
RULE_FIELDS = (
    "kind",
    "target_id",
    "article_id",
    "section",
    "slot",
    "starts_at",
    "ends_at",
    "note",
    "author",
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Specificity of a scope: a rule for one article beats one for its section, which beats one
#: for every article.
_RANK = {"article": 0, "section": 1, "everywhere": 2}


class RuleError(ValueError):
    """A rule that cannot be stored: ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RulesStoreError(RuntimeError):
    """The rules database cannot be reached or written (the rules API answers 503)."""


class UnknownRuleError(KeyError):
    """No rule has this id (it never existed or was deleted)."""

    def __init__(self, rule_id: int) -> None:
        super().__init__(rule_id)
        self.rule_id = rule_id


def iso(timestamp: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC with a ``Z`` (``None`` stays ``None``)."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class NewRule:
    """A validated rule not stored yet (see :func:`parse_rule`)."""

    kind: str
    target_id: str
    author: str
    note: str
    article_id: str | None = None
    section: str | None = None
    slot: int | None = None
    starts_at: int | None = None
    ends_at: int | None = None

    @property
    def scope(self) -> str:
        if self.article_id is not None:
            return "article"
        return "section" if self.section is not None else "everywhere"

    def stored_values(self, created_at: int) -> tuple[Any, ...]:
        """The values of :data:`INSERT_COLUMNS` for this rule, created at ``created_at``."""
        return (
            self.kind,
            self.target_id,
            self.article_id,
            self.section,
            self.slot,
            self.starts_at,
            self.ends_at,
            self.author,
            self.note,
            created_at,
        )


#: The columns both stores write for a new rule (the id is the database's).
INSERT_COLUMNS = (
    "kind, target_id, article_id, section, slot, starts_at, ends_at, author, note, created_at"
)


@dataclass(frozen=True)
class Rule(NewRule):
    """A stored rule; ``id`` is never reused, so "rule #7" means one rule forever."""

    id: int = 0
    created_at: int = 0

    def active(self, now: float) -> bool:
        """Whether ``now`` lies in ``[starts_at, ends_at)``."""
        if self.starts_at is not None and now < self.starts_at:
            return False
        return self.ends_at is None or now < self.ends_at

    def state(self, now: float) -> str:
        """``scheduled``, ``active`` or ``expired``."""
        if self.starts_at is not None and now < self.starts_at:
            return "scheduled"
        return "expired" if self.ends_at is not None and now >= self.ends_at else "active"

    def public(self) -> dict[str, Any]:
        """What the public API's ``explain`` shows: no author, no note (they are internal)."""
        return {"id": self.id, "kind": self.kind, "scope": self.scope, "slot": self.slot}

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        """Everything about the rule (the rules API and the audit log); ``state`` with ``now``."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "scope": self.scope,
            "target_id": self.target_id,
            "article_id": self.article_id,
            "section": self.section,
            "slot": self.slot,
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
            "author": self.author,
            "note": self.note,
            "created_at": iso(self.created_at),
        }
        if now is not None:
            out["state"] = self.state(now)
        return out


@dataclass(frozen=True)
class AuditEntry:
    """One change of the rules: who did what to which rule, and when."""

    id: int
    at: int
    author: str
    action: str
    rule_id: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "author": self.author,
            "action": self.action,
            "rule_id": self.rule_id,
            "before": self.before,
            "after": self.after,
        }


# --- validation --------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise RuleError(name, f"{name} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise RuleError(name, f"{name} must be a non-empty string")
    value = value.strip()
    if len(value) > limit:
        raise RuleError(name, f"{name} must be at most {limit} characters")
    return value


def _identifier(data: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = _text(data, name, limit, required=required)
    if value is not None and _CONTROL_RE.search(value):
        raise RuleError(name, f"{name} must not contain control characters")
    return value


def parse_time(name: str, value: Any) -> int | None:
    """An ISO 8601 date-time with a time zone (or a bare date, midnight UTC) as unix seconds."""
    if value is None:
        return None
    message = f"{name} must be an ISO 8601 date-time with a time zone, e.g. 2026-11-01T08:00:00Z"
    if not isinstance(value, str):
        raise RuleError(name, message)
    text = value.strip()
    try:
        if _DATE_RE.fullmatch(text):
            when = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        else:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise RuleError(name, message) from None
    if when.tzinfo is None:
        raise RuleError(name, message)
    return int(when.timestamp())


def parse_rule(data: Any, *, author: str | None, max_slot: int, now: float) -> NewRule:
    """Check a rule given as JSON (the body of ``POST /v1/rules``).

    Parameters
    ----------
    data : Any
        The decoded JSON body.
    author : str or None
        The logged-in editor; ``None`` when the caller is a script, which must then name an
        ``author`` in the body.
    max_slot : int
        The largest slot a pin may take (the largest ``n`` of the API).
    now : float
        Unix seconds; a rule that ends before it is refused.

    Raises
    ------
    RuleError
        Naming the first field that is missing, unknown or invalid.
    """
    if not isinstance(data, Mapping):
        raise RuleError("body", "the body must be a JSON object")
    for name in data:
        if name not in RULE_FIELDS:
            raise RuleError(
                str(name)[:60], f"unknown field {str(name)[:60]!r}; known: {', '.join(RULE_FIELDS)}"
            )
    kind = data.get("kind")
    if kind not in KINDS:
        raise RuleError("kind", "kind must be 'pin' or 'block'")
    target = _identifier(data, "target_id", MAX_ID_LENGTH, required=True)
    article = _identifier(data, "article_id", MAX_ID_LENGTH, required=False)
    section = _identifier(data, "section", MAX_SECTION_LENGTH, required=False)
    assert target is not None
    if article is not None and section is not None:
        raise RuleError("section", "give article_id or section, not both (neither: everywhere)")
    if article == target:
        raise RuleError("target_id", "target_id must differ from article_id")
    slot = data.get("slot")
    if isinstance(slot, float) and slot.is_integer():
        slot = int(slot)  # JSON's 1.0 is the integer 1 (JSON Schema says so too)
    if kind == "pin":
        if isinstance(slot, bool) or not isinstance(slot, int) or not 1 <= slot <= max_slot:
            raise RuleError("slot", f"slot must be an integer from 1 to {max_slot} for a pin")
    elif slot is not None:
        raise RuleError("slot", "a block has no slot")
    starts = parse_time("starts_at", data.get("starts_at"))
    ends = parse_time("ends_at", data.get("ends_at"))
    if ends is not None:
        if starts is not None and ends <= starts:
            raise RuleError("ends_at", "ends_at must be after starts_at")
        if ends <= now:
            raise RuleError("ends_at", "ends_at is in the past")
    note = _text(data, "note", MAX_NOTE_LENGTH, required=True)
    given_author = _identifier(data, "author", MAX_AUTHOR_LENGTH, required=author is None)
    if author is not None and given_author is not None and given_author != author:
        raise RuleError("author", "author is the logged-in editor; leave it out")
    chosen_author = author if author is not None else given_author
    assert note is not None and chosen_author is not None
    return NewRule(
        kind=kind,
        target_id=target,
        author=chosen_author,
        note=note,
        article_id=article,
        section=section,
        slot=slot if kind == "pin" else None,
        starts_at=starts,
        ends_at=ends,
    )


# --- what a set of rules does to a list --------------------------------------------------------


class ArticleRows(Protocol):
    """What applying rules reads from a model bundle."""

    def has(self, article_id: str) -> bool: ...

    def row(self, article_id: str) -> int: ...


@dataclass(frozen=True)
class PageRules:
    """The active rules of one related list, resolved to rows of one bundle.

    ``pins`` are ``(slot, row, rule)`` in order of precedence (most specific scope first, then
    newest); ``blocks`` map a row to the rule that blocks it.
    """

    pins: tuple[tuple[int, int, Rule], ...]
    blocks: Mapping[int, Rule]

    @property
    def extra(self) -> int:
        """How many more organic items the ranking must produce to fill the list."""
        return len(self.pins) + len(self.blocks)


def _order(rule: Rule) -> tuple[int, int]:
    return (_RANK[rule.scope], -rule.id)


@dataclass(frozen=True)
class RuleBook:
    """Every stored rule at one database version, indexed by scope (immutable, shared)."""

    version: str = ""
    rules: tuple[Rule, ...] = ()
    by_article: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    by_section: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    everywhere: tuple[Rule, ...] = ()
    #: Sorted distinct start and end times: the moments the set of active rules changes.
    boundaries: tuple[int, ...] = ()

    @classmethod
    def build(cls, version: str, rules: tuple[Rule, ...]) -> RuleBook:
        by_article: dict[str, list[Rule]] = {}
        by_section: dict[str, list[Rule]] = {}
        everywhere: list[Rule] = []
        times: set[int] = set()
        for rule in rules:
            if rule.article_id is not None:
                by_article.setdefault(rule.article_id, []).append(rule)
            elif rule.section is not None:
                by_section.setdefault(rule.section, []).append(rule)
            else:
                everywhere.append(rule)
            times.update(t for t in (rule.starts_at, rule.ends_at) if t is not None)
        return cls(
            version=version,
            rules=rules,
            by_article={k: tuple(v) for k, v in by_article.items()},
            by_section={k: tuple(v) for k, v in by_section.items()},
            everywhere=tuple(everywhere),
            boundaries=tuple(sorted(times)),
        )

    def at(self, now: float) -> ActiveRules:
        """These rules as they stand at ``now`` (unix seconds)."""
        return ActiveRules(self, now)


@dataclass(frozen=True)
class ActiveRules:
    """A :class:`RuleBook` at one moment: what one request applies."""

    book: RuleBook
    now: float

    @property
    def key(self) -> str:
        """The part of a cache key that changes whenever the rules in force may have changed
        (empty while no rules database exists, so keys stay as they were without rules)."""
        if not self.book.version:
            return ""
        passed = bisect.bisect_right(self.book.boundaries, self.now)
        return f"{self.book.version}.{passed}"

    def for_page(self, article_id: str, section: str) -> list[Rule]:
        """The active rules of the related list of ``article_id`` (of section ``section``),
        most specific first."""
        book = self.book
        found = [
            *book.by_article.get(article_id, ()),
            *book.by_section.get(section, ()),
            *book.everywhere,
        ]
        return sorted((r for r in found if r.active(self.now)), key=_order)

    def page(self, bundle: ArticleRows, article_id: str, section: str) -> PageRules | None:
        """The rules of one related list resolved to ``bundle`` rows; ``None`` when none apply
        (the common case, kept to a few dictionary look-ups)."""
        book = self.book
        if not (book.everywhere or article_id in book.by_article or section in book.by_section):
            return None
        pins: list[tuple[int, int, Rule]] = []
        blocks: dict[int, Rule] = {}
        for rule in self.for_page(article_id, section):
            if rule.target_id == article_id or not bundle.has(rule.target_id):
                continue
            row = bundle.row(rule.target_id)
            if rule.kind == "block":
                blocks.setdefault(row, rule)
            else:
                pins.append((rule.slot or 1, row, rule))
        if not pins and not blocks:
            return None
        return PageRules(pins=tuple(pins), blocks=blocks)

    def blocked_everywhere(self) -> dict[str, Rule]:
        """Article ids blocked from every list (most viewed included), with their rule."""
        out: dict[str, Rule] = {}
        for rule in sorted(self.book.everywhere, key=_order):
            if rule.kind == "block" and rule.active(self.now):
                out.setdefault(rule.target_id, rule)
        return out


@dataclass(frozen=True)
class Placed:
    """An item of a related list after the rules, with the rule that placed it (if any)."""

    scored: Scored
    rule: Rule | None = None


def apply_rules(
    page: PageRules,
    ranked: list[Scored],
    n: int,
    *,
    allows: Callable[[int], bool],
) -> tuple[list[Placed], list[tuple[Scored, Rule]]]:
    """Apply one list's pins and blocks to its organic ranking.

    Parameters
    ----------
    page : PageRules
        The rules of the list.
    ranked : list of Scored
        The organic list (ranking and fallbacks), at least ``n + page.extra`` long when the
        catalogue allows, so that removing blocked and pinned rows still leaves ``n``.
    n : int
        Length of the answer.
    allows : callable
        Whether the page may show a row at all (published, not the article itself, the
        request's filters); a pin never overrides it.

    Returns
    -------
    items : list of Placed
        At most ``n`` items: the organic ones without blocked or pinned rows, pinned rows
        inserted at their slot (a later slot moves up when the list is shorter). A pinned item
        keeps its organic score parts when it is in ``ranked``, else it has none (score 0).
    blocked : list of (Scored, Rule)
        Blocked items that readers would have seen among the first ``n`` without the rules.

    A block beats a pin of the same article; of two pins for one slot the more specific (then
    the newer) takes it and the other moves to the next free slot.
    """
    blocked = [(s, page.blocks[s.row]) for s in ranked[:n] if s.row in page.blocks]
    organic_by_row = {s.row: s for s in ranked}
    slots: dict[int, Placed] = {}
    pinned_rows: set[int] = set()
    for slot, row, rule in page.pins:
        if row in pinned_rows or row in page.blocks or slot > n or not allows(row):
            continue
        while slot in slots:
            slot += 1
        if slot > n:
            continue
        base = organic_by_row.get(row) or Scored(row, 0.0, PINNED)
        slots[slot] = Placed(replace(base, source=PINNED), rule)
        pinned_rows.add(row)
    organic = iter(
        Placed(s) for s in ranked if s.row not in page.blocks and s.row not in pinned_rows
    )
    items: list[Placed] = []
    for position in range(1, n + 1):
        if position in slots:
            items.append(slots.pop(position))
            continue
        following = next(organic, None)
        if following is None:
            break
        items.append(following)
    # Organic items ran out before a pin's slot: the pins move up, in slot order.
    items.extend(slots[k] for k in sorted(slots))
    return items[:n], blocked


# --- the store ---------------------------------------------------------------------------------


class RulesBackend(Protocol):
    """What the service uses of a rules store: :class:`RulesStore` (SQLite, one host) or
    :class:`service.editorial.postgres_store.PostgresRulesStore` (PostgreSQL, every host).

    Reading never raises: a store that cannot reach its database keeps the rules it last read
    and logs the failure. Writing raises :class:`UnknownRuleError`, or a database error
    (:class:`RulesStoreError`, or ``sqlite3.Error``/``OSError`` from the SQLite file).
    """

    #: Unix seconds; decides which rules are in force and stamps changes (a fake in tests).
    clock: Callable[[], float]

    @property
    def location(self) -> str:
        """Where the rules are, for logs and errors (never a password)."""
        ...

    @property
    def reachable(self) -> bool:
        """Whether the last read of the rules database worked (``/readyz`` reports it)."""
        ...

    def book(self) -> RuleBook: ...

    def active(self) -> ActiveRules: ...

    def create(self, new: NewRule) -> Rule: ...

    def delete(self, rule_id: int, author: str) -> Rule: ...

    def audit(self, limit: int = 100) -> list[AuditEntry]: ...

    def close(self) -> None: ...


def rule_from_row(row: Mapping[str, Any]) -> Rule:
    """A stored rule from a database row (by column name)."""
    return Rule(
        id=int(row["id"]),
        kind=str(row["kind"]),
        target_id=str(row["target_id"]),
        article_id=row["article_id"],
        section=row["section"],
        slot=row["slot"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        author=str(row["author"]),
        note=str(row["note"]),
        created_at=int(row["created_at"]),
    )
