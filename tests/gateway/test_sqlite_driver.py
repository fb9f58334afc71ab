"""SQLite with one thread hop per statement (`gateway.sqlite_driver`): what SQLAlchemy reads
from a cursor (rows, RETURNING, row counts, many-row inserts, errors) comes back as with
aiosqlite's own cursors; a statement costs one round trip to the connection's thread
instead of four, and none at all in a write transaction whose lock is free, in a quick
read, or to commit or roll back. A write lock held by another program is waited for in the
connection's thread, never in the event loop's."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
    update,
)
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


def count_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_a_read_is_one_round_trip_per_statement(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sqlite_db.read() as session:  # the pool holds a connection from here on
        await session.scalar(select(func.count()).select_from(ITEMS))
    calls = count_round_trips(monkeypatch)
    async with sqlite_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ITEMS)) == 0
        assert list(await session.scalars(select(ITEMS.c.name))) == []
    assert calls == ["_run"] * 3  # BEGIN, the count, the names: ending it takes no trip


async def test_a_write_transaction_takes_no_trip_when_the_lock_is_free(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sqlite_db.read() as session:
        await session.scalar(select(func.count()).select_from(ITEMS))
    calls = count_round_trips(monkeypatch)
    async with sqlite_db.transaction() as session:
        for name in ("x", "y", "z"):
            await session.execute(insert(ITEMS).values(name=name))
        assert await session.scalar(select(func.count()).select_from(ITEMS)) == 3
    assert calls == []  # BEGIN IMMEDIATE, the statements and the commit alike
    with pytest.raises(IntegrityError):  # a failure rolls back just the same
        async with sqlite_db.transaction() as session:
            await session.execute(insert(ITEMS).values(name="w"))
            await session.execute(insert(ITEMS).values(name="x"))
    async with sqlite_db.read() as session:
        names = list(await session.scalars(select(ITEMS.c.name).order_by(ITEMS.c.id)))
        assert names == ["x", "y", "z"]


async def test_a_quick_read_takes_no_trip_and_sees_the_committed_rows(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sqlite_db.transaction() as session:
        await session.execute(insert(ITEMS), [{"name": "a"}, {"name": "b"}])
    calls = count_round_trips(monkeypatch)
    async with sqlite_db.read(quick=True) as session:
        assert list(await session.scalars(select(ITEMS.c.name).order_by(ITEMS.c.id))) == [
            "a",
            "b",
        ]
        with pytest.raises(RuntimeError, match="only reads"):
            await session.execute(insert(ITEMS).values(name="c"))
    assert calls == []
    async with sqlite_db.read() as session:  # the connection is back to taking trips
        assert await session.scalar(select(func.count()).select_from(ITEMS)) == 2
    assert calls == ["_run", "_run"]


async def test_a_lock_held_elsewhere_is_waited_for_without_holding_up_the_loop(
    sqlite_db: Database,
) -> None:
    other = sqlite3.connect(sqlite_db.url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program writing the file
    other.execute("INSERT INTO items (name) VALUES ('theirs')")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> int:
        async with sqlite_db.transaction() as session:
            await session.execute(insert(ITEMS).values(name="ours"))
            return int(await session.scalar(text("PRAGMA busy_timeout")))

    ticking = asyncio.create_task(tick())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done()  # waiting for the lock...
    assert ticks >= 10  # ...while the event loop goes on
    other.execute("COMMIT")
    other.close()
    patience = await asyncio.wait_for(writing, 10)
    ticking.cancel()
    assert patience == 30000  # the connection waits as long as ever for the next lock
    async with sqlite_db.read(quick=True) as session:
        names = list(await session.scalars(select(ITEMS.c.name).order_by(ITEMS.c.id)))
    assert names == ["theirs", "ours"]
