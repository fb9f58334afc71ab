"""What each kind of deadline does when it fires. `fire()` first claims the deadline
(exactly once, and never a cancelled one or one whose conversation changed hands), then
applies the kind's action in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import claims, deadlines, ownership
from gateway.models import Agent, Conversation, Transition
from gateway.ownership import State
from gateway.runtime import Services
from handoff import ladder, notify_email
from handoff.actions import after_claim
from handoff.context import load_context
from handoff.notices import post_notice
from handoff.routing import announce_state

log = logging.getLogger(__name__)

Action = Callable[[AsyncSession, Services, Conversation], Awaitable[None]]


async def _expire(session: AsyncSession, services: Services, conversation: Conversation) -> None:
    """Nobody claimed the handoff in time: back to the AI, with an honest notice."""
    await ownership.transition(
        session, conversation, State.AI, actor=ownership.SYSTEM, reason="nobody claimed it in time"
    )
    await post_notice(session, services, conversation, "nobody_available")
    announce_state(session, services, conversation)


async def _resume_ai(session: AsyncSession, services: Services, conversation: Conversation) -> None:
    """The review window ran out without human activity: the AI answers again."""
    await ownership.transition(
        session,
        conversation,
        State.AI,
        actor=ownership.SYSTEM,
        reason="the review window ended without human activity",
    )
    await post_notice(session, services, conversation, "back_to_ai")
    announce_state(session, services, conversation)


async def _unassign(session: AsyncSession, services: Services, conversation: Conversation) -> None:
    """Claimed but never answered in time: back to the queue, with the ladder started anew."""
    settings = await ladder.organization_settings(session, conversation.organization_id)
    await ownership.transition(
        session,
        conversation,
        State.QUEUED,
        actor=ownership.SYSTEM,
        reason="claimed but not answered within "
        + notify_email.duration_text(settings.unassign_after_seconds),
        rule_hits=list(conversation.rule_hits or []),
    )
    await ladder.start(session, services, conversation)
    announce_state(session, services, conversation)


async def _claimed(session: AsyncSession, services: Services, conversation: Conversation) -> None:
    """A claim made off the queue page (a press of 1 on a call) does what every claim does;
    the deadline fires only while the claim stands, so its agent is the owner. An agent who
    replied before it fired has answered: no claimed-but-unanswered timer starts."""
    assert conversation.assigned_agent_id is not None
    agent = await session.get(Agent, conversation.assigned_agent_id)
    assert agent is not None
    claimed_at = await session.scalar(
        select(Transition.created_at).where(
            Transition.conversation_id == conversation.id,
            Transition.ownership_version == conversation.ownership_version,
        )
    )
    replied = conversation.last_human_at
    # the claim itself sets last_human_at to its own time: only a later one is a reply
    answered = claimed_at is not None and replied is not None and replied > claimed_at
    await after_claim(session, services, conversation, agent, answered=answered)


ACTIONS: dict[str, Action] = {
    claims.FOLLOW_UP: _claimed,
    "expire": _expire,
    "resume-ai": _resume_ai,
    ladder.REMINDER: ladder.remind,
    ladder.ESCALATE: ladder.escalate,
    ladder.UNASSIGN: _unassign,
}


async def fire(services: Services, deadline_id: int) -> str:
    """Fire one deadline if it is still due; returns what happened."""
    async with services.db.transaction() as session:
        deadline = await deadlines.claim(session, deadline_id)
        if deadline is None:
            return "not-fired"
        action = ACTIONS.get(deadline.kind)
        if action is None:
            log.error("deadline %s has unknown kind %r", deadline_id, deadline.kind)
            return "unknown-kind"
        context = await load_context(session, deadline.conversation_id)
        await action(session, services, context.conversation)
        log.info("deadline %s (%s) fired", deadline_id, deadline.kind)
        return "fired"
