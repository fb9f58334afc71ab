"""The outgoing-webhook tests' services (allowed to reach the loopback receiver) and the
receiver itself, started for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.db import Database
from gateway.runtime import Services
from tests.gateway.webhooks.webhook_support import Receiver
from tests.support.factories import job_services


@pytest.fixture
async def services(db: Database, redis_url: str) -> AsyncIterator[Services]:
    """Worker services allowed to reach the loopback receiver (as an operator allows an
    on-premises integration); tests/gateway/test_webhook_targets.py covers the refusals."""
    async with job_services(db, redis_url, webhooks_allow_private=True) as built:
        yield built


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.hook)
    app.router.add_post("/elsewhere", found.elsewhere)
    app.router.add_post("/down", found.down)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    yield found
    await runner.cleanup()
