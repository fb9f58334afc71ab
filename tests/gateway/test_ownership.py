"""The ownership table: every allowed move applies, bumps the version, cancels pending
deadlines and leaves an audit row; every other move raises and writes nothing; of racing
moves from the same version exactly one wins."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import product

import pytest
from sqlalchemy import func, select

from gateway import ownership
from gateway.errors import IllegalTransition, OwnershipChanged
from gateway.models import Conversation, Deadline, Transition, utcnow
from gateway.ownership import ALLOWED, State
from gateway.runtime import Services
from tests.support.factories import chat_message, intake_for, make_agent

PAIRS = list(product(State, State))


async def conversation_in(services: Services, org, state: State) -> int:
    received = await intake_for(services).receive(chat_message(org, "hello"))
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        conversation.state = state.value
    return received.conversation_id


async def move(services: Services, conversation_id: int, target: State, agent_id: int) -> None:
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        await ownership.transition(
            session,
            conversation,
            target,
            actor=ownership.agent(agent_id),
            reason="test",
            assignee_id=agent_id,
            review_window=timedelta(minutes=5),
        )


async def audit_rows(services: Services, conversation_id: int) -> list[Transition]:
    async with services.db.transaction() as session:
        rows = await session.scalars(
            select(Transition).where(Transition.conversation_id == conversation_id)
        )
        return list(rows)


def test_the_table_names_every_state_and_only_states() -> None:
    assert set(ALLOWED) == set(State)
    assert all(targets <= set(State) for targets in ALLOWED.values())


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
async def test_each_move_is_applied_exactly_when_the_table_allows_it(
    services: Services, org, source: State, target: State
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await conversation_in(services, org, source)

    if target in ALLOWED[source]:
        await move(services, conversation_id, target, agent.id)
        async with services.db.transaction() as session:
            conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.state, conversation.ownership_version) == (target.value, 2)
        [row] = await audit_rows(services, conversation_id)
        assert (row.from_state, row.to_state, row.actor) == (source, target, f"agent:{agent.id}")
        if target is State.MANUAL:
            assert conversation.ai_paused_until is not None
        if target is State.QUEUED:
            assert conversation.waiting_since is not None
    else:
        with pytest.raises(IllegalTransition):
            await move(services, conversation_id, target, agent.id)
        async with services.db.transaction() as session:
            conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.state, conversation.ownership_version) == (source.value, 1)
        assert await audit_rows(services, conversation_id) == []


async def test_a_move_from_a_stale_read_raises_and_writes_nothing(services: Services, org) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await conversation_in(services, org, State.QUEUED)
    async with services.db.transaction() as session:
        stale = await session.get(Conversation, conversation_id)
    await move(services, conversation_id, State.ASSIGNED, agent.id)

    with pytest.raises(OwnershipChanged):
        async with services.db.transaction() as session:
            await ownership.transition(
                session, stale, State.AI, actor=ownership.SYSTEM, reason="late"
            )

    assert [row.to_state for row in await audit_rows(services, conversation_id)] == ["assigned"]


async def test_a_move_cancels_the_pending_deadlines(services: Services, org) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await conversation_in(services, org, State.QUEUED)
    async with services.db.transaction() as session:
        session.add(
            Deadline(
                organization_id=org.id,
                conversation_id=conversation_id,
                kind="expire",
                due_at=utcnow() + timedelta(minutes=15),
                ownership_version=1,
            )
        )

    await move(services, conversation_id, State.ASSIGNED, agent.id)

    async with services.db.transaction() as session:
        pending = await session.scalar(select(func.count()).where(Deadline.cancelled_at.is_(None)))
    assert pending == 0


async def test_of_fifty_racing_moves_from_the_same_read_exactly_one_wins(
    services: Services, org
) -> None:
    agents = [await make_agent(services.db, org, name=f"Agent {i}") for i in range(50)]
    conversation_id = await conversation_in(services, org, State.QUEUED)
    async with services.db.transaction() as session:
        read = await session.get(Conversation, conversation_id)
    assert read is not None

    async def claim_from_read(agent_id: int) -> None:
        async with services.db.transaction() as session:
            await ownership.transition(
                session,
                Conversation(**_columns(read)),  # what this agent's page read
                State.ASSIGNED,
                actor=ownership.agent(agent_id),
                assignee_id=agent_id,
            )

    outcomes = await asyncio.gather(
        *(claim_from_read(a.id) for a in agents), return_exceptions=True
    )

    assert sum(o is None for o in outcomes) == 1
    assert all(isinstance(o, OwnershipChanged) for o in outcomes if o is not None)
    rows = await audit_rows(services, conversation_id)
    assert len(rows) == 1 and rows[0].to_state == "assigned"


def _columns(conversation: Conversation) -> dict[str, object]:
    return {c.key: getattr(conversation, c.key) for c in Conversation.__table__.columns}
