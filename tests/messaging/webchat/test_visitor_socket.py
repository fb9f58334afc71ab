"""The widget's socket against a real Redis and database: visitors are identified by signed
tokens bound to one organization, each message is stored once and acknowledged, live
events reach the visitor's socket, and the widget script and demo key are served."""

from __future__ import annotations

import json

from redis.asyncio import Redis as AsyncRedis

from gateway.db import Database
from gateway.events import Event, conversation_channel
from gateway.models import Conversation, Message, Organization
from messaging.webchat.tokens import VisitorTokens
from tests.messaging.webchat.socket_support import (
    SECRET,
    Gateway,
    hello,
    receive,
    receive_until,
    say,
)
from tests.support.factories import make_agent, make_org

# --- identity ------------------------------------------------------------------------------


async def test_a_new_visitor_gets_a_token_and_an_empty_welcome(
    gateway: Gateway, org: Organization
) -> None:
    async with gateway.socket(org.widget_key) as ws:
        welcome = await hello(ws)

    assert welcome["type"] == "welcome"
    assert welcome["state"] == "ai" and welcome["history"] == []
    assert welcome["organization"] == org.name
    assert welcome["max_message_chars"] == 2000
    assert welcome["suggestions"] == []  # no knowledge base, nothing to suggest
    visitor = VisitorTokens(SECRET, 90).verify(welcome["token"], org.id)
    assert visitor.visitor_id == welcome["visitor_id"]


async def test_a_message_is_stored_once_and_a_resend_is_acknowledged_as_duplicate(
    gateway: Gateway, org: Organization
) -> None:
    async with gateway.socket(org.widget_key) as ws:
        welcome = await hello(ws)
        first = await say(ws, "Where is my order?", "c-1")
        again = await say(ws, "Where is my order?", "c-1")

    assert first["type"] == "ack" and first["id"] == "c-1" and first["duplicate"] is False
    assert again["type"] == "ack" and again["duplicate"] is True
    assert again["message_id"] == first["message_id"]
    (stored,) = await gateway.messages()
    assert stored.id == first["message_id"]
    assert (stored.text, stored.author, stored.channel) == (
        "Where is my order?",
        "customer",
        "webchat",
    )
    assert stored.provider_message_id == f"{welcome['visitor_id']}:c-1"


async def test_a_returning_visitor_gets_the_history_and_the_same_identity(
    gateway: Gateway, org: Organization
) -> None:
    async with gateway.socket(org.widget_key) as ws:
        welcome = await hello(ws)
        ack = await say(ws, "Do you ship to Norway?", "c-1")

    async with gateway.socket(org.widget_key) as ws:
        again = await hello(ws, welcome["token"])

    assert again["type"] == "welcome" and again["visitor_id"] == welcome["visitor_id"]
    assert [(m["id"], m["author"], m["text"]) for m in again["history"]] == [
        (ack["message_id"], "customer", "Do you ship to Norway?")
    ]
    assert again["history"][0]["created_at"]


async def test_the_welcome_shows_who_owns_the_conversation_and_only_what_was_sent(
    gateway: Gateway, db: Database, org: Organization
) -> None:
    dana = await make_agent(db, org, name="Dana")
    async with gateway.socket(org.widget_key) as ws:
        welcome = await hello(ws)
        ack = await say(ws, "Can I talk to a person?", "c-1")
    async with db.transaction() as session:
        conversation = await session.get(
            Conversation, (await gateway.messages())[0].conversation_id
        )
        assert conversation is not None
        conversation.state, conversation.assigned_agent_id = "assigned", dana.id
        for status, text in [
            ("delivered", "Hi, Dana here."),
            ("dropped", "AI: late"),
            ("pending", "soon"),
        ]:
            session.add(
                Message(
                    organization_id=org.id,
                    conversation_id=conversation.id,
                    direction="outbound",
                    author="agent" if status == "delivered" else "ai",
                    agent_id=dana.id if status == "delivered" else None,
                    channel="webchat",
                    text=text,
                    delivery_status=status,
                )
            )

    async with gateway.socket(org.widget_key) as ws:
        again = await hello(ws, welcome["token"])

    assert (again["state"], again["agent_name"]) == ("assigned", "Dana")
    assert [(m["id"], m["author"], m["author_name"], m["text"]) for m in again["history"]] == [
        (ack["message_id"], "customer", None, "Can I talk to a person?"),
        (ack["message_id"] + 1, "agent", "Dana", "Hi, Dana here."),
    ]


