"""SQLite with one thread hop per statement (`gateway.sqlite_driver`): what SQLAlchemy reads
from a cursor (rows, RETURNING, row counts, many-row inserts, errors) comes back as with
aiosqlite's own cursors; a statement costs one round trip to the connection's thread
instead of four, and none at all in a write transaction whose lock is free, in a quick
read, or to commit or roll back. A write lock held by another program is waited for in the
connection's thread, never in the event loop's. A session ends without giving the event
loop a turn."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
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

from gateway import sqlite_driver
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


def watching_begin(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, list[int]]:
    """An event set once a transaction's `BEGIN IMMEDIATE` is handed to its connection's
    thread, and the busy timeouts (ms) of each one run in the event loop's own thread: how
    long it could hold up the loop."""
    handed, in_the_loop = asyncio.Event(), []
    loop_thread, run, in_its_thread = (
        threading.get_ident(),
        sqlite_driver._run,
        sqlite_driver._in_its_thread,
    )

    def running(connection: sqlite3.Connection, operation: str, *args: Any) -> Any:
        if operation == sqlite_driver.BEGIN_IMMEDIATE and threading.get_ident() == loop_thread:
            in_the_loop.append(connection.execute("PRAGMA busy_timeout").fetchone()[0])
        return run(connection, operation, *args)

    def handing(connection: aiosqlite.Connection) -> Callable[..., Awaitable[Any]]:
        def hand(*args: Any) -> Awaitable[Any]:
            if sqlite_driver.BEGIN_IMMEDIATE in args:
                handed.set()
            return in_its_thread(connection)(*args)

        return hand

    monkeypatch.setattr(sqlite_driver, "_run", running)
    monkeypatch.setattr(sqlite_driver, "_in_its_thread", handing)
    return handed, in_the_loop


async def test_a_lock_held_elsewhere_is_waited_for_without_holding_up_the_loop(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = sqlite3.connect(sqlite_db.url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program writing the file
    other.execute("INSERT INTO items (name) VALUES ('theirs')")
    handed_to_its_thread, waits_in_the_loop = watching_begin(monkeypatch)

    async def write() -> int:
        async with sqlite_db.transaction() as session:
            await session.execute(insert(ITEMS).values(name="ours"))
            return int(await session.scalar(text("PRAGMA busy_timeout")))

    writing = asyncio.create_task(write())
    await asyncio.wait_for(handed_to_its_thread.wait(), 10)
    assert not writing.done()  # waiting for the lock in its connection's thread...
    assert waits_in_the_loop == [0]  # ...after a try in the loop's that did not wait
    other.execute("COMMIT")
    other.close()
    patience = await asyncio.wait_for(writing, 10)
    assert patience == 30000  # the connection waits as long as ever for the next lock
    async with sqlite_db.read(quick=True) as session:
        names = list(await session.scalars(select(ITEMS.c.name).order_by(ITEMS.c.id)))
    assert names == ["theirs", "ours"]


async def test_sessions_end_without_giving_the_event_loop_a_turn(sqlite_db: Database) -> None:
    """A session through this driver closes in the task that used it: SQLAlchemy's own exit
    closes it in a task of its own, and anything else ready to run (another request) would
    run first, while a caller waits for the model's request to go out."""
    async with sqlite_db.read(quick=True) as session:  # the pool opens its connection
        await session.scalar(select(func.count()).select_from(ITEMS))
    turned = asyncio.Event()
    asyncio.get_running_loop().call_soon(turned.set)
    async with sqlite_db.read(quick=True) as session:
        assert await session.scalar(select(func.count()).select_from(ITEMS)) == 0
    async with sqlite_db.transaction() as session:
        await session.execute(insert(ITEMS).values(name="written"))
    assert not turned.is_set()
    async with sqlite_db.read(quick=True) as session:
        assert await session.scalar(select(func.count()).select_from(ITEMS)) == 1
