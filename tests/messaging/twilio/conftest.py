"""Fixtures for the Twilio channel's tests: the loopback Twilio API, the services and the
app configured to use it (and to sit behind the public URL Twilio signs), an account with
a registered business number, and a worker process pointed at the same fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from quart import Quart

from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from messaging.twilio.numbers import add_number
from server.app import create_app
from server.worker import build_channels
from tests.support.factories import job_services
from tests.support.fake_twilio import (
    BUSINESS,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    running_fake_twilio,
)


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        yield fake


@pytest.fixture
def account(fake_twilio: FakeTwilio) -> Account:
    return fake_twilio.add_account()


@pytest.fixture
async def twilio_services(
    db: Database, redis_url: str, fake_twilio: FakeTwilio, tmp_path
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
async def twilio_app(twilio_services: Services) -> AsyncIterator[Quart]:
    application = create_app(twilio_services.settings)
    async with application.test_app():
        yield application


@pytest.fixture
async def business_number(twilio_services: Services, org: Organization, account: Account) -> str:
    await add_number(twilio_services.db, org.id, BUSINESS, account.sid, account.token)
    return BUSINESS
