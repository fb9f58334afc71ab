"""Outgoing webhooks against a real loopback HTTP receiver (aiohttp) that checks every
signature with the snippet the README gives receivers: signing and verifying, URL checks,
which endpoints an event goes to, how each kind of answer is handled, the events the
flows emit, retries with back-off through a real worker, and the admins' API."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from quart import Quart
from sqlalchemy import select, update

from gateway import webhooks
from gateway.db import Database
from gateway.errors import BadInput, TransientDeliveryError
from gateway.models import Base, Organization, utcnow
from gateway.queues import OUTBOUND
from gateway.reconciler import reconcile
from gateway.runtime import Services
from gateway.webhook_jobs import send_delivery
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from handoff import actions
from handoff.context import load_context
from handoff.routing import hand_off, route_message
from tests.support.api import logged_in
from tests.support.factories import chat_message, intake_for, job_services, make_agent, make_org
from tests.support.ports import free_port
from tests.support.worker import running_worker

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier() -> Callable[[str, str, bytes], bool]:
    """The receivers' verification snippet, exactly as the README shows it."""
    text = README.read_text()
    match = re.search(r"```python\n(.*?def verify_switchboard.*?)```", text, re.S)
    assert match, "the README lost its webhook verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    return namespace["verify_switchboard"]  # type: ignore[no-any-return]


verify_switchboard = readme_verifier()


@dataclass
class Receiver:
    """An HTTP endpoint on loopback answering scripted statuses (then 200)."""

    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes, bool]] = field(default_factory=list)
    followed_redirect: bool = False
    down_calls: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        valid = verify_switchboard(self.secret, headers.get(webhooks.SIGNATURE_HEADER, ""), body)
        self.requests.append((headers, body, valid))
        status = self.statuses.pop(0) if self.statuses else 200
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": "/elsewhere"})
        return web.Response(status=status, text="thanks" if status < 300 else "no thanks")

    async def down(self, request: web.Request) -> web.Response:
        self.down_calls += 1
        return web.Response(status=500, text="down for maintenance")

    async def elsewhere(self, request: web.Request) -> web.Response:
        self.followed_redirect = True
        return web.Response(text="moved here")


@pytest.fixture
async def services(db: Database, redis_url: str) -> AsyncIterator[Services]:
    """Worker services allowed to reach the loopback receiver (as an operator allows an
    on-premises integration); tests/gateway/test_webhook_targets.py covers the refusals."""
    async with job_services(db, redis_url, webhooks_allow_private=True) as built:
        yield built


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.hook)
    app.router.add_post("/elsewhere", found.elsewhere)
    app.router.add_post("/down", found.down)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    yield found
    await runner.cleanup()


async def add_endpoint(
    db: Database, org: Organization, url: str, events: list[str] | None = None, active=True
) -> WebhookEndpoint:
    async with db.transaction() as session:
        endpoint = WebhookEndpoint(
            organization_id=org.id,
            url=url,
            secret=webhooks.new_secret(),
            events=events or list(webhooks.EVENTS),
            active=active,
        )
        session.add(endpoint)
    return endpoint


async def emit(services: Services, org: Organization, event: str = "claimed") -> int:
    async with services.db.transaction() as session:
        return await webhooks.emit(session, services, org.id, event, {"conversation": {"id": 7}})


async def deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.transaction() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


# --- signing -------------------------------------------------------------------------------


def test_a_signature_verifies_and_any_change_breaks_it() -> None:
    secret, body, now = "whsec_test", b'{"event":"claimed"}', int(time.time())
    header = webhooks.sign(secret, now, body)

    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert webhooks.verify(secret, header, body) and verify_switchboard(secret, header, body)
    assert not webhooks.verify(secret, header, body + b" ")
    assert not webhooks.verify("whsec_other", header, body)
    assert not verify_switchboard(secret, header.replace(f"t={now}", f"t={now + 1}"), body)
    stale = webhooks.sign(secret, now - 301, body)
    assert not webhooks.verify(secret, stale, body) and not verify_switchboard(secret, stale, body)
    for broken in ("", "t=abc,v1=00", "v1=00", f"t={now}", "nonsense"):
        assert not webhooks.verify(secret, broken, body)
        assert not verify_switchboard(secret, broken, body)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.test/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "//example.test/hook",
        "https://",
        "https://user:pw@example.test/hook",
        "https://example.test/ho ok",
        "https://example.test:99999/hook",
        "https://example.test/" + "x" * 2000,
        "",
        42,
    ],
)
def test_urls_other_than_plain_http_or_https_are_refused(url: object) -> None:
    with pytest.raises(BadInput):
        webhooks.validate_url(url)


