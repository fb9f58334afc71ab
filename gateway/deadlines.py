"""Deadlines that survive restarts. A deadline is a database row and a scheduled RQ job at
once; the reconciler fires overdue rows whose job was lost (a Redis restart, say). Firing
starts with `claim()`, an atomic update that succeeds for exactly one caller and never for
a cancelled deadline or one whose conversation changed hands since it was set; it holds
the conversation's row until the deadline's action commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit
from gateway.models import Conversation, Deadline, utcnow
from gateway.queues import DEADLINES, FIRE_DEADLINE, JobQueue


async def schedule(
    session: AsyncSession,
    jobs: JobQueue,
    conversation: Conversation,
    kind: str,
    due_at: datetime,
) -> Deadline:
    """Add a deadline row; its RQ job is scheduled once the transaction commits."""
    deadline = Deadline(
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        kind=kind,
        due_at=due_at,
        ownership_version=conversation.ownership_version,
    )
    session.add(deadline)
    await session.flush()
    deadline_id = deadline.id

    # one already due goes straight to the queue rather than waiting for the scheduler's
    # next pass (a claim's follow-up, see gateway.claims)
    at = due_at if due_at > utcnow() else None

    async def enqueue() -> None:
        await jobs.enqueue_async(
            DEADLINES, FIRE_DEADLINE, deadline_id, at=at, conversation_id=conversation.id
        )

    after_commit(session, enqueue)
    return deadline


async def cancel(session: AsyncSession, conversation_id: int, kind: str | None = None) -> int:
    """Cancel a conversation's pending deadlines (of one kind, or all); returns how many."""
    statement = update(Deadline).where(
        Deadline.conversation_id == conversation_id,
        Deadline.fired_at.is_(None),
        Deadline.cancelled_at.is_(None),
    )
    if kind is not None:
        statement = statement.where(Deadline.kind == kind)
    result = await session.execute(
        statement.values(cancelled_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def claim(
    session: AsyncSession, deadline_id: int, now: datetime | None = None
) -> Deadline | None:
    """Mark a due deadline fired, for exactly one caller. Returns it, or None when it was
    already fired, cancelled, not yet due, or its conversation changed hands since."""
    now = now or utcnow()
    deadline = await session.get(Deadline, deadline_id)
    if deadline is None:
        return None
    # The conversation is locked before the deadline, in the order every change of hands
    # takes them (`gateway.ownership.transition`): on PostgreSQL, the opposite order made
    # a deadline firing and an agent's move at the same moment deadlock. Locked, it also
    # cannot change hands before this transaction ends.
    conversation = await session.get(Conversation, deadline.conversation_id, with_for_update=True)
    if conversation is None or conversation.ownership_version != deadline.ownership_version:
        await session.execute(
            update(Deadline)
            .where(Deadline.id == deadline_id, Deadline.fired_at.is_(None))
            .values(cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
        return None
    result = await session.execute(
        update(Deadline)
        .where(
            Deadline.id == deadline_id,
            Deadline.fired_at.is_(None),
            Deadline.cancelled_at.is_(None),
            Deadline.due_at <= now,
        )
        .values(fired_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    deadline.fired_at = now
    return deadline


async def overdue(
    session: AsyncSession, now: datetime | None = None, limit: int = 500
) -> list[int]:
    """Ids of pending deadlines that are due (for the reconciler)."""
    rows = await session.execute(
        select(Deadline.id)
        .where(
            Deadline.fired_at.is_(None),
            Deadline.cancelled_at.is_(None),
            Deadline.due_at <= (now or utcnow()),
        )
        .order_by(Deadline.due_at)
        .limit(limit)
    )
    return [int(row[0]) for row in rows]
