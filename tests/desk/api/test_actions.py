"""The queue page's actions over the HTTP API: reassign to an agent or a team, set a label,
write an internal note. Bad input changes nothing; every action under manual control
restarts the review window; notes reach the agents and never the customer's channel."""

from __future__ import annotations

import asyncio
import json

from quart import Quart
from sqlalchemy import select

from gateway.events import conversation_channel, org_channel
from gateway.models import Conversation, Deadline, Message, Team
from handoff import actions
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.factories import make_agent


async def _conversation(services, conversation_id: int) -> Conversation:  # type: ignore[no-untyped-def]
    async with services.db.transaction() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


async def _team(services, org, name: str) -> Team:  # type: ignore[no-untyped-def]
    async with services.db.transaction() as session:
        team = Team(organization_id=org.id, name=name)
        session.add(team)
    return team


async def test_reassign_a_waiting_conversation_to_an_agent(app: Quart, services, org) -> None:
    dana, lee = await make_agent(services.db, org), await make_agent(services.db, org, name="Lee")
    seeded = await seed_conversation(services.db, org)
    client, csrf = await client_for(app, services.db, dana)

    response = await client.post(
        f"/api/conversations/{seeded.conversation_id}/reassign",
        json={"agent_id": lee.id},
        headers=csrf,
    )

    assert response.status_code == 200, await response.get_json()
    conversation = await _conversation(services, seeded.conversation_id)
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", lee.id)
    async with services.db.transaction() as session:
        notices = list(
            await session.scalars(
                select(Message.text).where(
                    Message.conversation_id == seeded.conversation_id, Message.author == "system"
                )
            )
        )
    assert notices == ["Lee joined the conversation."]


async def test_copies_of_a_reassignment_tell_the_customer_once(app: Quart, services, org) -> None:
    """Two copies sent at once, and one more sent later (a client trying again after it
    got no answer): Lee gets the conversation once and the customer hears it once."""
    admin = await make_agent(services.db, org, role="admin")
    lee = await make_agent(services.db, org, name="Lee")
    seeded = await seed_conversation(services.db, org)
    client, csrf = await client_for(app, services.db, admin)
    path = f"/api/conversations/{seeded.conversation_id}/reassign"

    responses = await asyncio.gather(
        *(client.post(path, json={"agent_id": lee.id}, headers=csrf) for _ in range(2))
    )
    responses.append(await client.post(path, json={"agent_id": lee.id}, headers=csrf))

    assert sorted(response.status_code for response in responses)[0] == 200
    async with services.db.transaction() as session:
        notices = list(
            await session.scalars(
                select(Message.text).where(
                    Message.conversation_id == seeded.conversation_id, Message.author == "system"
                )
            )
        )
    assert notices == ["Lee joined the conversation."]
    conversation = await _conversation(services, seeded.conversation_id)
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", lee.id)
    assert conversation.ownership_version == 2  # one move, from the queue to Lee


async def test_only_an_admin_reassigns_another_agents_conversation(
    app: Quart, services, org
) -> None:
    owner, other = await make_agent(services.db, org), await make_agent(services.db, org)
    admin = await make_agent(services.db, org, role="admin")
    seeded = await seed_conversation(services.db, org, state="assigned", assignee=owner)
    other_client, other_csrf = await client_for(app, services.db, other)
    admin_client, admin_csrf = await client_for(app, services.db, admin)
    path = f"/api/conversations/{seeded.conversation_id}/reassign"

    refused = await other_client.post(path, json={"agent_id": other.id}, headers=other_csrf)
    allowed = await admin_client.post(path, json={"agent_id": other.id}, headers=admin_csrf)

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert (await _conversation(services, seeded.conversation_id)).assigned_agent_id == other.id


async def test_reassign_to_a_team_puts_an_assigned_conversation_back_in_the_queue(
    app: Quart, services, org
) -> None:
    agent = await make_agent(services.db, org)
    billing = await _team(services, org, "Billing")
    seeded = await seed_conversation(services.db, org, state="assigned", assignee=agent)
    client, csrf = await client_for(app, services.db, agent)

    response = await client.post(
        f"/api/conversations/{seeded.conversation_id}/reassign",
        json={"team_id": billing.id},
        headers=csrf,
    )

    assert response.status_code == 200
    conversation = await _conversation(services, seeded.conversation_id)
    assert (conversation.state, conversation.team_id) == ("queued", billing.id)
    assert conversation.assigned_agent_id is None
    assert conversation.waiting_since is not None
    waiting = await (await client.get(f"/api/queue/waiting?team_id={billing.id}")).get_json()
    assert [item["id"] for item in waiting["items"]] == [seeded.conversation_id]


