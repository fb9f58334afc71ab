"""What an agent can do about an outgoing message that failed: Retry it (once more, on the
same delivery path as every message, only when it never reached the provider, so nothing
is ever sent twice) or Dismiss the failure (remembered on the message). Either way the
conversation's "needs attention" flag, when a delivery failure raised it, is cleared once no
other failure of the conversation is left standing; a retry that fails again raises it
again. Routes: `POST /api/messages/<id>/retry` and `/dismiss`, in the agent's own
organization (another organization's message answers 404)."""

from __future__ import annotations

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from desk import delivery_state
from desk.agent_events import after_commit_to_agents, updated_event
from desk.schemas import MESSAGE
from desk.serializers import message_json
from gateway.auth import Role, current_agent, login_required, require_role
from gateway.delivery import ATTENTION_PREFIXES, retry_failed
from gateway.errors import Conflict, NotFound
from gateway.models import Agent, Conversation, Message, utcnow
from gateway.openapi import documented, obj
from gateway.runtime import Services
from gateway.web import app_services

delivery_api = Blueprint("delivery_api", __name__)
RESULT = obj(["message"], message=MESSAGE)


async def _message(session: AsyncSession, agent: Agent, message_id: int) -> Message:
    message = await session.get(Message, message_id)
    if (
        message is None
        or message.organization_id != agent.organization_id
        or message.direction != "outbound"
    ):
        raise NotFound("no such message")
    return message


async def _settle_attention(session: AsyncSession, services: Services, message: Message) -> None:
    """Clear the conversation's flag when a delivery failure raised it and none is left."""
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    reason = conversation.attention_reason or ""
    ours = reason.startswith(ATTENTION_PREFIXES) or bool(
        message.error_message and message.error_message in reason
    )
    if not conversation.needs_attention or not ours:
        return
    standing = await session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conversation.id,
            Message.id != message.id,
            Message.direction == "outbound",
            Message.delivery_status.in_(delivery_state.FAILURES),
            Message.failure_dismissed_at.is_(None),
        )
        .limit(1)
    )
    if standing is None:
        conversation.needs_attention = False
        conversation.attention_reason = None
        after_commit_to_agents(session, services.events, updated_event(conversation))


async def retry(services: Services, agent: Agent, message_id: int) -> Message:
    require_role(Role.AGENT, agent)
    async with services.db.transaction() as session:
        message = await _message(session, agent, message_id)
        state = delivery_state.describe(message) or {}
    if not state.get("can_retry"):
        raise Conflict(
            "This message can't be sent again from here: it was sent, or may have been.",
            code="not_retryable",
        )
    if not await retry_failed(services, message):
        raise Conflict("This message is already being sent again.", code="not_retryable")
    async with services.db.transaction() as session:
        message = await _message(session, agent, message_id)
        await _settle_attention(session, services, message)
        return message


async def dismiss(services: Services, agent: Agent, message_id: int) -> Message:
    require_role(Role.AGENT, agent)
    async with services.db.transaction() as session:
        message = await _message(session, agent, message_id)
        if message.delivery_status not in delivery_state.FAILURES:
            raise Conflict("Only a message that was not delivered can be dismissed.")
        await session.execute(
            update(Message)
            .where(Message.id == message.id, Message.failure_dismissed_at.is_(None))
            .values(failure_dismissed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await session.refresh(message)
        await _settle_attention(session, services, message)
        return message


async def _answer(message: Message) -> ResponseReturnValue:
    services = app_services().services
    async with services.db.transaction() as session:
        kind = await session.scalar(
            select(Conversation.address_kind).where(Conversation.id == message.conversation_id)
        )
    return jsonify({"message": message_json(message, None, kind)})


@delivery_api.post("/api/messages/<int:message_id>/retry")
@login_required()
@documented(
    "Send a failed message again, once, when it never reached the provider",
    tags=["conversations"],
    response=RESULT,
    errors=(403, 404, 409),
)
async def retry_route(message_id: int) -> ResponseReturnValue:
    return await _answer(await retry(app_services().services, current_agent(), message_id))


@delivery_api.post("/api/messages/<int:message_id>/dismiss")
@login_required()
@documented(
    "Put a delivery failure aside (remembered); clears the conversation's flag when no "
    "other failure is left",
    tags=["conversations"],
    response=RESULT,
    errors=(403, 404, 409),
)
async def dismiss_route(message_id: int) -> ResponseReturnValue:
    return await _answer(await dismiss(app_services().services, current_agent(), message_id))
