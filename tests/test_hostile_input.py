"""Hostile input against every route: each operation of the OpenAPI document (built from
the app's route table), every other route the app serves (pages, assets, Twilio's
webhooks and status callbacks), and both WebSockets (the widget's and the agents'). Ids past
64 bits or below 1, numbers that are not numbers, bodies that are not UTF-8, JSON nested too
deep, lone surrogates, NUL characters and fields of the wrong type must each get a 4xx with
a message (or, on a socket, an error frame with the socket still serving) and never a 5xx.
Runs on SQLite and PostgreSQL, whose failures differ (an overflow, a DataError)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient

from email_channel.mailboxes import add_mailbox
from gateway.auth import COOKIE, open_session
from gateway.db import Database
from gateway.inputs import MAX_DEPTH
from gateway.models import Agent, CannedResponse, KnowledgeEntry, Organization, Team
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from messaging.twilio.numbers import add_number
from tests.desk.api.helpers import seed_conversation
from tests.support.factories import make_agent
from tests.support.fake_twilio import sign

TOKEN = "0123456789abcdef0123456789abcdef"  # an auth token of Twilio's shape
ACCOUNT = "AC" + "0" * 32
NUMBER = "+15550001111"
MAILBOX = "support@walk.example.test"
ORIGIN = "http://localhost"

# Ids: past 64 bits, one past the largest 64-bit id, zero, and digits of other scripts.
BAD_IDS = ("99999999999999999999", "9223372036854775808", "0", "%EF%BC%91")
# Query values, already URL-encoded.
BAD_QUERY = (*BAD_IDS, "-1", "abc", "1e3", "%C2%B2", "%00", "%FF", "%ED%A0%80", "x" * 3000)
# Path segments that are text.
BAD_TEXT_SEGMENTS = ("%00", "%FF", "%ED%A0%80", "x" * 3000)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


RAW_BODIES: tuple[bytes, ...] = (
    b"\xff\xfe{}",  # not UTF-8
    b'{"text": "\xed\xa0\x80"}',  # an encoded surrogate: not UTF-8 either
    b"[" * 100_000,  # deeper than any parser's stack
    json.dumps(nested(MAX_DEPTH + 1)).encode(),
    b'"\\ud800 x"',
    b'{"\\udfff": 1}',
    b'{"text": "a\\u0000b"}',
    b"NaN",
    b'{"x": 1e999}',
    b"1" * 5000,  # more digits than Python turns into an int
    b"[]",
    b"null",
    b"{",
)
WRONG_VALUES: tuple[Any, ...] = (
    [],
    {},
    True,
    2**64,
    99999999999999999999,
    -1,
    0,
    1.5,
    "\ud800 x",
    "a\x00b",
    nested(MAX_DEPTH + 2),
    ["\ud800"],
)


def encoded(value: Any) -> bytes:
    # ensure_ascii writes a lone surrogate as the escape a hostile client would send
    return json.dumps({"_": value}, ensure_ascii=True)[6:-1].encode()


class Walk:
    """Sends requests and keeps every answer of 500 or more."""

    def __init__(self, app: Quart, db: Database) -> None:
        self.app = app
        self.db = db
        self.failures: list[str] = []
        self.sent = 0

    async def client(self, agent: Agent) -> tuple[QuartClient, dict[str, str]]:
        token, csrf = await open_session(self.db, agent)
        client = self.app.test_client()
        client.set_cookie("localhost", COOKIE, token)
        return client, {"X-CSRF-Token": csrf}

    async def send(
        self,
        client: QuartClient,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        note: str = "",
    ) -> int:
        all_headers = dict(headers or {})
        if body is not None:
            all_headers["Content-Type"] = content_type
        response = await client.open(path, method=method, data=body, headers=all_headers)
        self.sent += 1
        if response.status_code >= 500:
            shown = (body or b"")[:60]
            self.failures.append(
                f"{method} {path[:120]} {shown!r} {note} -> {response.status_code}"
            )
        elif response.status_code >= 400 and response.content_type == "application/json":
            answer = await response.get_json()
            if not str(answer.get("message", "")).strip():
                self.failures.append(f"{method} {path[:120]}: {response.status_code} no message")
        return response.status_code


@pytest.fixture
async def targets(db: Database, org: Organization) -> dict[str, str]:
    """A real row for every kind of id a route takes, so bodies get past the lookups."""
    other = await make_agent(db, org, role="agent", name="Target")
    seeded = await seed_conversation(db, org)
    async with db.transaction() as session:
        team = Team(organization_id=org.id, name="Billing")
        canned = CannedResponse(organization_id=org.id, shortcut="hi", title="Hi", body="Hello")
        endpoint = WebhookEndpoint(
            organization_id=org.id, url="https://example.test/hook", secret="s", events=[]
        )
        entry = KnowledgeEntry(organization_id=org.id, source="faq.md", title="Hours", body="9-5")
        session.add_all([team, canned, endpoint, entry])
        await session.flush()
        delivery = WebhookDelivery(
            organization_id=org.id,
            endpoint_id=endpoint.id,
            event="message",
            delivery_id="0b5f6c2e-0000-4000-8000-000000000001",
            status="delivered",
        )
        session.add(delivery)
    await add_number(db, org.id, NUMBER, ACCOUNT, TOKEN)
    await add_mailbox(db, org.id, MAILBOX)
    return {
        "conversation_id": str(seeded.conversation_id),
        "agent_id": str(other.id),
        "team_id": str(team.id),
        "canned_response_id": str(canned.id),
        "endpoint_id": str(endpoint.id),
        "delivery_id": delivery.delivery_id,
        "message_id": str(seeded.message_id),
        "entry_id": str(entry.id),
        "view": "waiting",
        "key": "no-such-key",
        "number": NUMBER,
        "address": MAILBOX,
    }


def resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def body_fields(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = resolve(document, content.get("application/json", {}).get("schema"))
    return sorted((schema or {}).get("properties", {}))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    found = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    # Deletions last (they remove the rows the other routes look up), logouts after them.
    found.sort(key=lambda op: (op[1] == "/api/logout", op[0] == "DELETE", op[1], op[0]))
    yield from found


async def test_no_route_answers_hostile_input_with_a_server_error(
    app: Quart, db: Database, org: Organization, targets: dict[str, str]
) -> None:
    walk = Walk(app, db)
    admin = await make_agent(db, org, role="admin", name="Root")
    document = await (await app.test_client().get("/api/openapi.json")).get_json()
    walked: set[tuple[str, str]] = set()

    for method, template, operation in operations(document):
        if operation.get("x-websocket") or template == "/api/events":
            continue  # the sockets are walked below; the event stream never ends
        walked.add((method, template))
        client, csrf = await walk.client(admin)
        names = re.findall(r"{(\w+)}", template)
        real = template.format(**{name: targets[name] for name in names})
        for name in names:
            attacks = BAD_IDS if name.endswith("_id") else BAD_TEXT_SEGMENTS
            for attack in attacks:
                path = template.format(**{**targets, name: attack})
                await walk.send(client, method, path, headers=csrf, note=name)
        for param in operation.get("parameters", []):
            if param["in"] != "query":
                continue
            for attack in BAD_QUERY:
                await walk.send(client, method, f"{real}?{param['name']}={attack}", headers=csrf)
        if method == "GET":
            continue
        for raw in RAW_BODIES:
            await walk.send(client, method, real, body=raw, headers=csrf)
        await walk.send(
            client, method, real, body=b'{"a": 1}', headers=csrf, content_type="text/plain"
        )
        for field in body_fields(document, operation):
            for value in WRONG_VALUES:
                body = b'{"%s": %s}' % (field.encode(), encoded(value))
                await walk.send(client, method, real, body=body, headers=csrf, note=field)

    assert ("POST", "/api/login") in walked and (
        "POST",
        "/api/conversations/{conversation_id}/claim",
    ) in walked
    assert len(walked) >= 45, walked

    # Every route outside the API: pages, assets, Twilio's webhooks.
    client, csrf = await walk.client(admin)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or getattr(rule, "websocket", False):
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        names = re.findall(r"{(\w+)}", template)
        for method in methods:
            for name in names:
                for attack in BAD_IDS + BAD_TEXT_SEGMENTS:
                    await walk.send(client, method, template.format(**{name: attack}))
            if not names:
                for attack in BAD_QUERY:
                    await walk.send(client, method, f"{template}?part={attack}&q={attack}")
            if method == "POST":
                for raw in (b"\xff\xfe=%ff", b"Body=%00&To=%ED%A0%80", b"=" * 10_000):
                    await walk.send(
                        client,
                        method,
                        template,
                        body=raw,
                        content_type="application/x-www-form-urlencoded",
                        headers={"X-Twilio-Signature": "forged"},
                    )

    # Twilio's webhooks, correctly signed, carrying text no one can store.
    url = "http://localhost/twilio/sms"
    for text in ("a\x00b", "x" * 20_000):
        form = {
            "MessageSid": "SM" + "1" * 32,
            "AccountSid": ACCOUNT,
            "From": "+15557654321",
            "To": NUMBER,
            "Body": text,
            "NumMedia": "0",
        }
        response = await app.test_client().post(
            "/twilio/sms", form=form, headers={"X-Twilio-Signature": sign(TOKEN, url, form)}
        )
        walk.sent += 1
        if response.status_code >= 500:
            walk.failures.append(f"signed /twilio/sms Body={text[:10]!r} -> {response.status_code}")

    assert walk.failures == [], f"{len(walk.failures)} of {walk.sent}:\n" + "\n".join(
        walk.failures[:60]
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "words"),
    [
        ("POST", "/api/login", b'{"email": "\xff"}', "not UTF-8"),
        ("POST", "/api/conversations/99999999999999999999/claim", None, "whole number"),
        ("POST", "/api/login", b'{"email": "\\ud800", "password": "x"}', "surrogate"),
        ("PATCH", "/api/me", json.dumps({"time_zone": nested(60)}).encode(), "levels deep"),
        ("GET", "/api/queue/waiting?team_id=9223372036854775808", None, "team_id must be"),
        ("GET", "/api/queue/waiting?cursor=WzEsIDk5OTk5OTk5OTk5OTk5OTk5OTk5OV0", None, "cursor"),
        (
            "POST",
            "/api/conversations/1/reassign",
            b'{"agent_id": 18446744073709551616}',
            "agent_id",
        ),
    ],
)
async def test_the_attacks_that_once_failed_get_a_plain_400(
    app: Quart,
    db: Database,
    org: Organization,
    method: str,
    path: str,
    body: bytes | None,
    words: str,
) -> None:
    admin = await make_agent(db, org, role="admin")
    seeded = await seed_conversation(db, org)
    client, csrf = await Walk(app, db).client(admin)
    headers = {**csrf, "X-Twilio-Signature": "x"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    path = path.replace("/conversations/1/", f"/conversations/{seeded.conversation_id}/")

    response = await client.open(path, method=method, data=body, headers=headers)

    assert response.status_code == 400, await response.get_data()
    answer = await response.get_json()
    assert answer["error"] == "bad_input" and words in answer["message"], answer


async def test_a_status_callback_past_64_bits_is_refused_like_any_unknown_part(
    app: Quart,
) -> None:
    """Not a 500, and not a 400 either: to a caller without Twilio's signature, a malformed
    part answers exactly as an unknown one, so nothing is learnt about which exist."""
    client = app.test_client()
    form = {"AccountSid": ACCOUNT, "MessageStatus": "delivered"}
    answers = []
    for part in ("9223372036854775808", "99999999999999999999", "%EF%BC%91", "424242"):
        response = await client.post(
            f"/twilio/sms/status?part={part}", form=form, headers={"X-Twilio-Signature": "x"}
        )
        answers.append((response.status_code, await response.get_json()))

    assert answers[0][0] == 403
    assert all(answer == answers[0] for answer in answers)


WIDGET_FRAMES: tuple[str | bytes, ...] = (
    '{"type":"message","id":"m1","text":"\\ud800 x"}',
    '{"type":"message","id":"m2","text":"a\\u0000b"}',
    '{"type":"message","id":"\\udfff","text":"hi"}',
    '{"type":"message","id":"m3","text":' + json.dumps(nested(MAX_DEPTH + 1)) + "}",
    "[" * 50_000,
    '{"type":"message","id":"m4","text":"x"',
    "NaN",
    '{"type":"message","id":["m5"],"text":"x"}',
    '{"type": 99999999999999999999}',
    b"\xff\xfe binary",
)


async def next_frame(ws: Any) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.receive(), 10))
    return frame


async def test_the_widget_answers_bad_frames_with_an_error_frame(
    app: Quart, org: Organization
) -> None:
    client = app.test_client()
    async with client.websocket(
        f"/widget/ws?key={org.widget_key}", headers={"Origin": ORIGIN}
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "token": None}))
        assert (await next_frame(ws))["type"] == "welcome"
        for raw in WIDGET_FRAMES:
            await ws.send(raw)
            answer = await next_frame(ws)
            assert answer["type"] == "error" and answer["code"] == "bad_frame", (raw, answer)
            assert answer["message"].strip()
        await ws.send(json.dumps({"type": "ping"}))
        assert (await next_frame(ws))["type"] == "pong"  # still serving


async def test_the_agents_socket_answers_bad_frames_with_an_error_frame(
    app: Quart, db: Database, org: Organization
) -> None:
    agent = await make_agent(db, org, role="agent")
    client, _ = await Walk(app, db).client(agent)
    frames: list[str | bytes] = [
        *(f for f in WIDGET_FRAMES if not isinstance(f, bytes) and len(f) < 4000),
        '{"type":"viewing","conversation_id":99999999999999999999}',
        '{"type":"typing","conversation_id":9223372036854775808}',
        '{"type":"viewing","conversation_id":0}',
        '{"type":"viewing","conversation_id":"\\ud800"}',
    ]
    async with client.websocket("/api/live", headers={"Origin": ORIGIN}) as ws:
        assert (await next_frame(ws))["type"] == "hello"
        for raw in frames:
            await ws.send(raw)
            answer = await next_frame(ws)
            while answer["type"] not in ("error",):  # presence events may come first
                answer = await next_frame(ws)
            assert answer["error"] in ("bad_frame", "not_found"), (raw, answer)
            assert answer["message"].strip()
        await ws.send(json.dumps({"type": "ping"}))
        answer = await next_frame(ws)
        while answer["type"] != "pong":
            answer = await next_frame(ws)
