"""The agents' API answers "why was this handed off?": a conversation carries its latest
handoff decision (the rule that fired and every rule's result) and its recent decisions."""

from __future__ import annotations

from quart import Quart

from handoff.routing import route_message
from tests.support.api import logged_in, waiting_conversation
from tests.support.factories import chat_message, intake_for, make_agent


async def test_the_conversation_shows_why_it_was_handed_off(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    later = await intake_for(services).receive(chat_message(org, "hello? still there?"))
    assert await route_message(services, later.message_id) == "human-owned"
    client, _ = await logged_in(app, agent)

    shown = await (await client.get(f"/api/conversations/{conversation_id}")).get_json()
    listed = await (await client.get("/api/conversations?state=queued")).get_json()

    why = shown["conversation"]["handoff_decision"]
    assert (why["phase"], why["level"], why["outcome"]) == ("message", "balanced", "queued")
    assert why["fired_rule"] == "explicit_person_request"
    fired = {rule["rule"]: rule["detail"] for rule in why["rules"] if rule["fired"]}
    assert "confirmed by the guard" in fired["explicit_person_request"]
    assert fired["nobody_online"] == "no agent online: queued with a notice"
    newest, oldest = shown["conversation"]["decisions"]  # newest first
    assert (newest["outcome"], newest["fired_rule"]) == ("human-owned", "human_owned")
    assert oldest == why
    [row] = listed["conversations"]
    assert row["handoff_decision"] == why
