"""Who owns a conversation: the state enum, the explicit table of allowed moves, and the
one `transition()` that applies them. Every move bumps the ownership version with a
compare-and-set (so of two racing claims exactly one wins), cancels the conversation's
pending deadlines, and writes a Transition row. An illegal or stale move raises and writes
nothing. It lives in `gateway` because channels (a voice transfer) and `handoff` both use it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import metrics
from gateway.db import after_commit
from gateway.errors import BadInput, IllegalTransition, OwnershipChanged
from gateway.models import Conversation, Deadline, Transition, utcnow


class State(StrEnum):
    AI = "ai"  # the AI answers
    QUEUED = "queued"  # a person was asked for; waiting for one
    ASSIGNED = "assigned"  # an agent claimed it; the AI is silent
    MANUAL = "manual"  # a person took control; the AI is paused for a review window
    RESOLVED = "resolved"  # closed; the customer's next message reopens it


ALLOWED: dict[State, frozenset[State]] = {
    State.AI: frozenset({State.QUEUED, State.MANUAL, State.RESOLVED}),
    State.QUEUED: frozenset({State.ASSIGNED, State.AI, State.RESOLVED}),
    State.ASSIGNED: frozenset({State.AI, State.RESOLVED, State.QUEUED, State.ASSIGNED}),
    State.MANUAL: frozenset({State.AI, State.RESOLVED, State.ASSIGNED}),
    State.RESOLVED: frozenset({State.AI, State.MANUAL}),
}

HUMAN_STATES = frozenset({State.ASSIGNED, State.MANUAL})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a move: 'ai', 'system', 'customer', or an agent (with its id)."""

    kind: str
    agent_id: int | None = None

    def __str__(self) -> str:
        return f"agent:{self.agent_id}" if self.kind == "agent" else self.kind


SYSTEM = Actor("system")
AI = Actor("ai")
CUSTOMER = Actor("customer")


def agent(agent_id: int) -> Actor:
    return Actor("agent", agent_id)


def is_allowed(source: State, target: State) -> bool:
    return target in ALLOWED[source]


async def transition(
    session: AsyncSession,
    conversation: Conversation,
    target: State,
    *,
    actor: Actor,
    reason: str = "",
    rule_hits: list[Any] | None = None,
    assignee_id: int | None = None,
    review_window: timedelta | None = None,
    now: datetime | None = None,
) -> Transition:
    """Move `conversation` to `target` if the table allows it and nobody moved it since it
    was read. Sets the fields that belong to the new state and returns the audit row."""
    source = State(conversation.state)
    if not is_allowed(source, target):
        raise IllegalTransition(f"a conversation cannot go from {source} to {target}")
    if target is State.ASSIGNED and assignee_id is None:
        raise BadInput("assigning a conversation needs an agent")
    if target is State.MANUAL and (assignee_id is None or review_window is None):
        raise BadInput("manual control needs an agent and a review window")
    now = now or utcnow()
    version = conversation.ownership_version
    waiting_since = conversation.waiting_since
    fields: dict[str, Any] = {
        "state": target.value,
        "ownership_version": version + 1,
        "updated_at": now,
        "assigned_agent_id": assignee_id if target in HUMAN_STATES else None,
        "ai_paused_until": now + review_window
        if target is State.MANUAL and review_window
        else None,
        "waiting_since": now if target is State.QUEUED else None,
    }
    if target is State.QUEUED:
        fields["handoff_reason"] = reason
        fields["rule_hits"] = list(rule_hits or [])
    if target is State.AI:
        # A summary describes one handoff: back with the AI there is none to show, and the
        # next handoff gets a fresh one (written by a job after it commits).
        fields["summary"] = None
    if target in HUMAN_STATES:
        fields["last_human_at"] = now
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.ownership_version == version)
        .values(**fields)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise OwnershipChanged(
            f"conversation {conversation.id} changed hands while this move was being made"
        )
    for name, value in fields.items():
        setattr(conversation, name, value)
    await session.execute(
        update(Deadline)
        .where(
            Deadline.conversation_id == conversation.id,
            Deadline.fired_at.is_(None),
            Deadline.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    row = Transition(
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        from_state=source.value,
        to_state=target.value,
        actor=str(actor),
        agent_id=actor.agent_id,
        reason=reason,
        rule_hits=list(rule_hits or []),
        ownership_version=version + 1,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    # Counted once the move is committed: a move rolled back never happened.
    if target is State.QUEUED:
        hits = list(rule_hits or [])
        after_commit(session, lambda: metrics.count_handoff(hits))
    elif source is State.QUEUED and target is State.ASSIGNED:
        waited_since = waiting_since
        after_commit(session, lambda: metrics.observe_claim(waited_since, now))
    return row
