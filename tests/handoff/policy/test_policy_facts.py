"""The facts a decision reads from the database, in one statement: the customer's recent
messages (oldest first, up to the message decided about), the AI's earlier answers under
the current ownership (newest first), the previous decision under that ownership, and the
contact's opt-out on a channel that honours one. On both databases. On PostgreSQL the
reply's facts come with the claim of the AI's turn, and are the same facts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy import update

from gateway.models import ContactIdentity, Conversation, HandoffDecision, Message, utcnow
from gateway.runtime import Services
from handoff.context import claim_for_routing, load_context, take_turn
from handoff.fact_rows import RECENT_MESSAGES
from handoff.policy.facts import message_facts, reply_facts
from tests.support.factories import chat_message, intake_for, sms_message
from tests.support.policy import KNOWS
from tests.support.statements import statements_of

CUSTOMER = "+15550002222"
OTHER_CUSTOMER = "+15550003333"


async def _customer_says(services: Services, org, texts: list[str]) -> tuple[int, list[int]]:
    """The conversation the texts went to, and their message ids."""
    intake = intake_for(services)
    received = [await intake.receive(chat_message(org, text)) for text in texts]
    return received[0].conversation_id, [message.message_id for message in received]


async def _add(
    services: Services, conversation_id: int, row: Callable[[Conversation], object]
) -> None:
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        session.add(row(conversation))


async def _add_ai_answer(
    services: Services, conversation_id: int, version: int, *, knows: bool
) -> None:
    await _add(
        services,
        conversation_id,
        lambda conversation: Message(
            organization_id=conversation.organization_id,
            conversation_id=conversation.id,
            direction="outbound",
            author="ai",
            channel=conversation.channel,
            text="an answer",
            meta={"knows": knows},
            delivery_status="delivered",
            ownership_version=version,
            created_at=utcnow(),
        ),
    )


async def _add_decision(
    services: Services, conversation_id: int, version: int, outcome: str, rule: str | None
) -> None:
    await _add(
        services,
        conversation_id,
        lambda conversation: HandoffDecision(
            organization_id=conversation.organization_id,
            conversation_id=conversation.id,
            message_id=None,
            phase="message",
            ownership_version=version,
            level="balanced",
            outcome=outcome,
            fired_rule=rule,
            rule_results=[],
            created_at=utcnow(),
        ),
    )


async def _set_version(services: Services, conversation_id: int, version: int) -> None:
    async with services.db.transaction() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(ownership_version=version)
        )


async def test_a_message_is_decided_on_its_recent_texts_and_the_decision_before_it(
    services: Services, org
) -> None:
    texts = [f"line {number}" for number in range(RECENT_MESSAGES + 3)]
    conversation_id, ids = await _customer_says(services, org, texts)
    await _add_decision(services, conversation_id, 1, "queued", "explicit_request")
    await _set_version(services, conversation_id, 2)
    await _add_decision(services, conversation_id, 2, "ai", None)
    await _add_decision(services, conversation_id, 2, "gather", "frustration")
    await _add_decision(services, conversation_id, 3, "queued", "explicit_request")

    async with services.db.transaction() as session:
        context = await load_context(session, conversation_id)
        decided = await session.get(Message, ids[-2])  # one came after it
        assert decided is not None
        facts = await message_facts(session, services, context, decided)

    assert facts.recent_customer_texts == tuple(texts[-2 - RECENT_MESSAGES + 1 : -1])
    assert facts.text == texts[-2]
    assert (facts.previous_outcome, facts.previous_rule) == ("gather", "frustration")
    assert facts.opted_out is False  # web chat has no opt-out


async def test_a_reply_is_decided_on_the_latest_texts_and_this_ownership_s_answers(
    services: Services, org
) -> None:
    texts = [f"question {number}" for number in range(RECENT_MESSAGES + 2)]
    conversation_id, ids = await _customer_says(services, org, texts)
    await _add_ai_answer(services, conversation_id, 1, knows=False)  # an earlier ownership
    await _set_version(services, conversation_id, 2)
    for knows in (True, False, False):
        await _add_ai_answer(services, conversation_id, 2, knows=knows)

    async with services.db.transaction() as session:
        context = await load_context(session, conversation_id)
        facts, answers = await reply_facts(session, services, context, KNOWS)

    assert answers == ids[-1]
    assert facts.recent_customer_texts == tuple(texts[-RECENT_MESSAGES:])
    assert facts.earlier_answers_known == (False, False, True)  # newest first
    assert (facts.previous_outcome, facts.previous_rule) == (None, None)


async def test_an_opted_out_texter_is_known_as_such(services: Services, org) -> None:
    received = await intake_for(services).receive(sms_message(org, "hello", sender=CUSTOMER))

    async def facts_now() -> tuple[bool, bool]:
        async with services.db.transaction() as session:
            context = await load_context(session, received.conversation_id)
            message = await session.get(Message, received.message_id)
            assert message is not None
            on_message = await message_facts(session, services, context, message)
            on_reply, _ = await reply_facts(session, services, context, KNOWS)
        return on_message.opted_out, on_reply.opted_out

    assert await facts_now() == (False, False)
    async with services.db.transaction() as session:
        await session.execute(
            update(ContactIdentity)
            .where(ContactIdentity.organization_id == org.id, ContactIdentity.address == CUSTOMER)
            .values(opted_out_at=utcnow())
        )
    assert await facts_now() == (True, True)


async def _texter_with_history(services: Services, org) -> tuple[int, int]:
    """An opted-out texter's conversation, under ownership version 2, with earlier answers
    and a decision under it; its latest message owes the AI's turn under 2. Another
    customer's conversation is there too, with a decision of its own."""
    intake = intake_for(services)
    for sender, number in [(OTHER_CUSTOMER, 0), (CUSTOMER, 0), (CUSTOMER, 1), (CUSTOMER, 2)]:
        text = f"question {number}" if sender == CUSTOMER else "another customer's"
        received = await intake.receive(sms_message(org, text, sender=sender), route=False)
        if sender == OTHER_CUSTOMER:
            other_conversation = received.conversation_id
    conversation_id = received.conversation_id
    assert other_conversation != conversation_id
    await _add_decision(services, other_conversation, 2, "queued", "explicit_request")
    await _add_ai_answer(services, conversation_id, 1, knows=True)  # an earlier ownership
    await _set_version(services, conversation_id, 2)
    for knows in (False, True):
        await _add_ai_answer(services, conversation_id, 2, knows=knows)
    await _add_decision(services, conversation_id, 2, "gather", "frustration")
    async with services.db.transaction() as session:
        await session.execute(
            update(ContactIdentity)
            .where(ContactIdentity.organization_id == org.id, ContactIdentity.address == CUSTOMER)
            .values(opted_out_at=utcnow())
        )
        await session.execute(
            update(Message).where(Message.id == received.message_id).values(ai_turn_version=2)
        )
    return conversation_id, received.message_id


