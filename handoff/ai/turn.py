"""The AI's turn: compute a reply under the ownership version the routing job saw, then
store it only if that version still holds. The version travels with the stored message, so
delivery checks it once more right before sending: the AI never talks over a person.
Storing is claimed once per customer message (`Message.ai_turn_version`), so a turn run
again after a lost job or a dead worker never answers twice. A caller's request still
waiting on the line speaks the reply in the transaction that stores it
(`gateway.on_the_line`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.events import Event
from gateway.on_the_line import OnTheLine
from gateway.org_settings import OrganizationSettings
from gateway.outbound import queue_outbound
from gateway.runtime import Services
from handoff.ai.llm_client import llm_config
from handoff.ai.llm_responder import LLMResponder
from handoff.ai.offline_responder import OfflineResponder
from handoff.ai.responder import Responder, ResponderReply, ResponderRequest, Turn
from handoff.context import HISTORY_LIMIT, context_with_history, load_context, take_turn
from handoff.policy import Outcome, decide_on_reply
from handoff.routing import carry_out

log = logging.getLogger(__name__)


def responder_for(services: Services, settings: OrganizationSettings) -> Responder:
    """The hosted model when one is configured (falling back to the offline responder on
    any failure), else the offline knowledge-base responder."""
    offline = OfflineResponder(services.db, threshold=settings.ai_confidence_threshold)
    config = llm_config(services.settings, settings)
    if config is None:
        return offline
    return LLMResponder(
        services.db,
        config,
        offline,
        business_context=settings.business_context,
        http=services.http(),
    )


@dataclass(frozen=True, slots=True)
class Question:
    """What the responder is asked for one turn, read under the ownership `version`."""

    version: int
    request: ResponderRequest
    settings: OrganizationSettings


async def read_question(
    services: Services, conversation_id: int, version: int | None, said: Turn | None = None
) -> Question | None:
    """The conversation's recent history as a question for the responder, under `version`
    (any, when None); with `said`, the customer's words not stored yet end it. None when
    the conversation is not the AI's to answer (or no longer under `version`)."""
    async with services.db.read(quick=True) as session:
        context, history = await context_with_history(session, conversation_id)
    conversation = context.conversation
    if conversation.state != "ai" or version not in (None, conversation.ownership_version):
        if version is not None:  # routing gave it to the AI; it moved on since
            log.info("AI turn skipped: conversation %s changed hands", conversation_id)
        return None
    if said is not None:
        history = (*history, said)[-HISTORY_LIMIT:]
    request = ResponderRequest(
        organization_id=conversation.organization_id,
        conversation_id=conversation_id,
        history=history,
        business_name=context.organization.name,
        knowledge_version=context.organization.knowledge_version,
    )
    return Question(conversation.ownership_version, request, context.settings)


async def answer_question(services: Services, question: Question) -> ResponderReply:
    """The responder's reply, telling the live pages the AI is typing meanwhile."""
    request = question.request
    typing = Event("typing", request.organization_id, request.conversation_id, {"author": "ai"})
    told = asyncio.ensure_future(services.events.publish(typing))  # while the AI thinks
    try:
        return await responder_for(services, question.settings).respond(request)
    finally:
        await told


async def compute_reply(
    services: Services, conversation_id: int, version: int
) -> ResponderReply | None:
    """Ask the responder; None when the conversation is no longer the AI's to answer."""
    question = await read_question(services, conversation_id, version)
    return None if question is None else await answer_question(services, question)


async def store_reply(
    services: Services,
    conversation_id: int,
    version: int,
    reply: ResponderReply,
    message_id: int | None = None,
    line: OnTheLine | None = None,
) -> int | None:
    """Store the AI's reply for delivery if ownership did not change, after the handoff
    policy's reply rules (low-confidence streak, the AI's own handoff signal) had their say;
    returns its id, or None when nothing of the AI's goes out (ownership moved, or a
    non-answer was replaced by a handoff, or this message's turn was already taken). When
    the conversation stays with the AI and the caller's request still waits on `line`, the
    reply is stored as delivered with that request's answer."""
    async with services.db.transaction() as session:
        return await store_reply_in(
            session, services, conversation_id, version, reply, message_id, line
        )


async def store_reply_in(
    session: AsyncSession,
    services: Services,
    conversation_id: int,
    version: int,
    reply: ResponderReply,
    message_id: int | None = None,
    line: OnTheLine | None = None,
) -> int | None:
    """`store_reply` in `session`'s transaction (the one that routed the message, when the
    reply was ready by then)."""
    if message_id is None:
        context = await load_context(session, conversation_id)
    else:
        taken = await take_turn(session, conversation_id, message_id, version)
        if taken is None:
            log.info("AI turn for message %s already stored; this run adds nothing", message_id)
            return None
        context = taken
    conversation = context.conversation
    if conversation.ownership_version != version or conversation.state != "ai":
        log.info(
            "dropped AI reply for conversation %s: ownership moved from version %s to %s",
            conversation_id,
            version,
            conversation.ownership_version,
        )
        return None
    decision = await decide_on_reply(session, services, context, reply)
    if decision.outcome is not Outcome.AI and not reply.knows:
        # a non-answer followed by "connecting you to a person" reads as a contradiction
        await carry_out(session, services, context, decision)
        return None
    # only a reply that is all the caller hears next: a handoff adds its notice
    spoken = line is not None and decision.outcome is Outcome.AI and line.take()
    message = await queue_outbound(
        session,
        services.jobs,
        conversation,
        author="ai",
        text=reply.text,
        meta={
            "confidence": round(reply.confidence, 3),
            "knows": reply.knows,
            "sources": list(reply.sources),
        },
        delivered=spoken,
    )
    if spoken:
        assert line is not None
        await line.speak(session, [reply.text])
    await carry_out(session, services, context, decision)
    return message.id


async def ai_turn(
    services: Services, conversation_id: int, version: int, message_id: int | None = None
) -> int | None:
    """Compute, then store, the AI's reply (to `message_id`'s turn, when given); returns
    the stored message's id, if any."""
    reply = await compute_reply(services, conversation_id, version)
    if reply is None:
        return None
    return await store_reply(services, conversation_id, version, reply, message_id)