async def test_bad_reassignments_are_refused_and_change_nothing(
    app: Quart, services, org, other_org
) -> None:
    agent = await make_agent(services.db, org)
    viewer = await make_agent(services.db, org, role="viewer")
    foreign_agent = await make_agent(services.db, other_org)
    foreign_team = await _team(services, other_org, "Theirs")
    seeded = await seed_conversation(services.db, org)
    client, csrf = await client_for(app, services.db, agent)
    path = f"/api/conversations/{seeded.conversation_id}/reassign"

    cases = [
        ({}, 400),
        ({"agent_id": "7"}, 400),
        ({"agent_id": viewer.id}, 400),
        ({"agent_id": foreign_agent.id}, 404),
        ({"team_id": foreign_team.id}, 404),
    ]
    for body, status in cases:
        response = await client.post(path, json=body, headers=csrf)
        assert response.status_code == status, body
    conversation = await _conversation(services, seeded.conversation_id)
    assert (conversation.state, conversation.team_id, conversation.ownership_version) == (
        "queued",
        None,
        1,
    )


async def test_set_and_clear_a_label(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    seeded = await seed_conversation(services.db, org)
    client, csrf = await client_for(app, services.db, agent)
    path = f"/api/conversations/{seeded.conversation_id}/label"

    set_ = await client.post(path, json={"label": "  refund   request "}, headers=csrf)
    labels = await (await client.get("/api/labels")).get_json()
    too_long = await client.post(path, json={"label": "x" * 121}, headers=csrf)
    cleared = await client.post(path, json={"label": None}, headers=csrf)

    assert (await set_.get_json())["conversation"]["label"] == "refund request"
    assert labels == {"labels": ["refund request"]}
    assert too_long.status_code == 400
    assert (await cleared.get_json())["conversation"]["label"] is None


async def test_every_action_under_manual_control_restarts_the_review_window(
    app: Quart, services, org
) -> None:
    agent = await make_agent(services.db, org)
    seeded = await seed_conversation(services.db, org, state="ai")
    await actions.take_manual_control(services, agent, seeded.conversation_id)
    client, csrf = await client_for(app, services.db, agent)
    base = f"/api/conversations/{seeded.conversation_id}"
    steps = [
        ("notes", {"text": "checking the order"}),
        ("label", {"label": "order"}),
        ("reassign", {"team_id": (await _team(services, org, "Ops")).id}),
    ]

    for action, body in steps:
        before = (await _conversation(services, seeded.conversation_id)).ai_paused_until
        response = await client.post(f"{base}/{action}", json=body, headers=csrf)
        assert response.status_code in (200, 201), action
        after = await _conversation(services, seeded.conversation_id)
        assert after.state == "manual"
        assert after.ai_paused_until is not None and before is not None
        assert after.ai_paused_until > before, action
        async with services.db.transaction() as session:
            pending = list(
                await session.scalars(
                    select(Deadline).where(
                        Deadline.conversation_id == seeded.conversation_id,
                        Deadline.kind == "resume-ai",
                        Deadline.fired_at.is_(None),
                        Deadline.cancelled_at.is_(None),
                    )
                )
            )
        assert [d.due_at for d in pending] == [after.ai_paused_until], action


async def test_a_note_reaches_the_agents_and_never_the_customers_channel(
    app: Quart, services, org
) -> None:
    agent = await make_agent(services.db, org, name="Dana")
    seeded = await seed_conversation(services.db, org)
    client, csrf = await client_for(app, services.db, agent)

    async with services.events.redis.pubsub() as agents, services.events.redis.pubsub() as widget:
        await agents.subscribe(org_channel(org.id))
        await widget.subscribe(conversation_channel(seeded.conversation_id))
        for listener in (agents, widget):
            await listener.get_message(timeout=1)
        response = await client.post(
            f"/api/conversations/{seeded.conversation_id}/notes",
            json={"text": "internal only"},
            headers=csrf,
        )
        seen = await agents.get_message(ignore_subscribe_messages=True, timeout=2)
        # published after the note's events: the widget's next message unless one leaked
        await services.events.redis.publish(conversation_channel(seeded.conversation_id), "end")
        first = await widget.get_message(ignore_subscribe_messages=True, timeout=2)

    assert response.status_code == 201
    assert seen is not None
    event = json.loads(seen["data"])
    assert (event["type"], event["data"]["text"], event["data"]["agent_name"]) == (
        "note",
        "internal only",
        "Dana",
    )
    assert first is not None and first["data"] == b"end", first
    async with services.db.transaction() as session:
        outbound = list(
            await session.scalars(
                select(Message.id).where(
                    Message.conversation_id == seeded.conversation_id,
                    Message.direction == "outbound",
                )
            )
        )
    assert outbound == []
    empty = await client.post(
        f"/api/conversations/{seeded.conversation_id}/notes", json={"text": "  "}, headers=csrf
    )
    assert empty.status_code == 400
