"""The phone simulator behind `switchboard call`: it sets up a demo organization for
calls, places a signed call to the gateway, hears the greeting and the AI, asks for a
person, plays the agent's phone (ringing, the whisper, pressing 1) through the phone
sandbox that stands in for Twilio's REST API, and comes back to the AI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import update

from gateway.db import Database
from gateway.models import Organization, utcnow
from server.app import create_app
from server.worker import build_channels
from tests.support.factories import job_services, make_agent
from tests.support.fake_twilio import worker_running
from tests.support.ports import free_port
from voice.commands import DEMO_AGENT_PHONE, DEMO_NUMBER, prepare
from voice.models import TransferAttempt
from voice.sandbox import PhoneSandbox
from voice.simulator import AgentCall, Leg, Phone

PUBLIC_URL = "http://127.0.0.1:8080"


@pytest.fixture
async def sandbox() -> AsyncIterator[PhoneSandbox]:
    started = await PhoneSandbox(port=free_port()).start()
    yield started
    await started.stop()


async def test_a_simulated_call_ends_in_a_warm_transfer(
    db: Database, redis_url: str, tmp_path: Any, org: Organization, sandbox: PhoneSandbox
) -> None:
    admin = await make_agent(db, org, role="admin", name="Dana")
    number, account_sid, token, done = await prepare(db, org.slug)
    assert number == DEMO_NUMBER and len(done) == 2
    assert (await prepare(db, org.slug))[3] == []  # a second run changes nothing
    async with job_services(
        db, redis_url, public_url=PUBLIC_URL, twilio_api_base_url=sandbox.base_url, var_dir=tmp_path
    ) as services:
        services.channels = build_channels(services)
        app: Quart = create_app(services.settings)
        async with app.test_app():
            client = app.test_client()

            async def transport(path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
                response = await client.post(
                    path, form=form, headers={"X-Twilio-Signature": signature}
                )
                return response.status_code, (await response.get_data()).decode()

            heard: list[str] = []
            phone = Phone(PUBLIC_URL, account_sid, token, transport, say=heard.append)
            with worker_running(
                db.url,
                redis_url,
                {
                    "SWITCHBOARD_PUBLIC_URL": PUBLIC_URL,
                    "SWITCHBOARD_TWILIO_API_BASE_URL": sandbox.base_url,
                    "SWITCHBOARD_VAR_DIR": str(tmp_path),
                },
            ):
                await phone.dial("+15557654321", number)
                assert phone.listening is not None and "How can I help" in heard[-1]
                await phone.speak(text="I want to talk to a person")
                assert phone.listening is None and phone.hold_url is not None
                ringing = await asyncio.wait_for(sandbox.events.get(), 10)
                assert ringing.kind == "call" and ringing.params["To"] == DEMO_AGENT_PHONE
                agent = AgentCall(
                    phone,
                    Leg(ringing.sid, ringing.params["From"], DEMO_AGENT_PHONE),
                    ringing.params,
                )
                await agent.report("ringing")
                await agent.answer()
                assert any("Press 1" in line for line in heard)
                assert await agent.press("1")
                async with db.transaction() as session:  # they talk a while, then hang up
                    await session.execute(
                        update(TransferAttempt).values(joined_at=utcnow() - timedelta(seconds=60))
                    )
                await phone.conference_over()
    assert phone.listening is not None and "anything else" in heard[-1]
    assert admin.name == "Dana"
