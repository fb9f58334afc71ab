"""WhatsApp's 24-hour customer-care window: free-form replies go out while it is open;
outside it an agent's reply is refused with a clear message before anything is stored,
and any other message (the AI's, a notice) fails visibly instead of reaching Twilio."""

from __future__ import annotations

from datetime import timedelta

from quart import Quart
from sqlalchemy import func, select, update

from gateway.delivery import deliver_message
from gateway.models import Conversation, Message, Transition, utcnow
from gateway.outbound import queue_outbound
from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.factories import make_agent
from tests.support.fake_twilio import Account, FakeTwilio, messages_in, receive


async def age(services: Services, conversation_id: int, hours: float) -> None:
    """Pretend the customer's last message is `hours` old."""
    async with services.db.transaction() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_customer_at=utcnow() - timedelta(hours=hours))
        )


async def test_an_agent_reply_goes_out_while_the_window_is_open(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    received = await receive(twilio_services, org.id, account, "Hola", channel="whatsapp")
    await age(twilio_services, received.conversation_id, 23.5)
    client, csrf = await logged_in(twilio_app, await make_agent(twilio_services.db, org))

    answer = await client.post(
        f"/api/conversations/{received.conversation_id}/reply", json={"text": "Hi!"}, headers=csrf
    )

    assert answer.status_code == 201
    message_id = (await answer.get_json())["message"]["id"]
    assert await deliver_message(twilio_services, message_id) == "queued"
    assert len(fake_twilio.messages()) == 1


async def test_outside_the_window_an_agent_reply_is_refused_before_anything_is_stored(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    received = await receive(twilio_services, org.id, account, "Hola", channel="whatsapp")
    await age(twilio_services, received.conversation_id, 25)
    client, csrf = await logged_in(twilio_app, await make_agent(twilio_services.db, org))

    answer = await client.post(
        f"/api/conversations/{received.conversation_id}/reply",
        json={"text": "Sorry for the wait!"},
        headers=csrf,
    )

    body = await answer.get_json()
    assert answer.status_code == 409
    assert body["error"] == "outside_whatsapp_window"
    assert "24 hours" in body["message"] and "write again" in body["message"]
    assert len(await messages_in(twilio_services, received.conversation_id)) == 1
    async with twilio_services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Transition)) == 0
    assert fake_twilio.attempts == 0

    # The customer writes again: the window reopens and the reply goes through.
    await receive(twilio_services, org.id, account, "¿Hola?", channel="whatsapp")
    again = await client.post(
        f"/api/conversations/{received.conversation_id}/reply",
        json={"text": "Sorry for the wait!"},
        headers=csrf,
    )
    assert again.status_code == 201


async def test_outside_the_window_other_messages_fail_visibly_without_reaching_twilio(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "Hola", channel="whatsapp")
    async with twilio_services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        late = await queue_outbound(
            session, twilio_services.jobs, conversation, author="ai", text="Here is your answer"
        )
    await age(twilio_services, received.conversation_id, 30)

    assert await deliver_message(twilio_services, late.id) == "failed"

    async with twilio_services.db.transaction() as session:
        failed = await session.get(Message, late.id)
        conversation = await session.get(Conversation, received.conversation_id)
    assert failed is not None and conversation is not None
    assert failed.error_code == "outside_whatsapp_window"
    assert conversation.needs_attention and "24 hours" in (conversation.attention_reason or "")
    assert fake_twilio.attempts == 0
