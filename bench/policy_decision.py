"""Policy decision time: how long the handoff policy takes to decide about one customer
message (load the facts: recent messages, opt-out, the previous decision, presence in
Redis; run the ordered rule table, with the sentiment model and the classifier guard; store
the decision record; one transaction), against the baseline of bare intake
(`Intake.receive`: contact, conversation and message in one transaction, then the RQ
enqueue) of the same messages, measured in the same run on the same database and Redis.
The two modes alternate in rounds: each intake round stores messages, and the policy round
after it decides about exactly those. The rule table alone (no I/O, on the same facts) is
timed as well, twice: as it runs (the frustration model remembers the messages it scored,
and a conversation's recent messages come back at every decision), and with that memory
cleared before each decision, so every recent message is scored afresh.

    .venv/bin/python -m bench.policy_decision [--messages 1000]
    .venv/bin/python -m bench.policy_decision --postgres
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable
from pathlib import Path

from sqlalchemy import func, select

from bench.services import Call, bench_services, chat_sender, measure_calls
from bench.support import (
    TIMES,
    Run,
    combine,
    latency_ratio,
    parse_message_args,
    print_report,
    round_ranges,
    run,
)
from gateway.models import HandoffDecision, Message, Organization
from gateway.presence import heartbeat
from gateway.runtime import Services
from handoff.ai.tone import frustration
from handoff.context import load_context
from handoff.policy import decide, decide_on_message
from handoff.policy.base import PolicyInput
from handoff.policy.facts import message_facts
from handoff.policy.hours import DAYS
from tests.support.factories import intake_for, make_agent, make_org

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


def time_table(facts: list[PolicyInput], *, cold: bool = False) -> Run:
    latencies = []
    started = time.perf_counter()
    for inp in facts:
        if cold:
            frustration.cache_clear()
        begun = time.perf_counter()
        decide(inp)
        latencies.append(time.perf_counter() - begun)
    name = "rule table, nothing remembered" if cold else "rule table alone (no I/O)"
    return Run(name, latencies, time.perf_counter() - started)


async def keep_online(services: Services, org: Organization, agent_id: int) -> None:
    await heartbeat(services.events.redis, services.events, org.id, agent_id, "Bench")


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    intake_rounds: list[Run] = []
    policy_rounds: list[Run] = []
    table_rounds: list[Run] = []
    cold_rounds: list[Run] = []
    outcomes: dict[str, int] = {}
    async with bench_services(args, workdir) as (database, services):
        org = await make_org(services.db, "bench", **SETTINGS)
        agent = await make_agent(services.db, org)
        intake = intake_for(services)
        stored: dict[int, int] = {}  # index -> message id

        def receive(prefix: str) -> Call:
            send = chat_sender(intake, org, TEXTS, prefix, args.visitors)

            async def call(index: int) -> object:
                received = await send(index)
                stored[index] = received.message_id
                return received

            return call

        def policy(index: int) -> Awaitable[object]:
            return decide_about(services, stored[index])

        await keep_online(services, org, agent.id)
        warmup = range(-args.warmup, 0)
        await measure_calls("warm-up", receive("warm"), warmup, 1)
        await measure_calls("warm-up", policy, warmup, 1)

        for indices in round_ranges(args.messages, args.rounds):
            await keep_online(services, org, agent.id)
            intake_rounds.append(
                await measure_calls(
                    f"bare intake ({database.label})",
                    receive("visitor"),
                    indices,
                    args.concurrency,
                )
            )
            policy_rounds.append(
                await measure_calls(
                    f"policy decision ({database.label})",
                    policy,
                    indices,
                    args.concurrency,
                )
            )
            facts = await facts_for(services, [stored[i] for i in indices])
            table_rounds.append(time_table(facts))
            cold_rounds.append(time_table(facts, cold=True))
        async with services.db.transaction() as session:
            rows = await session.execute(
                select(HandoffDecision.outcome, func.count())
                .where(HandoffDecision.message_id.in_(list(stored.values())))
                .group_by(HandoffDecision.outcome)
            )
            outcomes = {outcome: count for outcome, count in rows.all()}
    recorded = sum(outcomes.values())
    expected = args.messages + args.warmup
    if recorded != expected:
        raise SystemExit(f"expected {expected} decision records, found {recorded}")
    baseline, measured = combine(intake_rounds), combine(policy_rounds)
    table, cold = combine(table_rounds), combine(cold_rounds)
    shown = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()))
    print_report(
        f"{args.messages} messages per mode from {args.concurrency} task(s), "
        f"{args.visitors} visitors, {args.rounds} alternating rounds, {database.label}, "
        "real Redis",
        [baseline, measured, table, cold],
        "policy decision time = "
        + latency_ratio(measured, baseline, "bare intake", 2, with_ms=True),
        f"rule table alone: p50 {table.p50_ms:.3f} ms, p99 {table.p99_ms:.3f} ms "
        f"({table.p50_ms / baseline.p50_ms:.3f} {TIMES} bare intake at p50); nothing "
        f"remembered: p50 {cold.p50_ms:.3f} ms, p99 {cold.p99_ms:.3f} ms",
        f"(checked: {recorded} decisions recorded: {shown})",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return parse_message_args(__doc__, argv, messages=1000, concurrency=1, visitors=100, warmup=50)


if __name__ == "__main__":
    run(benchmark, parse_args())
