"""What the widget's socket refuses, against a real Redis and database: a socket that never
says hello, forged, expired and foreign tokens, unknown keys and other origins, messages
over the limits and malformed frames: each gets a clear error frame or a close, and
nothing is stored."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import update

from gateway.db import Database
from gateway.models import Organization
from messaging.webchat import visitor_socket
from messaging.webchat.tokens import VisitorTokens
from tests.messaging.webchat.socket_support import (
    SAME_ORIGIN,
    SECRET,
    Gateway,
    closed_with,
    hello,
    receive,
    say,
)
from tests.support.factories import make_org


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
