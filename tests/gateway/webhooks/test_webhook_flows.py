"""Outgoing webhooks from the whole system: the events a conversation's flow emits, retries
with back-off through a real worker, and the admins' API."""

from __future__ import annotations

import asyncio
import time

from quart import Quart
from sqlalchemy import select

from gateway import webhooks
from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from gateway.webhook_tables import WebhookEndpoint
from handoff import actions
from handoff.context import load_context
from handoff.routing import hand_off, route_message
from tests.gateway.webhooks.webhook_support import (
    Receiver,
    add_endpoint,
    deliveries,
    emit,
)
from tests.support.api import logged_in
from tests.support.factories import chat_message, intake_for, job_services, make_agent, make_org
from tests.support.worker import running_worker


async def test_the_conversation_flow_emits_message_handoff_claimed_and_resolved(
    services: Services, org: Organization
) -> None:
    await add_endpoint(services.db, org, "https://hooks.example.test/")
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, "Hello there"))
    conversation_id = received.conversation_id

    await route_message(services, received.message_id)
    async with services.db.transaction() as session:
        context = await load_context(session, conversation_id)
        if context.conversation.state == "ai":
            await hand_off(
                session,
                services,
                context.conversation,
                reason="test",
                rule_hits=[],
                expiry=context.settings.queue_expiry,
            )
    await actions.claim(services, agent, conversation_id)
    await actions.resolve(services, agent, conversation_id)

    rows = await deliveries(services.db)
    assert [row.event for row in rows] == ["message", "handoff", "claimed", "resolved"]
    message, handoff, claimed, resolved = (row.payload["data"] for row in rows)
    assert message["message"]["id"] == received.message_id
    assert message["message"]["text"] == "Hello there"
    assert handoff["conversation"]["state"] == "queued"
    assert claimed["agent"] == {"id": agent.id, "name": agent.name}
    assert claimed["conversation"]["state"] == "assigned"
    assert resolved["conversation"]["state"] == "resolved"
    assert {d["conversation"]["id"] for d in (message, handoff, claimed, resolved)} == {
        conversation_id
    }


async def test_a_worker_retries_with_back_off_until_the_receiver_accepts(
    db: Database, redis_url: str, receiver: Receiver
) -> None:
    async with job_services(db, redis_url, webhook_retry_intervals=[1, 1, 1]) as services:
        org = await make_org(db, "retries")
        flaky = await add_endpoint(db, org, receiver.url)
        down = await add_endpoint(db, org, receiver.url.replace("/hook", "/down"))
        receiver.secret, receiver.statuses = flaky.secret, [503, 502]
        started = time.monotonic()
        await emit(services, org)

        with running_worker(db.url, redis_url, SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE="true"):
            while time.monotonic() - started < 30:
                rows = {row.endpoint_id: row for row in await deliveries(db)}
                if all(row.status in ("delivered", "failed") for row in rows.values()):
                    break
                await asyncio.sleep(0.2)

    assert rows[flaky.id].status == "delivered" and rows[flaky.id].attempts == 3
    assert len(receiver.requests) == 3 and all(valid for _, _, valid in receiver.requests)
    assert {h[webhooks.DELIVERY_HEADER] for h, _, _ in receiver.requests} == {
        rows[flaky.id].delivery_id
    }
    assert rows[down.id].status == "failed" and rows[down.id].attempts == 4
    assert rows[down.id].last_error == "HTTP 500 Internal Server Error"  # not the body
    assert receiver.down_calls == 4
    assert time.monotonic() - started >= 2  # two back-off intervals of a second


# --- the admins' API -------------------------------------------------------------------------


async def test_an_admin_adds_lists_and_deletes_endpoints(
    app: Quart, services: Services, org: Organization
) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, csrf = await logged_in(app, admin)

    created = await client.post(
        "/api/admin/webhooks",
        json={"url": "https://93.184.215.14/in", "events": ["resolved"], "description": "CRM"},
        headers=csrf,
    )
    assert created.status_code == 201
    endpoint = (await created.get_json())["endpoint"]
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["resolved"]

    listed = await (await client.get("/api/admin/webhooks")).get_json()
    [shown] = listed["endpoints"]
    assert shown["id"] == endpoint["id"] and "secret" not in shown
    assert endpoint["secret"].startswith(shown["secret_hint"].rstrip("…"))

    await emit(services, org, "resolved")
    history = await (
        await client.get(f"/api/admin/webhooks/{endpoint['id']}/deliveries")
    ).get_json()
    assert [d["event"] for d in history["deliveries"]] == ["resolved"]

    deleted = await client.delete(f"/api/admin/webhooks/{endpoint['id']}", headers=csrf)
    assert deleted.status_code == 200
    assert (await (await client.get("/api/admin/webhooks")).get_json())["endpoints"] == []
    assert await deliveries(services.db) == []


async def test_bad_input_is_refused_and_stores_nothing(
    app: Quart, services: Services, org: Organization
) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, csrf = await logged_in(app, admin)

    for body in (
        {"url": "ftp://x.example.test/"},
        {"url": "https://x.example.test/", "events": ["everything"]},
        {"url": "https://x.example.test/", "description": 5},
        ["https://x.example.test/"],
    ):
        answer = await client.post("/api/admin/webhooks", json=body, headers=csrf)
        assert answer.status_code == 400, body
        assert (await answer.get_json())["message"]
    no_csrf = await client.post("/api/admin/webhooks", json={"url": "https://x.example.test/"})
    assert no_csrf.status_code == 403

    async with services.db.transaction() as session:
        assert (await session.scalars(select(WebhookEndpoint))).all() == []


async def test_agents_may_not_and_other_orgs_endpoints_are_not_found(
    app: Quart, services: Services, org: Organization, other_org: Organization
) -> None:
    agent = await make_agent(services.db, org)
    admin = await make_agent(services.db, org, role="admin")
    theirs = await add_endpoint(services.db, other_org, "https://theirs.example.test/")
    agent_client, agent_csrf = await logged_in(app, agent)
    admin_client, admin_csrf = await logged_in(app, admin)

    assert (await agent_client.get("/api/admin/webhooks")).status_code == 403
    refused = await agent_client.post(
        "/api/admin/webhooks", json={"url": "https://x.example.test/"}, headers=agent_csrf
    )
    assert refused.status_code == 403
    for answer in (
        await admin_client.delete(f"/api/admin/webhooks/{theirs.id}", headers=admin_csrf),
        await admin_client.get(f"/api/admin/webhooks/{theirs.id}/deliveries"),
    ):
        assert answer.status_code == 404
    assert (await (await admin_client.get("/api/admin/webhooks")).get_json())["endpoints"] == []
    async with services.db.transaction() as session:
        assert await session.get(WebhookEndpoint, theirs.id) is not None
