"""The conversation view over the HTTP API: the customer's whole history across channels
with each message's channel and delivery status, email HTML sanitized in the JSON, the
profile and identities, notes, transitions with names, and the composer's reachability."""

from __future__ import annotations

from quart import Quart

from handoff import actions
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.factories import make_agent

HOSTILE_EMAIL = (
    '<p onmouseover="steal()">Hello<script>alert(1)</script></p>'
    '<img src="https://tracker.example/pixel.gif?u=42" alt="">'
    '<a href="javascript:alert(2)">click</a>'
    '<div style="position:fixed;top:0">overlay</div>'
)


async def test_the_view_shows_the_history_across_channels(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    chat = await seed_conversation(db, org, channel="webchat", name="Ada", text="chat first")
    email = await seed_conversation(
        db,
        org,
        channel="email",
        contact_id=chat.contact_id,
        address="ada@example.test",
        text="Hello (text part)",
        html=HOSTILE_EMAIL,
    )
    await seed_conversation(db, org, channel="sms", name="Someone else", text="not Ada's")
    client, _ = await client_for(app, db, agent)

    response = await client.get(f"/api/conversations/{email.conversation_id}")
    assert response.status_code == 200
    view = await response.get_json()

    assert [(m["channel"], m["text"]) for m in view["messages"]] == [
        ("webchat", "chat first"),
        ("email", "Hello (text part)"),
    ]
    assert {m["delivery_status"] for m in view["messages"]} == {"received"}
    html = view["messages"][1]["html"]
    for hostile in ("script", "onmouseover", "tracker.example", "javascript:", "style="):
        assert hostile not in html
    assert "Hello" in html and "overlay" in html
    assert view["messages"][1]["blocked_images"] == 1
    assert view["contact"]["name"] == "Ada"
    assert {i["address"] for i in view["contact"]["identities"]} >= {"ada@example.test"}
    assert {c["channel"] for c in view["contact"]["conversations"]} == {"webchat", "email"}
    assert view["conversation"]["summary_line"] == "Wants a refund for order 42."
    assert view["reachability"]["reachable"] is True
    assert view["reachability"]["channel_name"] == "email"
    assert view["time_zone"] == "UTC"
    assert view["has_older_messages"] is False


async def test_an_opted_out_customer_is_flagged_for_the_composer(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    seeded = await seed_conversation(db, org, channel="sms", address="+15550009999", opted_out=True)
    client, _ = await client_for(app, db, agent)

    view = await (await client.get(f"/api/conversations/{seeded.conversation_id}")).get_json()

    reach = view["reachability"]
    assert (reach["reachable"], reach["reason"], reach["channel_name"]) == (
        False,
        "opted_out",
        "SMS",
    )
    assert "opted out" in reach["message"]


async def test_transitions_and_notes_carry_names(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org, name="Dana")
    seeded = await seed_conversation(db, org)
    await actions.claim(services, agent, seeded.conversation_id)
    client, csrf = await client_for(app, db, agent)

    note = await client.post(
        f"/api/conversations/{seeded.conversation_id}/notes",
        json={"text": "Customer is a VIP"},
        headers=csrf,
    )
    view = await (await client.get(f"/api/conversations/{seeded.conversation_id}")).get_json()

    assert note.status_code == 201
    assert [(n["agent"]["name"], n["text"]) for n in view["notes"]] == [
        ("Dana", "Customer is a VIP")
    ]
    assert [m["text"] for m in view["messages"]].count("Customer is a VIP") == 0
    (claimed,) = view["transitions"]
    assert (claimed["to"], claimed["agent_name"], claimed["actor"]) == (
        "assigned",
        "Dana",
        f"agent:{agent.id}",
    )
    assert view["conversation"]["assignee"] == {"id": agent.id, "name": "Dana"}


async def test_older_history_pages_back(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    first = await seed_conversation(db, org, text="message 0")
    for n in range(1, 5):
        await seed_conversation(
            db,
            org,
            contact_id=first.contact_id,
            channel="sms",
            text=f"message {n}",
            thread_key=f"thread {n}",
        )
    client, _ = await client_for(app, db, agent)
    path = f"/api/conversations/{first.conversation_id}/messages"

    newest = await (await client.get(f"{path}?limit=3")).get_json()
    oldest_id = newest["messages"][0]["id"]
    older = await (await client.get(f"{path}?limit=3&before={oldest_id}")).get_json()

    assert [m["text"] for m in newest["messages"]] == ["message 2", "message 3", "message 4"]
    assert newest["has_older_messages"] is True
    assert [m["text"] for m in older["messages"]] == ["message 0", "message 1"]
    assert older["has_older_messages"] is False
    assert (await client.get(f"{path}?limit=0")).status_code == 400