def test_http_and_https_urls_are_accepted_private_ones_included() -> None:
    for url in ("https://hooks.example.test/in?x=1", "http://10.0.0.5:8080/hook"):
        assert webhooks.validate_url(f"  {url} ") == url


def test_event_lists_are_checked() -> None:
    assert webhooks.validate_events(None) == list(webhooks.EVENTS)
    assert webhooks.validate_events(["resolved", "handoff"]) == ["handoff", "resolved"]
    for bad in ([], ["closed"], "handoff", [1]):
        with pytest.raises(BadInput):
            webhooks.validate_events(bad)


# --- emitting and sending --------------------------------------------------------------------


async def test_an_event_goes_to_each_active_subscribed_endpoint_of_the_org_only(
    services: Services, org: Organization, other_org: Organization
) -> None:
    wants_all = await add_endpoint(services.db, org, "https://a.example.test/")
    await add_endpoint(services.db, org, "https://b.example.test/", events=["resolved"])
    await add_endpoint(services.db, org, "https://c.example.test/", active=False)
    await add_endpoint(services.db, other_org, "https://d.example.test/")

    assert await emit(services, org, "claimed") == 1

    [delivery] = await deliveries(services.db)
    assert (delivery.endpoint_id, delivery.event, delivery.status) == (
        wants_all.id,
        "claimed",
        "pending",
    )
    assert delivery.payload["id"] == delivery.delivery_id and uuid.UUID(delivery.delivery_id)
    assert delivery.payload["data"] == {"conversation": {"id": 7}}
    [job] = services.jobs.queue(OUTBOUND).get_jobs()
    assert (job.func_name, job.args) == (webhooks.DELIVER_WEBHOOK, [delivery.id])
    assert job.retries_left == len(services.settings.webhook_retry_intervals)


async def test_a_delivery_is_signed_and_delivered(
    services: Services, org: Organization, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(services.db, org, receiver.url)
    receiver.secret = endpoint.secret
    await emit(services, org)
    [delivery] = await deliveries(services.db)

    assert await send_delivery(services, delivery.id, final_attempt=False) == "delivered"

    [(headers, body, valid)] = receiver.requests
    assert valid
    assert headers[webhooks.EVENT_HEADER] == "claimed"
    assert headers[webhooks.DELIVERY_HEADER] == delivery.delivery_id
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert (sent["id"], sent["event"], sent["organization_id"]) == (
        delivery.delivery_id,
        "claimed",
        org.id,
    )
    [done] = await deliveries(services.db)
    assert (done.status, done.attempts, done.response_status) == ("delivered", 1, 200)
    assert done.delivered_at is not None and done.last_error is None
    assert await send_delivery(services, delivery.id, final_attempt=False) == "skipped"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("status", "final", "outcome", "stored"),
    [
        (400, False, "failed", "failed"),
        (410, False, "failed", "failed"),
        (302, False, "failed", "failed"),
        (500, False, "retry", "retrying"),
        (503, False, "retry", "retrying"),
        (429, False, "retry", "retrying"),
        (408, False, "retry", "retrying"),
        (503, True, "failed", "failed"),
    ],
)
async def test_each_kind_of_answer_is_handled(
    services: Services,
    org: Organization,
    receiver: Receiver,
    status: int,
    final: bool,
    outcome: str,
    stored: str,
) -> None:
    endpoint = await add_endpoint(services.db, org, receiver.url)
    receiver.secret, receiver.statuses = endpoint.secret, [status]
    await emit(services, org)
    [delivery] = await deliveries(services.db)

    if outcome == "retry":
        with pytest.raises(TransientDeliveryError):
            await send_delivery(services, delivery.id, final_attempt=final)
    else:
        assert await send_delivery(services, delivery.id, final_attempt=final) == outcome

    [after] = await deliveries(services.db)
    assert (after.status, after.response_status, after.attempts) == (stored, status, 1)
    assert after.last_error is not None and after.last_error.startswith(f"HTTP {status}")
    assert not receiver.followed_redirect


async def test_an_unreachable_endpoint_is_retried(services: Services, org: Organization) -> None:
    await add_endpoint(services.db, org, f"http://127.0.0.1:{free_port()}/hook")
    await emit(services, org)
    [delivery] = await deliveries(services.db)

    with pytest.raises(TransientDeliveryError):
        await send_delivery(services, delivery.id, final_attempt=False)

    [after] = await deliveries(services.db)
    assert (after.status, after.response_status, after.attempts) == ("retrying", None, 1)
    assert after.last_error == "Could not connect to the endpoint."


