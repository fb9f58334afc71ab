"""The voice tables the migration builds are the ones the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table
from sqlalchemy.engine import Connection

import voice.models  # noqa: F401  (registers the voice tables on the shared metadata)
from gateway.db import Database
from gateway.models import Base

TABLES = {"voice_calls", "voice_transfer_attempts", "voice_answers", "voice_agent_phones"}


def _table_of(difference: Any) -> str | None:
    if isinstance(difference, list):
        return _table_of(difference[0])
    for item in difference:
        if isinstance(item, Table):
            return str(item.name)
        table = getattr(item, "table", None)
        if isinstance(table, Table):
            return str(table.name)
    return str(difference[2]) if len(difference) > 2 and isinstance(difference[2], str) else None


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in TABLES]


async def test_the_voice_migration_matches_the_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
        present = await connection.run_sync(
            lambda sync: set(sync.dialect.get_table_names(sync)) & TABLES
        )
    assert present == TABLES
    assert differences == []
