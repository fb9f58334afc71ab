"""Per-test databases: a fresh SQLite file, or a fresh database on the PostgreSQL server,
and the schema built the way deployments build it (the Alembic migrations). The migrations
run once per test process and kind of database, into a template; each test's database is
then a copy of it (SQLite's backup of the file, PostgreSQL's `CREATE DATABASE ...
TEMPLATE`). Running them for every test took about a second on SQLite and more than half
a second on PostgreSQL, the largest part of many tests."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

from gateway import migrate


def sqlite_url(directory: Path, name: str = "switchboard.db") -> str:
    return f"sqlite+aiosqlite:///{directory / name}"


@contextlib.asynccontextmanager
async def temporary_postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create `t_<random>` on the server behind `server_url`, yield its SQLAlchemy URL,
    then drop it (forcibly, in case a test left connections open)."""
    server = make_url(server_url)
    name = f"t_{uuid.uuid4().hex}"
    await _maintenance(server, f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await _maintenance(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# "sqlite", or a PostgreSQL server's URL: the template's file or database name
_templates: dict[str, str] = {}


async def build_schema(database_url: str) -> None:
    """Bring the fresh, empty database at `database_url` to the migrations' head."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        template = await _template("sqlite", _build_sqlite_template)
        await asyncio.to_thread(_copy_sqlite, template, Path(str(url.database)))
        return
    server = url.set(database="postgres")
    template = await _template(
        server.render_as_string(hide_password=False), lambda: _build_postgres_template(server)
    )
    # the empty database is replaced by a copy of the template (neither has a connection)
    target = str(url.database)
    await _maintenance(
        server, f'DROP DATABASE "{target}"', f'CREATE DATABASE "{target}" TEMPLATE "{template}"'
    )


async def _template(key: str, build: Callable[[], Awaitable[str]]) -> str:
    if key not in _templates:
        _templates[key] = await build()
    return _templates[key]


async def _build_sqlite_template() -> str:
    directory = Path(tempfile.mkdtemp(prefix="switchboard-schema-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "template.db"
    await asyncio.to_thread(migrate.upgrade, sqlite_url(directory, path.name))
    return str(path)


def _copy_sqlite(template: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(template)) as source,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)


async def _build_postgres_template(server: URL) -> str:
    name = f"template_{uuid.uuid4().hex}"
    await _maintenance(server, f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate.upgrade, url)
    return name


async def _maintenance(server: URL, *statements: str) -> None:
    """Run `statements` on the server's maintenance database (`server`'s own)."""
    admin = await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.username,
        database=server.database or "postgres",
    )
    try:
        for statement in statements:
            await admin.execute(statement)
    finally:
        await admin.close()
