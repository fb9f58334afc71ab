"""The queue's badge counts, exact, in one statement: a sum over the rows that triggers keep
in `conversation_counts` (see `gateway.conversation_counts`), filtered by channel, team
and label as the lists are. The rows grow with the combinations of state, channel, team,
label and agent an organization has, not with its conversations, so a badge costs the same
at a million conversations as at a thousand."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk.listing import OPEN_STATES, VIEWS, Filters
from gateway.models import Agent, ConversationCount
from gateway.ownership import State

_WORKED = (State.QUEUED.value, State.ASSIGNED.value, State.MANUAL.value)
_VIEW_OF_STATE = {State.QUEUED.value: "waiting"}


async def counts(session: AsyncSession, agent: Agent, filters: Filters) -> dict[str, int]:
    """The badge of every view (filtered as the lists are, but without a search)."""
    rows = (
        select(
            ConversationCount.state,
            ConversationCount.needs_attention,
            ConversationCount.agent_id,
            func.sum(ConversationCount.delta),
        )
        .where(*_conditions(agent.organization_id, filters))
        .group_by(
            ConversationCount.state, ConversationCount.needs_attention, ConversationCount.agent_id
        )
    )
    found = dict.fromkeys(VIEWS, 0)
    for state, needs_attention, agent_id, total in await session.execute(rows):
        count = int(total or 0)
        found["all"] += count
        view = _VIEW_OF_STATE.get(state, state)
        if view in found:
            found[view] += count
        if state in _WORKED and agent_id == agent.id:
            found["mine"] += count
        if state in OPEN_STATES and needs_attention:
            found["needs_attention"] += count
    return found


def _conditions(organization_id: int, filters: Filters) -> list[ColumnElement[bool]]:
    conditions = [ConversationCount.organization_id == organization_id]
    if filters.channel:
        conditions.append(ConversationCount.channel == filters.channel)
    if filters.team_id is not None:
        conditions.append(ConversationCount.team_id == filters.team_id)
    if filters.label:
        conditions.append(ConversationCount.label == filters.label)
    return conditions
