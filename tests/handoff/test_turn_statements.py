"""A message's turn asks the database only what it must: on PostgreSQL routing's claim of
the message and the AI reply's claim of its turn each return the conversation's context in
the same statement, and the AI's question carries the knowledge-base version read with the
conversation, so the responder reads no version of its own. Routing's claim also says
whether the organization has a webhook endpoint, so one without asks nothing more. The
question's history (the conversation's last messages, oldest first) comes with the
context."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select, update

from gateway.db import Database
from gateway.models import Message, Organization
from gateway.org_settings import OrganizationSettings
from gateway.runtime import Services
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from handoff.ai.responder import Turn
from handoff.ai.turn import compute_reply, read_question
from handoff.context import HISTORY_LIMIT, claim_for_routing, take_turn
from handoff.routing import decide_route
from tests.gateway.webhooks.webhook_support import add_endpoint, deliveries
from tests.support.factories import chat_message, intake_for
from tests.support.statements import statements_of


async def owe_turn(services: Services, org: Organization, text: str, version: int) -> Message:
    received = await intake_for(services).receive(chat_message(org, text), route=False)
    async with services.db.transaction() as session:
        await session.execute(
            update(Message).where(Message.id == received.message_id).values(ai_turn_version=version)
        )
        message = await session.get(Message, received.message_id)
    assert message is not None
    return message


async def turn_owed(db: Database, message_id: int) -> int | None:
    async with db.read() as session:
        return await session.scalar(select(Message.ai_turn_version).where(Message.id == message_id))


async def test_a_message_is_claimed_for_routing_once_with_its_conversations_context(
    services: Services, org: Organization
) -> None:
    received = await intake_for(services).receive(chat_message(org, "Hello?"), route=False)

    with statements_of(services.db) as statements:
        async with services.db.transaction() as session:
            stale = await session.get(Message, received.message_id)  # read before the claim
            assert stale is not None and stale.routed_at is None
            claimed = await claim_for_routing(session, received.message_id)
            assert claimed is not None
            message, context = claimed.message, claimed.context
            assert message is stale and message.routed_at is not None  # as it is now
    assert context.conversation.id == received.conversation_id
    assert context.organization.id == org.id
    assert isinstance(context.settings, OrganizationSettings)
    claims = statements[1:]  # after the read of the stale copy
    assert len(claims) == (1 if services.db.dialect == "postgresql" else 2)
    assert claims[0].startswith("UPDATE messages")

    async with services.db.transaction() as session:  # claimed: a second run gets nothing
        assert await claim_for_routing(session, received.message_id) is None


async def test_a_turn_is_claimed_once_with_its_conversations_context(
    services: Services, org: Organization
) -> None:
    message = await owe_turn(services, org, "Do you ship abroad?", version=1)

    with statements_of(services.db) as statements:
        async with services.db.transaction() as session:
            context = await take_turn(session, message.conversation_id, message.id, 1)
    assert context is not None
    assert context.conversation.id == message.conversation_id
    assert context.conversation.state == "ai"
    assert context.organization.id == org.id
    assert context.organization.name == org.name
    assert isinstance(context.settings, OrganizationSettings)
    postgres = services.db.dialect == "postgresql"
    assert len(statements) == (1 if postgres else 2)
    assert statements[0].startswith("UPDATE messages")
    assert await turn_owed(services.db, message.id) is None

    async with services.db.transaction() as session:  # taken: a second run gets nothing
        assert await take_turn(session, message.conversation_id, message.id, 1) is None


async def test_a_turn_owed_under_another_version_is_not_claimed(
    services: Services, org: Organization
) -> None:
    message = await owe_turn(services, org, "Where is my order?", version=2)

    async with services.db.transaction() as session:
        assert await take_turn(session, message.conversation_id, message.id, 1) is None
        # the message's own id, in another conversation: nothing either
        assert await take_turn(session, message.conversation_id + 1, message.id, 2) is None
    assert await turn_owed(services.db, message.id) == 2


async def test_the_responder_uses_the_knowledge_version_read_with_the_conversation(
    services: Services, org: Organization
) -> None:
    await load_knowledge(services.db, org.id, demo_knowledge_paths())
    received = await intake_for(services).receive(
        chat_message(org, "How long does shipping take?"), route=False
    )
    async with services.db.read() as session:
        version = await session.scalar(
            select(Organization.knowledge_version).where(Organization.id == org.id)
        )

    question = await read_question(services, received.conversation_id, None)
    assert question is not None and question.request.knowledge_version == version
    assert await compute_reply(services, received.conversation_id, 1) is not None  # builds

    with statements_of(services.db) as statements:
        reply = await compute_reply(services, received.conversation_id, 1)
    assert reply is not None and reply.knows
    # the conversation's context and its recent turns (in one statement on PostgreSQL);
    # not the version, nor the entries
    assert len(statements) == (1 if services.db.dialect == "postgresql" else 2)
    assert "FROM conversations JOIN organizations" in statements[0]
    assert "\nFROM messages" in statements[-1]
    assert question.request.history[-1].text == "How long does shipping take?"


async def test_the_question_holds_the_last_turns_oldest_first_and_the_words_just_said(
    services: Services, org: Organization
) -> None:
    intake = intake_for(services)
    for n in range(HISTORY_LIMIT + 5):
        received = await intake.receive(chat_message(org, f"line {n}"), route=False)

    question = await read_question(
        services, received.conversation_id, None, Turn("customer", "just said")
    )

    assert question is not None
    expected = [f"line {n}" for n in range(6, HISTORY_LIMIT + 5)] + ["just said"]
    assert [turn.text for turn in question.request.history] == expected
    assert {turn.author for turn in question.request.history} == {"customer"}


async def test_routing_asks_for_webhook_endpoints_only_when_the_organization_has_one(
    services: Services, org: Organization
) -> None:
    postgres = services.db.dialect == "postgresql"
    intake = intake_for(services)

    async def endpoint_reads_routing(words: str) -> tuple[int, int]:
        received = await intake.receive(chat_message(org, words), route=False)
        with statements_of(services.db) as statements:
            await decide_route(services, received.message_id)
        reads = [s for s in statements if s.startswith("SELECT webhook_endpoints")]
        return received.message_id, len(reads)

    assert (await endpoint_reads_routing("Hello?"))[1] == (0 if postgres else 1)
    await add_endpoint(services.db, org, "https://hooks.example/off", active=False)
    assert (await endpoint_reads_routing("Anyone?"))[1] == (0 if postgres else 1)
    assert await deliveries(services.db) == []

    await add_endpoint(services.db, org, "https://hooks.example/on")
    told, reads = await endpoint_reads_routing("Still there?")

    assert reads == 1
    [delivery] = await deliveries(services.db)
    assert delivery.event == "message" and delivery.payload["data"]["message"]["id"] == told


async def test_routing_to_the_ai_writes_the_message_once_and_leaves_its_turn_owed(
    services: Services, org: Organization
) -> None:
    received = await intake_for(services).receive(
        chat_message(org, "How long does shipping take?"), route=False
    )

    with statements_of(services.db) as statements:
        routed = await decide_route(services, received.message_id)

    assert routed.outcome == "ai" and routed.version is not None
    # the claim marks the turn owed as it claims the message: no second write of it
    assert [s for s in statements if s.startswith("UPDATE messages")] == [statements[0]]
    assert await turn_owed(services.db, received.message_id) == routed.version


async def test_a_message_routed_away_from_the_ai_leaves_no_turn_owed(
    services: Services, org: Organization
) -> None:
    intake = intake_for(services)
    asked = await intake.receive(chat_message(org, "I want to talk to a person"), route=False)

    # with the AI when claimed, so the claim marked the turn owed; the policy hands over
    handed_over = await decide_route(services, asked.message_id)

    assert handed_over.outcome == "queued"
    assert await turn_owed(services.db, asked.message_id) is None
    waiting = await intake.receive(chat_message(org, "Hello? Anyone?"), route=False)
    assert waiting.conversation_id == asked.conversation_id
    assert (await decide_route(services, waiting.message_id)).outcome != "ai"
    assert await turn_owed(services.db, waiting.message_id) is None


async def test_a_message_never_answered_is_claimed_with_no_turn_owed_and_written_once(
    services: Services, org: Organization
) -> None:
    kept = dataclasses.replace(chat_message(org, "STOP"), no_reply=True)
    received = await intake_for(services).receive(kept, route=False)

    with statements_of(services.db) as statements:
        routed = await decide_route(services, received.message_id)

    assert routed.outcome == "no-reply"
    assert [s for s in statements if s.startswith("UPDATE messages")] == [statements[0]]
    assert await turn_owed(services.db, received.message_id) is None
