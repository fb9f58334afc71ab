"""Decision records: every decision of the policy is stored with the rules that fired and
those that did not, and read back for the agents' API ("why was this handed off?")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import Conversation, HandoffDecision, utcnow
from handoff.policy.base import Decision, Outcome

SHOWN = 5  # decisions a conversation's JSON carries, newest first
HANDOFF_OUTCOMES = (Outcome.QUEUED, Outcome.GATHER, Outcome.TAKE_MESSAGE)


def record(
    session: AsyncSession, conversation: Conversation, message_id: int | None, decision: Decision
) -> HandoffDecision:
    """Add the decision's row to the session. The session's next flush writes it with the
    rows pending then (an AI reply, the message's owed turn), not in a flush of its own."""
    row = HandoffDecision(
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        message_id=message_id,
        phase=decision.phase.value,
        ownership_version=conversation.ownership_version,
        level=decision.level,
        outcome=decision.outcome.value,
        fired_rule=decision.fired_rule,
        rule_results=decision.rule_results(),
        created_at=utcnow(),
    )
    session.add(row)
    return row


def decision_json(row: HandoffDecision) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "phase": row.phase,
        "level": row.level,
        "outcome": row.outcome,
        "fired_rule": row.fired_rule,
        "rules": row.rule_results,
        "at": row.created_at,
    }


async def latest_decisions(
    session: AsyncSession, conversation_id: int, limit: int = SHOWN
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(HandoffDecision)
        .where(HandoffDecision.conversation_id == conversation_id)
        .order_by(HandoffDecision.id.desc())
        .limit(limit)
    )
    return [decision_json(row) for row in rows]


async def latest_handoffs(
    session: AsyncSession, conversation_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """For each conversation, its latest decision that handed off (or tried to)."""
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(HandoffDecision.id))
        .where(
            HandoffDecision.conversation_id.in_(conversation_ids),
            HandoffDecision.outcome.in_([outcome.value for outcome in HANDOFF_OUTCOMES]),
        )
        .group_by(HandoffDecision.conversation_id)
    )
    rows = await session.scalars(select(HandoffDecision).where(HandoffDecision.id.in_(newest)))
    return {row.conversation_id: decision_json(row) for row in rows}
