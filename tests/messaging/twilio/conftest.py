"""Fixtures for the Twilio channel's tests: the shared Twilio set-up (the loopback Twilio
API, services and app using it, an account; see tests/support/twilio_fixtures.py) and a
business number registered on the account."""

from __future__ import annotations

import pytest

from gateway.models import Organization
from gateway.runtime import Services
from tests.support.fake_twilio import Account
from tests.support.twilio_fixtures import (
    account,
    fake_twilio,
    register_business_number,
    twilio_app,
    twilio_services,
)

__all__ = ["account", "fake_twilio", "twilio_app", "twilio_services"]


@pytest.fixture
async def business_number(twilio_services: Services, org: Organization, account: Account) -> str:
    return await register_business_number(twilio_services, org, account)
