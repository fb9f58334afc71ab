"""SQLite with one thread hop per statement (`gateway.sqlite_driver`): what SQLAlchemy reads
from a cursor (rows, RETURNING, row counts, many-row inserts, errors) comes back as with
aiosqlite's own cursors, and a statement costs one round trip to the connection's thread
instead of four."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.db import Database
from gateway.sqlite_driver import OneHopConnection
from tests.support.databases import sqlite_url

METADATA = MetaData()
ITEMS = Table(
    "items",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(sqlite_url(tmp_path))
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield db
    await db.dispose()


async def test_statements_answer_as_with_aiosqlites_own_cursors(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)
        first = await session.execute(insert(ITEMS).values(name="a").returning(ITEMS.c.id))
        assert first.scalar_one() == 1
        await session.execute(insert(ITEMS), [{"name": "b"}, {"name": "c"}])  # many rows
        renamed = await session.execute(
            update(ITEMS).where(ITEMS.c.id > 1).values(name=ITEMS.c.name + "!")
        )
        assert renamed.rowcount == 2  # type: ignore[attr-defined]
    async with sqlite_db.read() as session:
        names = list(await session.scalars(select(ITEMS.c.name).order_by(ITEMS.c.id)))
        assert names == ["a", "b!", "c!"]
        assert await session.scalar(select(func.count()).select_from(ITEMS)) == 3
    with pytest.raises(IntegrityError):
        async with sqlite_db.transaction() as session:
            await session.execute(insert(ITEMS).values(name="a"))
    async with sqlite_db.read() as session:  # the failed transaction left nothing behind
        assert await session.scalar(select(func.count()).select_from(ITEMS)) == 3


async def test_a_statement_is_one_round_trip_to_the_connections_thread(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sqlite_db.read() as session:  # the pool holds a connection from here on
        await session.scalar(select(func.count()).select_from(ITEMS))
    calls: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with sqlite_db.transaction() as session:
        for name in ("x", "y", "z"):
            await session.execute(insert(ITEMS).values(name=name))
        assert await session.scalar(select(func.count()).select_from(ITEMS)) == 3
    statements = [call for call in calls if call == "_run"]
    assert len(statements) == 5  # BEGIN IMMEDIATE, three inserts, the count
    assert len(calls) <= len(statements) + 2  # and the commit, and the pool's reset
