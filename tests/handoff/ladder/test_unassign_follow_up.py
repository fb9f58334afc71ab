"""The unassign timer follows the customer: after the agent answered, a new customer
message starts it again from that message, so an agent who answered once and then ignores
the follow-up loses the conversation to the queue; further messages while it runs do not
give the agent more time, and a message the agent had already answered starts nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from gateway.models import Message, Organization
from gateway.runtime import Services
from handoff import actions
from handoff.routing import route_message
from tests.handoff.ladder.test_ladder_steps import U, conversation, fire_now, ladder_org, pending
from tests.support.factories import chat_message, intake_for, make_agent
from tests.support.queued import queued_conversation


async def customer_writes(services: Services, org: Organization, text: str) -> int:
    """A message from the visitor of `queued_conversation`, received; returns its id."""
    received = await intake_for(services).receive(chat_message(org, text))
    return received.message_id


async def written_at(services: Services, message_id: int) -> datetime:
    async with services.db.transaction() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message.created_at


async def claimed_and_answered(services: Services, org: Organization) -> tuple[int, int]:
    """A conversation claimed by an agent who answered once; (conversation id, agent id)."""
    agent = await make_agent(services.db, org)
    conversation_id = await queued_conversation(services, org)
    await actions.claim(services, agent, conversation_id)
    await actions.reply(services, agent, conversation_id, "Hi, I'm here.")
    assert await pending(services, conversation_id) == {}
    return conversation_id, agent.id


async def test_a_follow_up_after_the_agents_reply_restarts_the_timer_and_it_unassigns(
    services: Services,
) -> None:
    org = await ladder_org(services)
    conversation_id, _agent_id = await claimed_and_answered(services, org)

    first = await customer_writes(services, org, "Thanks, and one more thing?")
    assert await route_message(services, first) == "human-owned"
    [timer] = (await pending(services, conversation_id))["unassign"]
    assert timer.due_at == await written_at(services, first) + timedelta(seconds=U)

    second = await customer_writes(services, org, "Hello? Still there?")
    assert await route_message(services, second) == "human-owned"
    assert [d.id for d in (await pending(services, conversation_id))["unassign"]] == [timer.id]

    assert await fire_now(services, timer) == "fired"
    back = await conversation(services, conversation_id)
    assert (back.state, back.assigned_agent_id) == ("queued", None)
    assert sorted(await pending(services, conversation_id)) == ["expire", "reminder"]


async def test_a_follow_up_while_the_timer_runs_does_not_extend_it(services: Services) -> None:
    org = await ladder_org(services)
    agent = await make_agent(services.db, org)
    conversation_id = await queued_conversation(services, org)
    await actions.claim(services, agent, conversation_id)
    [timer] = (await pending(services, conversation_id))["unassign"]

    follow_up = await customer_writes(services, org, "Anyone?")
    assert await route_message(services, follow_up) == "human-owned"

    [still] = (await pending(services, conversation_id))["unassign"]
    assert (still.id, still.due_at) == (timer.id, timer.due_at)


async def test_a_message_routed_after_the_agent_answered_it_starts_nothing(
    services: Services,
) -> None:
    org = await ladder_org(services)
    agent = await make_agent(services.db, org)
    conversation_id = await queued_conversation(services, org)
    await actions.claim(services, agent, conversation_id)
    early = await customer_writes(services, org, "My order is 1234")
    received = await written_at(services, early) - timedelta(seconds=30)
    async with services.db.transaction() as session:  # received before the agent's reply
        await session.execute(
            update(Message).where(Message.id == early).values(created_at=received)
        )
    await actions.reply(services, agent, conversation_id, "Found it, thanks.")

    assert await route_message(services, early) == "human-owned"

    assert await pending(services, conversation_id) == {}


async def test_with_the_timer_off_a_follow_up_starts_nothing(services: Services) -> None:
    org = await ladder_org(services, unassign_after_seconds=0)
    conversation_id, _agent_id = await claimed_and_answered(services, org)

    follow_up = await customer_writes(services, org, "One more question")
    assert await route_message(services, follow_up) == "human-owned"

    assert await pending(services, conversation_id) == {}
    assert (await conversation(services, conversation_id)).state == "assigned"
