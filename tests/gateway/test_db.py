"""Transactions: after-commit actions run only after a commit, and on SQLite a transaction
opened inside another on the same task does not wait for itself."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

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
