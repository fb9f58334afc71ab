"""The queue's badge counts, in one statement. The views people work (Waiting, Mine,
Assigned, Manual, needs attention) are counted exactly, from index ranges of
`(organization, state, needs_attention, assignee)`; the two that grow without bound (AI
active, Resolved) stop at `COUNT_CAP`, so the cost stays flat however many conversations
an organization keeps, and the answer says which counts stopped ("10,000+")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk.listing import OPEN_STATES, VIEWS, Filters, filter_conditions
from gateway.models import Agent, Conversation
from gateway.ownership import State

COUNT_CAP = 10_000


@dataclass(frozen=True, slots=True)
class Counts:
    counts: dict[str, int]
    capped: list[str]  # views whose count stopped at COUNT_CAP ("10,000+")


async def counts(session: AsyncSession, agent: Agent, filters: Filters) -> Counts:
    """The badge of every view (filtered as the lists are, but without a search)."""
    where = filter_conditions(agent.organization_id, filters)
    is_mine = Conversation.assigned_agent_id == agent.id
    working = (
        select(
            Conversation.state,
            func.count(),
            func.sum(_flag(is_mine)),
        )
        .where(
            *where,
            Conversation.state.in_([State.QUEUED.value, State.ASSIGNED.value, State.MANUAL.value]),
        )
        .group_by(Conversation.state)
    )
    found = {view: 0 for view in VIEWS}
    for state, total, own in await session.execute(working):
        found[{"queued": "waiting"}.get(state, state)] = int(total or 0)
        found["mine"] += int(own or 0)

    def capped(*conditions: ColumnElement[bool]) -> Any:
        rows = select(Conversation.id).where(*where, *conditions).limit(COUNT_CAP)
        return select(func.count()).select_from(rows.subquery()).scalar_subquery()

    ai, resolved, attention = (
        await session.execute(
            select(
                capped(Conversation.state == State.AI.value),
                capped(Conversation.state == State.RESOLVED.value),
                capped(Conversation.state.in_(OPEN_STATES), Conversation.needs_attention.is_(True)),
            )
        )
    ).one()
    found["ai"], found["resolved"] = int(ai), int(resolved)
    found["needs_attention"] = int(attention)
    found["all"] = sum(found[view] for view in ("waiting", "assigned", "manual", "ai", "resolved"))
    over = [view for view in ("ai", "resolved", "needs_attention") if found[view] >= COUNT_CAP]
    return Counts(found, over + (["all"] if over else []))


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)
