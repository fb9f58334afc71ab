"""Loading the facts a decision needs, in the caller's transaction: the customer's recent
messages, the contact's opt-out, the previous decision under the same ownership, the AI's
earlier answers, who is online (Redis presence; with nobody online, how the channel reaches
the team without the desk) and the organization's policy settings.
Every message and every AI reply is decided on, so what the database holds comes in one
statement (`handoff.fact_rows`: one round trip, not one for each fact; on PostgreSQL they
come with the claim of the message or of the AI's turn, in no round trip of their own,
`ConversationContext.facts_ahead`), and Redis is asked who is online first and answers
while it runs: the decision waits for the slower of the two, not for both one after the
other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import Message, utcnow
from gateway.presence import count_online
from gateway.runtime import Services
from handoff.ai.responder import ResponderReply
from handoff.context import ConversationContext
from handoff.fact_rows import (
    AI_ANSWER,
    DECISION,
    MESSAGE_FACTS,
    OPT_OUT,
    REPLY_FACTS,
    TEXT,
    FactRow,
    Statements,
    rows_of,
)
from handoff.policy.base import Phase, PolicyInput
from handoff.policy.config import policy_settings


@dataclass(frozen=True, slots=True)
class _Read:
    """What the facts statement found."""

    texts: tuple[str, ...]  # oldest first
    latest_text_id: int | None
    earlier_answers_known: tuple[bool, ...]  # newest first
    previous: FactRow | None
    opted_out: bool


async def _read(
    session: AsyncSession,
    context: ConversationContext,
    services: Services,
    statements: Statements,
    up_to: int | None = None,
) -> _Read:
    """The facts for message `up_to` (with MESSAGE_FACTS) or for the AI's reply."""
    conversation = context.conversation
    honours_opt_out = services.channels.spec(conversation.channel).honours_opt_out
    ahead = context.facts_ahead
    rows: Sequence[FactRow] | None = None
    if ahead is not None:  # read by the claim, if for this decision under this version
        rows = ahead.serve(conversation.ownership_version, up_to)
    if rows is None:
        values = {
            "of_conversation": conversation.id,
            "under_version": conversation.ownership_version,
            "up_to": up_to,
        }
        rows = rows_of((await session.execute(statements[honours_opt_out], values)).all())
    # a union's rows come in no promised order: each part is put back in its own
    texts = sorted(
        (row.id, row.text or "") for row in rows if row.kind == TEXT and row.id is not None
    )
    answers = sorted(
        ((row.id, row.meta) for row in rows if row.kind == AI_ANSWER and row.id is not None),
        reverse=True,
    )
    return _Read(
        texts=tuple(text for _, text in texts),
        latest_text_id=texts[-1][0] if texts else None,
        earlier_answers_known=tuple(bool((meta or {}).get("knows", True)) for _, meta in answers),
        previous=next((row for row in rows if row.kind == DECISION), None),
        opted_out=honours_opt_out
        and any(row.kind == OPT_OUT and row.at is not None for row in rows),
    )


async def message_facts(
    session: AsyncSession, services: Services, context: ConversationContext, message: Message
) -> PolicyInput:
    """The facts for deciding about `message` as it arrives."""
    async with _asking_who_is_online(services, context) as online:
        read = await _read(session, context, services, MESSAGE_FACTS, up_to=message.id)
        return await _facts(
            services, context, Phase.MESSAGE, read.texts or (message.text,), online, read
        )


async def reply_facts(
    session: AsyncSession,
    services: Services,
    context: ConversationContext,
    reply: ResponderReply,
) -> tuple[PolicyInput, int | None]:
    """The facts for deciding about the AI's `reply`, and the id of the customer message it
    answers (the latest one)."""
    async with _asking_who_is_online(services, context) as online:
        read = await _read(session, context, services, REPLY_FACTS)
        facts = await _facts(services, context, Phase.REPLY, read.texts, online, read, reply=reply)
    return facts, read.latest_text_id


@asynccontextmanager
async def _asking_who_is_online(
    services: Services, context: ConversationContext
) -> AsyncIterator[asyncio.Task[int]]:
    """Redis's count of the organization's agents online, asked now and awaited by
    `_facts`. The request goes out before the statements (one turn of the event loop: on
    SQLite they run without giving it one), and is cancelled if one of them fails."""
    asked = asyncio.ensure_future(
        count_online(services.events.redis, context.conversation.organization_id)
    )
    try:
        await asyncio.sleep(0)
        yield asked
    finally:
        if not asked.done():
            asked.cancel()
        elif not asked.cancelled():
            asked.exception()  # seen: a failure that lost the race to a statement's


async def _facts(
    services: Services,
    context: ConversationContext,
    phase: Phase,
    texts: tuple[str, ...],
    online: asyncio.Task[int],
    read: _Read,
    *,
    reply: ResponderReply | None = None,
) -> PolicyInput:
    conversation = context.conversation
    previous = read.previous
    online_agents = await online
    return PolicyInput(
        phase=phase,
        text=texts[-1] if texts else "",
        recent_customer_texts=texts,
        state=conversation.state,
        settings=policy_settings(context.settings, conversation.channel),
        now=utcnow(),
        online_agents=online_agents,
        staffed_without_desk=(None if online_agents else _staffed_without_desk(services, context)),
        opted_out=read.opted_out,
        ai_paused_until=conversation.ai_paused_until,
        previous_outcome=previous.outcome if previous else None,
        previous_rule=previous.rule if previous else None,
        reply=reply,
        earlier_answers_known=read.earlier_answers_known,
    )


def _staffed_without_desk(services: Services, context: ConversationContext) -> str | None:
    """How the conversation's channel reaches the team with nobody online on the desk."""
    staffed = services.channels.spec(context.conversation.channel).staffed_without_desk
    return None if staffed is None else staffed(context.organization.settings or {})
