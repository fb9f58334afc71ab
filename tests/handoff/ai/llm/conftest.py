"""Fixtures for the hosted-model tests: a loopback chat-completions server, and the job
services of a worker configured to use it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.db import Database
from gateway.runtime import Services
from tests.support.factories import job_services
from tests.support.fake_llm import FakeLLM

API_KEY = "sk-test-0123456789abcdef"
MODEL = "fake-model-1"
TIMEOUT = 1.5


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM(api_key=API_KEY) as server:
        yield server


@pytest.fixture
async def llm_services(db: Database, redis_url: str, fake_llm: FakeLLM) -> AsyncIterator[Services]:
    """Job services whose settings point the hosted model at the fake server."""
    async with job_services(
        db,
        redis_url,
        llm_base_url=fake_llm.base_url,
        llm_model=MODEL,
        llm_api_key=API_KEY,
        llm_timeout_seconds=TIMEOUT,
    ) as built:
        yield built
