"""What the admins' Twilio numbers page relies on, through the running app: the number's
last webhook time is noted for a correctly signed message only (a test request from
"Test the webhook URL" is answered with its one-time value and creates nothing), the list
shows the URL to paste into Twilio, and the refusals (agents, another organization's
number, a malformed number) are 4xx with a sentence. Then the test itself against real
loopback servers: nothing listening, something that is not Switchboard, a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from quart import Quart
from sqlalchemy import func, select

from gateway.models import Message, Organization
from gateway.runtime import Services
from messaging.twilio.numbers import add_number
from messaging.twilio.webhook_check import CHECK_HEADER, check_form, check_webhook
from tests.desk.api.helpers import client_for
from tests.support.factories import make_agent, make_org
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    incoming_params,
    post_signed,
)
from tests.support.ports import free_port

INBOUND_URL = PUBLIC_URL + "/twilio/sms"


async def test_only_a_real_message_counts_as_twilio_reaching_the_number(
    twilio_app: Quart,
    twilio_services: Services,
    org: Organization,
    account: Account,
    business_number: str,
) -> None:
    admin = await make_agent(twilio_services.db, org, role="admin")
    client, csrf = await client_for(twilio_app, twilio_services.db, admin)
    probe = check_form(BUSINESS, account.sid, "one-time-value")

    checked = await post_signed(twilio_app.test_client(), INBOUND_URL, probe, account.token)
    listed = await (await client.get("/api/twilio/numbers", headers=csrf)).get_json()

    assert checked.status_code == 200
    assert checked.headers[CHECK_HEADER] == "one-time-value"
    async with twilio_services.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
    assert listed["incoming_url"] == INBOUND_URL
    assert listed["public_url_set"] is True
    assert [(n["number"], n["last_webhook_at"]) for n in listed["numbers"]] == [(BUSINESS, None)]

    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Open on Sunday?")
    assert (
        await post_signed(twilio_app.test_client(), INBOUND_URL, params, account.token)
    ).status_code == 200
    listed = await (await client.get("/api/twilio/numbers", headers=csrf)).get_json()
    assert listed["numbers"][0]["last_webhook_at"] is not None

    odd = check_form(BUSINESS, account.sid, "line\nbreak")
    refused = await post_signed(twilio_app.test_client(), INBOUND_URL, odd, account.token)
    assert refused.status_code == 400 and CHECK_HEADER not in refused.headers
    forged = await post_signed(twilio_app.test_client(), INBOUND_URL, probe, "a" * 32)
    assert forged.status_code == 403 and CHECK_HEADER not in forged.headers


async def test_the_numbers_api_refuses_agents_strangers_and_nonsense_in_sentences(
    twilio_app: Quart, twilio_services: Services, org: Organization, account: Account
) -> None:
    db = twilio_services.db
    other = await make_org(db, "elsewhere")
    await add_number(db, other.id, BUSINESS, account.sid, account.token)
    admin = await make_agent(db, org, role="admin")
    agent = await make_agent(db, org, role="agent")
    client, csrf = await client_for(twilio_app, db, admin)
    agent_client, agent_csrf = await client_for(twilio_app, db, agent)

    for method, path in (("GET", "/api/twilio/numbers"), ("POST", "/api/twilio/numbers/check")):
        refused = await agent_client.open(path, method=method, headers=agent_csrf, json={})
        assert refused.status_code == 403
    theirs = await client.post("/api/twilio/numbers/check", headers=csrf, json={"number": BUSINESS})
    nonsense = await client.post(
        "/api/twilio/numbers/check", headers=csrf, json={"number": "call me"}
    )
    missing = await client.post("/api/twilio/numbers/check", headers=csrf, json={})

    assert theirs.status_code == 404
    assert (await theirs.get_json())["message"] == f"{BUSINESS} is not one of your numbers"
    assert nonsense.status_code == 400
    assert "is not a phone number in E.164 form" in (await nonsense.get_json())["message"]
    assert missing.status_code == 400


async def _empty_twiml(request: web.Request) -> web.Response:
    return web.Response(text="<Response/>")


@pytest.fixture
async def not_switchboard() -> AsyncIterator[str]:
    """A loopback web server that answers 200 at /twilio/sms, without the check's value."""
    app = web.Application()
    app.router.add_post("/twilio/sms", _empty_twiml)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_the_webhook_test_says_what_went_wrong(not_switchboard: str) -> None:
    token, sid = "t" * 32, "AC" + "0" * 32

    closed = await check_webhook(f"http://127.0.0.1:{free_port()}/twilio/sms", BUSINESS, sid, token)
    impostor = await check_webhook(f"{not_switchboard}/twilio/sms", BUSINESS, sid, token)
    wrong_path = await check_webhook(f"{not_switchboard}/sms", BUSINESS, sid, token)

    assert not closed.ok
    assert closed.message.startswith("Nothing answered at 127.0.0.1.")
    assert not impostor.ok
    assert impostor.message.endswith("but it is not this Switchboard.")
    assert not wrong_path.ok
    assert "answered “404 Not Found”" in wrong_path.message
