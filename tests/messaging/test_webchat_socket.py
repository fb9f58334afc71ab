"""The widget's socket against a real Redis and database: visitors are identified by signed
tokens bound to one organization, each message is stored once and acknowledged, bad input
gets a clear error frame and changes nothing, and live events reach the visitor's socket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from itsdangerous.timed import TimestampSigner
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client
from quart.typing import TestWebsocketConnectionProtocol as Socket
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import func, select, update

from gateway.db import Database
from gateway.events import Event, EventPublisher, conversation_channel
from gateway.models import Conversation, Message, Organization
from gateway.settings import Settings
from messaging.webchat import visitor_socket
from messaging.webchat.tokens import VisitorTokens
from server.app import create_app
from tests.support.factories import make_agent, make_org

SECRET = "test-secret"
SAME_ORIGIN = "http://localhost"
Frame = dict[str, Any]


class Gateway:
    """A running app (startup done) and what the tests need around it."""

    def __init__(self, client: Client, db: Database, redis_url: str) -> None:
        self.client = client
        self.db = db
        self.redis_url = redis_url

    def socket(self, key: str, origin: str | None = SAME_ORIGIN) -> Socket:
        headers = {} if origin is None else {"Origin": origin}
        return self.client.websocket(f"/widget/ws?key={key}", headers=headers)

    async def publish(self, event: Event) -> int:
        redis = AsyncRedis.from_url(self.redis_url)
        try:
            return await EventPublisher(redis).publish(event)
        finally:
            await redis.aclose()

    async def messages(self) -> list[Message]:
        async with self.db.transaction() as session:
            return list((await session.scalars(select(Message).order_by(Message.id))).all())

    async def message_count(self) -> int:
        async with self.db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


@pytest.fixture
def start(db: Database, redis_url: str, tmp_path: Path) -> Callable[..., Any]:
    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[Gateway]:
        settings = Settings(
            database_url=db.url,
            redis_url=redis_url,
            secret_key=SECRET,
            var_dir=tmp_path,
            **overrides,
        )
        app = create_app(settings)
        async with app.test_app() as test_app:
            yield Gateway(test_app.test_client(), db, redis_url)

    return running


@pytest.fixture
async def gateway(start: Callable[..., Any]) -> AsyncIterator[Gateway]:
    async with start() as running:
        yield running


@pytest.fixture
async def org(db: Database) -> Organization:
    return await make_org(db, "northwind")


async def receive(ws: Socket, timeout: float = 5.0) -> Frame:
    raw = await asyncio.wait_for(ws.receive(), timeout)
    frame: Frame = json.loads(raw)
    return frame


async def receive_until(ws: Socket, wanted: Callable[[Frame], bool]) -> tuple[Frame, list[Frame]]:
    """The first frame `wanted` accepts, and the frames that came before it."""
    skipped: list[Frame] = []
    while True:
        frame = await receive(ws)
        if wanted(frame):
            return frame, skipped
        skipped.append(frame)


async def closed_with(ws: Socket) -> int:
    with pytest.raises(WebsocketDisconnectError) as closed:
        await asyncio.wait_for(ws.receive(), 5.0)
    return int(closed.value.args[0])


async def hello(ws: Socket, token: str | None = None) -> Frame:
    await ws.send(json.dumps({"type": "hello", "token": token}))
    return await receive(ws)


async def say(ws: Socket, text: str, frame_id: str) -> Frame:
    """Send a chat message; the ack (or error) answering it."""
    await ws.send(json.dumps({"type": "message", "id": frame_id, "text": text}))
    answer, _ = await receive_until(ws, lambda f: f["type"] in ("ack", "error"))
    return answer


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


async def test_a_socket_that_never_says_hello_is_closed(
    gateway: Gateway, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(visitor_socket, "HELLO_TIMEOUT_SECONDS", 0.2)
    async with gateway.socket(org.widget_key) as ws:
        refused = await receive(ws)
        code = await closed_with(ws)

    assert (refused["code"], code) == ("hello_timeout", 4408)


async def test_a_message_before_hello_is_refused_and_changes_nothing(
    gateway: Gateway, org: Organization
) -> None:
    async with gateway.socket(org.widget_key) as ws:
        await ws.send(json.dumps({"type": "message", "id": "c-1", "text": "hi"}))
        refused = await receive(ws)
        welcome = await hello(ws)

    assert refused["type"] == "error" and refused["code"] == "bad_frame"
    assert welcome["type"] == "welcome"
    assert await gateway.message_count() == 0


async def test_a_forged_token_is_refused_and_the_socket_closed(
    gateway: Gateway, org: Organization
) -> None:
    async with gateway.socket(org.widget_key) as ws:
        welcome = await hello(ws)
    forged = welcome["token"][:-4] + ("AAAA" if not welcome["token"].endswith("AAAA") else "BBBB")

    async with gateway.socket(org.widget_key) as ws:
        refused = await hello(ws, forged)
        code = await closed_with(ws)

    assert (refused["type"], refused["code"]) == ("error", "bad_token")
    assert code == 4401


async def test_an_expired_token_is_refused_as_expired(
    gateway: Gateway, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = int(time.time()) - 91 * 86_400
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: long_ago)
        old = VisitorTokens(SECRET, 90).issue(org.id)

    async with gateway.socket(org.widget_key) as ws:
        refused = await hello(ws, old.token)
        code = await closed_with(ws)

    assert (refused["code"], code) == ("expired_token", 4401)


async def test_a_token_of_another_organization_is_refused_and_reveals_nothing(
    gateway: Gateway, db: Database, org: Organization
) -> None:
    other = await make_org(db, "contoso")
    async with gateway.socket(org.widget_key) as ws:
        welcome = await hello(ws)
        await say(ws, "my secret order 1234", "c-1")

    async with gateway.socket(other.widget_key) as ws:
        refused = await hello(ws, welcome["token"])
        code = await closed_with(ws)
    async with gateway.socket(other.widget_key) as ws:
        fresh = await hello(ws)

    assert (refused["type"], refused["code"], code) == ("error", "bad_token", 4401)
    assert "1234" not in json.dumps(refused)
    assert fresh["history"] == [] and fresh["visitor_id"] != welcome["visitor_id"]


# --- the handshake -------------------------------------------------------------------------


async def test_an_unknown_widget_key_is_refused(gateway: Gateway, org: Organization) -> None:
    async with gateway.socket("pk_nobody") as ws:
        refused = await receive(ws)
        code = await closed_with(ws)

    assert (refused["type"], refused["code"], code) == ("error", "unknown_widget_key", 4404)


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:8081", None])
async def test_a_page_of_another_origin_is_refused(
    gateway: Gateway, org: Organization, origin: str | None
) -> None:
    async with gateway.socket(org.widget_key, origin=origin) as ws:
        refused = await receive(ws)
        code = await closed_with(ws)

    assert (refused["code"], code) == ("origin_not_allowed", 4403)


async def test_an_origin_the_organization_allows_is_accepted(
    gateway: Gateway, db: Database, org: Organization
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Organization)
            .where(Organization.id == org.id)
            .values(allowed_origins=["https://shop.northwind.example"])
        )

    async with gateway.socket(org.widget_key, origin="https://Shop.Northwind.example:443") as ws:
        welcome = await hello(ws)

    assert welcome["type"] == "welcome"


# --- bad input -----------------------------------------------------------------------------


async def test_a_message_over_the_limit_is_refused_and_nothing_is_stored(
    start: Callable[..., Any], org: Organization
) -> None:
    async with start(widget_max_message_chars=10) as gateway, gateway.socket(org.widget_key) as ws:
        await hello(ws)
        refused = await say(ws, "x" * 11, "c-1")
        accepted = await say(ws, "x" * 10, "c-2")

    assert (refused["type"], refused["code"], refused["id"]) == ("error", "message_too_long", "c-1")
    assert accepted["type"] == "ack"
    assert [m.text for m in await gateway.messages()] == ["x" * 10]


async def test_the_rate_limit_refuses_messages_past_the_limit(
    start: Callable[..., Any], org: Organization
) -> None:
    async with start(widget_messages_per_minute=3) as gateway, gateway.socket(org.widget_key) as ws:
        await hello(ws)
        answers = [await say(ws, f"message {n}", f"c-{n}") for n in range(4)]
        resend = await say(ws, "message 0", "c-0")

    assert [a["type"] for a in answers[:3]] == ["ack", "ack", "ack"]
    assert (answers[3]["type"], answers[3]["code"], answers[3]["id"]) == (
        "error",
        "rate_limited",
        "c-3",
    )
    # A resend of a stored message is acknowledged even while the visitor is limited.
    assert resend["type"] == "ack" and resend["duplicate"] is True
    assert await gateway.message_count() == 3


async def test_new_identities_from_one_address_are_limited(
    start: Callable[..., Any], org: Organization
) -> None:
    """Token-less sockets each get a fresh per-visitor allowance, so new identities are
    limited per address; a returning visitor (with a token) is never counted."""
    acked = 0
    async with start(widget_messages_per_minute=3, widget_new_visitors_per_hour=2) as gateway:
        tokens = []
        for visitor in range(2):
            async with gateway.socket(org.widget_key) as ws:
                tokens.append((await hello(ws))["token"])
                answers = [await say(ws, f"spam {n}", f"v{visitor}-{n}") for n in range(4)]
                acked += sum(answer["type"] == "ack" for answer in answers)
        async with gateway.socket(org.widget_key) as ws:
            refused = await hello(ws)
            assert await closed_with(ws) == 4429
        async with gateway.socket(org.widget_key) as ws:
            returning = await hello(ws, tokens[0])
        count = await gateway.message_count()

    assert acked == 6 and count == 6
    assert (refused["type"], refused["code"]) == ("error", "too_many_new_visitors")
    assert "network" in refused["message"]
    assert returning["type"] == "welcome" and returning["token"] == tokens[0]


async def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(
    start: Callable[..., Any], org: Organization
) -> None:
    async with start(widget_new_visitors_per_hour=1, trust_forwarded_headers=True) as gateway:
        answers = []
        for address in ("203.0.113.7", "203.0.113.8", "203.0.113.7"):
            headers = {"Origin": SAME_ORIGIN, "X-Forwarded-For": f"10.9.9.9, {address}"}
            async with gateway.client.websocket(
                f"/widget/ws?key={org.widget_key}", headers=headers
            ) as ws:
                answers.append((await hello(ws))["type"])

    assert answers == ["welcome", "welcome", "error"]


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        json.dumps({"type": "message", "id": 5, "text": "hi"}),
        json.dumps({"type": "message", "id": "c-1", "text": ["hi"]}),
        json.dumps({"type": "message", "id": "", "text": "hi"}),
        json.dumps({"type": "shout", "text": "hi"}),
        json.dumps({"text": "hi"}),
    ],
)
async def test_malformed_frames_get_bad_frame_and_the_socket_stays_open(
    gateway: Gateway, org: Organization, raw: str
) -> None:
    async with gateway.socket(org.widget_key) as ws:
        await hello(ws)
        await ws.send(raw)
        refused = await receive(ws)
        await ws.send(json.dumps({"type": "ping"}))
        pong = await receive(ws)

    assert (refused["type"], refused["code"]) == ("error", "bad_frame")
    assert refused["message"]
    assert pong == {"type": "pong"}
    assert await gateway.message_count() == 0


async def test_an_empty_message_is_refused(gateway: Gateway, org: Organization) -> None:
    async with gateway.socket(org.widget_key) as ws:
        await hello(ws)
        refused = await say(ws, "   ", "c-1")

    assert (refused["code"], refused["id"]) == ("empty_message", "c-1")
    assert await gateway.message_count() == 0


async def test_a_frame_over_64_kib_closes_the_socket(gateway: Gateway, org: Organization) -> None:
    async with gateway.socket(org.widget_key) as ws:
        await hello(ws)
        await ws.send(json.dumps({"type": "message", "id": "c-1", "text": "x" * 70_000}))
        refused = await receive(ws)
        code = await closed_with(ws)

    assert (refused["code"], code) == ("frame_too_large", 1009)
    assert await gateway.message_count() == 0


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
    assert "switchboard:agent-joined" in await response.get_data(as_text=True)


async def test_the_demo_key_names_the_demo_organization(gateway: Gateway, db: Database) -> None:
    missing = await gateway.client.get("/demo/widget-key")
    demo = await make_org(db, "demo")
    found = await gateway.client.get("/demo/widget-key")
    page = await gateway.client.get("/")

    assert missing.status_code == 404 and (await missing.get_json())["error"] == "not_found"
    assert (await found.get_json()) == {"widget_key": demo.widget_key}
    assert "/demo/widget-key" in await page.get_data(as_text=True)
