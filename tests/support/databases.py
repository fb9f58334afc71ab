"""Per-test databases: a fresh SQLite file, or a fresh database on the PostgreSQL server,
and the schema built the way deployments build it (the Alembic migrations)."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url


def sqlite_url(directory: Path, name: str = "switchboard.db") -> str:
    return f"sqlite+aiosqlite:///{directory / name}"


@asynccontextmanager
async def temporary_postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create `t_<random>` on the server behind `server_url`, yield its SQLAlchemy URL,
    then drop it (forcibly, in case a test left connections open)."""
    server = make_url(server_url)
    name = f"t_{uuid.uuid4().hex}"
    connect = {
        "host": server.host,
        "port": server.port,
        "user": server.username,
        "database": server.database or "postgres",
    }
    admin = await asyncpg.connect(**connect)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(**connect)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def migrations_available() -> bool:
    try:
        return importlib.util.find_spec("gateway.migrate") is not None
    except (ModuleNotFoundError, ValueError):
        return False


async def build_schema(database_url: str) -> None:
    """Run the Alembic migrations to head; until they exist, create the tables directly."""
    if migrations_available():
        migrate = importlib.import_module("gateway.migrate")
        await asyncio.to_thread(migrate.upgrade, database_url)
        return
    from gateway.db import Database

    database = Database(database_url, pooled=False)
    try:
        await database.create_all()
    finally:
        await database.dispose()
