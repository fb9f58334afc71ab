"""The policy in the real flow, on SQLite and PostgreSQL with a real Redis: routing and the
AI's turn store a decision record naming the rule that fired, and carry the decision out
(queue with the right notice, ask for the whole problem, take a message, stay silent)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from gateway.models import (
    ContactIdentity,
    Conversation,
    Deadline,
    HandoffDecision,
    Message,
    Organization,
    utcnow,
)
from gateway.presence import heartbeat
from gateway.queues import AI
from gateway.runtime import Services
from handoff.ai.responder import ResponderReply
from handoff.ai.turn import ai_turn, store_reply
from handoff.policy.hours import DAY_NAMES, DAYS
from handoff.routing import route_message
from tests.support.factories import chat_message, intake_for, make_agent, make_org


async def configure(services: Services, org: Organization, **settings: Any) -> None:
    async with services.db.transaction() as session:
        row = await session.get(Organization, org.id)
        assert row is not None
        row.settings = {**row.settings, **settings}


async def someone_online(services: Services, org: Organization) -> None:
    agent = await make_agent(services.db, org)
    await heartbeat(services.events.redis, services.events, org.id, agent.id, agent.name)


async def send(services: Services, org: Organization, text: str) -> tuple[str, int]:
    received = await intake_for(services).receive(chat_message(org, text))
    return await route_message(services, received.message_id), received.conversation_id


async def decisions(services: Services, conversation_id: int) -> list[HandoffDecision]:
    async with services.db.transaction() as session:
        rows = await session.scalars(
            select(HandoffDecision)
            .where(HandoffDecision.conversation_id == conversation_id)
            .order_by(HandoffDecision.id)
        )
        return list(rows)


async def conversation_of(services: Services, conversation_id: int) -> Conversation:
    async with services.db.transaction() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


async def last_message(services: Services, conversation_id: int) -> Message:
    async with services.db.transaction() as session:
        found = await session.scalar(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id.desc())
            .limit(1)
        )
    assert found is not None
    return found


def closed_now_opening_in_three_days() -> tuple[dict[str, list[list[str]]], str]:
    day = (utcnow() + timedelta(days=3)).weekday()
    return {DAYS[day]: [["09:00", "17:00"]]}, DAY_NAMES[day]


async def test_every_routed_message_is_recorded_with_every_rules_result(
    services: Services, org
) -> None:
    outcome, conversation_id = await send(services, org, "How long does shipping take?")

    assert outcome == "ai" and len(services.jobs.queue(AI).get_jobs()) == 1
    [record] = await decisions(services, conversation_id)
    assert (record.phase, record.level, record.outcome, record.fired_rule) == (
        "message",
        "balanced",
        "ai",
        None,
    )
    assert record.message_id is not None and record.ownership_version == 1
    assert [r["rule"] for r in record.rule_results][:3] == [
        "opted_out",
        "human_owned",
        "explicit_person_request",
    ]
    assert not any(r["fired"] for r in record.rule_results)


async def test_a_restricted_topic_queues_with_the_rules_that_fired(services: Services, org) -> None:
    await someone_online(services, org)

    outcome, conversation_id = await send(
        services, org, "You charged me twice for one order, can you check?"
    )

    assert outcome == "queued"
    queued = await conversation_of(services, conversation_id)
    assert queued.state == "queued"
    assert queued.handoff_reason == "the message raises a billing dispute"
    assert [hit["rule"] for hit in queued.rule_hits] == ["restricted_topic"]
    [record] = await decisions(services, conversation_id)
    assert (record.outcome, record.fired_rule) == ("queued", "restricted_topic")
    notice = await last_message(services, conversation_id)
    assert notice.meta["notice"] == "handoff" and "Nobody" not in notice.text


async def test_nobody_online_queues_with_an_honest_notice(services: Services, org) -> None:
    outcome, conversation_id = await send(services, org, "I want to talk to a person")

    assert outcome == "queued"
    notice = await last_message(services, conversation_id)
    assert notice.meta["notice"] == "handoff"
    assert "connecting you to a person" in notice.text
    assert "Nobody from our team is online right now" in notice.text
    [record] = await decisions(services, conversation_id)
    fired = [r["rule"] for r in record.rule_results if r["fired"]]
    assert fired == ["explicit_person_request", "nobody_online"]


async def test_after_hours_the_queue_notice_says_when_and_the_expiry_waits_for_it(
    services: Services, org
) -> None:
    hours, weekday = closed_now_opening_in_three_days()
    await configure(services, org, business_hours=hours, time_zone="UTC")
    await someone_online(services, org)

    outcome, conversation_id = await send(services, org, "agent please")

    assert outcome == "queued"
    notice = await last_message(services, conversation_id)
    assert f"back {weekday} at 09:00 (UTC time)" in notice.text
    assert notice.meta["next_opening"] == f"{weekday} at 09:00 (UTC time)"
    async with services.db.transaction() as session:
        expire = await session.scalar(select(Deadline).where(Deadline.kind == "expire"))
    assert expire is not None and expire.due_at > utcnow() + timedelta(days=2)


async def test_after_hours_the_ai_can_take_a_message_instead(services: Services, org) -> None:
    hours, weekday = closed_now_opening_in_three_days()
    await configure(
        services, org, business_hours=hours, time_zone="UTC", outside_hours="ai_takes_message"
    )

    outcome, conversation_id = await send(services, org, "I want to talk to a person")

    assert outcome == "take-message"
    kept = await conversation_of(services, conversation_id)
    assert kept.state == "ai" and kept.needs_attention
    assert kept.attention_reason == (
        "message taken for the team: the customer asked for a person: “I want to talk to a person”"
    )
    notice = await last_message(services, conversation_id)
    assert notice.meta["notice"] == "message_taken_after_hours"
    assert f"back {weekday} at 09:00 (UTC time)" in notice.text
    assert services.jobs.queue(AI).get_jobs() == []


async def test_ai_first_asks_for_the_whole_problem_then_hands_off(services: Services, org) -> None:
    await configure(services, org, handoff_level="ai_first")
    await someone_online(services, org)

    first, conversation_id = await send(services, org, "I want to cancel my subscription")

    assert first == "gather-details"
    asked = await last_message(services, conversation_id)
    assert asked.meta["notice"] == "gather_details"
    assert (await conversation_of(services, conversation_id)).state == "ai"
    assert services.jobs.queue(AI).get_jobs() == []

    second, _ = await send(services, org, "It renews on the 5th, account 7731, plan Pro.")

    assert second == "queued"
    gathered, handed = await decisions(services, conversation_id)
    assert (gathered.outcome, gathered.fired_rule) == ("gather-details", "restricted_topic")
    assert (handed.outcome, handed.fired_rule) == ("queued", "details_gathered")
    queued = await conversation_of(services, conversation_id)
    assert queued.handoff_reason == "the customer described the problem (restricted_topic)"


async def test_an_opted_out_contact_gets_no_reply(services: Services, org) -> None:
    intake = intake_for(services)
    first = await intake.receive(chat_message(org, "hello"))
    await route_message(services, first.message_id)
    services.jobs.queue(AI).empty()  # type: ignore[no-untyped-call]
    async with services.db.transaction() as session:
        await session.execute(
            update(ContactIdentity)
            .where(ContactIdentity.organization_id == org.id)
            .values(opted_out_at=utcnow())
        )

    later = await intake.receive(chat_message(org, "I want to talk to a person"))

    assert await route_message(services, later.message_id) == "opted-out"
    assert services.jobs.queue(AI).get_jobs() == []
    assert (await conversation_of(services, later.conversation_id)).state == "ai"
    record = (await decisions(services, later.conversation_id))[-1]
    assert (record.outcome, record.fired_rule) == ("opted-out", "opted_out")


async def test_the_ai_stays_silent_while_waiting_and_says_why(services: Services, org) -> None:
    await send(services, org, "agent please")

    outcome, conversation_id = await send(services, org, "hello? anyone?")

    assert outcome == "human-owned"
    record = (await decisions(services, conversation_id))[-1]
    assert record.fired_rule == "human_owned"
    assert "waiting in the queue" in record.rule_results[1]["detail"]


async def test_two_answers_the_ai_could_not_give_hand_off_without_a_third(
    services: Services, org
) -> None:
    await someone_online(services, org)
    _, conversation_id = await send(services, org, "Do you sell spare parts for the X200?")
    first = await ai_turn(services, conversation_id, 1)
    assert first is not None

    await send(services, org, "What about the flux capacitor?")
    second = await ai_turn(services, conversation_id, 1)

    assert second is None  # the non-answer is replaced by the handoff notice
    queued = await conversation_of(services, conversation_id)
    assert queued.state == "queued"
    assert queued.handoff_reason == "the assistant could not answer 2 questions in a row"
    record = (await decisions(services, conversation_id))[-1]
    assert (record.phase, record.outcome, record.fired_rule) == (
        "reply",
        "queued",
        "low_confidence_streak",
    )
    last = await last_message(services, conversation_id)
    assert last.author == "system" and last.meta["notice"] == "handoff"


async def test_the_ais_own_signal_hands_off_and_its_reply_goes_out(services: Services, org) -> None:
    await someone_online(services, org)
    _, conversation_id = await send(services, org, "my order arrived with a scratch")
    reply = ResponderReply(
        "I'll get a colleague to sort out a replacement.",
        1.0,
        knows=True,
        wants_human=True,
        handoff_reason="damaged delivery",
    )

    stored = await store_reply(services, conversation_id, 1, reply)

    assert stored is not None
    queued = await conversation_of(services, conversation_id)
    assert queued.handoff_reason == "the assistant asked for a person: damaged delivery"
    assert [hit["rule"] for hit in queued.rule_hits] == ["ai_decision"]


async def test_at_ai_only_the_ais_signal_needs_the_guards_confirmation(services: Services) -> None:
    org = await make_org(services.db, "ai-only", handoff_level="ai_only")
    await someone_online(services, org)
    _, conversation_id = await send(services, org, "my order arrived with a scratch")
    reply = ResponderReply("Sorry to hear that.", 1.0, knows=True, wants_human=True)

    assert await store_reply(services, conversation_id, 1, reply) is not None

    assert (await conversation_of(services, conversation_id)).state == "ai"
    record = (await decisions(services, conversation_id))[-1]
    assert (record.level, record.outcome, record.fired_rule) == ("ai_only", "ai", None)
