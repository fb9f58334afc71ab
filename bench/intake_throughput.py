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
from collections.abc import Awaitable
from pathlib import Path

from sqlalchemy import func, select

from bench.services import bench_services, chat_sender, empty_queues, measure_calls
from bench.support import TIMES, Run, combine, parse_message_args, print_report, round_ranges, run
from gateway.db import Database
from gateway.models import Message
from gateway.queues import INTAKE, ROUTE_MESSAGE
from tests.support.factories import intake_for, make_org

TEXTS = (
    "Hi, where is my order?",
    "Do you ship to Norway?",
    "What are your opening hours on Saturday?",
    "Can I return shoes that I wore once outside?",
)


async def stored_messages(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    visitors, concurrency = args.visitors, args.concurrency
    baseline_rounds: list[Run] = []
    intake_rounds: list[Run] = []
    queued = 0
    async with bench_services(args, workdir) as (database, services):
        db = services.db
        org = await make_org(db, "bench")
        intake = intake_for(services)
        jobs = services.jobs
        warm = chat_sender(intake, org, TEXTS, "warm", 20)
        receive = chat_sender(intake, org, TEXTS, "visitor", visitors)

        def raw_enqueue(index: int) -> Awaitable[object]:
            conversation_id = index % visitors + 1
            return jobs.enqueue_async(
                INTAKE, ROUTE_MESSAGE, index + 1, conversation_id=conversation_id
            )

        # Warm both paths up (connections, pools, statement caches) on senders of their
        # own, so the measured run still meets new visitors.
        warmup = range(args.warmup)
        await measure_calls("warm-up", raw_enqueue, warmup, concurrency)
        await measure_calls("warm-up", warm, warmup, concurrency)
        empty_queues(jobs)
        before = await stored_messages(db)

        # Alternate the modes in rounds, so both see the same background load.
        for indices in round_ranges(args.messages, args.rounds):
            baseline_rounds.append(
                await measure_calls("raw RQ enqueue", raw_enqueue, indices, concurrency)
            )
            empty_queues(jobs)
            intake_rounds.append(
                await measure_calls(f"intake ({database.label})", receive, indices, concurrency)
            )
            queued += jobs.queue(INTAKE).count
            empty_queues(jobs)
        stored = await stored_messages(db) - before
    if stored != args.messages or queued != args.messages:
        raise SystemExit(
            f"expected {args.messages} new messages and routing jobs, "
            f"found {stored} messages and {queued} jobs"
        )
    baseline, measured = combine(baseline_rounds), combine(intake_rounds)
    print_report(
        f"{args.messages} messages per mode from {concurrency} concurrent tasks, "
        f"{visitors} visitors, {args.rounds} alternating rounds, {database.label}, "
        "real Redis",
        [baseline, measured],
        f"intake throughput = {measured.rate / baseline.rate:.2f} {TIMES} raw RQ enqueue",
        f"(checked: {stored} messages stored, {queued} routing jobs queued)",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return parse_message_args(__doc__, argv, messages=2000, concurrency=8, visitors=200, warmup=200)


if __name__ == "__main__":
    run(benchmark, parse_args())
