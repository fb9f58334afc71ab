"""Summaries at handoff: the facts found by pattern, the extractive summary (who, channel,
the unresolved issue, facts, how frustrated, what the AI tried, why, as short lines), the
hosted model's summary with its fallback, and the job that stores it on the conversation
and tells the agents' pages (never the customer's widget), without overwriting a newer
handoff's summary and never after the conversation went back to the AI."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import select, update

from gateway.events import conversation_channel, org_channel
from gateway.models import Contact, Conversation
from gateway.queues import SUMMARIES
from gateway.runtime import Services
from handoff import actions
from handoff.ai.llm_client import LLMConfig
from handoff.ai.summaries import (
    Line,
    SummaryInput,
    extract_facts,
    extractive_summary,
    sentiment,
    summarize,
)
from handoff.ai.summary_job import SUMMARIZE, summarize_handoff
from handoff.context import load_context
from handoff.routing import hand_off
from tests.handoff.ai.llm.conftest import API_KEY, MODEL
from tests.support.factories import chat_message, intake_for, make_agent
from tests.support.fake_llm import FakeLLM

ANGRY = (
    "My order #48213 arrived broken and I paid $129.99 for it. This is the second time, "
    "I'm furious. Email me at jo@example.com or call +1 415 555 0134."
)


def conversation_input(*lines: Line, name: str | None = "Jo Smith") -> SummaryInput:
    return SummaryInput(
        channel="SMS",
        customer_name=name,
        addresses=("+14155550134",),
        messages=lines,
        reason="the customer asked for a person",
        rule_hits=({"rule": "explicit_person_request", "fired": True}, {"rule": "x"}),
    )


def test_facts_are_found_by_pattern_and_dates_are_not_phone_numbers() -> None:
    facts = extract_facts(
        [
            ANGRY,
            "Also order number 55120 and ORD-2024-0042, delivered on 2024-03-01. "
            "It was 45 EUR, or 1,200 dollars for all. Old ticket INV-7781.",
        ]
    )

    assert facts.orders == ("#48213", "#55120", "ORD-2024-0042", "INV-7781")
    assert facts.emails == ("jo@example.com",)
    assert facts.phones == ("+1 415 555 0134",)
    assert facts.amounts == ("$129.99", "45 EUR", "1,200 dollars")
    assert extract_facts(["hello, where are you?"]).line() == "Key facts: none mentioned"


def test_the_mood_is_the_tone_rules_frustration_with_the_latest_turn() -> None:
    angry_mood, angry_line = sentiment(["Where is my parcel?", ANGRY])
    calm_mood, _ = sentiment(["Thanks so much, that is wonderful, great service!"])

    assert angry_mood == "very frustrated" and angry_line == "Mood: very frustrated"
    assert calm_mood == "calm"
    _, turned = sentiment(["Great, thanks!", "Actually this is terrible and useless."])
    assert turned == "Mood: very frustrated"  # the latest message counts at once


def test_the_extractive_summary_says_who_what_facts_mood_attempts_and_why() -> None:
    data = conversation_input(
        Line("customer", "hi"),
        Line("ai", "Hi! Welcome to Acme. How can I help you today?", True),
        Line("customer", ANGRY),
        Line("ai", "I'm not sure about that one.", False),
        Line("customer", "let me talk to a human"),
    )

    summary = extractive_summary(data)
    gist, *rest = summary.splitlines()

    assert gist.startswith("Jo Smith via SMS: “My order #48213 arrived broken")
    assert "frustrated; handed off because the customer asked for a person." in gist
    assert len(gist) < 260  # spoken to the agent
    assert rest == [
        "Customer: Jo Smith · +14155550134 · SMS",
        f"Issue: “{ANGRY}”",
        "Key facts: orders #48213; emails jo@example.com; phones +1 415 555 0134; amounts $129.99",
        "Mood: a little frustrated; latest message calm",
        "AI tried: was not sure about “My order #48213 arrived broken and I paid $129.99 for "
        "it. T…”",
        # plain words: the policy's rule names stay behind the decision record's disclosure
        "Why handed off: the customer asked for a person",
    ]


def test_a_question_the_ai_answered_is_never_the_issue() -> None:
    data = conversation_input(
        Line("customer", "What are your opening hours?"),
        Line("ai", "We are open Monday to Friday, 9:00 to 17:00.", True),
        Line("customer", "Do you sell spare blades for the X200?"),
        Line("ai", "I'm not sure about that one.", False),
        Line("customer", "ok. and can I return a used blender?"),
        Line("customer", "I need help speaking with somebody"),
    )

    lines = extractive_summary(data).splitlines()

    assert lines[2] == (
        "Issue: “ok. and can I return a used blender?” Earlier: “Do you sell spare blades for "
        "the X200?”"
    )
    assert "opening hours" not in lines[0] + lines[2]
    assert lines[5] == (
        "AI tried: answered “What are your opening hours?”; was not sure about “Do you sell "
        "spare blades for the X200?”"
    )
    only_answered = extractive_summary(
        conversation_input(
            Line("customer", "What are your opening hours?"),
            Line("ai", "We are open Monday to Friday, 9:00 to 17:00.", True),
            Line("customer", "agent please"),
        )
    ).splitlines()
    assert (
        only_answered[2] == "Issue: not stated yet (the AI answered “What are your opening hours?”)"
    )


def test_a_customer_who_only_asked_for_a_person_is_summarized_honestly() -> None:
    summary = extractive_summary(conversation_input(Line("customer", "agent please"), name=None))

    assert summary.startswith("An unnamed customer via SMS: no open question yet; calm;")
    assert "\nIssue: not stated yet\n" in summary
    assert "\nAI tried: nothing yet (handed off before it answered)\n" in summary


async def test_the_hosted_models_summary_keeps_every_key_fact(fake_llm: FakeLLM) -> None:
    config = LLMConfig(fake_llm.base_url, MODEL, SecretStr(API_KEY), timeout=2)
    data = conversation_input(Line("customer", ANGRY), Line("customer", "human please"))
    fake_llm.answer_text(
        "Jo Smith wants a refund for a broken order #48213; angry.\nWants: a refund"
    )

    summary = await summarize(data, config)

    assert summary.startswith("Jo Smith wants a refund for a broken order #48213; angry.")
    # the model dropped the email, phone and amount: the facts found by pattern are added
    assert summary.splitlines()[-1].startswith("Key facts: orders #48213; emails jo@example.com")
    [request] = fake_llm.received()
    prompt = request.messages[1]["content"]
    assert "Transcript:\nCustomer: My order #48213" in prompt and "human please" in prompt
    assert "tools" not in request.body


async def test_a_failing_model_leaves_the_extractive_summary(fake_llm: FakeLLM) -> None:
    config = LLMConfig(fake_llm.base_url, MODEL, SecretStr(API_KEY), timeout=0.5)
    data = conversation_input(Line("customer", ANGRY))
    fake_llm.answer_status(503)

    assert await summarize(data, config) == extractive_summary(data)
    fake_llm.answer_text("too late", delay=3)
    assert await asyncio.wait_for(summarize(data, config), 2) == extractive_summary(data)


async def queue_for_a_person(services: Services, conversation_id: int) -> None:
    async with services.db.transaction() as session:
        context = await load_context(session, conversation_id)
        await hand_off(
            session,
            services,
            context.conversation,
            reason="the customer asked for a person",
            rule_hits=[{"rule": "explicit_person_request", "fired": True}],
            expiry=timedelta(minutes=15),
        )


async def test_the_job_stores_the_summary_and_tells_only_the_agents(
    services: Services, org
) -> None:
    received = await intake_for(services).receive(chat_message(org, ANGRY))
    async with services.db.transaction() as session:
        await session.execute(update(Contact).values(name="Jo Smith"))
    await queue_for_a_person(services, received.conversation_id)
    [job] = services.jobs.queue(SUMMARIES).get_jobs()
    assert job.func_name == SUMMARIZE
    conversation_id, version = job.args
    assert conversation_id == received.conversation_id

    async with services.events.redis.pubsub() as agents, services.events.redis.pubsub() as widget:
        await agents.subscribe(org_channel(org.id))
        await widget.subscribe(conversation_channel(conversation_id))
        assert await summarize_handoff(services, conversation_id, version) == "stored"
        agent_events = await _drain(agents)
        widget_events = await _drain(widget)

    async with services.db.transaction() as session:
        stored = await session.get(Conversation, conversation_id)
    assert stored is not None and stored.summary is not None
    assert stored.summary.startswith("Jo Smith via web chat: “My order #48213")
    assert "Key facts: orders #48213" in stored.summary
    [event] = [e for e in agent_events if e["type"] == "summary"]
    assert event["conversation_id"] == conversation_id
    assert event["data"]["summary"] == stored.summary
    assert [e for e in widget_events if e["type"] == "summary"] == []


async def test_a_job_for_an_older_handoff_never_overwrites_a_newer_summary(
    services: Services, org
) -> None:
    agent = await make_agent(services.db, org)
    first = await intake_for(services).receive(chat_message(org, "where is my parcel?"))
    await queue_for_a_person(services, first.conversation_id)
    [old_job] = services.jobs.queue(SUMMARIES).get_jobs()
    await actions.claim(services, agent, first.conversation_id)
    await actions.hand_back(services, agent, first.conversation_id)
    await intake_for(services).receive(chat_message(org, "it is order #777123"))
    await queue_for_a_person(services, first.conversation_id)
    new_job = services.jobs.queue(SUMMARIES).get_jobs()[-1]
    assert new_job.args[1] > old_job.args[1]

    assert await summarize_handoff(services, *new_job.args) == "stored"
    assert await summarize_handoff(services, *old_job.args) == "superseded"
    async with services.db.transaction() as session:
        summary = await session.scalar(
            select(Conversation.summary).where(Conversation.id == first.conversation_id)
        )
    assert summary is not None and "#777123" in summary


async def _drain(pubsub) -> list[dict]:
    """Every event published so far (subscription confirmations skipped)."""
    events = []
    while (message := await pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            events.append(json.loads(message["data"]))
    return events


async def test_a_summary_finishing_after_the_conversation_went_back_to_the_ai_is_dropped(
    services: Services, org
) -> None:
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, ANGRY))
    await queue_for_a_person(services, received.conversation_id)
    [job] = services.jobs.queue(SUMMARIES).get_jobs()
    conversation_id, version = job.args
    await actions.claim(services, agent, conversation_id)
    await actions.hand_back(services, agent, conversation_id)

    assert await summarize_handoff(services, conversation_id, version) == "not handed off"
    async with services.db.transaction() as session:
        back = await session.get(Conversation, conversation_id)
    assert back is not None and back.state == "ai" and back.summary is None