async def test_the_reply_s_facts_read_with_the_claim_of_the_turn_are_the_facts(
    services: Services, org
) -> None:
    conversation_id, message_id = await _texter_with_history(services, org)

    async with services.db.transaction() as session:
        claimed = await take_turn(session, conversation_id, message_id, 2)
        assert claimed is not None
        with statements_of(services.db) as statements:
            with_claim, latest = await reply_facts(session, services, claimed, KNOWS)
        read_alone, latest_alone = await reply_facts(
            session, services, await load_context(session, conversation_id), KNOWS
        )

    postgres = services.db.dialect == "postgresql"
    assert (claimed.facts_ahead is not None) is postgres
    assert len(statements) == (0 if postgres else 1)
    assert dataclasses.replace(with_claim, now=read_alone.now) == read_alone
    assert latest == latest_alone == message_id
    assert with_claim.recent_customer_texts == ("question 0", "question 1", "question 2")
    assert with_claim.earlier_answers_known == (True, False)  # newest first
    assert (with_claim.previous_outcome, with_claim.previous_rule) == ("gather", "frustration")
    assert with_claim.opted_out is True


async def test_facts_read_ahead_under_another_version_are_read_again(
    services: Services, org
) -> None:
    conversation_id, message_id = await _texter_with_history(services, org)
    await _set_version(services, conversation_id, 3)  # a person took it, say

    async with services.db.transaction() as session:
        claimed = await take_turn(session, conversation_id, message_id, 2)  # owed under 2
        assert claimed is not None and claimed.conversation.ownership_version == 3
        with statements_of(services.db) as statements:
            facts, _ = await reply_facts(session, services, claimed, KNOWS)

    assert len(statements) == 1  # the facts read ahead were version 2's
    assert facts.earlier_answers_known == ()  # none under version 3
    assert (facts.previous_outcome, facts.previous_rule) == (None, None)


async def test_a_message_s_facts_read_with_routing_s_claim_are_the_facts(
    services: Services, org
) -> None:
    conversation_id, message_id = await _texter_with_history(services, org)
    intake = intake_for(services)
    later = await intake.receive(sms_message(org, "one more thing", sender=CUSTOMER), route=False)
    assert later.conversation_id == conversation_id

    async with services.db.transaction() as session:
        claimed = await claim_for_routing(session, message_id)  # not the latest message
        assert claimed is not None
        with statements_of(services.db) as statements:
            with_claim = await message_facts(session, services, claimed.context, claimed.message)
        read_alone = await message_facts(
            session, services, await load_context(session, conversation_id), claimed.message
        )

    postgres = services.db.dialect == "postgresql"
    assert len(statements) == (0 if postgres else 1)
    assert dataclasses.replace(with_claim, now=read_alone.now) == read_alone
    # up to the message decided about, not the one after it
    assert with_claim.recent_customer_texts == ("question 0", "question 1", "question 2")
    assert (with_claim.previous_outcome, with_claim.previous_rule) == ("gather", "frustration")
    assert with_claim.opted_out is True
