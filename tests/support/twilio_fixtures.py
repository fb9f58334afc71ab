"""The Twilio set-up the SMS and voice tests share: the loopback Twilio API, an account on
it, services and an app configured to use it (behind the public URL Twilio signs), and a
business number registered on the account. Each package's conftest imports the fixtures
it uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

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
    db: Database, redis_url: str, fake_twilio: FakeTwilio, tmp_path: Path
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


async def register_business_number(services: Services, org: Organization, account: Account) -> str:
    await add_number(services.db, org.id, BUSINESS, account.sid, account.token)
    return BUSINESS
