"""Migrations 0006 and 0010 build the email channel's tables exactly as its models describe them,
on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table
from sqlalchemy.engine import Connection

import email_channel.models  # noqa: F401 - registers the email tables on Base
from gateway.db import Database
from gateway.models import Base

TABLES = {
    "email_mailboxes",
    "email_imap_cursors",
    "email_message_ids",
    "email_bounces",
    "email_spool",
}


def _table_of(difference: Any) -> str | None:
    if isinstance(difference, list):  # column modifications come grouped
        return _table_of(difference[0])
    for item in difference:
        if isinstance(item, Table):
            return str(item.name)
        table = getattr(item, "table", None)
        if isinstance(table, Table):  # an index, a constraint or a column
            return str(table.name)
    return str(difference[2]) if len(difference) > 2 and isinstance(difference[2], str) else None


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in TABLES]


async def test_the_migration_matches_the_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
        present = await connection.run_sync(
            lambda sync: set(sync.dialect.get_table_names(sync)) & TABLES
        )
    assert present == TABLES
    assert differences == []
