"""What a job needs to run: the settings, the database, the job queue, the event publisher
and the channel registry, gathered in `Services`. The worker (a composition root) installs
a factory for the channels at start; `run_job` runs one async job body (RQ calls jobs as
plain functions) on the worker's one event loop with services opened once: a job pays for
its own statements, not for a new engine, connection and Redis client each time. A job that
escapes with an error (or RQ's time limit interrupting it) closes that loop and its
services, and the next job opens fresh ones, so nothing half-done runs on."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import aiohttp
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import event_loop, on_the_wire
from gateway.channels import ChannelRegistry
from gateway.db import Database
from gateway.errors import ConfigurationError
from gateway.events import EventPublisher
from gateway.on_the_line import OnTheLine
from gateway.queues import JobQueue
from gateway.settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)
ChannelFactory = Callable[["Services"], ChannelRegistry]


@dataclass(frozen=True, slots=True)
class AiTurn:
    """The AI's turn a routed message is owed, under the ownership version routing saw."""

    message_id: int
    conversation_id: int
    version: int
    organization_id: int


@dataclass(frozen=True, slots=True)
class Foreseen:
    """The AI's reply, started on a conversation under `version` before the message it
    answers was stored and routed (`AnswerNow.foresee`)."""

    conversation_id: int
    version: int
    reply: asyncio.Task[Any]

    def serves(self, turn: AiTurn) -> bool:
        """True when routing owed the AI the very turn this reply was started for."""
        return (turn.conversation_id, turn.version) == (self.conversation_id, self.version)

    def ready_for(self, turn: AiTurn) -> bool:
        """True when this reply serves `turn` and is computed already, without failing."""
        reply = self.reply
        return (
            self.serves(turn)
            and reply.done()
            and not reply.cancelled()
            and reply.exception() is None
            and reply.result() is not None
        )

    def drop(self) -> None:
        """Stop the reply nobody will use (routing gave the message to a person, say)."""
        if not self.reply.done():
            self.reply.cancel()
        elif not self.reply.cancelled():
            self.reply.exception()  # seen: a failure of a reply that is not wanted


class RoutingFailed(Exception):
    """`AnswerNow.route` or `AnswerNow.answer_in` failed: the transaction it ran in is
    undone, and the message is stored again without it, for the routing job."""


class AnswerNow(Protocol):
    """Routing and the AI's reply for a message whose sender waits on the line, run in the
    process that took it (see `gateway.turns`); the composition root installs handoff's in
    the gateway."""

    async def route(
        self, session: AsyncSession, services: Services, message_id: int, conversation_id: int
    ) -> AiTurn | None:
        """Route the message in the transaction that stores it; the AI's turn, if owed.
        Raises `RoutingFailed` when routing fails, to undo the transaction."""

    async def foresee(self, services: Services, conversation_id: int, text: str) -> Foreseen | None:
        """Start the AI's reply to the customer's `text` on `conversation_id` before the
        message is stored, when the conversation is the AI's; routing then decides whether
        it is used (`answer`) or dropped."""

    async def answer(
        self,
        services: Services,
        turn: AiTurn,
        line: OnTheLine | None,
        foreseen: Foreseen | None = None,
    ) -> None:
        """Compute and store the AI's reply (`foreseen`'s, when it serves this turn),
        spoken on `line` while its request waits; a failure leaves the turn to the AI's
        job."""

    async def answer_in(
        self,
        session: AsyncSession,
        services: Services,
        turn: AiTurn,
        line: OnTheLine | None,
        foreseen: Foreseen,
    ) -> None:
        """Store `foreseen`'s reply, computed already (`Foreseen.ready_for`), in the
        transaction routing owed the AI `turn` in, spoken on `line`. Raises
        `RoutingFailed` when that fails, to undo the transaction."""


@dataclass
class Services:
    settings: Settings
    db: Database
    jobs: JobQueue
    events: EventPublisher
    channels: ChannelRegistry
    answer_now: AnswerNow | None = None
    _http: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    def http(self) -> aiohttp.ClientSession:
        """This event loop's HTTP client for an outside service called on every turn (the
        hosted model): it keeps its connections, so a phone turn does not pay a new TCP
        and TLS handshake. Closed with the services (`close_http`). Its requests tell a
        task waiting for them when they are on the network (`gateway.on_the_wire`)."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(trace_configs=[on_the_wire.TRACE])
        return self._http

    async def close_http(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


@dataclass
class _Installed:
    settings: Settings
    channel_factory: ChannelFactory


_installed: _Installed | None = None


def install(settings: Settings, channel_factory: ChannelFactory) -> None:
    """Called once by the worker before it takes jobs."""
    global _installed
    _installed = _Installed(settings, channel_factory)


async def open_services(
    settings: Settings,
    channel_factory: ChannelFactory,
    *,
    pooled: bool = False,
    background_checkpoints: bool = False,
) -> Services:
    """Services for one event loop; `pooled` keeps database connections between uses, and
    the one long-lived process-wide user asks for `background_checkpoints`."""
    redis_url = settings.require_redis_url()
    services = Services(
        settings=settings,
        db=Database(
            settings.resolved_database_url,
            echo=settings.sql_echo,
            pooled=pooled,
            background_checkpoints=background_checkpoints,
        ),
        jobs=JobQueue(Redis.from_url(redis_url)),
        events=EventPublisher(AsyncRedis.from_url(redis_url)),
        channels=ChannelRegistry(),
    )
    services.channels = channel_factory(services)
    return services


async def close_services(services: Services) -> None:
    await services.close_http()
    await services.db.dispose()
    await services.events.redis.aclose()
    services.jobs.redis.close()


class _JobRuntime:
    """The worker's event loop and services, kept between jobs."""

    def __init__(self, installed: _Installed) -> None:
        self.installed = installed
        self.runner: asyncio.Runner | None = None
        self.services: Services | None = None

    def run(self, body: Callable[[Services], Awaitable[T]]) -> T:
        if self.runner is None:
            self.runner = event_loop.runner()
        try:
            return self.runner.run(self._with_services(body))
        except BaseException:
            self.close()
            raise

    async def _with_services(self, body: Callable[[Services], Awaitable[T]]) -> T:
        if self.services is None:
            self.services = await open_services(
                self.installed.settings,
                self.installed.channel_factory,
                pooled=True,
                background_checkpoints=True,
            )
        return await body(self.services)

    def close(self) -> None:
        runner, services = self.runner, self.services
        self.runner = self.services = None
        if runner is None:
            return
        try:
            if services is not None:
                runner.run(close_services(services))
        except Exception:  # closing what already failed must not hide the job's own error
            log.warning("closing the job services failed", exc_info=True)
        finally:
            runner.close()


_runtime: _JobRuntime | None = None


def run_job(body: Callable[[Services], Awaitable[T]]) -> T:
    """Run an async job body on the worker's event loop with its services."""
    global _runtime
    if _installed is None:
        raise ConfigurationError("jobs run only in a worker started by `switchboard worker`")
    if _runtime is None or _runtime.installed is not _installed:
        if _runtime is not None:
            _runtime.close()
        _runtime = _JobRuntime(_installed)
    return _runtime.run(body)


def settle_heap() -> None:
    """Set what start-up built (modules, tables, compiled statements) aside from the
    garbage collector: a full collection walked all of it, about 70 ms in a gateway, and any
    request under way waited that out."""
    gc.collect()
    gc.freeze()
