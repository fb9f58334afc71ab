"""Processes writing one SQLite file take turns on a lock file beside it: a second writer
waits for the first to commit and then goes at once, and a writer that gives up waiting
leaves no lock behind. (Two `Database` objects on one file lock like two processes.)"""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from gateway.db import Database


def watching_the_file(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """Two events: set once a writer has found the lock file taken by another (and so waits
    for it, in a thread), and once a writer that waited has it."""
    refused, taken, flock = asyncio.Event(), asyncio.Event(), fcntl.flock
    loop = asyncio.get_running_loop()

    def locking(file: Any, operation: int) -> None:
        try:
            flock(file, operation)
        except BlockingIOError:
            refused.set()
            raise
        if operation == fcntl.LOCK_EX:  # the wait, in its thread
            loop.call_soon_threadsafe(taken.set)

    monkeypatch.setattr(fcntl, "flock", locking)
    return refused, taken


async def write(db: Database, done: list[str], name: str) -> None:
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO notes (name) VALUES (:name)"), {"name": name})
    done.append(name)


async def test_a_second_writer_waits_for_the_first_and_then_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    first, second = Database(url), Database(url)
    try:
        async with first.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (name TEXT)"))
        done: list[str] = []
        refused, _ = watching_the_file(monkeypatch)
        async with first.transaction() as session:
            await session.execute(text("INSERT INTO notes (name) VALUES ('first')"))
            waiting = asyncio.create_task(write(second, done, "second"))
            await asyncio.wait_for(refused.wait(), 10)
            assert not waiting.done()  # the file is the first writer's
        done.append("first")
        await asyncio.wait_for(waiting, 10)
        assert done == ["first", "second"]
        assert (tmp_path / "turns.db.turns").exists()
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_writer_that_stops_waiting_leaves_no_lock_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    first, second, third = Database(url), Database(url), Database(url)
    try:
        async with first.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (name TEXT)"))
        done: list[str] = []
        refused, taken = watching_the_file(monkeypatch)
        async with first.transaction():
            waiting = asyncio.create_task(write(second, done, "second"))
            await asyncio.wait_for(refused.wait(), 10)  # it waits for the file...
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.wait_for(taken.wait(), 10)  # ...and its thread takes it after all
        await asyncio.wait_for(write(third, done, "third"), 10)
        await asyncio.wait_for(write(second, done, "second, again"), 10)
        assert done == ["third", "second, again"]
    finally:
        for db in (first, second, third):
            await db.dispose()
