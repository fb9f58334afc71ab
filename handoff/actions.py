"""What an agent does to a conversation: claim it, reply, take manual control, hand it back
to the AI, or resolve it. Each action is one transaction scoped to the agent's own
organization (another organization's conversation is simply not found), moves ownership
through `gateway.ownership.transition`, tells the customer, and tells the live pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import deadlines, media, ownership, reachability, webhooks
from gateway.addresses import copy_list
from gateway.auth import Role, require_role
from gateway.errors import BadInput, Conflict
from gateway.models import Agent, Conversation, Message, utcnow
from gateway.outbound import queue_outbound
from gateway.ownership import HUMAN_STATES, State
from gateway.runtime import Services
from handoff import ladder
from handoff.context import ConversationContext, load_context
from handoff.notices import post_notice
from handoff.routing import announce_state

RESUME_AI = "resume-ai"
MAX_REPLY_CHARS = 10_000
# Runs in the reply's own transaction, once the message is stored (to keep an answer with it).
BeforeCommit = Callable[[AsyncSession, Message], Awaitable[None]]


async def _open(session: AsyncSession, agent: Agent, conversation_id: int) -> ConversationContext:
    return await load_context(session, conversation_id, organization_id=agent.organization_id)


async def claim(services: Services, agent: Agent, conversation_id: int) -> Conversation:
    """Take a waiting conversation; of many agents claiming at once, exactly one wins."""
    require_role(Role.AGENT, agent)
    async with services.db.transaction() as session:
        context = await _open(session, agent, conversation_id)
        conversation = context.conversation
        if conversation.state != State.QUEUED:
            raise Conflict("this conversation is not waiting for a person", code="not_waiting")
        await ownership.transition(
            session,
            conversation,
            State.ASSIGNED,
            actor=ownership.agent(agent.id),
            reason="claimed",
            assignee_id=agent.id,
        )
        await after_claim(session, services, conversation, agent)
        return conversation


async def after_claim(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    agent: Agent,
    *,
    answered: bool = False,
) -> None:
    """Everything a claim does besides the move itself: the customer hears who joined, the
    claimed-but-unanswered timer starts (not when the agent has `answered` already), the
    `claimed` webhook goes out and the live pages learn. The one place for it, whether the
    claim came from the queue page or from a press of 1 on the phone (`gateway.claims`,
    applied by its deadline)."""
    await post_notice(session, services, conversation, "agent_joined", agent=agent.name)
    if not answered:
        await ladder.schedule_unassign(session, services, conversation)
    await _emit(session, services, "claimed", conversation, agent)
    announce_state(session, services, conversation)


async def take_manual_control(
    services: Services, agent: Agent, conversation_id: int, *, announce: bool = True
) -> Conversation:
    """Step in on a conversation the AI is handling; the AI pauses for the review window.
    The customer is told a person is answering now, unless `announce` is off: when the
    agent's own reply is what steps in, that reply is what the customer reads (a notice
    just before it would be one more SMS or mail saying less)."""
    require_role(Role.AGENT, agent)
    async with services.db.transaction() as session:
        context = await _open(session, agent, conversation_id)
        conversation = context.conversation
        await ownership.transition(
            session,
            conversation,
            State.MANUAL,
            actor=ownership.agent(agent.id),
            reason="took manual control",
            assignee_id=agent.id,
            review_window=context.settings.review_window,
        )
        assert conversation.ai_paused_until is not None
        await deadlines.schedule(
            session, services.jobs, conversation, RESUME_AI, conversation.ai_paused_until
        )
        if announce:  # the customer learns a person is answering now, as on a claim
            await post_notice(session, services, conversation, "manual_control", agent=agent.name)
        announce_state(session, services, conversation)
        return conversation


async def reply(
    services: Services,
    agent: Agent,
    conversation_id: int,
    text: str,
    media: Sequence[str] = (),
    cc: Sequence[str] | None = None,
    before_commit: BeforeCommit | None = None,
) -> Message:
    """Send the agent's message on the conversation's channel. Replying to a conversation
    that is waiting claims it; replying to one the AI handles takes manual control. A reply
    the customer cannot receive (opted out, or a rule of the channel's) or longer than the
    channel takes is refused before anything is claimed or stored; should that change in
    between, delivery refuses it at send. `media` holds the keys of uploaded images; `cc`
    the addresses to copy in, on a channel that takes them (None: the channel's default).
    `before_commit` runs in the transaction that stores the message; if it raises, no
    message is stored or sent."""
    require_role(Role.AGENT, agent)
    text = text.strip()
    if not text and not media:
        raise BadInput("a reply needs some text")
    if len(text) > MAX_REPLY_CHARS:
        raise BadInput(f"a reply may hold at most {MAX_REPLY_CHARS} characters")
    peeked = await _peek(services, agent, conversation_id)
    channel = services.channels.spec(peeked.channel)
    if channel.max_text_chars is not None and len(text) > channel.max_text_chars:
        raise BadInput(
            f"a reply by {channel.phrase} may hold at most {channel.max_text_chars} characters"
        )
    copied = None
    if cc is not None:
        if channel.max_cc == 0 and any(address.strip() for address in cc):
            raise BadInput(f"a reply by {channel.phrase} cannot copy anyone in (Cc)")
        copied = copy_list(cc, channel.max_cc) if channel.max_cc else None
    await reachability.check_reply(services.db, peeked, services.channels)
    attachments = await _attachments(services, agent, peeked, list(media))
    state = peeked.state
    if state == State.QUEUED:
        await claim(services, agent, conversation_id)
    elif state in (State.AI, State.RESOLVED):
        await take_manual_control(services, agent, conversation_id, announce=False)
    async with services.db.transaction() as session:
        context = await _open(session, agent, conversation_id)
        conversation = context.conversation
        # Read again under a lock: a change of hands committed meanwhile (the unassign
        # timer, say) is seen, and none can land between this check and the reply.
        await session.refresh(conversation, with_for_update=True)
        if conversation.state not in HUMAN_STATES:
            raise Conflict("this conversation changed hands; reload it", code="ownership_changed")
        if conversation.state == State.ASSIGNED and conversation.assigned_agent_id != agent.id:
            raise Conflict("another agent owns this conversation", code="owned_by_other")
        now = utcnow()
        conversation.last_human_at = now
        await ladder.agent_replied(session, conversation)
        if conversation.state == State.MANUAL:
            await restart_review_window(session, services, context)
        message = await queue_outbound(
            session,
            services.jobs,
            conversation,
            author="agent",
            text=text,
            agent_id=agent.id,
            attachments=attachments,
            meta=None if copied is None else {"cc": copied},
        )
        if before_commit is not None:
            await before_commit(session, message)
        return message


async def _attachments(
    services: Services, agent: Agent, conversation: Conversation, keys: list[str]
) -> list[dict[str, Any]]:
    if not keys:
        return []
    store = media.MediaStore(services.settings.var_dir)
    channel = services.channels.spec(conversation.channel)
    return await media.outbound_attachments(
        store, services.db, agent.organization_id, keys, channel
    )


async def restart_review_window(
    session: AsyncSession, services: Services, context: ConversationContext
) -> None:
    """Every human action in manual mode pushes the AI's return further out."""
    conversation = context.conversation
    conversation.ai_paused_until = utcnow() + context.settings.review_window
    await deadlines.cancel(session, conversation.id, RESUME_AI)
    await deadlines.schedule(
        session, services.jobs, conversation, RESUME_AI, conversation.ai_paused_until
    )


async def hand_back(
    services: Services, agent: Agent, conversation_id: int, message: str | None = None
) -> Conversation:
    """Return the conversation to the AI, optionally with a last word to the customer."""
    return await _release(services, agent, conversation_id, State.AI, "back_to_ai", message)


async def resolve(
    services: Services, agent: Agent, conversation_id: int, message: str | None = None
) -> Conversation:
    """Close the conversation; the customer's next message reopens it to the AI."""
    return await _release(services, agent, conversation_id, State.RESOLVED, "resolved", message)


async def _release(
    services: Services,
    agent: Agent,
    conversation_id: int,
    target: State,
    notice: str,
    message: str | None,
) -> Conversation:
    require_role(Role.AGENT, agent)
    async with services.db.transaction() as session:
        context = await _open(session, agent, conversation_id)
        conversation = context.conversation
        await ownership.transition(
            session,
            conversation,
            target,
            actor=ownership.agent(agent.id),
            reason="handed back to the AI" if target == State.AI else "resolved",
        )
        own = (message or "").strip()
        if own:  # the agent's own words, credited to them, in place of the notice
            await queue_outbound(
                session,
                services.jobs,
                conversation,
                author="agent",
                text=own,
                agent_id=agent.id,
                notice=notice,
            )
        else:
            await post_notice(session, services, conversation, notice)
        if target == State.RESOLVED:
            await _emit(session, services, "resolved", conversation, agent)
        announce_state(session, services, conversation)
        return conversation


async def _emit(
    session: AsyncSession, services: Services, event: str, conversation: Conversation, agent: Agent
) -> None:
    data = {
        "conversation": webhooks.conversation_data(conversation),
        "agent": {"id": agent.id, "name": agent.name},
    }
    await webhooks.emit(session, services, conversation.organization_id, event, data)


async def _peek(services: Services, agent: Agent, conversation_id: int) -> Conversation:
    async with services.db.transaction() as session:
        return (await _open(session, agent, conversation_id)).conversation
