"""The incoming webhook driven through the running app: signed with the real
`RequestValidator` over the public URL Twilio calls, stored once however often Twilio
retries it, and refused with 403 (storing nothing) when the signature is missing, forged
or computed over different parameters."""

from __future__ import annotations

import asyncio

from quart import Quart
from sqlalchemy import func, select

from gateway.models import Conversation, Message
from gateway.queues import INTAKE
from gateway.runtime import Services
from messaging.twilio.numbers import add_number
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    incoming_params,
    post_signed,
    sign,
)

INBOUND_URL = PUBLIC_URL + "/twilio/sms"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


async def stored_messages(services: Services) -> int:
    async with services.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_a_signed_sms_is_stored_and_answered_with_empty_twiml(
    twilio_app: Quart, twilio_services: Services, account: Account, business_number: str
) -> None:
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Do you open on Sunday?")

    response = await post_signed(twilio_app.test_client(), INBOUND_URL, params, account.token)

    assert response.status_code == 200
    assert response.content_type.startswith("text/xml")
    assert await response.get_data() == EMPTY_TWIML
    async with twilio_services.db.transaction() as session:
        message = (await session.scalars(select(Message))).one()
        conversation = await session.get(Conversation, message.conversation_id)
    assert message.text == "Do you open on Sunday?"
    assert message.channel == "sms"
    assert message.provider_message_id == params["MessageSid"]
    assert conversation is not None
    assert (conversation.address_kind, conversation.address) == ("phone", CUSTOMER)
    assert conversation.thread_key == BUSINESS  # replies leave from the number it came to
    assert twilio_services.jobs.queue(INTAKE).count == 1  # the routing job; the AI runs later


async def test_forged_missing_and_tampered_signatures_are_refused_and_store_nothing(
    twilio_app: Quart, twilio_services: Services, account: Account, business_number: str
) -> None:
    client = twilio_app.test_client()
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Hi")
    forged = {"X-Twilio-Signature": sign("not-the-auth-token", INBOUND_URL, params)}
    changed = {**params, "Body": "Send me the refund"}

    answers = [
        await client.post("/twilio/sms", form=params),  # no signature at all
        await client.post("/twilio/sms", form=params, headers=forged),
        # a signature Twilio made for this request, replayed with a changed body
        await post_signed(client, INBOUND_URL, changed, account.token, signed_params=params),
        # signed over the URL this server sees, not the public one Twilio called
        await post_signed(client, "http://localhost/twilio/sms", params, account.token),
    ]

    assert [answer.status_code for answer in answers] == [403, 403, 403, 403]
    assert [(await answer.get_json())["error"] for answer in answers] == ["bad_signature"] * 4
    assert await stored_messages(twilio_services) == 0
    assert twilio_services.jobs.queue(INTAKE).count == 0


async def test_an_unknown_number_or_another_account_is_refused(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    business_number: str,
) -> None:
    client = twilio_app.test_client()
    stranger = fake_twilio.add_account()
    unknown = incoming_params(account, from_=CUSTOMER, to="+15550009999", body="Hi")
    # Validly signed with another account's token, and naming that account.
    other_account = incoming_params(stranger, from_=CUSTOMER, to=BUSINESS, body="Hi")

    not_registered = await post_signed(client, INBOUND_URL, unknown, account.token)
    foreign = await post_signed(client, INBOUND_URL, other_account, stranger.token)

    assert not_registered.status_code == 404
    assert foreign.status_code == 403
    assert await stored_messages(twilio_services) == 0


async def test_a_stranger_learns_nothing_about_which_numbers_are_registered(
    twilio_app: Quart, twilio_services: Services, account: Account, business_number: str
) -> None:
    """Unsigned or wrongly signed, a webhook gets the very same 403 whether its `To` is a
    registered number or not; only a caller holding the account's auth token hears 404."""
    client = twilio_app.test_client()
    answers: dict[str, list[tuple[int, object]]] = {}
    for to in (BUSINESS, "+15550009999"):
        params = incoming_params(account, from_=CUSTOMER, to=to, body="Hi")
        forged = {"X-Twilio-Signature": sign("not-the-auth-token", INBOUND_URL, params)}
        unsigned = await client.post("/twilio/sms", form=params)
        wrong = await client.post("/twilio/sms", form=params, headers=forged)
        answers[to] = [(a.status_code, await a.get_json()) for a in (unsigned, wrong)]
    status_answers = []
    for part in ("1", "999999", "nonsense"):
        params = {"AccountSid": account.sid, "MessageSid": "SM1", "MessageStatus": "delivered"}
        url = f"{PUBLIC_URL}/twilio/sms/status?part={part}"
        forged = {"X-Twilio-Signature": sign("not-the-auth-token", url, params)}
        answer = await client.post(f"/twilio/sms/status?part={part}", form=params, headers=forged)
        status_answers.append((answer.status_code, await answer.get_json()))

    assert answers[BUSINESS] == answers["+15550009999"]
    assert [status for status, _ in answers[BUSINESS]] == [403, 403]
    assert len({str(answer) for answer in status_answers}) == 1
    assert status_answers[0][0] == 403
    assert await stored_messages(twilio_services) == 0


