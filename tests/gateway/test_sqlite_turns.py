"""Processes writing one SQLite file take turns on a lock file beside it: a second writer
waits for the first to commit and then goes at once, and a writer that gives up waiting
leaves no lock behind. (Two `Database` objects on one file lock like two processes.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from gateway.db import Database


async def write(db: Database, done: list[str], name: str) -> None:
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO notes (name) VALUES (:name)"), {"name": name})
    done.append(name)


async def test_a_second_writer_waits_for_the_first_and_then_goes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    first, second = Database(url), Database(url)
    try:
        async with first.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (name TEXT)"))
        done: list[str] = []
        async with first.transaction() as session:
            await session.execute(text("INSERT INTO notes (name) VALUES ('first')"))
            waiting = asyncio.create_task(write(second, done, "second"))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # the file is the first writer's
        done.append("first")
        await asyncio.wait_for(waiting, 10)
        assert done == ["first", "second"]
        assert (tmp_path / "turns.db.turns").exists()
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_writer_that_stops_waiting_leaves_no_lock_behind(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    first, second, third = Database(url), Database(url), Database(url)
    try:
        async with first.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (name TEXT)"))
        done: list[str] = []
        async with first.transaction():
            waiting = asyncio.create_task(write(second, done, "second"))
            await asyncio.sleep(0.3)
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.wait_for(write(third, done, "third"), 10)
        await asyncio.wait_for(write(second, done, "second, again"), 10)
        assert done == ["third", "second, again"]
    finally:
        for db in (first, second, third):
            await db.dispose()
