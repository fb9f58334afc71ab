"""The worker's jobs run on uvloop's event loop, one loop kept from job to job, as
`gateway.event_loop.run` runs a coroutine on one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import uvloop

from gateway import event_loop, runtime
from gateway.channels import ChannelRegistry
from gateway.db import Database
from gateway.settings import Settings


@pytest.fixture
def installed(db: Database, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The job runtime installed as a worker installs it, and closed afterwards."""
    monkeypatch.setattr(runtime, "_installed", None)
    monkeypatch.setattr(runtime, "_runtime", None)
    settings = Settings(database_url=db.url, redis_url=redis_url, secret_key="test")
    runtime.install(settings, lambda _services: ChannelRegistry())
    yield
    if runtime._runtime is not None:
        runtime._runtime.close()


async def _running_loop(_services: runtime.Services) -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_jobs_run_on_one_uvloop_loop(installed: None) -> None:
    first, second = runtime.run_job(_running_loop), runtime.run_job(_running_loop)
    assert isinstance(first, uvloop.Loop)
    assert second is first


def test_run_runs_a_coroutine_on_uvloop() -> None:
    async def loop_class() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert event_loop.run(loop_class()) is uvloop.Loop
