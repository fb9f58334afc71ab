"""Outgoing webhooks against a real loopback HTTP receiver that checks every signature with
the snippet the README gives receivers: signing and verifying, URL checks, which endpoints
an event goes to, how each kind of answer is handled, and resending what a lost job or an
interrupted send left behind."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import webhooks
from gateway.db import dialect_of
from gateway.errors import BadInput, TransientDeliveryError
from gateway.lost_jobs import lost_webhooks
from gateway.models import Organization, utcnow
from gateway.queues import DELIVER_WEBHOOK, OUTBOUND, keyed_job_id
from gateway.reconciler import reconcile
from gateway.runtime import Services
from gateway.webhook_jobs import send_delivery
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from handoff import actions
from tests.gateway.webhooks.webhook_support import (
    Receiver,
    add_endpoint,
    deliveries,
    emit,
    verify_switchboard,
)
from tests.support.factories import make_agent
from tests.support.passes import overlapping_passes
from tests.support.ports import free_port
from tests.support.queued import queued_conversation
from tests.support.worker import run_burst

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


# another transaction is waiting for a lock this one holds
_WAITED_FOR = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks"
    " WHERE NOT granted AND pg_backend_pid() = ANY (pg_blocking_pids(pid)))"
)


async def _until_waited_for(session: AsyncSession, asked_for_a_turn: asyncio.Event) -> None:
    """Until another transaction waits for `session`'s: on PostgreSQL, for a row it holds
    locked; on SQLite, where writers take turns, for its turn."""
    if dialect_of(session) == "sqlite":
        await asked_for_a_turn.wait()
        return
    while not await session.scalar(_WAITED_FOR):
        await asyncio.sleep(0.01)


async def test_an_agent_resolving_as_an_admin_deletes_the_endpoint_resolves(
    services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `resolved` event is emitted while the endpoint's deletion is not yet committed:
    the agent's action goes through, with no delivery for the endpoint that is gone."""
    agent = await make_agent(services.db, org)
    conversation_id = await queued_conversation(services, org)
    endpoint = await add_endpoint(services.db, org, "https://hooks.example.test/")
    deleting, asked_for_a_turn = asyncio.Event(), asyncio.Event()

    async def delete_endpoint() -> None:  # as DELETE /api/admin/webhooks/<id> does
        async with services.db.transaction() as session:
            await session.execute(
                delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
            )
            await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))
            deleting.set()
            await asyncio.wait_for(_until_waited_for(session, asked_for_a_turn), 10)

    deletion = asyncio.create_task(delete_endpoint())
    await deleting.wait()
    transaction = services.db.transaction

    def asking_for_a_turn() -> Any:
        asked_for_a_turn.set()
        return transaction()

    monkeypatch.setattr(services.db, "transaction", asking_for_a_turn)
    resolved = await asyncio.gather(
        actions.resolve(services, agent, conversation_id), return_exceptions=True
    )
    await deletion

    assert not isinstance(resolved[0], BaseException), repr(resolved[0])
    assert resolved[0].state == "resolved"
    assert await deliveries(services.db) == []


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


async def test_two_reconciler_passes_at_once_leave_a_resent_attempt_alone(
    services: Services, org: Organization, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second worker's pass found a delivery a dead worker left `sending`; before it moved
    the row, the first pass had sent it again and that attempt was on its way. The second
    pass must leave the attempt in flight alone rather than start another beside it."""
    endpoint = await add_endpoint(services.db, org, receiver.url)
    receiver.secret, receiver.hold = endpoint.secret, asyncio.Event()
    await emit(services, org)
    [delivery] = await deliveries(services.db)
    async with services.db.transaction() as session:  # as the dead worker left it
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id)
            .values(status="sending", attempts=1, updated_at=utcnow() - timedelta(seconds=46))
        )
    services.jobs.queue(OUTBOUND).empty()
    transaction = services.db.transaction
    in_flight: list[asyncio.Task[str]] = []

    def first_pass_meanwhile() -> Any:
        """The second pass has read the rows; the first pass resends and its job starts."""
        monkeypatch.setattr(services.db, "transaction", transaction)

        async def meanwhile() -> None:
            resent = await lost_webhooks(services, utcnow())
            assert resent == [delivery.id]
            in_flight.append(
                asyncio.create_task(send_delivery(services, delivery.id, final_attempt=False))
            )
            while not receiver.requests:
                await asyncio.sleep(0.01)

        @asynccontextmanager
        async def after_it() -> AsyncIterator[Any]:
            await meanwhile()
            async with transaction() as session:
                yield session

        return after_it()

    monkeypatch.setattr(services.db, "transaction", first_pass_meanwhile)

    second = await lost_webhooks(services, utcnow())
    resent = [
        asyncio.create_task(send_delivery(services, pk, final_attempt=False)) for pk in second
    ]
    # any attempt the second pass started either reaches the receiver or gives up
    while len(receiver.requests) < 1 + len(resent) and not all(task.done() for task in resent):
        await asyncio.sleep(0.01)
    receiver.hold.set()
    in_flight += resent
    outcomes = await asyncio.gather(*in_flight)

    assert len(receiver.requests) == 1
    assert outcomes == ["delivered"]
    assert second == []
    [after] = await deliveries(services.db)
    assert (after.status, after.attempts) == ("delivered", 2)


async def test_two_reconciler_passes_at_once_queue_a_lost_delivery_once(
    services: Services,
    org: Organization,
    receiver: Receiver,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers' passes overlap (one outlasted the reconciler's lock) and both find a
    delivery whose job was lost. Only one queues it again: with two jobs, the attempt after
    a failed one ran at once, as a worker took the second job, instead of after its
    back-off."""
    endpoint = await add_endpoint(services.db, org, receiver.url)
    receiver.secret, receiver.statuses = endpoint.secret, [503]
    await emit(services, org)
    [delivery] = await deliveries(services.db)
    services.jobs.queue(OUTBOUND).empty()  # the job was lost
    async with services.db.transaction() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id)
            .values(updated_at=utcnow() - timedelta(seconds=31))
        )
    job_id = keyed_job_id(DELIVER_WEBHOOK, delivery.id)
    first, second = await overlapping_passes(services, job_id, monkeypatch)

    assert first["webhooks"] + second["webhooks"] == 1
    assert services.jobs.queue(OUTBOUND).get_job_ids() == [job_id]
    await asyncio.to_thread(
        run_burst, services.db.url, redis_url, SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE="true"
    )
    assert len(receiver.requests) == 1  # the next attempt waits for its back-off
    [after] = await deliveries(services.db)
    assert (after.status, after.attempts) == ("retrying", 1)
