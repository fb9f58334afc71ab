"""Intake throughput: messages per second through `Intake.receive` (one transaction for
contact, conversation and message, then the RQ enqueue and the live event) against the
baseline of the bare RQ enqueue of the same routing job, with no database, measured in the
same run on the same real Redis; the two modes alternate in rounds. The ratio says what
storing a message costs on top of handing it to the queue.

    .venv/bin/python -m bench.intake_throughput [--messages 2000] [--concurrency 8]
    .venv/bin/python -m bench.intake_throughput --postgres
    .venv/bin/python -m bench.intake_throughput --database-url postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from sqlalchemy import func, select

from bench.support import (
    TIMES,
    Run,
    add_database_options,
    bench_database,
    combine,
    print_table,
    round_sizes,
)
from gateway.db import Database
from gateway.models import Message
from gateway.queues import ALL_QUEUES, INTAKE, ROUTE_MESSAGE, JobQueue
from tests.support.factories import chat_message, intake_for, job_services, make_org
from tests.support.servers import RedisProcess

Call = Callable[[int], Awaitable[object]]
TEXTS = (
    "Hi, where is my order?",
    "Do you ship to Norway?",
    "What are your opening hours on Saturday?",
    "Can I return shoes that I wore once outside?",
)


async def measure(mode: str, call: Call, indices: range, concurrency: int) -> Run:
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


def empty_queues(jobs: JobQueue) -> None:
    for name in ALL_QUEUES:
        jobs.queue(name).empty()  # type: ignore[no-untyped-call]


async def stored_messages(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    visitors, concurrency = args.visitors, args.concurrency
    baseline_rounds: list[Run] = []
    intake_rounds: list[Run] = []
    queued = 0
    with RedisProcess(directory=workdir / "redis") as redis_server:
        async with bench_database(args, workdir) as database:
            db = Database(database.url)
            try:
                async with job_services(db, redis_server.url) as services:
                    org = await make_org(db, "bench")
                    intake = intake_for(services)
                    jobs = services.jobs

                    def raw_enqueue(index: int) -> Awaitable[object]:
                        conversation_id = index % visitors + 1
                        return jobs.enqueue_async(
                            INTAKE, ROUTE_MESSAGE, index + 1, conversation_id=conversation_id
                        )

                    def receive(prefix: str, spread: int) -> Call:
                        def call(index: int) -> Awaitable[object]:
                            return intake.receive(
                                chat_message(
                                    org,
                                    TEXTS[index % len(TEXTS)],
                                    visitor=f"{prefix}-{index % spread}",
                                    frame=f"{prefix}-{index}",
                                )
                            )

                        return call

                    # Warm both paths up (connections, pools, statement caches) on senders
                    # of their own, so the measured run still meets new visitors.
                    warmup = range(args.warmup)
                    await measure("warm-up", raw_enqueue, warmup, concurrency)
                    await measure("warm-up", receive("warm", 20), warmup, concurrency)
                    empty_queues(jobs)
                    before = await stored_messages(db)

                    # Alternate the modes in rounds, so both see the same background load.
                    first = 0
                    for size in round_sizes(args.messages, args.rounds):
                        indices = range(first, first + size)
                        first += size
                        baseline_rounds.append(
                            await measure("raw RQ enqueue", raw_enqueue, indices, concurrency)
                        )
                        empty_queues(jobs)
                        intake_rounds.append(
                            await measure(
                                f"intake ({database.label})",
                                receive("visitor", visitors),
                                indices,
                                concurrency,
                            )
                        )
                        queued += jobs.queue(INTAKE).count
                        empty_queues(jobs)
                    stored = await stored_messages(db) - before
            finally:
                await db.dispose()
    if stored != args.messages or queued != args.messages:
        raise SystemExit(
            f"expected {args.messages} new messages and routing jobs, "
            f"found {stored} messages and {queued} jobs"
        )
    baseline, measured = combine(baseline_rounds), combine(intake_rounds)
    print(
        f"\n{args.messages} messages per mode from {concurrency} concurrent tasks, "
        f"{visitors} visitors, {args.rounds} alternating rounds, {database.label}, "
        "real Redis\n"
    )
    print_table([baseline, measured])
    print(f"\nintake throughput = {measured.rate / baseline.rate:.2f} {TIMES} raw RQ enqueue")
    print(f"(checked: {stored} messages stored, {queued} routing jobs queued)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per mode")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent tasks")
    parser.add_argument("--visitors", type=int, default=200, help="distinct senders")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured calls per mode")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the two modes")
    add_database_options(parser)
    args = parser.parse_args(argv)
    if min(args.concurrency, args.visitors, args.warmup, args.rounds) < 1:
        parser.error("--concurrency, --visitors, --warmup and --rounds must be at least 1")
    if args.messages < args.rounds:
        parser.error("--messages must be at least --rounds")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as workdir:
        asyncio.run(benchmark(args, Path(workdir)))


if __name__ == "__main__":
    main()
