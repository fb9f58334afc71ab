"""What a job needs to run: the settings, the database, the job queue, the event publisher
and the channel registry, gathered in `Services`. The worker (a composition root) installs
a factory for the channels at start; `run_job` runs one async job body on a fresh event loop
with its own engine and Redis client, as RQ requires, and closes them afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from gateway.channels import ChannelRegistry
from gateway.db import Database
from gateway.errors import ConfigurationError
from gateway.events import EventPublisher
from gateway.queues import JobQueue
from gateway.settings import Settings

T = TypeVar("T")
ChannelFactory = Callable[["Services"], ChannelRegistry]
# Routing and the AI's reply for one committed inbound message, run in this process (see
# `gateway.turns`); the composition root installs handoff's in the gateway.
AnswerNow = Callable[["Services", int], Awaitable[None]]


@dataclass
class Services:
    settings: Settings
    db: Database
    jobs: JobQueue
    events: EventPublisher
    channels: ChannelRegistry
    answer_now: AnswerNow | None = None


@dataclass
class _Installed:
    settings: Settings
    channel_factory: ChannelFactory


_installed: _Installed | None = None


def install(settings: Settings, channel_factory: ChannelFactory) -> None:
    """Called once by the worker before it takes jobs."""
    global _installed
    _installed = _Installed(settings, channel_factory)


async def open_services(settings: Settings, channel_factory: ChannelFactory) -> Services:
    redis_url = settings.require_redis_url()
    services = Services(
        settings=settings,
        db=Database(settings.resolved_database_url, echo=settings.sql_echo, pooled=False),
        jobs=JobQueue(Redis.from_url(redis_url)),
        events=EventPublisher(AsyncRedis.from_url(redis_url)),
        channels=ChannelRegistry(),
    )
    services.channels = channel_factory(services)
    return services


async def close_services(services: Services) -> None:
    await services.db.dispose()
    await services.events.redis.aclose()
    services.jobs.redis.close()


def run_job(body: Callable[[Services], Awaitable[T]]) -> T:
    """Run an async job body with fresh services on a fresh event loop."""
    if _installed is None:
        raise ConfigurationError("jobs run only in a worker started by `switchboard worker`")
    installed = _installed

    async def main() -> T:
        services = await open_services(installed.settings, installed.channel_factory)
        try:
            return await body(services)
        finally:
            await close_services(services)

    return asyncio.run(main())
