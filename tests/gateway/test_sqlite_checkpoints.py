"""A long-lived process's commits never copy SQLite's write-ahead log back into the
database file themselves: its connections leave that to a thread of the process, which does
it within a second and stops with the database. Other processes keep SQLite's default."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text

from gateway.db import Database
from gateway.sqlite_checkpoints import Checkpointer

ROWS = 800
ROW = "x" * 8000  # about 6 MB in all: far past the 1,000 pages that checkpoint on commit
DATA = ROWS * len(ROW)


async def _fill(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE filler (body TEXT)"))
    for _ in range(8):
        async with db.transaction() as session:
            await session.execute(
                text("INSERT INTO filler (body) VALUES (:body)"), [{"body": ROW}] * (ROWS // 8)
            )


async def _autocheckpoint(db: Database) -> int:
    async with db.engine.connect() as connection:
        return int(await connection.scalar(text("PRAGMA wal_autocheckpoint")) or 0)


async def test_commits_leave_checkpoints_to_the_background_thread(tmp_path: Path) -> None:
    path = tmp_path / "background.db"
    db = Database(f"sqlite+aiosqlite:///{path}", background_checkpoints=True)
    try:
        assert db.checkpointer is not None
        await asyncio.to_thread(db.checkpointer.stop)  # so only the commits could copy
        assert await _autocheckpoint(db) == 0
        await _fill(db)
        assert path.stat().st_size < DATA // 10  # still in the log
        checkpointer = Checkpointer(path, every=0.05)
        try:
            deadline = time.monotonic() + 10
            while path.stat().st_size < DATA and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await asyncio.to_thread(checkpointer.stop)
        assert path.stat().st_size >= DATA
        assert checkpointer.passes >= 1
    finally:
        await db.dispose()


async def test_the_thread_stops_with_the_database(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'stops.db'}", background_checkpoints=True)
    checkpointer = db.checkpointer
    assert checkpointer is not None
    await db.dispose()
    assert not checkpointer.running


async def test_other_processes_keep_sqlite_checkpointing_on_commit(tmp_path: Path) -> None:
    path = tmp_path / "inline.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert db.checkpointer is None
        assert await _autocheckpoint(db) == 1000
        await _fill(db)
        assert path.stat().st_size >= DATA // 2  # copied back by the commits themselves
    finally:
        await db.dispose()
