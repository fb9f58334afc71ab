"""Fixtures for the voice channel's tests: the loopback Twilio API (messages and calls),
the app behind the public URL Twilio signs, a business number with two agents as transfer
targets, a caller who plays calls against the app, and a worker process for the AI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import update

from gateway.db import Database
from gateway.models import Agent, Organization
from gateway.runtime import Services
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from messaging.twilio.numbers import add_number
from server.app import create_app
from server.worker import build_channels
from tests.support.call_simulator import Caller
from tests.support.factories import job_services, make_agent
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    running_fake_twilio,
    worker_running,
    worker_settings,
)

DANA_PHONE = "+15550002222"
SAM_PHONE = "+15550003333"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        yield fake


@pytest.fixture
def account(fake_twilio: FakeTwilio) -> Account:
    return fake_twilio.add_account()


@pytest.fixture
async def voice_services(
    db: Database, redis_url: str, fake_twilio: FakeTwilio, tmp_path: Any
) -> AsyncIterator[Services]:
    async with job_services(
        db,
        redis_url,
        public_url=PUBLIC_URL,
        twilio_api_base_url=fake_twilio.base_url,
        var_dir=tmp_path,
    ) as services:
        services.channels = build_channels(services)
        yield services


@pytest.fixture
async def voice_app(voice_services: Services) -> AsyncIterator[Quart]:
    application = create_app(voice_services.settings)
    async with application.test_app():
        yield application


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
    await add_number(voice_services.db, org.id, BUSINESS, account.sid, account.token)
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
    return BUSINESS


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
