"""Status callbacks through the running app: signed like Twilio signs them (over the
StatusCallback URL we gave, with its query string), they move each message forward only,
fail it visibly with Twilio's error code, and tell the live pages."""

from __future__ import annotations

import asyncio
import json

import pytest
from quart import Quart
from sqlalchemy import select

from gateway.delivery import deliver_message
from gateway.events import org_channel
from gateway.messages import SendResult
from gateway.models import Conversation, Message
from gateway.outbound import queue_outbound
from gateway.runtime import Services
from messaging.twilio import outbound as twilio_outbound
from messaging.twilio.models import TwilioMessagePart
from tests.support.fake_twilio import (
    Account,
    FakeTwilio,
    Sent,
    post_signed,
    receive,
    status_params,
)


async def sent_reply(
    services: Services,
    fake: FakeTwilio,
    organization_id: int,
    account: Account,
    text: str,
    channel: str = "sms",
) -> tuple[int, list[Sent]]:
    received = await receive(services, organization_id, account, "Hello", channel=channel)
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        reply = await queue_outbound(session, services.jobs, conversation, author="ai", text=text)
    before = len(fake.messages())
    assert await deliver_message(services, reply.id) == "queued"
    return reply.id, fake.messages()[before:]


async def callback(app: Quart, account: Account, sent: Sent, status: str, **kwargs: str):  # type: ignore[no-untyped-def]
    url = sent.get("StatusCallback")
    assert url is not None
    params = status_params(sent, status, kwargs.get("error_code"))
    return await post_signed(app.test_client(), url, params, account.token)


async def state_of(services: Services, message_id: int) -> tuple[str, str | None]:
    async with services.db.transaction() as session:
        found = await session.get(Message, message_id)
    assert found is not None
    return found.delivery_status, found.error_code


async def posted_together(app: Quart, account: Account, calls: list[tuple[Sent, str]]) -> None:
    """Each (part, status) callback posted at the same moment; each must be taken."""
    answers = await asyncio.gather(
        *(callback(app, account, sent, status) for sent, status in calls)
    )
    assert [answer.status_code for answer in answers] == [200] * len(calls)


async def states_of(
    services: Services, replies: list[tuple[int, list[Sent]]]
) -> set[tuple[str, str | None]]:
    return {await state_of(services, reply_id) for reply_id, _ in replies}


async def test_callbacks_move_a_message_forward_only_and_reach_the_live_pages(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    reply_id, [sent] = await sent_reply(twilio_services, fake_twilio, org.id, account, "Hi!")
    seen = []
    async with twilio_services.events.redis.pubsub() as pubsub:
        await pubsub.subscribe(org_channel(org.id))
        await pubsub.get_message(timeout=1)
        for status in ("sent", "delivered", "sent", "queued"):  # the last two arrive late
            assert (await callback(twilio_app, account, sent, status)).status_code == 200
            seen.append(await state_of(twilio_services, reply_id))
        events = []
        while pushed := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5):
            events.append(json.loads(pushed["data"]))

    assert seen == [("sent", None), ("delivered", None), ("delivered", None), ("delivered", None)]
    deliveries = [event["data"] for event in events if event["type"] == "delivery"]
    assert [(d["message_id"], d["status"]) for d in deliveries] == [
        (reply_id, "sent"),
        (reply_id, "delivered"),
    ]


