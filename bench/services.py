"""What the benchmarks that work in process share: the services a worker builds, on the
benchmark's Redis and database; chat messages through intake as calls to time, run from
concurrent tasks; and clearing the job queues, or leaving queues and messages as a worker
starting afresh should find them."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from redis import Redis
from sqlalchemy import update

from bench.support import BenchDatabase, Run, bench_servers
from gateway.db import Database
from gateway.intake import Intake, Received
from gateway.models import Message, Organization, utcnow
from gateway.queues import ALL_QUEUES, JobQueue
from gateway.runtime import Services
from tests.support.factories import chat_message, job_services

Call = Callable[[int], Awaitable[object]]


@asynccontextmanager
async def bench_services(
    args: argparse.Namespace, workdir: Path
) -> AsyncIterator[tuple[BenchDatabase, Services]]:
    """`bench_servers` and the services a worker builds on them, in this process."""
    async with bench_servers(args, workdir) as (redis_url, database):
        db = Database(database.url)
        try:
            async with job_services(db, redis_url) as services:
                yield database, services
        finally:
            await db.dispose()


def empty_queues(jobs: JobQueue) -> None:
    for name in ALL_QUEUES:
        jobs.queue(name).empty()  # type: ignore[no-untyped-call]


async def settle(database_url: str, redis_url: str) -> None:
    """Before a worker starts: drop the routing jobs a run left queued and mark those
    messages routed, so the worker (and its reconciler) only sees new messages."""
    jobs = JobQueue(Redis.from_url(redis_url))
    try:
        empty_queues(jobs)
    finally:
        jobs.redis.close()
    db = Database(database_url, pooled=False)
    try:
        async with db.transaction() as session:
            await session.execute(
                update(Message).where(Message.routed_at.is_(None)).values(routed_at=utcnow())
            )
    finally:
        await db.dispose()


def chat_sender(
    intake: Intake, org: Organization, texts: Sequence[str], prefix: str, visitors: int
) -> Callable[[int], Awaitable[Received]]:
    """`call(i)` receives the i-th web chat message (text i modulo the texts) from one of
    `visitors` senders named after `prefix`."""

    def call(index: int) -> Awaitable[Received]:
        return intake.receive(
            chat_message(
                org,
                texts[index % len(texts)],
                visitor=f"{prefix}-{index % visitors}",
                frame=f"{prefix}-{index}",
            )
        )

    return call


async def measure_calls(mode: str, call: Call, indices: range, concurrency: int) -> Run:
    """Run `call(i)` for every i in `indices` from `concurrency` tasks; time every call."""
    latencies: list[float] = []
    pending: Iterator[int] = iter(indices)

    async def task() -> None:
        for index in pending:  # shared: each index goes to whichever task is free
            started = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(task())
    return Run(mode, latencies, time.perf_counter() - started)
