"""Classifier guard latency: the time `handoff.guard.confirm_person_request` takes per
message, against the baseline of bare intake (`Intake.receive`: contact, conversation and
message in one transaction, then the RQ enqueue and the live event) of the same messages,
one at a time, measured in the same run on a real database and Redis. The messages are
the Bitext held-out split and the hand-written hard sets the guard is evaluated on. The
two modes alternate in rounds.

    .venv/bin/python -m bench.guard_latency [--messages 2000]
    .venv/bin/python -m bench.guard_latency --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

from bench.intake_throughput import Call, measure
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
from handoff.guard import confirm_person_request, load_model
from handoff.guard.dataset import HARD_NEGATIVES_CSV, HARD_POSITIVES_CSV, HELD_OUT_CSV
from handoff.guard.evaluation import read_labelled
from tests.support.factories import chat_message, intake_for, job_services, make_org
from tests.support.servers import RedisProcess


def message_texts() -> list[str]:
    return [
        row.text
        for path in (HELD_OUT_CSV, HARD_NEGATIVES_CSV, HARD_POSITIVES_CSV)
        for row in read_labelled(path)
        if row.text.strip()
    ]


def time_guard(texts: list[str], indices: range) -> tuple[Run, int]:
    """Each message through the guard, timed one by one; also how many it escalated."""
    latencies: list[float] = []
    escalated = 0
    started = time.perf_counter()
    for index in indices:
        text = texts[index % len(texts)]
        call_started = time.perf_counter()
        result = confirm_person_request(text)
        latencies.append(time.perf_counter() - call_started)
        escalated += result.wants_person
    return Run("guard", latencies, time.perf_counter() - started), escalated


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    texts = message_texts()
    load_model()  # reading the model file is start-up cost, not per message
    intake_rounds: list[Run] = []
    guard_rounds: list[Run] = []
    escalated = 0
    with RedisProcess(directory=workdir / "redis") as redis_server:
        async with bench_database(args, workdir) as database:
            db = Database(database.url)
            try:
                async with job_services(db, redis_server.url) as services:
                    org = await make_org(db, "bench")
                    intake = intake_for(services)

                    def call(prefix: str) -> Call:
                        def one(index: int) -> Awaitable[object]:
                            return intake.receive(
                                chat_message(
                                    org,
                                    texts[index % len(texts)],
                                    visitor=f"{prefix}-{index % args.visitors}",
                                    frame=f"{prefix}-{index}",
                                )
                            )

                        return one

                    await measure("warm-up", call("warm"), range(args.warmup), 1)
                    time_guard(texts, range(args.warmup))

                    first = 0
                    for size in round_sizes(args.messages, args.rounds):
                        indices = range(first, first + size)
                        first += size
                        intake_rounds.append(
                            await measure(
                                f"bare intake ({database.label})", call("visitor"), indices, 1
                            )
                        )
                        run, count = time_guard(texts, indices)
                        guard_rounds.append(run)
                        escalated += count
            finally:
                await db.dispose()
    baseline, measured = combine(intake_rounds), combine(guard_rounds)
    print(
        f"\n{args.messages} messages per mode, one at a time, {args.rounds} alternating "
        f"rounds, {database.label}, real Redis; {len(texts)} distinct texts "
        "(Bitext held-out split and the hard sets)\n"
    )
    print_table([baseline, measured])
    print(
        f"\nguard latency = {measured.p50_ms / baseline.p50_ms:.4f} {TIMES} bare intake (p50), "
        f"{measured.p99_ms / baseline.p99_ms:.4f} {TIMES} (p99)"
    )
    print(f"(the guard escalated {escalated} of {measured.count} messages)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per mode")
    parser.add_argument("--visitors", type=int, default=200, help="distinct senders")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured calls per mode")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the two modes")
    add_database_options(parser)
    args = parser.parse_args(argv)
    if min(args.visitors, args.warmup, args.rounds) < 1:
        parser.error("--visitors, --warmup and --rounds must be at least 1")
    if args.messages < args.rounds:
        parser.error("--messages must be at least --rounds")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as workdir:
        asyncio.run(benchmark(args, Path(workdir)))


if __name__ == "__main__":
    main()
