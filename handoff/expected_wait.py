"""An honest expected wait for a person, told to the customer at handoff. It is the median of
the organization's recent waits: each of its last handoffs (within a week) counts with the
time until a person picked it up, a handoff nobody picked up counts as endless, and each
conversation still waiting counts with the time it has waited so far (at least that long).
With too few handoffs to go on there is no estimate, and the notice promises no time."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.models import Conversation, Transition, utcnow
from gateway.ownership import State

SAMPLES = 20  # the last this many finished handoffs
MIN_SAMPLES = 3  # fewer finished handoffs than this: no estimate
WINDOW = timedelta(days=7)
PICKED_UP = (State.ASSIGNED, State.RESOLVED)
UNKNOWN = "Someone will reply as soon as they're free."
BUSY = "Our team is busy right now, so it may take a while."


async def recent_waits(
    session: AsyncSession, organization_id: int, now: datetime | None = None
) -> list[float]:
    """Seconds each of the recent finished handoffs waited (`math.inf`: nobody came)."""
    now = now or utcnow()
    ended, started = aliased(Transition), aliased(Transition)
    queued_at = (
        select(func.max(started.created_at))
        .where(
            started.conversation_id == ended.conversation_id,
            started.to_state == State.QUEUED,
            started.id < ended.id,
        )
        .correlate(ended)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(ended.to_state, ended.actor, ended.created_at, queued_at)
        .where(
            ended.organization_id == organization_id,
            ended.from_state == State.QUEUED,
            ended.created_at >= now - WINDOW,
        )
        .order_by(ended.id.desc())
        .limit(SAMPLES)
    )
    waits = []
    for to_state, actor, ended_at, queued in rows:
        if queued is None:
            continue
        person = to_state in PICKED_UP or str(actor).startswith("agent")
        waits.append((ended_at - queued).total_seconds() if person else math.inf)
    return waits


async def current_waits(
    session: AsyncSession, organization_id: int, exclude: int | None, now: datetime | None = None
) -> list[float]:
    """Seconds each conversation still in the queue has waited so far."""
    now = now or utcnow()
    query = select(Conversation.waiting_since).where(
        Conversation.organization_id == organization_id,
        Conversation.state == State.QUEUED,
        Conversation.waiting_since.is_not(None),
    )
    if exclude is not None:
        query = query.where(Conversation.id != exclude)
    rows = (await session.scalars(query)).all()
    return [(now - since).total_seconds() for since in rows if since is not None]


async def expected_wait(
    session: AsyncSession, organization_id: int, conversation_id: int | None = None
) -> float | None:
    """The median wait in seconds, `math.inf` when most waits found nobody, or None when
    there are too few handoffs to tell."""
    now = utcnow()
    finished = await recent_waits(session, organization_id, now)
    if len(finished) < MIN_SAMPLES:
        return None
    waits = sorted(finished + await current_waits(session, organization_id, conversation_id, now))
    middle = len(waits) // 2
    if len(waits) % 2:
        return waits[middle]
    low, high = waits[middle - 1], waits[middle]
    return math.inf if math.isinf(high) else (low + high) / 2


def wait_sentence(seconds: float | None) -> str:
    """The estimate as one sentence a customer can rely on."""
    if seconds is None:
        return UNKNOWN
    if math.isinf(seconds):
        return BUSY
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return "Someone usually replies within a minute."
    if minutes > 60:
        return "Replies are taking more than an hour right now."
    return f"Someone usually replies within about {minutes} minutes."
