"""The voice settings API and the agents' phones: admins see the URLs to paste into Twilio
and change settings (bad values are refused and nothing is stored); an agent sets their
phone and "available for calls", and an agent who is not available is not dialled."""

from __future__ import annotations

from quart import Quart

from gateway.models import Agent, Organization
from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.call_simulator import Caller
from tests.support.factories import make_agent
from tests.support.fake_twilio import PUBLIC_URL, FakeTwilio
from tests.voice.conftest import set_voice
from tests.voice.helpers import the_call
from voice import transfer
from voice.calls import view_in


async def test_admins_read_and_change_the_voice_settings(
    voice_app: Quart, voice_services: Services, org: Organization
) -> None:
    admin = await make_agent(voice_services.db, org, role="admin", name="Ada")
    client, csrf = await logged_in(voice_app, admin)
    shown = await (await client.get("/api/admin/voice")).get_json()
    assert shown["twilio"] == {
        "voice_url": PUBLIC_URL + "/twilio/voice",
        "status_callback_url": PUBLIC_URL + "/twilio/voice/status",
    }
    assert shown["settings"]["record_calls"] is False  # off by default
    changed = await client.put(
        "/api/admin/voice",
        json={
            "greeting": "Hi, you've reached {business}.",
            "transfer_targets": [{"agent_id": admin.id}],
        },
        headers=csrf,
    )
    assert changed.status_code == 200
    body = await changed.get_json()
    assert body["settings"]["greeting"] == "Hi, you've reached {business}."
    for bad in (
        {"ring_timeout_seconds": 2},
        {"volume": 11},
        {"transfer_targets": [{"number": "555"}]},
    ):
        refused = await client.put("/api/admin/voice", json=bad, headers=csrf)
        assert refused.status_code == 400, bad
    after = await (await client.get("/api/admin/voice")).get_json()
    assert after["settings"] == body["settings"]


async def test_only_admins_see_the_voice_settings(
    voice_app: Quart, voice_services: Services, org: Organization
) -> None:
    agent = await make_agent(voice_services.db, org, name="Al")
    client, csrf = await logged_in(voice_app, agent)
    assert (await client.get("/api/admin/voice")).status_code == 403
    assert (
        await client.put("/api/admin/voice", json={"greeting": "x"}, headers=csrf)
    ).status_code == 403


async def test_an_agent_not_available_for_calls_is_skipped(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    org: Organization,
    agents: tuple[Agent, Agent],
) -> None:
    dana, sam = agents
    await set_voice(
        voice_services, org, transfer_targets=[{"agent_id": dana.id}, {"agent_id": sam.id}]
    )
    for agent, number, available in ((dana, "+15550004444", False), (sam, "+15550005555", True)):
        client, csrf = await logged_in(voice_app, agent)
        put = await client.put(
            "/api/me/phone", json={"number": number, "available_for_calls": available}, headers=csrf
        )
        assert put.status_code == 200, await put.get_json()
    assert (
        await client.put("/api/me/phone", json={"number": "12"}, headers=csrf)
    ).status_code == 400
    await caller.dial_in()
    call, _ = await the_call(voice_services)
    async with voice_services.db.transaction() as session:
        found = await view_in(session, call.id)
        assert found is not None
        targets = await transfer.reachable(session, found)
    assert [target.number for target in targets] == ["+15550005555"]


async def test_the_calls_settings_page_is_for_logged_in_people(
    voice_app: Quart, voice_services: Services, org: Organization
) -> None:
    anonymous = await voice_app.test_client().get("/calls/settings")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/login?next=/calls/settings"
    agent = await make_agent(voice_services.db, org, name="Al")
    client, _ = await logged_in(voice_app, agent)
    page = await client.get("/calls/settings")
    assert page.status_code == 200 and "text/html" in page.content_type
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    body = (await page.get_data()).decode()
    assert 'data-testid="phone-number"' in body and "/calls/assets/settings.js" in body
    script = await client.get("/calls/assets/settings.js")
    assert script.status_code == 200 and "api/me/phone" in (await script.get_data()).decode()
