"""Classifier guard latency: the time `handoff.ai.guard.confirm_person_request` takes per
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
import time
from pathlib import Path

from bench.services import bench_services, chat_sender, measure_calls
from bench.support import (
    Run,
    combine,
    latency_ratio,
    parse_message_args,
    print_report,
    round_ranges,
    run,
)
from handoff.ai.guard import confirm_person_request, load_model
from handoff.ai.guard.dataset import HARD_NEGATIVES_CSV, HARD_POSITIVES_CSV, HELD_OUT_CSV
from handoff.ai.guard.evaluation import read_labelled
from tests.support.factories import intake_for, make_org


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
    async with bench_services(args, workdir) as (database, services):
        org = await make_org(services.db, "bench")
        intake = intake_for(services)

        await measure_calls(
            "warm-up", chat_sender(intake, org, texts, "warm", args.visitors), range(args.warmup), 1
        )
        time_guard(texts, range(args.warmup))

        for indices in round_ranges(args.messages, args.rounds):
            intake_rounds.append(
                await measure_calls(
                    f"bare intake ({database.label})",
                    chat_sender(intake, org, texts, "visitor", args.visitors),
                    indices,
                    1,
                )
            )
            guard_run, count = time_guard(texts, indices)
            guard_rounds.append(guard_run)
            escalated += count
    baseline, measured = combine(intake_rounds), combine(guard_rounds)
    print_report(
        f"{args.messages} messages per mode, one at a time, {args.rounds} alternating "
        f"rounds, {database.label}, real Redis; {len(texts)} distinct texts "
        "(Bitext held-out split and the hard sets)",
        [baseline, measured],
        f"guard latency = {latency_ratio(measured, baseline, 'bare intake', 4)}",
        f"(the guard escalated {escalated} of {measured.count} messages)",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return parse_message_args(__doc__, argv, messages=2000, visitors=200, warmup=100)


if __name__ == "__main__":
    run(benchmark, parse_args())
