"""`GET /healthz` with the channels: a Twilio webhook accepted by the running app (real
Redis, SQLite and PostgreSQL) shows as the Twilio plug-in's last webhook, whichever
gateway process answers; a refused one does not; email's listener and readers are reported
(tested running in tests/email/test_imap_intake.py); and no number, account or token shows."""

from __future__ import annotations

from datetime import UTC, datetime

from quart import Quart

from gateway.runtime import Services
from server.app import create_app
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    incoming_params,
    post_signed,
)
from tests.support.twilio_fixtures import (
    account,
    fake_twilio,
    register_business_number,
    twilio_app,
    twilio_services,
)

__all__ = ["account", "fake_twilio", "twilio_app", "twilio_services"]


async def test_the_last_accepted_webhook_of_each_plug_in_is_reported(
    twilio_app: Quart, twilio_services: Services, account: Account, org
) -> None:
    await register_business_number(twilio_services, org, account)
    client = twilio_app.test_client()
    first = await (await client.get("/healthz")).get_json()
    assert first["status"] == "ok"
    assert first["channels"]["twilio"] == {"last_webhook_received": None}

    forged = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Forged")
    assert (
        await post_signed(client, PUBLIC_URL + "/twilio/sms", forged, "wrong")
    ).status_code == 403
    refused = await (await client.get("/healthz")).get_json()
    assert refused["channels"]["twilio"] == {"last_webhook_received": None}

    before = datetime.now(UTC).replace(microsecond=0)
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Hello")
    assert (
        await post_signed(client, PUBLIC_URL + "/twilio/sms", params, account.token)
    ).status_code == 200

    other_process = create_app(twilio_services.settings)  # another gateway process
    async with other_process.test_app():
        response = await other_process.test_client().get("/healthz")
    assert response.status_code == 200
    body = await response.get_json()
    received = datetime.fromisoformat(body["channels"]["twilio"]["last_webhook_received"])
    assert before <= received <= datetime.now(UTC)
    assert set(body["channels"]) >= {"twilio", "webchat", "email"}
    # no mail listener or reader runs in this test: email says so
    assert body["channels"]["email"]["inbound_listening"] is False
    assert body["channels"]["email"]["imap"] == []
    text = (await response.get_data()).decode()
    for secret in (account.token, account.sid, BUSINESS, CUSTOMER):
        assert secret not in text
