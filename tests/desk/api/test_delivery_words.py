"""Each outgoing message's delivery state in words, and what an agent can do about a
failure: Retry puts a message that never reached the provider back on the delivery path
once (two clicks queue one job; a sent message is never sent again), Dismiss is remembered
and clears the conversation's flag."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from quart import Quart

from desk.delivery_state import describe
from gateway import delivery
from gateway.delivery import deliver_message, not_delivered
from gateway.errors import TransientDeliveryError
from gateway.models import Conversation, Message, utcnow
from gateway.queues import OUTBOUND
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.factories import make_agent


def stored(status: str, **fields: Any) -> Message:
    return Message(direction="outbound", author="agent", delivery_status=status, **fields)


def words(message: Message, kind: str = "phone") -> str:
    shown = describe(message, kind, utcnow())
    assert shown is not None
    return str(shown["text"])


def test_every_state_reads_as_a_sentence() -> None:
    soon = utcnow() + timedelta(seconds=300)
    assert words(stored("pending")) == "Sending…"
    assert words(stored("delivered")) == "Delivered"
    assert words(stored("queued")) == "Sent"
    assert words(stored("pending", delivery_attempts=5, next_attempt_at=soon)).startswith(
        "Retrying (5 of 5), next try in 5 min"
    )
    assert words(stored("refused", error_code="opted_out")) == (
        "Not delivered: the number has opted out"
    )
    assert words(stored("refused", error_code="opted_out"), "email") == (
        "Not delivered: the address has opted out"
    )
    dropped = stored("dropped", error_message="ownership changed before the AI reply was sent")
    assert words(dropped) == "Not sent: a person took over first"
    assert describe(dropped)["detail"] is None  # type: ignore[index]
    assert words(stored("failed", error_code="gave_up")) == "Not sent: all 6 tries failed"
    worded = stored("failed", error_code="gave_up", error_message="our mail server was down")
    assert words(worded) == "Not sent: all 6 tries failed; our mail server was down"
    twilio = stored(
        "failed",
        error_code="21614",
        error_message="the customer's number is not a mobile number",
        error_detail="Twilio error 21614: 'To' number is not a valid mobile number",
    )
    assert words(twilio) == "Not sent: the customer's number is not a mobile number"
    assert describe(twilio)["detail"].startswith("Twilio error 21614")  # type: ignore[index]
    assert describe(twilio)["can_retry"]  # type: ignore[index]
    accepted = stored("undelivered", error_code="30003", error_message="the phone is unreachable")
    accepted.provider_message_id = "SM1"
    assert words(accepted) == "Not delivered: the phone is unreachable"
    interrupted = stored("failed", error_code="interrupted", error_message="The worker stopped")
    assert words(interrupted).startswith("Maybe not sent")
    for message in (accepted, interrupted):  # it left, or may have: never sent again
        assert not describe(message)["can_retry"]  # type: ignore[index]


async def test_retry_once_and_dismiss(app: Quart, services, org, other_org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    viewer = await make_agent(db, org, role="viewer")
    stranger = await make_agent(db, other_org)
    seeded = await seed_conversation(db, org, state="assigned", assignee=agent)
    async with db.transaction() as session:
        failures = []
        for text in ("first", "second"):
            message = Message(
                organization_id=org.id,
                conversation_id=seeded.conversation_id,
                direction="outbound",
                author="agent",
                agent_id=agent.id,
                channel="webchat",
                text=text,
                delivery_status="failed",
                error_code="gave_up",
                error_detail="could not reach the provider",
            )
            session.add(message)
            failures.append(message)
        conversation = await session.get(Conversation, seeded.conversation_id)
        assert conversation is not None
        conversation.needs_attention = True
        conversation.attention_reason = not_delivered("every try failed")
    first, second = (message.id for message in failures)
    client, csrf = await client_for(app, db, agent)
    outbound = services.jobs.queue(OUTBOUND)
    outbound.empty()

    view = await (await client.get(f"/api/conversations/{seeded.conversation_id}")).get_json()
    shown = next(m for m in view["messages"] if m["id"] == first)["delivery"]
    assert (shown["text"], shown["can_retry"], shown["can_dismiss"]) == (
        "Not sent: all 6 tries failed",
        True,
        True,
    )

    again = await client.post(f"/api/messages/{first}/retry", headers=csrf)
    twice = await client.post(f"/api/messages/{first}/retry", headers=csrf)
    assert again.status_code == 200
    assert (await again.get_json())["message"]["delivery"]["text"] == "Sending…"
    assert twice.status_code == 409 and outbound.count == 1
    assert await deliver_message(services, first) == "sent"
    assert (await client.post(f"/api/messages/{first}/retry", headers=csrf)).status_code == 409

    viewer_client, viewer_csrf = await client_for(app, db, viewer)
    stranger_client, stranger_csrf = await client_for(app, db, stranger)
    path = f"/api/messages/{second}/dismiss"
    assert (await viewer_client.post(path, headers=viewer_csrf)).status_code == 403
    assert (await stranger_client.post(path, headers=stranger_csrf)).status_code == 404
    dismissed = await client.post(path, headers=csrf)
    shown = (await dismissed.get_json())["message"]["delivery"]
    assert dismissed.status_code == 200
    assert (shown["dismissed"], shown["can_dismiss"]) == (True, False)
    async with db.transaction() as session:
        conversation = await session.get(Conversation, seeded.conversation_id)
    assert conversation is not None and not conversation.needs_attention
    view = await (await client.get(f"/api/conversations/{seeded.conversation_id}")).get_json()
    assert next(m for m in view["messages"] if m["id"] == second)["delivery"]["dismissed"]


async def test_every_try_failed_keeps_the_channels_words(services, org, monkeypatch) -> None:
    """The worker's last-failure callback keeps a channel's sentence and its detail."""
    db = services.db
    seeded = await seed_conversation(db, org, state="ai")
    async with db.transaction() as session:
        message = Message(
            organization_id=org.id,
            conversation_id=seeded.conversation_id,
            direction="outbound",
            author="ai",
            channel="webchat",
            text="It ships tomorrow.",
            delivery_status="pending",
        )
        session.add(message)
    bodies: list[Any] = []
    # The callback runs its body on the worker's loop; here on the test's, same services.
    monkeypatch.setattr(delivery, "run_job", bodies.append)
    job = SimpleNamespace(
        should_retry=False,
        meta={"conversation_id": seeded.conversation_id},
        func_name="gateway.delivery.deliver",
        args=(message.id,),
    )
    error = TransientDeliveryError("our mail server could not be reached", detail="[Errno 111]")
    delivery.job_failed(job, None, TransientDeliveryError, error, None)
    await bodies.pop()(services)
    async with db.transaction() as session:
        ended = await session.get(Message, message.id)
    assert ended is not None
    assert (ended.error_message, ended.error_detail) == (error.message, "[Errno 111]")
    assert words(ended) == ("Not sent: all 6 tries failed; our mail server could not be reached")