async def test_whatsapp_reports_read(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    reply_id, [sent] = await sent_reply(
        twilio_services, fake_twilio, org.id, account, "Hola", channel="whatsapp"
    )
    for status in ("sent", "delivered", "read"):
        await callback(twilio_app, account, sent, status)
    assert await state_of(twilio_services, reply_id) == ("read", None)


async def test_an_undelivered_message_shows_why_and_flags_the_conversation(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    reply_id, [sent] = await sent_reply(twilio_services, fake_twilio, org.id, account, "Hi!")

    await callback(twilio_app, account, sent, "sent")
    response = await callback(twilio_app, account, sent, "undelivered", error_code="30003")

    assert response.status_code == 200
    async with twilio_services.db.transaction() as session:
        stored = await session.get(Message, reply_id)
        conversation = await session.get(Conversation, stored.conversation_id if stored else 0)
    assert stored is not None and conversation is not None
    assert (stored.delivery_status, stored.error_code) == ("undelivered", "30003")
    assert "unreachable" in (stored.error_message or "")
    assert "30003" in (stored.error_detail or "")
    assert conversation.needs_attention and "unreachable" in (conversation.attention_reason or "")


async def test_a_long_message_is_delivered_when_all_its_parts_are(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    text = "This sentence is forty characters long. " * 60
    reply_id, parts = await sent_reply(twilio_services, fake_twilio, org.id, account, text)
    assert len(parts) == 2

    await callback(twilio_app, account, parts[0], "delivered")
    halfway = await state_of(twilio_services, reply_id)
    await callback(twilio_app, account, parts[1], "delivered")

    assert halfway == ("queued", None)
    assert await state_of(twilio_services, reply_id) == ("delivered", None)


async def test_forged_foreign_and_unknown_callbacks_change_nothing(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    reply_id, [sent] = await sent_reply(twilio_services, fake_twilio, org.id, account, "Hi!")
    client = twilio_app.test_client()
    url = sent.get("StatusCallback") or ""
    delivered = status_params(sent, "delivered")
    stranger = fake_twilio.add_account()
    async with twilio_services.db.transaction() as session:
        part_id = (await session.scalars(select(TwilioMessagePart.id))).one()

    answers = {
        "unsigned": await client.post(url.split(".test", 1)[1], form=delivered),
        "forged": await post_signed(client, url, delivered, stranger.token),
        # a genuine callback for this part, replayed against another part's URL
        "other part": await post_signed(
            client, url.replace(f"part={part_id}", f"part={part_id + 1}"), delivered, account.token
        ),
        "other message": await post_signed(
            client, url, {**delivered, "MessageSid": "SM" + "f" * 32}, account.token
        ),
    }

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "unsigned": 403,
        "forged": 403,
        "other part": 404,
        "other message": 400,
    }
    assert await state_of(twilio_services, reply_id) == ("queued", None)


async def test_callbacks_arriving_together_still_move_a_message_forward_only(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    """Posted at the same moment, "delivered" and "read": whichever is applied second
    sees what the first wrote, so the message ends "read", never back at "delivered"."""
    replies = [
        await sent_reply(
            twilio_services, fake_twilio, org.id, account, f"Hola {n}", channel="whatsapp"
        )
        for n in range(8)
    ]
    for _, [sent] in replies:
        await posted_together(twilio_app, account, [(sent, "read"), (sent, "delivered")])
    assert await states_of(twilio_services, replies) == {("read", None)}


async def test_the_parts_of_a_long_message_delivered_together_deliver_it(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    """Each part's callback combines the parts' states: two applied at once must each see
    the other's, or the message stays short of "delivered" with every part delivered."""
    text = "This sentence is forty characters long. " * 60
    replies = [
        await sent_reply(twilio_services, fake_twilio, org.id, account, f"{n} {text}")
        for n in range(6)
    ]
    for _, parts in replies:
        assert len(parts) == 2
        await posted_together(twilio_app, account, [(part, "delivered") for part in parts])
    assert await states_of(twilio_services, replies) == {("delivered", None)}


async def test_a_callback_that_beats_the_sends_own_answer_is_kept(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twilio's "delivered" lands after the send read the parts' states but before it
    recorded the message's: the send's older "queued" must not overwrite it."""
    received = await receive(twilio_services, org.id, account, "Hello")
    async with twilio_services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        reply = await queue_outbound(
            session, twilio_services.jobs, conversation, author="ai", text="Hi!"
        )
    read_parts = twilio_outbound._result

    async def delivered_meanwhile(services: Services, message_id: int) -> SendResult:
        result = await read_parts(services, message_id)
        [sent] = fake_twilio.messages()[-1:]
        assert (await callback(twilio_app, account, sent, "delivered")).status_code == 200
        return result

    monkeypatch.setattr(twilio_outbound, "_result", delivered_meanwhile)
    assert await deliver_message(twilio_services, reply.id) == "queued"
    assert await state_of(twilio_services, reply.id) == ("delivered", None)
    async with twilio_services.db.read() as session:
        stored = await session.get(Message, reply.id)
    assert stored is not None and stored.provider_message_id == fake_twilio.messages()[-1].sid
