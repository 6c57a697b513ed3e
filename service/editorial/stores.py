"""Which rules store an app uses: PostgreSQL when ``NEWSREC_RULES_URL`` is set, else SQLite."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.editorial.rules import RulesBackend
from service.editorial.sqlite_store import RulesStore

if TYPE_CHECKING:
    from service.settings import Settings


def build_rules(settings: Settings) -> RulesBackend:
    """The store ``settings`` choose: PostgreSQL when ``NEWSREC_RULES_URL`` is set, else the
    SQLite file ``NEWSREC_RULES_DB``."""
    if settings.rules_url is not None:
        # deferred: psycopg and its C library are loaded only by services that use PostgreSQL
        from service.editorial.postgres_store import PostgresRulesStore

        return PostgresRulesStore(settings.rules_url)
    return RulesStore(settings.rules_db)
