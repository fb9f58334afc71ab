"""Keeps the queue's badge counts small to read. Triggers on `conversations` write a row of
+1 or -1 to `conversation_counts` for every conversation that enters or leaves a
combination of the counted columns (organization, state, channel, team, label, assigned
agent, needs attention), so a badge is a sum over those rows, never a count of the
conversations. `fold` sums the rows of each combination into one, so the rows to read grow
with the combinations an organization has, not with its traffic; the reconciler runs it,
once many rows have gathered."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, func, insert, select

from gateway.db import Database
from gateway.models import ConversationCount

FOLD_AFTER = 1_000  # rows written since the last fold
KEY = (
    ConversationCount.organization_id,
    ConversationCount.state,
    ConversationCount.channel,
    ConversationCount.team_id,
    ConversationCount.label,
    ConversationCount.agent_id,
    ConversationCount.needs_attention,
)
_UNFOLDED = select(ConversationCount.id).where(ConversationCount.folded.is_(False))


async def fold(db: Database, *, after: int = FOLD_AFTER) -> int:
    """Sum the rows of every organization with rows written since the last fold into one
    row per combination, if at least `after` were written; returns the rows folded.

    One DELETE ... RETURNING takes the rows and the sums of exactly those go back in the
    same transaction: a row a trigger commits meanwhile is either among them or stays, and
    a reader sees the rows before or after, never half of both. Two folds at once each
    sum only the rows they deleted."""
    async with db.read() as session:
        waiting = await session.scalar(
            select(func.count()).select_from(_UNFOLDED.limit(after).subquery())
        )
    if not waiting or waiting < after:
        return 0
    async with db.transaction() as session:
        changed = select(ConversationCount.organization_id).where(
            ConversationCount.folded.is_(False)
        )
        taken = await session.execute(
            delete(ConversationCount)
            .where(ConversationCount.organization_id.in_(changed))
            .returning(*KEY, ConversationCount.delta)
        )
        sums: Counter[tuple[Any, ...]] = Counter()
        rows = 0
        for *key, delta in taken:
            sums[tuple(key)] += delta
            rows += 1
        names = [column.key for column in KEY]
        kept = [
            {**dict(zip(names, key, strict=True)), "delta": total, "folded": True}
            for key, total in sums.items()
            if total
        ]
        if kept:
            await session.execute(insert(ConversationCount), kept)
    return rows
