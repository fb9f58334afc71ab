"""A claim made outside the queue page. A person can take a waiting conversation from more
than one place: the queue page (handoff's `claim` action) and, on a call, by pressing 1
on their phone. Both move it `queued → assigned` through the ownership state machine, so
racing claims give exactly one owner; everything else a claim does (the agent-joined
notice, the claimed-but-unanswered timer, the `claimed` webhook, the live pages) is
handoff's one `after_claim`. The core does not import handoff, so a claim made here adds
a deadline of kind `claimed`, due at once, in the claim's own transaction; handoff's
deadline action applies `after_claim` for it. Being a deadline, it survives a Redis
restart (the reconciler fires it) and runs at most once, and never for a claim that was
already undone by the time it fires."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import deadlines, ownership
from gateway.models import Conversation, utcnow
from gateway.ownership import State
from gateway.queues import JobQueue

FOLLOW_UP = "claimed"  # the deadline kind whose action does what a claim does besides the move


async def claim(
    session: AsyncSession,
    jobs: JobQueue,
    conversation: Conversation,
    agent_id: int,
    *,
    reason: str,
) -> None:
    """Give a waiting conversation to `agent_id` (OwnershipChanged when someone moved it
    since it was read) and set the claim's follow-up going once this transaction commits."""
    await ownership.transition(
        session,
        conversation,
        State.ASSIGNED,
        actor=ownership.agent(agent_id),
        assignee_id=agent_id,
        reason=reason,
    )
    await deadlines.schedule(session, jobs, conversation, FOLLOW_UP, utcnow())
