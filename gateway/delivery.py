"""Delivery of stored outbound messages, as the RQ job `deliver(message_id)`. Before a
message leaves, one atomic update moves it from `pending` to `sending`; for an AI reply that
update also requires the conversation's ownership version to be the one the reply was
computed under, so an AI reply never goes out after a person took over (it is marked
`dropped` and logged). A message the customer cannot receive now is stopped before the
adapter by the registry's reachability guard (`gateway.reachability`): refused when they
opted out, failed otherwise. Transient errors are retried by RQ, and the message records
which retry comes next and when, so agents can see it; permanent ones, exhausted retries and
an error no channel should raise mark the message failed (never left `sending`) and the
conversation "needs attention". `retry_failed` puts a failed message that never left back
on this same path, once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rq import get_current_job
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import metrics
from gateway.attention import mark_needs_attention
from gateway.db import after_commit
from gateway.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from gateway.events import Event
from gateway.lost_jobs import INTERRUPTED, INTERRUPTED_ATTENTION
from gateway.messages import Attachment, OutboundMessage
from gateway.models import Agent, Conversation, Message, utcnow
from gateway.queues import DELIVER, OUTBOUND, SEND_RETRY
from gateway.reachability import OPTED_OUT
from gateway.runtime import Services, run_job

log = logging.getLogger(__name__)

# Error codes the core itself records (channels record their own).
GAVE_UP = "gave_up"  # every try met a transient error
UNEXPECTED = "unexpected"  # the channel raised something other than a delivery error
# The "needs attention" reasons a failed delivery sets; dismissing the failure clears them.
NOT_DELIVERED = "A message was not delivered"
NOT_SENT = "A message could not be sent: every try failed."
ATTENTION_PREFIXES = (NOT_DELIVERED, NOT_SENT, INTERRUPTED_ATTENTION)


def not_delivered(reason: str) -> str:
    """The "needs attention" reason for a message that failed, with why in words."""
    return f"{NOT_DELIVERED}: {reason.rstrip('.')}."


@dataclass(frozen=True, slots=True)
class NextTry:
    """The retry RQ will make after a transient error: its number and its delay."""

    number: int
    delay_seconds: float


def deliver(message_id: int) -> str:
    """RQ job: send one stored outbound message on its conversation's channel."""
    next_try = _next_try(get_current_job())
    return run_job(lambda services: deliver_message(services, message_id, next_try=next_try))


def _next_try(job: Any) -> NextTry | None:
    """The retry that follows a failure of this run of `job`, or None when none is left
    (RQ counts `retries_left` down only after the failure)."""
    if job is None or not job.retries_left:
        return None
    number = SEND_RETRY.max - int(job.retries_left) + 1
    return NextTry(number, float(job.get_retry_interval()))


