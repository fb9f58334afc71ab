"""The widget socket tests' app: started on the test's database and Redis, as the
gateway serves it, with the organization whose widget key the sockets use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.db import Database
from gateway.models import Organization
from gateway.settings import Settings
from server.app import create_app
from tests.messaging.webchat.socket_support import SECRET, Gateway
from tests.support.factories import make_org


@pytest.fixture
def start(db: Database, redis_url: str, tmp_path: Path) -> Callable[..., Any]:
    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[Gateway]:
        settings = Settings(
            database_url=db.url,
            redis_url=redis_url,
            secret_key=SECRET,
            var_dir=tmp_path,
            **overrides,
        )
        app = create_app(settings)
        async with app.test_app() as test_app:
            yield Gateway(test_app.test_client(), db, redis_url)

    return running


@pytest.fixture
async def gateway(start: Callable[..., Any]) -> AsyncIterator[Gateway]:
    async with start() as running:
        yield running


@pytest.fixture
async def org(db: Database) -> Organization:
    return await make_org(db, "northwind")
