"""Transactions: after-commit actions run only after a commit, and on SQLite a transaction
opened inside another on the same task does not wait for itself. A quick read on
PostgreSQL runs without a transaction."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

import gateway.db
from gateway.db import Database, after_commit
from gateway.models import Organization
from tests.support.factories import make_org


async def test_after_commit_actions_run_after_a_commit_and_never_after_a_rollback(
    db: Database,
) -> None:
    ran: list[str] = []
    async with db.transaction() as session:
        after_commit(session, lambda: ran.append("committed"))
        assert ran == []
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            after_commit(session, lambda: ran.append("rolled back"))
            raise RuntimeError("boom")
    assert ran == ["committed"]


async def test_a_nested_transaction_on_the_same_task_does_not_deadlock(db: Database) -> None:
    await make_org(db, "outer")

    async def nested() -> int:
        async with db.transaction() as outer:
            async with db.transaction() as inner:
                count = await inner.scalar(select(func.count()).select_from(Organization))
            outer.add(Organization(slug="second", name="Second", widget_key="pk_second"))
            return int(count or 0)

    assert await asyncio.wait_for(nested(), timeout=10) == 1


async def test_concurrent_transactions_each_see_the_previous_ones_writes(db: Database) -> None:
    org = await make_org(db, "counter", visits=0)

    async def bump() -> None:
        async with db.transaction() as session:
            row = await session.get(Organization, org.id, with_for_update=True)
            assert row is not None
            row.settings = {**row.settings, "visits": row.settings["visits"] + 1}

    await asyncio.gather(*(bump() for _ in range(20)))

    async with db.transaction() as session:
        row = await session.get(Organization, org.id)
    assert row is not None and row.settings["visits"] == 20


async def _backend_pid(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.pg_backend_pid())) or 0)


async def test_a_postgresql_connection_cut_while_idle_is_replaced_before_use(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection that sat idle is pinged before use, and a dead one replaced: a
    server restart or a firewall's idle timeout costs no request. One in use a moment ago is
    not pinged (the next transaction finds the cut itself)."""
    if db.dialect != "postgresql":
        pytest.skip("the ping concerns PostgreSQL's pooled connections")
    other = Database(db.url, pooled=False)  # outside db's pool

    async def cut(pid: int) -> None:
        async with other.transaction() as session:
            await session.execute(select(func.pg_terminate_backend(pid)))

    try:
        monkeypatch.setattr(gateway.db, "PING_AFTER_IDLE", 0.0)  # whatever was idle is pinged
        pooled = await _backend_pid(db)  # the pool's one connection
        await cut(pooled)
        assert await _backend_pid(db) not in (0, pooled)

        monkeypatch.setattr(gateway.db, "PING_AFTER_IDLE", 3600.0)  # nothing counts as idle
        pooled = await _backend_pid(db)
        await cut(pooled)
        with pytest.raises(DBAPIError) as failed:
            await _backend_pid(db)
        assert failed.value.connection_invalidated
        assert await _backend_pid(db) not in (0, pooled)  # dropped, and connected anew
    finally:
        await other.dispose()


async def test_the_pool_hands_out_the_connection_used_last(db: Database) -> None:
    """After a burst has opened several connections, one request at a time keeps using the
    same one: it stays warm and, used a moment ago, is never pinged, while the others idle
    (a pool handing them out in turn would leave each idle long enough to be pinged)."""
    if db.dialect != "postgresql":
        pytest.skip("the backend's process id tells PostgreSQL's connections apart")
    holding: list[int] = []
    all_held = asyncio.Event()

    async def hold() -> None:
        async with db.transaction() as session:
            holding.append(int(await session.scalar(select(func.pg_backend_pid())) or 0))
            if len(holding) == 3:
                all_held.set()
            await all_held.wait()  # each keeps its connection until all three have one

    await asyncio.gather(*(hold() for _ in range(3)))
    assert len(set(holding)) == 3  # three connections in the pool
    one_at_a_time = [await _backend_pid(db) for _ in range(6)]
    assert len(set(one_at_a_time)) == 1, one_at_a_time


async def test_a_read_session_reads_beside_a_writer_and_refuses_to_write(db: Database) -> None:
    """`read()` sees what is committed, without waiting for a transaction that holds the
    write turn (on SQLite, the lock writers take turns on), and writes nothing."""
    await make_org(db, "first")
    writing, done = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as session:
            session.add(Organization(slug="second", name="Second", widget_key="pk_second"))
            await session.flush()
            writing.set()
            await done.wait()

    task = asyncio.create_task(writer())
    await writing.wait()
    try:

        async def count() -> int:
            async with db.read() as session:
                return int(
                    await session.scalar(select(func.count()).select_from(Organization)) or 0
                )

        assert await asyncio.wait_for(count(), timeout=5) == 1  # the writer's row: not yet
        async with db.read() as session:
            session.add(Organization(slug="third", name="Third", widget_key="pk_third"))
            with pytest.raises(RuntimeError, match="only reads"):
                await session.flush()
        async with db.read() as session:
            with pytest.raises(RuntimeError, match="only reads"):
                await session.execute(update(Organization).values(name="Renamed"))
    finally:
        done.set()
        await task
    async with db.read() as session:
        names = set(await session.scalars(select(Organization.name)))
    assert "Second" in names and "Third" not in names and "Renamed" not in names


async def _in_a_transaction(db: Database, *, quick: bool) -> bool:
    async with db.read(quick=quick) as session:
        assert await session.scalar(select(func.count()).select_from(Organization)) == 1
        raw = await (await session.connection()).get_raw_connection()
        return bool(raw.driver_connection.is_in_transaction())


async def test_a_quick_read_on_postgresql_runs_without_a_transaction(db: Database) -> None:
    """At READ COMMITTED each statement reads its own snapshot anyway: a quick read skips
    `BEGIN` and `ROLLBACK`, two round trips; other reads keep their transaction."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's reads take no round trips to begin or end")
    await make_org(db, "first")
    assert not await _in_a_transaction(db, quick=True)
    assert await _in_a_transaction(db, quick=False)
    assert not await _in_a_transaction(db, quick=True)  # the pool's connection was reset