async def deliver_message(
    services: Services, message_id: int, *, next_try: NextTry | None = None
) -> str:
    """Send one message; returns what happened: sent, delivered, dropped, refused, skipped,
    failed. `next_try` is the retry RQ makes should this attempt meet a transient error."""
    async with services.db.transaction() as session:
        message = await session.get(Message, message_id)
        if message is None or message.delivery_status != "pending":
            return "skipped"
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        start = update(Message).where(
            Message.id == message_id, Message.delivery_status == "pending"
        )
        if message.author == "ai":
            start = start.where(
                exists().where(
                    Conversation.id == message.conversation_id,
                    Conversation.ownership_version == message.ownership_version,
                )
            )
        started = await session.execute(
            start.values(delivery_status="sending", updated_at=utcnow()).execution_options(
                synchronize_session=False
            )
        )
        if started.rowcount != 1:  # type: ignore[attr-defined]
            if message.author == "ai":
                message.delivery_status = "dropped"
                message.error_message = "ownership changed before the AI reply was sent"
                log.info(
                    "dropped AI reply %s: conversation %s changed hands",
                    message_id,
                    conversation.id,
                )
                dropped_on = conversation.channel
                after_commit(session, lambda: metrics.count_delivery(dropped_on, "dropped"))
                return "dropped"
            return "skipped"
        author_name = None
        if message.agent_id is not None:
            author_name = await session.scalar(
                select(Agent.name).where(Agent.id == message.agent_id)
            )
        outbound = OutboundMessage(
            message_id=message.id,
            organization_id=message.organization_id,
            conversation_id=conversation.id,
            channel=conversation.channel,
            recipient_kind=conversation.address_kind,  # type: ignore[arg-type]
            recipient_address=conversation.address,
            author=message.author,  # type: ignore[arg-type]
            text=message.text,
            thread_key=conversation.thread_key,
            author_name=author_name,
            attachments=tuple(Attachment(**item) for item in message.attachments),
            notice=message.notice,
            in_reply_to=await _answered(session, message),
            cc=_cc(message.meta),
        )
    try:
        result = await services.channels.get(outbound.channel).send(outbound)
    except TransientDeliveryError as exc:
        await _retry_later(services, outbound, exc, next_try)
        raise
    except PermanentDeliveryError as exc:
        if exc.provider_code == OPTED_OUT:
            await _finish(
                services,
                outbound,
                "refused",
                error=(OPTED_OUT, "the customer opted out"),
                detail=exc.message,
            )
            return "refused"
        await _finish(
            services,
            outbound,
            "failed",
            error=(exc.provider_code or exc.code, exc.message),
            detail=exc.detail,
        )
        return "failed"
    except Exception as exc:
        # A bug in a channel, not a delivery error: retrying would find the line `sending`
        # and skip it, leaving it stuck, so it ends failed here with what was raised.
        log.exception("channel %s raised while sending message %s", outbound.channel, message_id)
        await _finish(
            services,
            outbound,
            "failed",
            error=(UNEXPECTED, "something went wrong while sending"),
            detail=f"{type(exc).__name__}: {exc}",
        )
        return "failed"
    await _finish(services, outbound, result.status, provider_id=result.provider_message_id)
    return result.status


async def _retry_later(
    services: Services,
    outbound: OutboundMessage,
    error: TransientDeliveryError,
    next_try: NextTry | None,
) -> None:
    """Back to `pending` for RQ's retry, noting which retry comes next and when."""
    # A channel that words its errors gives its sentence and the provider's own words;
    # the sentence is kept for when every try has failed (see `job_failed`).
    fields: dict[str, Any] = {
        "error_detail": error.detail or error.message,
        "error_message": error.message if error.detail else None,
    }
    if next_try is not None:
        fields["delivery_attempts"] = next_try.number
        fields["next_attempt_at"] = utcnow() + timedelta(seconds=next_try.delay_seconds)
    await _set_status(services, outbound.message_id, "pending", **fields)
    await _publish(services, outbound, "pending", None)


def _cc(meta: dict[str, Any] | None) -> tuple[str, ...] | None:
    chosen = (meta or {}).get("cc")
    return None if chosen is None else tuple(str(address) for address in chosen)


async def _answered(session: AsyncSession, message: Message) -> str | None:
    """The provider's id of the customer message `message` answers: the one it was stored
    as a reply to, else the conversation's latest inbound message."""
    query = select(Message.provider_message_id).where(
        Message.conversation_id == message.conversation_id, Message.direction == "inbound"
    )
    if message.reply_to is not None:
        query = query.where(Message.id == message.reply_to)
    return await session.scalar(query.order_by(Message.id.desc()).limit(1))


async def _set_status(services: Services, message_id: int, status: str, **fields: Any) -> None:
    async with services.db.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(delivery_status=status, updated_at=utcnow(), **fields)
        )


