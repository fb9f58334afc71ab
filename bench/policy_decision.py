"""Policy decision time: how long the handoff policy takes to decide about one customer
message (load the facts: recent messages, opt-out, the previous decision, presence in
Redis; run the ordered rule table, with the sentiment model and the classifier guard; store
the decision record; one transaction), against the baseline of bare intake
(`Intake.receive`: contact, conversation and message in one transaction, then the RQ
enqueue) of the same messages, measured in the same run on the same database and Redis.
The two modes alternate in rounds: each intake round stores messages, and the policy round
after it decides about exactly those. The rule table alone (no I/O, on the same facts) is
timed as well.

    .venv/bin/python -m bench.policy_decision [--messages 1000]
    .venv/bin/python -m bench.policy_decision --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

from sqlalchemy import func, select

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
from gateway.models import HandoffDecision, Message, Organization
from gateway.presence import heartbeat
from gateway.runtime import Services
from handoff.context import load_context
from handoff.policy import decide, decide_on_message
from handoff.policy.base import PolicyInput
from handoff.policy.facts import message_facts
from handoff.policy.hours import DAYS
from tests.support.factories import chat_message, intake_for, job_services, make_agent, make_org
from tests.support.servers import RedisProcess

# A mix that exercises every message rule: routine questions, an explicit request (the
# guard runs), a keyword, restricted topics, and anger (the sentiment model).
TEXTS = (
    "Hi, where is my order?",
    "Do you ship to Norway?",
    "I want to talk to a person",
    "I have a warranty claim for my blender",
    "You charged me twice for the same order",
    "This is terrible, I am furious, worst service ever",
    "Can I cancel my subscription?",
    "What are your opening hours on Saturday?",
)
SETTINGS = {
    "handoff_keywords": ["warranty claim", "recall", "broken glass"],
    "business_hours": {day: [["00:00", "24:00"]] for day in DAYS},
    "time_zone": "Europe/Berlin",
}


async def decide_about(services: Services, message_id: int) -> str:
    """What routing does for the policy: facts, rules and record, in one transaction."""
    async with services.db.transaction() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        context = await load_context(session, message.conversation_id)
        decision = await decide_on_message(session, services, context, message)
    return decision.outcome.value


async def facts_for(services: Services, message_ids: list[int]) -> list[PolicyInput]:
    async with services.db.transaction() as session:
        facts = []
        for message_id in message_ids:
            message = await session.get(Message, message_id)
            assert message is not None
            context = await load_context(session, message.conversation_id)
            facts.append(await message_facts(session, services, context, message))
    return facts


def time_table(facts: list[PolicyInput]) -> Run:
    latencies = []
    started = time.perf_counter()
    for inp in facts:
        begun = time.perf_counter()
        decide(inp)
        latencies.append(time.perf_counter() - begun)
    return Run("rule table alone (no I/O)", latencies, time.perf_counter() - started)


async def keep_online(services: Services, org: Organization, agent_id: int) -> None:
    await heartbeat(services.events.redis, services.events, org.id, agent_id, "Bench")


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    intake_rounds: list[Run] = []
    policy_rounds: list[Run] = []
    table_rounds: list[Run] = []
    outcomes: dict[str, int] = {}
    with RedisProcess(directory=workdir / "redis") as redis_server:
        async with bench_database(args, workdir) as database:
            db = Database(database.url)
            try:
                async with job_services(db, redis_server.url) as services:
                    org = await make_org(db, "bench", **SETTINGS)
                    agent = await make_agent(db, org)
                    intake = intake_for(services)
                    stored: dict[int, int] = {}  # index -> message id

                    def receive(prefix: str) -> Call:
                        async def call(index: int) -> object:
                            received = await intake.receive(
                                chat_message(
                                    org,
                                    TEXTS[index % len(TEXTS)],
                                    visitor=f"{prefix}-{index % args.visitors}",
                                    frame=f"{prefix}-{index}",
                                )
                            )
                            stored[index] = received.message_id
                            return received

                        return call

                    def policy(index: int) -> Awaitable[object]:
                        return decide_about(services, stored[index])

                    await keep_online(services, org, agent.id)
                    warmup = range(-args.warmup, 0)
                    await measure("warm-up", receive("warm"), warmup, 1)
                    await measure("warm-up", policy, warmup, 1)

                    first = 0
                    for size in round_sizes(args.messages, args.rounds):
                        indices = range(first, first + size)
                        first += size
                        await keep_online(services, org, agent.id)
                        intake_rounds.append(
                            await measure(
                                f"bare intake ({database.label})",
                                receive("visitor"),
                                indices,
                                args.concurrency,
                            )
                        )
                        policy_rounds.append(
                            await measure(
                                f"policy decision ({database.label})",
                                policy,
                                indices,
                                args.concurrency,
                            )
                        )
                        facts = await facts_for(services, [stored[i] for i in indices])
                        table_rounds.append(time_table(facts))
                    async with db.transaction() as session:
                        rows = await session.execute(
                            select(HandoffDecision.outcome, func.count())
                            .where(HandoffDecision.message_id.in_(list(stored.values())))
                            .group_by(HandoffDecision.outcome)
                        )
                        outcomes = {outcome: count for outcome, count in rows.all()}
            finally:
                await db.dispose()
    recorded = sum(outcomes.values())
    expected = args.messages + args.warmup
    if recorded != expected:
        raise SystemExit(f"expected {expected} decision records, found {recorded}")
    baseline, measured = combine(intake_rounds), combine(policy_rounds)
    table = combine(table_rounds)
    print(
        f"\n{args.messages} messages per mode from {args.concurrency} task(s), "
        f"{args.visitors} visitors, {args.rounds} alternating rounds, {database.label}, "
        "real Redis\n"
    )
    print_table([baseline, measured, table])
    print(
        f"\npolicy decision time = {measured.p50_ms / baseline.p50_ms:.2f} {TIMES} bare intake "
        f"(p50: {measured.p50_ms:.2f} ms vs {baseline.p50_ms:.2f} ms), "
        f"{measured.p99_ms / baseline.p99_ms:.2f} {TIMES} (p99: {measured.p99_ms:.2f} ms vs "
        f"{baseline.p99_ms:.2f} ms)"
    )
    print(
        f"rule table alone: p50 {table.p50_ms:.3f} ms, p99 {table.p99_ms:.3f} ms "
        f"({table.p50_ms / baseline.p50_ms:.3f} {TIMES} bare intake at p50)"
    )
    shown = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()))
    print(f"(checked: {recorded} decisions recorded: {shown})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages per mode")
    parser.add_argument("--concurrency", type=int, default=1, help="concurrent tasks")
    parser.add_argument("--visitors", type=int, default=100, help="distinct senders")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured calls per mode")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the modes")
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