async def test_a_retried_message_sid_is_stored_once(
    twilio_app: Quart, twilio_services: Services, account: Account, business_number: str
) -> None:
    client = twilio_app.test_client()
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Where is my order?")

    first = await post_signed(client, INBOUND_URL, params, account.token)
    retry = await post_signed(client, INBOUND_URL, params, account.token)

    assert (first.status_code, retry.status_code) == (200, 200)
    assert await retry.get_data() == EMPTY_TWIML
    assert await stored_messages(twilio_services) == 1
    assert twilio_services.jobs.queue(INTAKE).count == 1


async def test_a_thousand_concurrent_deliveries_of_one_message_sid_store_one_message(
    twilio_app: Quart, twilio_services: Services, account: Account, business_number: str
) -> None:
    client = twilio_app.test_client()
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Hello?")

    answers = await asyncio.gather(
        *(post_signed(client, INBOUND_URL, params, account.token) for _ in range(1000))
    )

    assert {answer.status_code for answer in answers} == {200}
    assert await stored_messages(twilio_services) == 1
    async with twilio_services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 1
    assert twilio_services.jobs.queue(INTAKE).count == 1


async def test_whatsapp_messages_arrive_on_the_same_endpoint_as_their_own_channel(
    twilio_app: Quart, twilio_services: Services, account: Account, business_number: str
) -> None:
    params = incoming_params(
        account,
        from_=f"whatsapp:{CUSTOMER}",
        to=f"whatsapp:{BUSINESS}",
        body="Hola",
        ProfileName="Ana",
        WaId=CUSTOMER.lstrip("+"),
    )

    response = await post_signed(twilio_app.test_client(), INBOUND_URL, params, account.token)

    assert response.status_code == 200
    async with twilio_services.db.transaction() as session:
        conversation = (await session.scalars(select(Conversation))).one()
    assert conversation.channel == "whatsapp"
    assert (conversation.address_kind, conversation.address) == ("whatsapp", CUSTOMER)
    assert conversation.thread_key == BUSINESS


async def test_numbers_of_a_messaging_service_pool_and_of_a_subaccount_validate(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    org,
) -> None:
    client = twilio_app.test_client()
    parent = fake_twilio.add_account()
    subaccount = fake_twilio.add_account()
    service = "MG" + "ab" * 16
    await add_number(twilio_services.db, org.id, service, parent.sid, parent.token)
    await add_number(twilio_services.db, org.id, "+15550002222", subaccount.sid, subaccount.token)
    pooled = incoming_params(
        parent, from_=CUSTOMER, to="+15550003333", body="via the pool", MessagingServiceSid=service
    )
    sub = incoming_params(subaccount, from_=CUSTOMER, to="+15550002222", body="via the sub")

    via_pool = await post_signed(client, INBOUND_URL, pooled, parent.token)
    via_sub = await post_signed(client, INBOUND_URL, sub, subaccount.token)
    sub_signed_by_parent = await post_signed(
        client, INBOUND_URL, {**sub, "MessageSid": "SM" + "0" * 32}, parent.token
    )

    assert (via_pool.status_code, via_sub.status_code) == (200, 200)
    assert sub_signed_by_parent.status_code == 403
    async with twilio_services.db.transaction() as session:
        threads = sorted((await session.scalars(select(Conversation.thread_key))).all())
    assert threads == ["+15550002222", "+15550003333"]


async def test_behind_a_proxy_the_forwarded_url_counts_only_when_trusted(
    twilio_services: Services, account: Account, business_number: str
) -> None:
    from server.app import create_app

    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "gw.example.org"}
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Hi")
    results = {}
    for trusted in (True, False):
        settings = twilio_services.settings.model_copy(
            update={"public_url": None, "trust_forwarded_headers": trusted}
        )
        app = create_app(settings)
        async with app.test_app():
            response = await post_signed(
                app.test_client(),
                "https://gw.example.org/twilio/sms",
                {**params, "MessageSid": f"SM{trusted:032d}"},
                account.token,
                headers=forwarded,
            )
            direct = await post_signed(
                app.test_client(),
                "http://localhost/twilio/sms",
                {**params, "MessageSid": f"SM{2 + trusted:032d}"},
                account.token,
            )
        results[trusted] = (response.status_code, direct.status_code)

    # Trusted: the proxy's headers rebuild the URL Twilio called. Not trusted: only the
    # URL this server saw counts, and a client cannot talk its way past it with headers.
    assert results == {True: (200, 200), False: (403, 200)}
