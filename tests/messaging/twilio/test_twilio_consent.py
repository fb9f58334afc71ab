"""Consent: STOP and its synonyms (or Twilio's OptOutType) opt the customer out; the STOP
is kept but never answered; after it nothing more reaches that number by any path, and
the queue page can say why. START opts back in, HELP is answered with the organization's
help text, and Twilio's error 21610 also records the opt-out."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import func, select, update

from gateway import consent
from gateway.consent import consent_for
from gateway.delivery import deliver_message
from gateway.errors import PermanentDeliveryError
from gateway.events import org_channel
from gateway.messages import OutboundMessage
from gateway.models import Conversation, Message, Organization, Transition, utcnow
from gateway.org_settings import OrganizationSettings
from gateway.outbound import queue_outbound
from gateway.reachability import unreachable_reason
from gateway.reconciler import reconcile
from gateway.runtime import Services
from handoff import actions
from handoff.ai.turn import ai_turn
from handoff.routing import route_message
from messaging.twilio import inbound
from tests.support.api import logged_in
from tests.support.factories import make_agent, make_org
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    incoming_params,
    messages_in,
    post_signed,
    receive,
    status_params,
)

INBOUND_URL = PUBLIC_URL + "/twilio/sms"


async def conversation_of(services: Services, conversation_id: int) -> Conversation:
    async with services.db.transaction() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


async def reason(services: Services, conversation_id: int) -> str | None:
    conversation = await conversation_of(services, conversation_id)
    async with services.db.transaction() as session:
        return await unreachable_reason(session, conversation, services.channels)


async def deliver_pending(services: Services, conversation_id: int) -> list[str]:
    """Run delivery for every outbound message still pending; returns the outcomes."""
    pending = [
        m.id
        for m in await messages_in(services, conversation_id)
        if m.direction == "outbound" and m.delivery_status == "pending"
    ]
    return [await deliver_message(services, message_id) for message_id in pending]


async def stop(services: Services, org: Organization, account: Account, word: str = "STOP"):  # type: ignore[no-untyped-def]
    received = await receive(services, org.id, account, word)
    assert await route_message(services, received.message_id) == "no-reply"
    return received


async def test_stop_is_kept_unanswered_and_says_why_nothing_can_be_sent(
    twilio_services: Services, account: Account, org, business_number
) -> None:
    async with twilio_services.events.redis.pubsub() as pubsub:
        await pubsub.subscribe(org_channel(org.id))
        await pubsub.get_message(timeout=1)
        received = await stop(twilio_services, org, account, "  Stop. ")
        events = []
        while pushed := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5):
            events.append(json.loads(pushed["data"]))

    [kept] = await messages_in(twilio_services, received.conversation_id)
    assert (kept.author, kept.text) == ("customer", "  Stop. ")
    assert kept.meta["consent"] == "opt_out" and kept.meta["no_reply"] is True
    why = await reason(twilio_services, received.conversation_id)
    assert why is not None and 'replied "STOP"' in why and "START" in why
    consent = [event for event in events if event["type"] == "consent"]
    assert consent and consent[0]["data"]["opted_out"] is True


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit!"])
async def test_every_opt_out_keyword_opts_out(
    twilio_services: Services, account: Account, org, business_number, word: str
) -> None:
    received = await stop(twilio_services, org, account, word)
    assert await reason(twilio_services, received.conversation_id) is not None


async def test_a_sentence_mentioning_stop_is_an_ordinary_message(
    twilio_services: Services, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "please stop the delivery")
    assert await route_message(twilio_services, received.message_id) != "no-reply"
    assert await reason(twilio_services, received.conversation_id) is None


async def test_twilios_opt_out_type_decides_for_other_languages(
    twilio_services: Services, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "ARRET", OptOutType="STOP")
    assert await route_message(twilio_services, received.message_id) == "no-reply"
    async with twilio_services.db.transaction() as session:
        record = await consent_for(session, org.id, "phone", CUSTOMER)
    assert record is not None and record.opted_out and record.source == "opt_out_type"


# --- after STOP, nothing more is sent, whatever the path ----------------------------------


async def test_after_stop_the_ai_sends_nothing(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    await stop(twilio_services, org, account)
    later = await receive(twilio_services, org.id, account, "What are your opening hours?")

    assert await route_message(twilio_services, later.message_id) != "ai"
    # An AI job queued before the STOP still runs; its reply must not go out either.
    assert await ai_turn(twilio_services, later.conversation_id, 1) is not None
    outcomes = await deliver_pending(twilio_services, later.conversation_id)

    assert outcomes and set(outcomes) == {"refused"}
    assert fake_twilio.attempts == 0


async def test_after_stop_an_agent_reply_is_refused_before_anything_is_stored(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    received = await stop(twilio_services, org, account)
    agent = await make_agent(twilio_services.db, org)
    client, csrf = await logged_in(twilio_app, agent)

    answer = await client.post(
        f"/api/conversations/{received.conversation_id}/reply",
        json={"text": "Are you still there?"},
        headers=csrf,
    )

    body = await answer.get_json()
    assert answer.status_code == 409
    assert body["error"] == "opted_out" and 'replied "STOP"' in body["message"]
    assert [m.author for m in await messages_in(twilio_services, received.conversation_id)] == [
        "customer"
    ]
    async with twilio_services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Transition)) == 0
    assert (await conversation_of(twilio_services, received.conversation_id)).state == "ai"
    assert fake_twilio.attempts == 0


async def test_after_stop_notices_to_the_customer_are_not_sent(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    waiting = await receive(twilio_services, org.id, account, "I want to talk to a person")
    assert await route_message(twilio_services, waiting.message_id) == "queued"
    await stop(twilio_services, org, account)
    agent = await make_agent(twilio_services.db, org)

    await actions.claim(twilio_services, agent, waiting.conversation_id)
    await actions.resolve(twilio_services, agent, waiting.conversation_id, "Bye!")
    outcomes = await deliver_pending(twilio_services, waiting.conversation_id)

    assert len(outcomes) == 3 and set(outcomes) == {"refused"}  # handoff, joined, resolved
    assert fake_twilio.attempts == 0


async def test_after_stop_a_reply_queued_earlier_is_not_sent(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "Hello")
    async with twilio_services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        earlier = await queue_outbound(
            session, twilio_services.jobs, conversation, author="ai", text="Hi! How can I help?"
        )
    await stop(twilio_services, org, account)

    assert await deliver_message(twilio_services, earlier.id) == "refused"
    assert fake_twilio.attempts == 0


async def test_after_stop_help_is_not_answered(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    await stop(twilio_services, org, account)
    help_request = await receive(twilio_services, org.id, account, "HELP")

    assert await route_message(twilio_services, help_request.message_id) == "no-reply"
    assert await deliver_pending(twilio_services, help_request.conversation_id) == []
    assert fake_twilio.attempts == 0


async def test_after_stop_the_adapter_itself_refuses(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    received = await stop(twilio_services, org, account)
    outbound = OutboundMessage(
        message_id=received.message_id,
        organization_id=org.id,
        conversation_id=received.conversation_id,
        channel="sms",
        recipient_kind="phone",
        recipient_address=CUSTOMER,
        author="agent",
        text="sneaking past delivery",
        thread_key=BUSINESS,
    )

    with pytest.raises(PermanentDeliveryError) as refused:
        await twilio_services.channels.get("sms").send(outbound)

    assert refused.value.provider_code == "opted_out"
    assert fake_twilio.attempts == 0


# --- back in, help, and Twilio's own refusal ---------------------------------------------


async def test_start_opts_back_in_and_a_late_retry_of_stop_does_not_undo_it(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    from tests.support.fake_twilio import PUBLIC_URL, incoming_params

    client = twilio_app.test_client()
    url = PUBLIC_URL + "/twilio/sms"
    stop_params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="STOP")
    start_params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="start")
    for params in (stop_params, start_params, stop_params):  # Twilio retries the STOP late
        assert (await post_signed(client, url, params, account.token)).status_code == 200
    async with twilio_services.db.transaction() as session:
        conversation_id = (await session.scalars(select(Conversation.id))).one()

    assert await reason(twilio_services, conversation_id) is None
    agent = await make_agent(twilio_services.db, org)
    reply = await actions.reply(twilio_services, agent, conversation_id, "Welcome back!")
    assert await deliver_message(twilio_services, reply.id) == "queued"
    assert len(fake_twilio.messages()) == 1


async def test_stop_and_start_applied_together_leave_the_newer_one(
    twilio_services: Services, account: Account, org, business_number, monkeypatch
) -> None:
    """The customer opted out and back in before; now a STOP and then a START are applied
    at the same moment, each having read the address's consent before either writes. The
    START, the newer message, decides, in the record and in the flag every send checks."""
    from messaging.twilio.inbound import after_receive, parse_webhook
    from tests.support.factories import intake_for
    from tests.support.fake_twilio import incoming_params

    await stop(twilio_services, org, account)
    await receive(twilio_services, org.id, account, "START")
    inbounds = [
        parse_webhook(
            "sms", org.id, incoming_params(account, from_=CUSTOMER, to=BUSINESS, body=word)
        )
        for word in ("STOP", "START")
    ]
    received = [await intake_for(twilio_services).receive(inbound) for inbound in inbounds]
    arrived: list[object] = []
    together = asyncio.Event()
    read = consent.opted_out_at

    async def read_together(*args: Any) -> Any:  # both read, then both write
        arrived.append(args)
        if len(arrived) == 2:
            together.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(together.wait(), 1)
        return await read(*args)

    monkeypatch.setattr(consent, "opted_out_at", read_together)
    await asyncio.gather(
        *(
            after_receive(twilio_services, inbound, done)
            for inbound, done in zip(inbounds, received, strict=True)
        )
    )
    monkeypatch.undo()

    async with twilio_services.db.transaction() as session:
        record = await consent_for(session, org.id, "phone", CUSTOMER)
    assert record is not None
    assert (record.opted_out, record.message_id) == (False, received[1].message_id)
    assert await reason(twilio_services, received[1].conversation_id) is None


async def test_help_is_answered_with_the_organizations_help_text(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, business_number, db
) -> None:
    from messaging.twilio.numbers import add_number

    shop = await make_org(db, "shop", help_text="Shop support: call 555-0100. Reply STOP to end.")
    await add_number(db, shop.id, "+15550007777", account.sid, account.token)
    received = await receive(twilio_services, shop.id, account, "help", to="+15550007777")

    assert await route_message(twilio_services, received.message_id) == "no-reply"
    assert await deliver_pending(twilio_services, received.conversation_id) == ["queued"]
    [sent] = fake_twilio.messages()
    assert sent.get("Body") == "Shop support: call 555-0100. Reply STOP to end."
    assert (sent.get("From"), sent.get("To")) == ("+15550007777", CUSTOMER)


async def test_twilio_error_21610_on_sending_records_the_opt_out(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    fake_twilio.refuse(CUSTOMER, 21610)
    received = await receive(twilio_services, org.id, account, "Hello")
    async with twilio_services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        reply = await queue_outbound(
            session, twilio_services.jobs, conversation, author="ai", text="Hi!"
        )

    assert await deliver_message(twilio_services, reply.id) == "failed"

    async with twilio_services.db.transaction() as session:
        failed = await session.get(Message, reply.id)
    assert failed is not None and failed.error_code == "21610"
    why = await reason(twilio_services, received.conversation_id)
    assert why is not None and "21610" in why


async def test_twilio_error_21610_in_a_status_callback_records_the_opt_out(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    received = await receive(twilio_services, org.id, account, "Hello")
    async with twilio_services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None
        reply = await queue_outbound(
            session, twilio_services.jobs, conversation, author="ai", text="Hi!"
        )
    await deliver_message(twilio_services, reply.id)
    [sent] = fake_twilio.messages()

    answer = await post_signed(
        twilio_app.test_client(),
        sent.get("StatusCallback") or "",
        status_params(sent, "failed", "21610"),
        account.token,
    )

    assert answer.status_code == 200
    why = await reason(twilio_services, received.conversation_id)
    assert why is not None and "21610" in why


async def test_help_whose_request_died_before_its_answer_is_answered_once_on_twilios_retry(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    business_number: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request that brought a HELP died before its answer was queued (storing the answer
    fails once, as when the process stops there). Twilio sends the webhook again: the
    customer gets the help text once, however often Twilio repeats it, and a reconciler
    pass long after (every job lost meanwhile) sends nothing more."""
    queue_answer, failures = inbound.queue_outbound, []

    async def dying_once(*args: Any, **kwargs: Any) -> Message:
        if not failures:
            failures.append("the request died here")
            raise ConnectionError("the database connection was lost")
        return await queue_answer(*args, **kwargs)

    monkeypatch.setattr(inbound, "queue_outbound", dying_once)
    client = twilio_app.test_client()
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="HELP")

    died = await post_signed(client, INBOUND_URL, params, account.token)
    retried = [await post_signed(client, INBOUND_URL, params, account.token) for _ in range(2)]
    stale = utcnow() - timedelta(minutes=5)
    async with twilio_services.db.transaction() as session:
        await session.execute(update(Message).values(created_at=stale, updated_at=stale))
    twilio_services.jobs.redis.flushdb()
    await reconcile(twilio_services)
    async with twilio_services.db.transaction() as session:
        [help_request] = await session.scalars(select(Message).where(Message.author == "customer"))
    assert await route_message(twilio_services, help_request.id) == "no-reply"
    assert await deliver_pending(twilio_services, help_request.conversation_id) == ["queued"]

    assert died.status_code == 500 and failures
    assert [answer.status_code for answer in retried] == [200, 200]
    help_text = OrganizationSettings().help_text
    assert [sent.get("Body") for sent in fake_twilio.messages()] == [help_text]