async def _set_sent(
    services: Services, message_id: int, status: str, provider_id: str | None, **fields: Any
) -> bool:
    """The send's own result, unless a provider's status callback moved the message on
    while the send's answer was on its way (the callback read the parts later, so it is
    further along): False then. The provider's id is kept either way."""
    still_sending = or_(
        Message.delivery_status == "sending",
        and_(Message.delivery_status == "failed", Message.error_code == INTERRUPTED),
    )
    known = {} if provider_id is None else {"provider_message_id": provider_id}
    async with services.db.transaction() as session:
        done = await session.execute(
            update(Message)
            .where(Message.id == message_id, still_sending)
            .values(delivery_status=status, updated_at=utcnow(), **known, **fields)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return True
        if known:
            await session.execute(update(Message).where(Message.id == message_id).values(**known))
        return False


async def _finish(
    services: Services,
    outbound: OutboundMessage,
    status: str,
    *,
    provider_id: str | None = None,
    error: tuple[str, str] | None = None,
    detail: str | None = None,
) -> None:
    fields: dict[str, Any] = {"next_attempt_at": None, "error_detail": detail}
    fields["error_code"], fields["error_message"] = error or (None, None)
    if error is None:
        recorded = await _set_sent(services, outbound.message_id, status, provider_id, **fields)
    else:
        await _set_status(services, outbound.message_id, status, **fields)
        recorded = True
    metrics.count_delivery(outbound.channel, status)
    if error is not None:
        await mark_needs_attention(services, outbound.conversation_id, not_delivered(error[1]))
    if recorded:  # else a status callback came first, and told the live pages
        await _publish(services, outbound, status, error)


async def _publish(
    services: Services, outbound: OutboundMessage, status: str, error: tuple[str, str] | None
) -> None:
    await services.events.publish(
        Event(
            "delivery",
            outbound.organization_id,
            outbound.conversation_id,
            {"message_id": outbound.message_id, "status": status, "error": error},
        )
    )


async def retry_failed(services: Services, message: Message) -> bool:
    """Put a failed message that never reached the provider back on the delivery path,
    once: one atomic update from `failed` to `pending` (so two clicks queue one job), then
    the same job as a new message. False when it is not such a message any more."""
    async with services.db.transaction() as session:
        again = await session.execute(
            update(Message)
            .where(
                Message.id == message.id,
                Message.delivery_status == "failed",
                Message.provider_message_id.is_(None),
                Message.error_code.is_distinct_from(INTERRUPTED),
            )
            .values(
                delivery_status="pending",
                delivery_attempts=0,
                next_attempt_at=None,
                failure_dismissed_at=None,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if again.rowcount != 1:  # type: ignore[attr-defined]
            return False
        message_id, conversation_id = message.id, message.conversation_id
        after_commit(
            session,
            lambda: services.jobs.enqueue_async(
                OUTBOUND, DELIVER, message_id, retry=SEND_RETRY, conversation_id=conversation_id
            ),
        )
    return True


def job_failed(job: Any, connection: Any, exc_type: Any, exc_value: Any, traceback: Any) -> None:
    """RQ failure callback: once a job has no retries left, make its failure visible."""
    if job.should_retry:
        return
    conversation_id = (job.meta or {}).get("conversation_id")
    if conversation_id is None:
        log.error("job %s (%s) failed for good: %s", job.id, job.func_name, exc_value)
        return
    reason = f"{job.func_name.rsplit('.', 1)[-1]} failed: {exc_value}"
    if job.func_name == "gateway.delivery.deliver" and job.args:
        message_id = int(job.args[0])
        # The last try's error: a channel's sentence when it words its errors, and the
        # provider's own words.
        worded = exc_value.message if isinstance(exc_value, DeliveryError) else None
        detail = getattr(exc_value, "detail", None)
        worded, detail = (worded, detail) if detail else (None, str(exc_value))

        async def fail(services: Services) -> None:
            async with services.db.transaction() as session:
                ended = await session.execute(
                    update(Message)
                    .where(Message.id == message_id, Message.delivery_status == "pending")
                    .values(
                        delivery_status="failed",
                        error_code=GAVE_UP,
                        error_message=worded,
                        error_detail=detail,
                        next_attempt_at=None,
                        updated_at=utcnow(),
                    )
                    .execution_options(synchronize_session=False)
                )
            if ended.rowcount != 1:  # type: ignore[attr-defined]
                return  # sent or ended some other way meanwhile
            async with services.db.transaction() as session:
                channel = await session.scalar(
                    select(Conversation.channel).where(Conversation.id == int(conversation_id))
                )
            metrics.count_delivery(channel or metrics.OTHER, "failed")
            await mark_needs_attention(services, int(conversation_id), NOT_SENT)

        run_job(fail)
        return
    run_job(lambda services: mark_needs_attention(services, int(conversation_id), reason))
