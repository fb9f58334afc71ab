"""The migrations build every table exactly as the models describe it (columns, types,
indexes, constraints), the channels' tables too, on SQLite and PostgreSQL alike: a model
changed without its migration, or a migration that drifted from its model, shows here.
The one exception is the search indexes PostgreSQL gets when its pg_trgm extension can be
created (migrations 0004 and 0022): they live only in the migrations (`gateway.models`)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

import server.plugins  # noqa: F401  (every channel the server runs registers its tables)
from gateway.db import Database
from gateway.models import Base

MIGRATION_ONLY_INDEXES = {
    "ix_messages_text_trgm",
    "ix_contacts_name_trgm",
    "ix_contact_identities_address_trgm",
    "ix_messages_text_digits",
    "ix_contacts_name_digits",
}


def _described(item: Any, name: str | None, kind: str, reflected: bool, _: Any) -> bool:
    return not (kind == "index" and reflected and name in MIGRATION_ONLY_INDEXES)


def _differences(connection: Connection) -> list[str]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": _described}
    )
    return [repr(difference) for difference in compare_metadata(context, Base.metadata)]


async def test_the_migrations_build_the_tables_the_models_describe(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
        present = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    assert set(Base.metadata.tables) <= present, set(Base.metadata.tables) - present
    assert differences == [], "\n".join(differences)
