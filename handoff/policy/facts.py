"""Loading the facts a decision needs, in the caller's transaction: the customer's recent
messages, the contact's opt-out, the previous decision under the same ownership, the AI's
earlier answers, who is online (Redis presence) and the organization's policy settings.
Every message and every AI reply is decided on, so what the database holds comes in one
statement, built once with its values as parameters (one round trip, not one for each
fact), and Redis is asked who is online first and answers while it runs: the decision
waits for the slower of the two, not for both one after the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Row,
    Select,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ContactIdentity, HandoffDecision, Message, utcnow
from gateway.presence import count_online
from gateway.runtime import Services
from handoff.ai.responder import ResponderReply
from handoff.context import ConversationContext
from handoff.policy.base import Phase, PolicyInput
from handoff.policy.config import policy_settings

RECENT_MESSAGES = 10  # customer messages the tone and the word count look at
STREAK_LIMIT = 10  # earlier AI answers the streak looks at

# A decision's facts from the database come in one statement, whose parts are told apart
# by their kind: a round trip less for each part on every message and every AI reply.
_TEXT, _AI_ANSWER, _DECISION, _OPT_OUT = range(4)
_COLUMNS = {
    "id": Message.id.type,
    "text": Message.text.type,
    "meta": Message.meta.type,
    "outcome": HandoffDecision.outcome.type,
    "rule": HandoffDecision.fired_rule.type,
    "at": ContactIdentity.opted_out_at.type,
}

_CUSTOMER_TEXTS = (
    select(Message.id.label("id"), Message.text.label("text"))
    .where(Message.conversation_id == bindparam("conversation_id"), Message.direction == "inbound")
    .order_by(Message.id.desc())
    .limit(RECENT_MESSAGES)
)
_CUSTOMER_TEXTS_UP_TO = _CUSTOMER_TEXTS.where(Message.id <= bindparam("up_to"))
_AI_ANSWERS = (
    select(Message.id.label("id"), Message.meta.label("meta"))
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.author == "ai",
        Message.ownership_version == bindparam("version"),
    )
    .order_by(Message.id.desc())
    .limit(STREAK_LIMIT)
)
_PREVIOUS_DECISION = (
    select(HandoffDecision.outcome.label("outcome"), HandoffDecision.fired_rule.label("rule"))
    .where(
        HandoffDecision.conversation_id == bindparam("conversation_id"),
        HandoffDecision.ownership_version == bindparam("version"),
    )
    .order_by(HandoffDecision.id.desc())
    .limit(1)
)
_OPTED_OUT_AT = select(ContactIdentity.opted_out_at.label("at")).where(
    ContactIdentity.organization_id == bindparam("organization_id"),
    ContactIdentity.kind == bindparam("kind"),
    ContactIdentity.address == bindparam("address"),
)


def _part(kind: int, rows: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`rows` (their own order and limit kept) in the facts statement's columns."""
    inner = rows.subquery()
    return select(
        literal_column(str(kind), Integer()).label("kind"),
        *(
            inner.c[name] if name in inner.c else cast(null(), type_).label(name)
            for name, type_ in _COLUMNS.items()
        ),
    )


def _facts_read(
    *parts: tuple[int, Select[*tuple[Any, ...]]],
) -> CompoundSelect[*tuple[Any, ...]]:
    return union_all(*(_part(kind, rows) for kind, rows in parts))


def _statements(
    *parts: tuple[int, Select[*tuple[Any, ...]]],
) -> tuple[CompoundSelect[*tuple[Any, ...]], CompoundSelect[*tuple[Any, ...]]]:
    """The facts statement for `parts`, without and with the contact's opt-out (read on a
    channel that honours one)."""
    return _facts_read(*parts), _facts_read(*parts, (_OPT_OUT, _OPTED_OUT_AT))


_MESSAGE_FACTS = _statements((_TEXT, _CUSTOMER_TEXTS_UP_TO), (_DECISION, _PREVIOUS_DECISION))
_REPLY_FACTS = _statements(
    (_TEXT, _CUSTOMER_TEXTS), (_AI_ANSWER, _AI_ANSWERS), (_DECISION, _PREVIOUS_DECISION)
)


@dataclass(frozen=True, slots=True)
class _Read:
    """What the facts statement found."""

    texts: tuple[str, ...]  # oldest first
    latest_text_id: int | None
    earlier_answers_known: tuple[bool, ...]  # newest first
    previous: Row[Any] | None
    opted_out: bool


async def _read(
    session: AsyncSession,
    context: ConversationContext,
    services: Services,
    statements: tuple[CompoundSelect[*tuple[Any, ...]], CompoundSelect[*tuple[Any, ...]]],
    **values: object,
) -> _Read:
    conversation = context.conversation
    values |= {"conversation_id": conversation.id, "version": conversation.ownership_version}
    honours_opt_out = services.channels.spec(conversation.channel).honours_opt_out
    if honours_opt_out:
        values |= {
            "organization_id": conversation.organization_id,
            "kind": conversation.address_kind,
            "address": conversation.address,
        }
    rows = (await session.execute(statements[honours_opt_out], values)).all()
    # a union's rows come in no promised order: each part is put back in its own
    texts = sorted((row.id, row.text) for row in rows if row.kind == _TEXT)
    answers = sorted(((row.id, row.meta) for row in rows if row.kind == _AI_ANSWER), reverse=True)
    return _Read(
        texts=tuple(text for _, text in texts),
        latest_text_id=texts[-1][0] if texts else None,
        earlier_answers_known=tuple(bool((meta or {}).get("knows", True)) for _, meta in answers),
        previous=next((row for row in rows if row.kind == _DECISION), None),
        opted_out=any(row.kind == _OPT_OUT and row.at is not None for row in rows),
    )


async def message_facts(
    session: AsyncSession, services: Services, context: ConversationContext, message: Message
) -> PolicyInput:
    """The facts for deciding about `message` as it arrives."""
    async with _asking_who_is_online(services, context) as online:
        read = await _read(session, context, services, _MESSAGE_FACTS, up_to=message.id)
        return await _facts(context, Phase.MESSAGE, read.texts or (message.text,), online, read)


async def reply_facts(
    session: AsyncSession,
    services: Services,
    context: ConversationContext,
    reply: ResponderReply,
) -> tuple[PolicyInput, int | None]:
    """The facts for deciding about the AI's `reply`, and the id of the customer message it
    answers (the latest one)."""
    async with _asking_who_is_online(services, context) as online:
        read = await _read(session, context, services, _REPLY_FACTS)
        facts = await _facts(context, Phase.REPLY, read.texts, online, read, reply=reply)
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
    return PolicyInput(
        phase=phase,
        text=texts[-1] if texts else "",
        recent_customer_texts=texts,
        state=conversation.state,
        settings=policy_settings(context.settings, conversation.channel),
        now=utcnow(),
        online_agents=await online,
        opted_out=read.opted_out,
        ai_paused_until=conversation.ai_paused_until,
        previous_outcome=previous.outcome if previous else None,
        previous_rule=previous.rule if previous else None,
        reply=reply,
        earlier_answers_known=read.earlier_answers_known,
    )
