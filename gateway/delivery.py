"""Delivery of stored outbound messages, as the RQ job `deliver(message_id)`. Before a
message leaves, one atomic update moves it from `pending` to `sending`; for an AI reply that
update also requires the conversation's ownership version to be the one the reply was
computed under, so an AI reply never goes out after a person took over (it is marked
`dropped` and logged). A message the customer cannot receive now is stopped before the
adapter by the registry's reachability guard (`gateway.reachability`): refused when they
opted out, failed otherwise. Transient errors are retried by RQ; permanent ones and
exhausted retries mark the message failed and the conversation "needs attention"."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import metrics
from gateway.attention import mark_needs_attention
from gateway.db import after_commit
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.events import Event
from gateway.messages import Attachment, OutboundMessage
from gateway.models import Agent, Conversation, Message, utcnow
from gateway.reachability import OPTED_OUT
from gateway.runtime import Services, run_job

log = logging.getLogger(__name__)


def deliver(message_id: int) -> str:
    """RQ job: send one stored outbound message on its conversation's channel."""
    return run_job(lambda services: deliver_message(services, message_id))


async def deliver_message(services: Services, message_id: int) -> str:
    """Send one message; returns what happened: sent, delivered, dropped, refused, skipped."""
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
    channel = services.channels.get(outbound.channel)
    try:
        result = await channel.send(outbound)
    except TransientDeliveryError:
        await _set_status(services, message_id, "pending")
        raise
    except PermanentDeliveryError as exc:
        if exc.provider_code == OPTED_OUT:
            await _finish(
                services, outbound, "refused", error=(OPTED_OUT, "the customer opted out")
            )
            return "refused"
        await _finish(
            services, outbound, "failed", error=(exc.provider_code or exc.code, exc.message)
        )
        return "failed"
    await _finish(services, outbound, result.status, provider_id=result.provider_message_id)
    return result.status


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


async def _finish(
    services: Services,
    outbound: OutboundMessage,
    status: str,
    *,
    provider_id: str | None = None,
    error: tuple[str, str] | None = None,
) -> None:
    fields: dict[str, Any] = {}
    if provider_id is not None:
        fields["provider_message_id"] = provider_id
    if error is not None:
        fields["error_code"], fields["error_message"] = error
    await _set_status(services, outbound.message_id, status, **fields)
    metrics.count_delivery(outbound.channel, status)
    if error is not None:
        await mark_needs_attention(
            services, outbound.conversation_id, f"message {outbound.message_id}: {error[1]}"
        )
    await services.events.publish(
        Event(
            "delivery",
            outbound.organization_id,
            outbound.conversation_id,
            {"message_id": outbound.message_id, "status": status, "error": error},
        )
    )


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

        async def fail(services: Services) -> None:
            await _set_status(services, message_id, "failed", error_message=str(exc_value))
            async with services.db.transaction() as session:
                channel = await session.scalar(
                    select(Conversation.channel).where(Conversation.id == int(conversation_id))
                )
            metrics.count_delivery(channel or metrics.OTHER, "failed")
            await mark_needs_attention(services, int(conversation_id), reason)

        run_job(fail)
        return
    run_job(lambda services: mark_needs_attention(services, int(conversation_id), reason))
