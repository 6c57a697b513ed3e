"""Creating, deleting and auditing rules: one implementation for both rules stores.

A rule and its audit entry are written in one transaction, with the store's change counter:
:class:`AuditedRules` holds the SQL (the same for SQLite and PostgreSQL but for the parameter
style and table names) and the bookkeeping; a store gives it a write transaction
(:meth:`AuditedRules._write`), a read of the audit rows and its JSON column type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, ClassVar, TypeVar

from service.editorial.rules import (
    INSERT_COLUMNS,
    AuditEntry,
    NewRule,
    Rule,
    UnknownRuleError,
    rule_from_row,
)

log = logging.getLogger("service")

T = TypeVar("T")
#: The columns of a stored rule, in the order of the ``rules`` table.
RULE_COLUMNS = f"id, {INSERT_COLUMNS}"


class AuditedRules:
    """``create``, ``delete`` and ``audit`` of :class:`service.editorial.rules.RulesBackend`,
    written once on top of a store's transaction and dialect."""

    #: the DB-API parameter marker (``?`` or ``%s``)
    PARAMETER: ClassVar[str]
    #: the table of rules and the table of audit entries
    RULES_TABLE: ClassVar[str]
    AUDIT_TABLE: ClassVar[str]

    clock: Callable[[], float]

    # what a store provides -------------------------------------------------------------------

    def _write(self, change: Callable[[Any, int], T]) -> T:
        """Run ``change(connection, now)`` in one write transaction that also bumps the
        store's change counter; its result."""
        raise NotImplementedError

    def _audit_rows(self, sql: str, limit: int) -> Sequence[Mapping[str, Any]]:
        """The rows of ``sql`` (the audit query, ``limit`` its one parameter); none before
        the tables exist."""
        raise NotImplementedError

    def _json_value(self, value: dict[str, Any]) -> Any:
        """A JSON document as the store's audit columns take it."""
        raise NotImplementedError

    def _json_loaded(self, value: Any) -> dict[str, Any] | None:
        """An audit column's value as a dictionary (``None`` stays ``None``)."""
        raise NotImplementedError

    # the one implementation ------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self.PARAMETER)

    def _record(
        self,
        conn: Any,
        at: int,
        author: str,
        action: str,
        rule_id: int,
        before: Rule | None,
        after: Rule | None,
    ) -> None:
        conn.execute(
            self._sql(
                f"INSERT INTO {self.AUDIT_TABLE} (at, author, action, rule_id, before, after) "
                "VALUES (?, ?, ?, ?, ?, ?)"
            ),
            (
                at,
                author,
                action,
                rule_id,
                None if before is None else self._json_value(before.to_json()),
                None if after is None else self._json_value(after.to_json()),
            ),
        )

    def create(self, new: NewRule) -> Rule:
        """Store a rule and its audit entry in one transaction; returns it with its id.

        Raises
        ------
        RulesStoreError
            When the database cannot be reached or refuses the write (PostgreSQL; SQLite
            raises ``sqlite3.Error`` or ``OSError``).
        """

        def insert(conn: Any, now: int) -> Rule:
            row = conn.execute(
                self._sql(
                    f"INSERT INTO {self.RULES_TABLE} ({INSERT_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
                ),
                new.stored_values(now),
            ).fetchone()
            assert row is not None
            rule = Rule(**asdict(new), id=int(row["id"]), created_at=now)
            self._record(conn, now, new.author, "create", rule.id, None, rule)
            return rule

        rule = self._write(insert)
        log.info("rule #%d (%s %s) created by %s", rule.id, rule.kind, rule.target_id, rule.author)
        return rule

    def delete(self, rule_id: int, author: str) -> Rule:
        """Delete a rule, recording who did it and what it was.

        Raises
        ------
        UnknownRuleError
            When no rule has this id.
        RulesStoreError
            When the database cannot be reached or refuses the write (PostgreSQL).
        """

        def remove(conn: Any, now: int) -> Rule:
            row = conn.execute(
                self._sql(f"DELETE FROM {self.RULES_TABLE} WHERE id = ? RETURNING {RULE_COLUMNS}"),
                (rule_id,),
            ).fetchone()
            if row is None:
                raise UnknownRuleError(rule_id)
            rule = rule_from_row(row)
            self._record(conn, now, author, "delete", rule_id, rule, None)
            return rule

        rule = self._write(remove)
        log.info("rule #%d deleted by %s", rule_id, author)
        return rule

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        """The latest changes, newest first."""
        rows = self._audit_rows(
            self._sql(
                "SELECT id, at, author, action, rule_id, before, after "
                f"FROM {self.AUDIT_TABLE} ORDER BY id DESC LIMIT ?"
            ),
            limit,
        )
        return [
            AuditEntry(
                id=int(r["id"]),
                at=int(r["at"]),
                author=str(r["author"]),
                action=str(r["action"]),
                rule_id=int(r["rule_id"]),
                before=self._json_loaded(r["before"]),
                after=self._json_loaded(r["after"]),
            )
            for r in rows
        ]
