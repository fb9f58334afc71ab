"""The worker's reconciler thread keeps one event loop (uvloop's) and one set of
connections between its passes; a pass that fails closes them and the next pass opens
fresh ones."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
import uvloop

from gateway import runtime
from gateway.db import Database
from gateway.settings import Settings
from server import worker


def test_passes_share_their_connections_until_one_fails(
    db: Database, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[runtime.Services] = []
    closed: list[runtime.Services] = []
    passes: list[runtime.Services] = []
    loops: set[type[asyncio.AbstractEventLoop]] = set()
    real_open, real_close = runtime.open_services, runtime.close_services

    async def open_services(*args: Any, **kwargs: Any) -> runtime.Services:
        services = await real_open(*args, **kwargs)
        opened.append(services)
        return services

    async def close_services(services: runtime.Services) -> None:
        closed.append(services)
        await real_close(services)

    async def reconcile(services: runtime.Services, lock_seconds: int) -> dict[str, int]:
        passes.append(services)
        loops.add(type(asyncio.get_running_loop()))
        if len(passes) == 3:
            raise RuntimeError("this pass fails")
        async with services.db.read() as session:  # the connections really work
            await session.connection()
        return {}

    monkeypatch.setattr(runtime, "open_services", open_services)
    monkeypatch.setattr(runtime, "close_services", close_services)
    monkeypatch.setattr(worker, "reconcile", reconcile)
    settings = Settings(database_url=db.url, redis_url=redis_url, secret_key="test")
    stop = threading.Event()
    thread = threading.Thread(target=worker._reconcile_forever, args=(settings, 0.02, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(passes) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(passes) >= 6
    assert passes[0] is passes[1] is passes[2]  # kept between passes
    assert passes[3] is not passes[2] and passes[3] is passes[4]  # fresh after the failure
    assert opened[:2] == [passes[0], passes[3]]
    assert closed[0] is passes[2] and closed[-1] is passes[-1]  # every set closed in the end
    assert len(closed) == len(opened)
    assert loops == {uvloop.Loop}
