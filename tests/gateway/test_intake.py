"""Intake stores each message once, finds the same contact across channels, routes once,
and refuses bad input without writing anything."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from gateway.errors import BadInput
from gateway.messages import InboundMessage
from gateway.models import Contact, ContactIdentity, Conversation, Message
from gateway.queues import INTAKE, ROUTE_MESSAGE
from gateway.runtime import Services
from tests.support.factories import chat_message, intake_for, sms_message


async def count(services: Services, model: type) -> int:
    async with services.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def routing_jobs(services: Services) -> list[list[object]]:
    jobs = services.jobs.queue(INTAKE).get_jobs()
    return [list(job.args) for job in jobs if job.func_name == ROUTE_MESSAGE]


async def test_a_new_message_creates_contact_conversation_and_one_routing_job(
    services: Services, org
) -> None:
    received = await intake_for(services).receive(chat_message(org, "hello", visitor="v-1"))

    assert not received.duplicate
    async with services.db.transaction() as session:
        message = await session.get(Message, received.message_id)
        conversation = await session.get(Conversation, received.conversation_id)
    assert message is not None and message.text == "hello" and message.author == "customer"
    assert conversation is not None
    assert (conversation.state, conversation.address_kind, conversation.address) == (
        "ai",
        "web",
        "v-1",
    )
    assert conversation.last_customer_at is not None
    assert routing_jobs(services) == [[received.message_id]]


async def test_a_repeat_of_the_same_provider_id_returns_the_stored_message(
    services: Services, org
) -> None:
    intake = intake_for(services)
    first = await intake.receive(chat_message(org, "hi", frame="f-1"))
    again = await intake.receive(chat_message(org, "hi (retried)", frame="f-1"))

    assert again.duplicate and again.message_id == first.message_id
    assert await count(services, Message) == 1
    assert len(routing_jobs(services)) == 1


async def test_the_same_message_delivered_100_times_at_once_is_stored_and_routed_once(
    services: Services, org
) -> None:
    intake = intake_for(services)
    message = chat_message(org, "where is my order?", frame="storm")

    results = await asyncio.gather(*(intake.receive(message) for _ in range(100)))

    assert len({r.message_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert await count(services, Message) == 1
    assert await count(services, Conversation) == 1
    assert await count(services, Contact) == 1
    assert routing_jobs(services) == [[results[0].message_id]]


async def test_first_messages_of_many_new_senders_at_once_each_get_one_contact(
    services: Services, org
) -> None:
    intake = intake_for(services)
    burst = [chat_message(org, f"hi {i}", visitor=f"v-{i % 5}") for i in range(40)]

    await asyncio.gather(*(intake.receive(m) for m in burst))

    assert await count(services, Contact) == 5
    assert await count(services, ContactIdentity) == 5
    assert await count(services, Conversation) == 5
    assert await count(services, Message) == 40


async def test_a_caller_who_then_texts_is_one_contact_with_two_conversations(
    services: Services, org
) -> None:
    intake = intake_for(services)
    call = InboundMessage(org.id, "voice", "phone", "+15550100", "(call)", "CA1")
    text = sms_message(org, "me again", sender="+15550100")

    by_call, by_text = await intake.receive(call), await intake.receive(text)

    assert by_call.contact_id == by_text.contact_id
    assert by_call.conversation_id != by_text.conversation_id


async def test_provider_ids_are_unique_per_organization_not_globally(
    services: Services, org, other_org
) -> None:
    intake = intake_for(services)
    mine = await intake.receive(chat_message(org, "a", visitor="v", frame="same"))
    theirs = await intake.receive(chat_message(other_org, "b", visitor="v", frame="same"))

    assert not theirs.duplicate
    assert mine.conversation_id != theirs.conversation_id
    assert mine.contact_id != theirs.contact_id


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"provider_message_id": ""}, "message id"),
        ({"sender_address": ""}, "address"),
        ({"text": "x" * 100_001}, "at most"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(
    services: Services, org, change: dict[str, str], fragment: str
) -> None:
    good = chat_message(org, "fine")
    fields = {name: getattr(good, name) for name in good.__slots__ if name != "__weakref__"}
    bad = InboundMessage(**{**fields, **change})

    with pytest.raises(BadInput, match=fragment):
        await intake_for(services).receive(bad)

    assert await count(services, Message) == 0
    assert await count(services, Contact) == 0
    assert routing_jobs(services) == []
