"""Sending through the real `twilio` library to the loopback Twilio API: replies leave
from the number the customer wrote to, with a status callback; long texts go in parts cut
at sentence ends; rate limits, server errors and network failures are retried without
sending an accepted part twice; permanent errors fail the message visibly."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from gateway.delivery import deliver_message
from gateway.errors import TransientDeliveryError
from gateway.models import Conversation, Message
from gateway.outbound import queue_outbound
from gateway.runtime import Services
from handoff import actions
from messaging.twilio.models import TwilioMessagePart
from messaging.twilio.numbers import add_number
from server.worker import build_channels
from tests.support.factories import make_agent
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    receive,
)
from tests.support.ports import free_port

LONG_REPLY = " ".join(
    f"Step {n}: open the app, tap settings and check the toggle." for n in range(60)
)


async def outgoing(services: Services, conversation_id: int, text: str) -> int:
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message = await queue_outbound(
            session, services.jobs, conversation, author="system", text=text
        )
        return message.id


async def message(services: Services, message_id: int) -> Message:
    async with services.db.transaction() as session:
        found = await session.get(Message, message_id)
    assert found is not None
    return found


async def test_an_agent_reply_leaves_from_the_business_number_with_a_status_callback(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "Is my order shipped?")
    agent = await make_agent(twilio_services.db, org)
    reply = await actions.reply(twilio_services, agent, received.conversation_id, "Yes, today!")

    assert await deliver_message(twilio_services, reply.id) == "queued"

    [sent] = fake_twilio.messages()
    async with twilio_services.db.transaction() as session:
        part = (await session.scalars(select(TwilioMessagePart))).one()
    assert sent.account_sid == account.sid
    assert (sent.get("From"), sent.get("To"), sent.get("Body")) == (
        BUSINESS,
        CUSTOMER,
        "Yes, today!",
    )
    assert sent.get("StatusCallback") == f"{PUBLIC_URL}/twilio/sms/status?part={part.id}"
    stored = await message(twilio_services, reply.id)
    assert (stored.provider_message_id, stored.delivery_status) == (sent.sid, "queued")
    assert stored.meta["sms"] == {
        "parts": 1,
        "encoding": "GSM-7",
        "characters": 11,
        "units": 11,
        "segments": 1,
        "per_segment": 160,
    }


async def test_a_long_reply_goes_out_in_parts_cut_at_sentence_ends(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "How do I turn it on?")
    reply_id = await outgoing(twilio_services, received.conversation_id, LONG_REPLY)

    assert await deliver_message(twilio_services, reply_id) == "queued"

    bodies = [sent.get("Body") or "" for sent in fake_twilio.messages()]
    assert len(bodies) == 3
    assert all(len(body) <= 1600 and body.endswith("toggle.") for body in bodies)
    assert " ".join(bodies) == LONG_REPLY
    assert (await message(twilio_services, reply_id)).meta["sms"]["parts"] == 3


async def test_whatsapp_replies_use_whatsapp_addresses(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "Hola", channel="whatsapp")
    reply_id = await outgoing(twilio_services, received.conversation_id, "¡Hola! ¿Cómo te ayudo?")

    assert await deliver_message(twilio_services, reply_id) == "queued"

    [sent] = fake_twilio.messages()
    assert (sent.get("From"), sent.get("To")) == (f"whatsapp:{BUSINESS}", f"whatsapp:{CUSTOMER}")


@pytest.mark.parametrize(
    ("status", "code"), [(429, 20429), (503, 20500)], ids=["rate-limited", "server-error"]
)
async def test_transient_errors_are_retried_without_resending_an_accepted_part(
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
    status: int,
    code: int,
) -> None:
    received = await receive(twilio_services, org.id, account, "How do I turn it on?")
    reply_id = await outgoing(twilio_services, received.conversation_id, LONG_REPLY)
    fake_twilio.pass_next()
    fake_twilio.fail_next(status, code, "Too Many Requests" if status == 429 else "Internal")

    with pytest.raises(TransientDeliveryError) as raised:
        await deliver_message(twilio_services, reply_id)

    assert raised.value.provider_code == str(code)
    after_first = await message(twilio_services, reply_id)
    assert (after_first.delivery_status, after_first.error_code) == ("pending", None)
    assert len(fake_twilio.messages()) == 1

    assert await deliver_message(twilio_services, reply_id) == "queued"  # the retry

    bodies = [sent.get("Body") or "" for sent in fake_twilio.messages()]
    assert fake_twilio.attempts == 4  # part 1, part 2 refused, then parts 2 and 3
    assert " ".join(bodies) == LONG_REPLY  # every part exactly once, in order


async def test_a_network_failure_is_transient(
    twilio_services: Services, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "Hello")
    reply_id = await outgoing(twilio_services, received.conversation_id, "Hi there")
    unreachable = dataclasses.replace(
        twilio_services,
        settings=twilio_services.settings.model_copy(
            update={"twilio_api_base_url": f"http://127.0.0.1:{free_port()}"}
        ),
    )
    unreachable.channels = build_channels(unreachable)

    with pytest.raises(TransientDeliveryError, match="could not reach Twilio"):
        await deliver_message(unreachable, reply_id)

    assert (await message(twilio_services, reply_id)).delivery_status == "pending"


async def test_a_permanent_error_fails_the_message_and_flags_the_conversation(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "Hello")
    reply_id = await outgoing(twilio_services, received.conversation_id, "Hi there")
    fake_twilio.fail_next(400, 21614, "'To' number is not a valid mobile number")

    assert await deliver_message(twilio_services, reply_id) == "failed"

    failed = await message(twilio_services, reply_id)
    async with twilio_services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
    assert conversation is not None
    assert failed.error_code == "21614"
    assert failed.error_message is not None and "not a mobile number" in failed.error_message
    assert conversation.needs_attention
    assert "not a mobile number" in (conversation.attention_reason or "")
    assert fake_twilio.attempts == 1  # never retried


async def test_a_messaging_service_number_sends_through_its_service(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org
) -> None:
    service = "MG" + "cd" * 16
    await add_number(twilio_services.db, org.id, service, account.sid, account.token)
    received = await receive(
        twilio_services, org.id, account, "Hi", to="+15550004444", MessagingServiceSid=service
    )
    reply_id = await outgoing(twilio_services, received.conversation_id, "Hello from the pool")

    assert await deliver_message(twilio_services, reply_id) == "queued"

    [sent] = fake_twilio.messages()
    assert (sent.get("MessagingServiceSid"), sent.get("From")) == (service, "+15550004444")