async def test_two_jobs_for_one_delivery_send_it_once(
    services: Services, org: Organization, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(services.db, org, receiver.url)
    receiver.secret = endpoint.secret
    await emit(services, org)
    [delivery] = await deliveries(services.db)

    outcomes = await asyncio.gather(
        *(send_delivery(services, delivery.id, final_attempt=False) for _ in range(2))
    )

    assert sorted(outcomes) == ["delivered", "skipped"]
    assert len(receiver.requests) == 1
    assert (await deliveries(services.db))[0].attempts == 1


async def test_the_reconciler_resends_deliveries_whose_job_was_lost_within_a_minute(
    services: Services, org: Organization
) -> None:
    await add_endpoint(services.db, org, "https://hooks.example.test/")
    for _ in range(5):
        await emit(services, org)
    lost, interrupted, recent, done, queued = await deliveries(services.db)
    # As if Redis had restarted: every job is gone but the last one's.
    queue = services.jobs.queue(OUTBOUND)
    for job in queue.get_jobs():
        if job.args != [queued.id]:
            job.delete()
    half_a_minute_ago = utcnow() - timedelta(seconds=31)
    async with services.db.transaction() as session:
        for row, status, when in (
            (lost, "pending", half_a_minute_ago),
            (interrupted, "sending", utcnow() - timedelta(seconds=46)),
            (done, "delivered", half_a_minute_ago),
            (queued, "pending", half_a_minute_ago),
        ):
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == row.id)
                .values(status=status, updated_at=when)
            )

    counts = await reconcile(services)

    assert counts["webhooks"] == 2
    jobs = queue.get_jobs()
    assert sorted(j.args[0] for j in jobs if j.func_name == webhooks.DELIVER_WEBHOOK) == [
        lost.id,
        interrupted.id,
        queued.id,  # still waiting in Redis: left alone, not doubled
    ]
    after = {row.id: row for row in await deliveries(services.db)}
    assert {pk: row.status for pk, row in after.items()} == {
        lost.id: "pending",
        interrupted.id: "retrying",
        recent.id: "pending",
        done.id: "delivered",
        queued.id: "pending",
    }
    assert after[interrupted.id].last_error == "The attempt was interrupted; it is sent again."


async def test_a_delivery_interrupted_after_its_post_arrived_is_sent_again_with_its_id(
    services: Services, org: Organization, receiver: Receiver
) -> None:
    """A worker died after the POST reached the receiver but before the answer was
    recorded: the row is resolved by sending it again, and the receiver recognizes the
    repeat by its delivery id."""
    endpoint = await add_endpoint(services.db, org, receiver.url)
    receiver.secret = endpoint.secret
    await emit(services, org)
    [delivery] = await deliveries(services.db)
    assert await send_delivery(services, delivery.id, final_attempt=False) == "delivered"
    async with services.db.transaction() as session:  # as the dead worker left it
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id)
            .values(status="sending", updated_at=utcnow() - timedelta(seconds=46))
        )
    services.jobs.queue(OUTBOUND).empty()

    assert (await reconcile(services))["webhooks"] == 1
    [job] = services.jobs.queue(OUTBOUND).get_jobs()
    assert await send_delivery(services, job.args[0], final_attempt=False) == "delivered"

    ids = [headers[webhooks.DELIVERY_HEADER] for headers, _, _ in receiver.requests]
    assert ids == [delivery.delivery_id, delivery.delivery_id]
    [after] = await deliveries(services.db)
    assert (after.status, after.attempts) == ("delivered", 2)


async def test_a_disabled_endpoint_is_not_called(
    services: Services, org: Organization, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(services.db, org, receiver.url)
    await emit(services, org)
    async with services.db.transaction() as session:
        row = await session.get(WebhookEndpoint, endpoint.id)
        assert row is not None
        row.active = False
    [delivery] = await deliveries(services.db)

    assert await send_delivery(services, delivery.id, final_attempt=False) == "skipped"
    assert receiver.requests == []
    assert (await deliveries(services.db))[0].status == "failed"


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


async def test_the_migration_builds_the_webhook_tables_as_the_models_describe(db: Database) -> None:
    def differences(connection: Any) -> list[str]:
        found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        return [repr(diff) for diff in found if "webhook_" in repr(diff)]

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
