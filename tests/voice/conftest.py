"""Fixtures for the voice channel's tests: the shared Twilio set-up (the loopback Twilio API
with messages and calls, the app behind the public URL Twilio signs; see
tests/support/twilio_fixtures.py), a business number with two agents as transfer targets,
a caller who plays calls against the app, and a worker process for the AI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import update

from gateway.models import Agent, Organization
from gateway.runtime import Services
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from tests.support.call_simulator import Caller
from tests.support.factories import make_agent
from tests.support.fake_twilio import (
    CUSTOMER,
    Account,
    FakeTwilio,
    worker_running,
    worker_settings,
)
from tests.support.twilio_fixtures import (
    account,
    fake_twilio,
    register_business_number,
    twilio_app,
    twilio_services,
)

__all__ = ["account", "fake_twilio", "twilio_app", "twilio_services"]

DANA_PHONE = "+15550002222"
SAM_PHONE = "+15550003333"


@pytest.fixture
def voice_services(twilio_services: Services) -> Services:
    return twilio_services


@pytest.fixture
def voice_app(twilio_app: Quart) -> Quart:
    return twilio_app


@pytest.fixture
async def agents(voice_services: Services, org: Organization) -> tuple[Agent, Agent]:
    dana = await make_agent(voice_services.db, org, name="Dana")
    sam = await make_agent(voice_services.db, org, name="Sam")
    return dana, sam


async def set_voice(services: Services, org: Organization, **voice: Any) -> None:
    async with services.db.transaction() as session:
        current = await session.get(Organization, org.id)
        assert current is not None
        settings = dict(current.settings or {})
        settings["voice"] = {**settings.get("voice", {}), **voice}
        await session.execute(
            update(Organization).where(Organization.id == org.id).values(settings=settings)
        )


@pytest.fixture
async def business_number(
    voice_services: Services, org: Organization, account: Account, agents: tuple[Agent, Agent]
) -> str:
    dana, sam = agents
    number = await register_business_number(voice_services, org, account)
    await load_knowledge(voice_services.db, org.id, demo_knowledge_paths())
    await set_voice(
        voice_services,
        org,
        transfer_targets=[
            {"number": DANA_PHONE, "agent_id": dana.id, "label": "Dana"},
            {"number": SAM_PHONE, "agent_id": sam.id, "label": "Sam"},
        ],
        ring_timeout_seconds=15,
    )
    return number


@pytest.fixture
def caller(voice_app: Quart, account: Account, business_number: str) -> Caller:
    return Caller(voice_app.test_client(), account, CUSTOMER, business_number)


@pytest.fixture
def worker(
    voice_services: Services, redis_url: str, fake_twilio: FakeTwilio, tmp_path: Any
) -> Iterator[None]:
    env = worker_settings(fake_twilio, str(tmp_path))
    with worker_running(voice_services.db.url, redis_url, env):
        yield
