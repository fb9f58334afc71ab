"""Isolation and roles, over the app's whole route table: every route that takes the id of
an object an organization owns (conversation, agent, team, canned response, webhook
endpoint, message, ...) answers 404 to another organization's admin, so a new route without the
check fails here, and so does a new kind of id nobody taught this test. A viewer gets 403
on every write but their own session's; an agent gets 403 on the admins' routes."""

from __future__ import annotations

import re
from typing import Any

from quart import Quart

from gateway.models import CannedResponse, KnowledgeEntry, Message, Team
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.factories import make_agent

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
ID_ARGUMENT = re.compile(r"<(?:int:)?(\w+_id)>")
# Writes a viewer may make: about their own session, presence and read marks.
VIEWER_MAY = {
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
    ("POST", "/api/password"),
    ("PATCH", "/api/me"),
    ("POST", "/api/presence"),
    ("POST", "/api/conversations/<int:conversation_id>/read"),
    ("POST", "/api/sms/segments"),  # counts the SMS segments of a draft; changes nothing
}
BODY: dict[str, Any] = {
    "text": "sneaky",
    "message": "sneaky",
    "label": "sneaky",
    "name": "Sneaky",
    "shortcut": "sneaky",
    "title": "Sneaky",
    "body": "sneaky",
    "role": "admin",
    "password": "a long enough password",
}


async def organization_objects(services, org, agent) -> dict[str, int | str]:  # type: ignore[no-untyped-def]
    """One object of each kind an id route can name, all owned by `org`."""
    db = services.db
    seeded = await seed_conversation(db, org)
    async with db.transaction() as session:
        team = Team(organization_id=org.id, name="Billing")
        canned = CannedResponse(organization_id=org.id, shortcut="hi", title="Hi", body="Hello!")
        endpoint = WebhookEndpoint(
            organization_id=org.id, url="https://hooks.example/x", secret="s", events=["handoff"]
        )
        entry = KnowledgeEntry(organization_id=org.id, source="faq.md", title="T", body="B")
        failed = Message(  # an outgoing message that failed, so Retry and Dismiss apply
            organization_id=org.id,
            conversation_id=seeded.conversation_id,
            direction="outbound",
            author="agent",
            agent_id=agent.id,
            channel="webchat",
            text="Hello?",
            delivery_status="failed",
            error_code="gave_up",
        )
        session.add_all([team, canned, endpoint, entry, failed])
        await session.flush()
        delivery = WebhookDelivery(
            organization_id=org.id,
            endpoint_id=endpoint.id,
            event="handoff",
            delivery_id="0b4c5a52-3f0e-4a8e-9d7e-2f1f8f1d8a10",
            status="failed",
        )
        session.add(delivery)
    return {
        "entry_id": entry.id,
        "delivery_id": delivery.delivery_id,
        "conversation_id": seeded.conversation_id,
        "agent_id": agent.id,
        "team_id": team.id,
        "canned_response_id": canned.id,
        "endpoint_id": endpoint.id,
        "message_id": failed.id,
    }


def id_routes(app: Quart) -> list[tuple[str, str, list[str]]]:
    found = []
    for rule in app.url_map.iter_rules():
        names = ID_ARGUMENT.findall(rule.rule)
        if not names or getattr(rule, "websocket", False):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, names))
    return found


def fill(rule: str, ids: dict[str, int | str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in ids, f"{rule}: teach this test how to make an object for <{name}>"
        return str(ids[name])

    return ID_ARGUMENT.sub(replace, rule)


async def test_another_organizations_admin_gets_404_on_every_id_route(
    app: Quart, services, org, other_org
) -> None:
    owner = await make_agent(services.db, org, role="admin")
    ids = await organization_objects(services, org, owner)
    outsider = await make_agent(services.db, other_org, role="admin")
    client, csrf = await client_for(app, services.db, outsider)
    routes = id_routes(app)
    kinds = {name for _, _, names in routes for name in names}
    assert {"conversation_id", "agent_id", "team_id", "canned_response_id"} <= kinds

    failures = []
    for method, rule, _names in routes:
        response = await client.open(fill(rule, ids), method=method, json=BODY, headers=csrf)
        if response.status_code != 404:
            failures.append(f"{method} {rule} answered {response.status_code}")
    assert failures == []


async def test_a_viewer_gets_403_on_every_write_but_their_own_session(
    app: Quart, services, org
) -> None:
    admin = await make_agent(services.db, org, role="admin")
    ids = await organization_objects(services, org, admin)
    viewer = await make_agent(services.db, org, role="viewer")
    client, csrf = await client_for(app, services.db, viewer)

    failures = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or getattr(rule, "websocket", False):
            continue
        for method in sorted((rule.methods or set()) & WRITES):
            if (method, rule.rule) in VIEWER_MAY:
                continue
            response = await client.open(
                fill(rule.rule, ids), method=method, json=BODY, headers=csrf
            )
            if response.status_code != 403:
                failures.append(f"{method} {rule.rule} answered {response.status_code}")
    assert failures == []


async def test_an_agent_cannot_use_the_admins_routes(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    ids = await organization_objects(services, org, agent)
    client, csrf = await client_for(app, services.db, agent)

    checks = [
        ("POST", "/api/agents", {"name": "X", "email": "x@example.test", "password": "x" * 12}),
        ("PATCH", f"/api/agents/{ids['agent_id']}", {"role": "admin"}),
        ("POST", "/api/teams", {"name": "Sales"}),
        ("DELETE", f"/api/teams/{ids['team_id']}", None),
        ("POST", "/api/canned-responses", {"shortcut": "x", "title": "X", "body": "x"}),
        ("DELETE", f"/api/canned-responses/{ids['canned_response_id']}", None),
        ("GET", "/api/dashboard", None),
    ]
    for method, path, body in checks:
        response = await client.open(path, method=method, json=body, headers=csrf)
        assert response.status_code == 403, f"{method} {path}"
    me = await (await client.get("/api/me")).get_json()
    assert me["agent"]["role"] == "agent"