# --- live events ---------------------------------------------------------------------------


async def test_events_of_the_conversation_reach_the_socket(
    gateway: Gateway, db: Database, org: Organization
) -> None:
    dana = await make_agent(db, org, name="Dana")
    async with gateway.socket(org.widget_key) as ws:
        await hello(ws)
        ack = await say(ws, "I need a person", "c-1")
        conversation = (await gateway.messages())[0].conversation_id
        # Not for the visitor: internal events are never forwarded.
        await gateway.publish(Event("attention", org.id, conversation, {"reason": "x"}))
        await gateway.publish(Event("typing", org.id, conversation, {"author": "ai"}))
        typing, before = await receive_until(ws, lambda f: f["type"] == "typing")
        await gateway.publish(
            Event(
                "state", org.id, conversation, {"state": "assigned", "assigned_agent_id": dana.id}
            )
        )
        state = await receive(ws)
        reply = {
            "message_id": 99,
            "author": "agent",
            "author_name": "Dana",
            "text": "Hi, I'm Dana.",
            "notice": None,
            "channel": "webchat",
        }
        await gateway.publish(Event("message", org.id, conversation, reply))
        message = await receive(ws)

    # The catch-up after the first message repeats the visitor's own message (by id).
    assert [f["message_id"] for f in before] == [ack["message_id"]]
    assert typing == {"type": "typing", "author": "ai", "author_name": None}
    assert state == {"type": "state", "state": "assigned", "agent_name": "Dana"}
    assert message == {
        "type": "message",
        "message_id": 99,
        "author": "agent",
        "author_name": "Dana",
        "text": "Hi, I'm Dana.",
        "notice": None,
    }


async def test_a_returning_visitor_follows_the_conversation_at_once_and_in_every_tab(
    gateway: Gateway, org: Organization
) -> None:
    async with gateway.socket(org.widget_key) as ws:
        welcome = await hello(ws)
        await say(ws, "first", "c-1")

    async with gateway.socket(org.widget_key) as tab1, gateway.socket(org.widget_key) as tab2:
        await hello(tab1, welcome["token"])
        await hello(tab2, welcome["token"])
        ack = await say(tab1, "second", "c-2")
        seen, _ = await receive_until(tab2, lambda f: f["type"] == "message")

    assert seen["message_id"] == ack["message_id"]
    assert (seen["author"], seen["text"]) == ("customer", "second")


async def test_the_visitors_typing_is_published_to_the_conversation(
    gateway: Gateway, org: Organization
) -> None:
    async with gateway.socket(org.widget_key) as ws:
        await hello(ws)
        await say(ws, "hello", "c-1")
        conversation = (await gateway.messages())[0].conversation_id
        redis = AsyncRedis.from_url(gateway.redis_url)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(conversation_channel(conversation))
            await ws.send(json.dumps({"type": "typing"}))
            published = None
            for _ in range(50):
                published = await pubsub.get_message(timeout=0.1)
                if published is not None:
                    break
        finally:
            await pubsub.aclose()
            await redis.aclose()

    assert published is not None
    event = Event.from_json(published["data"])
    assert (event.type, event.data) == ("typing", {"author": "customer"})


# --- HTTP routes ---------------------------------------------------------------------------


async def test_the_widget_script_is_served_as_javascript(gateway: Gateway) -> None:
    response = await gateway.client.get("/widget.js")

    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert "max-age=300" in (response.headers.get("Cache-Control") or "")
    body = await response.get_data(as_text=True)
    assert "switchboard:agent-joined" in body
    # One script joined from its parts: it opens and closes one function, and a browser
    # revalidates it by its ETag.
    assert body.startswith("/*") and body.endswith("})();\n")
    assert body.count("\n(function () {") == 1
    etag = response.headers["ETag"]
    again = await gateway.client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


async def test_the_demo_key_names_the_demo_organization(gateway: Gateway, db: Database) -> None:
    missing = await gateway.client.get("/demo/widget-key")
    demo = await make_org(db, "demo")
    found = await gateway.client.get("/demo/widget-key")
    page = await gateway.client.get("/")

    assert missing.status_code == 404 and (await missing.get_json())["error"] == "not_found"
    assert (await found.get_json()) == {"widget_key": demo.widget_key}
    assert "/demo/widget-key" in await page.get_data(as_text=True)
