"""Loading what a decision needs about one conversation: the conversation row (scoped to
its organization), the organization and its settings, and the recent history. Routing a
message and storing the AI's reply each begin with a claim (`claim_for_routing`,
`take_turn`); on PostgreSQL the claim's own statement returns the context and the
policy's facts for the decision too (`handoff.fact_rows`), as the read of the AI's
question returns the recent history with it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from sqlalchemy import JSON, Table, and_, bindparam, case, exists, func, not_, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import dialect_of
from gateway.errors import NotFound
from gateway.models import Conversation, Message, Organization, utcnow
from gateway.org_settings import OrganizationSettings
from gateway.webhook_tables import WebhookEndpoint
from handoff.ai.responder import Turn
from handoff.fact_rows import (
    REPLY_FACTS_AS_JSON,
    FactsAhead,
    message_facts_of_claimed,
    rows_from_json,
)

HISTORY_LIMIT = 20


@dataclass(frozen=True, slots=True)
class ConversationContext:
    conversation: Conversation
    organization: Organization
    settings: OrganizationSettings
    # the facts for the decision, when the claim read them too (PostgreSQL)
    facts_ahead: FactsAhead | None = None


@dataclass(frozen=True, slots=True)
class RoutingClaim:
    """A message claimed for routing and its conversation's context. `webhook_endpoints` is
    False only when the claim's own statement saw the organization has no active webhook
    endpoint (on PostgreSQL), so routing has no event to store for one."""

    message: Message
    context: ConversationContext
    webhook_endpoints: bool = True

    def owe_turn(self, version: int | None) -> None:
        """Leave the AI's turn owed under `version`, or not owed (None): the claim marked it
        owed under the conversation's version when the conversation was with the AI."""
        if self.message.ai_turn_version != version:
            self.message.ai_turn_version = version


_CONTEXT = (
    select(Conversation, Organization)
    .join(Organization, Organization.id == Conversation.organization_id)
    .where(Conversation.id == bindparam("conversation_id"))
)
_CONTEXT_IN_ORGANIZATION = _CONTEXT.where(
    Conversation.organization_id == bindparam("organization_id")
)
_RECENT_TURNS = (
    select(Message.id, Message.author, Message.text)
    .where(Message.conversation_id == bindparam("conversation_id"))
    .order_by(Message.id.desc())
    .limit(HISTORY_LIMIT)
)
# On PostgreSQL the context and the recent turns come in one statement, the turns as one
# JSON array of [author, text], newest first.
_TURNS = _RECENT_TURNS.subquery()
_CONTEXT_WITH_TURNS = _CONTEXT.add_columns(
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_array(_TURNS.c.author, _TURNS.c.text), _TURNS.c.id.desc()
            ),
            type_=JSON,
        )
    ).scalar_subquery()
)


async def load_context(
    session: AsyncSession, conversation_id: int, organization_id: int | None = None
) -> ConversationContext:
    # built once: every message and every AI reply loads its conversation's context
    statement = _CONTEXT if organization_id is None else _CONTEXT_IN_ORGANIZATION
    parameters = {"conversation_id": conversation_id, "organization_id": organization_id}
    row = (await session.execute(statement, parameters)).first()
    if row is None:
        raise NotFound("no such conversation")
    return _context(*row)


def _context(conversation: Conversation, organization: Organization) -> ConversationContext:
    return ConversationContext(
        conversation, organization, OrganizationSettings.from_json(organization.settings)
    )


_MESSAGES = cast(Table, Message.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_ORGANIZATIONS = cast(Table, Organization.__table__)
# built once: the first statement after the model's answer, on a caller's turn
_CLAIM = (
    update(_MESSAGES)
    .where(
        _MESSAGES.c.id == bindparam("taken_message"),
        _MESSAGES.c.conversation_id == bindparam("its_conversation"),
        _MESSAGES.c.ai_turn_version == bindparam("owed_version"),
    )
    .values(ai_turn_version=None)
)
# On PostgreSQL the claim returns the context (an UPDATE with a FROM), so a turn pays one
# round trip for both. SQLite's RETURNING names only the table it updates.
_REPLY_FACTS = REPLY_FACTS_AS_JSON.label("reply_facts")
_CLAIM_WITH_CONTEXT = select(Conversation, Organization, _REPLY_FACTS).from_statement(
    _CLAIM.where(
        _CONVERSATIONS.c.id == _MESSAGES.c.conversation_id,
        _ORGANIZATIONS.c.id == _CONVERSATIONS.c.organization_id,
    ).returning(*_CONVERSATIONS.c, *_ORGANIZATIONS.c, _REPLY_FACTS)
)


# built once: routing's claim of a message, on every message routed. The claim also marks
# the AI's turn owed under the conversation's version when the conversation is with the AI
# and the message is one to answer, the outcome of most messages; routing corrects the
# mark when it decides otherwise (`RoutingClaim.owe_turn`), so the common case writes the
# message once.
_ROUTING_CLAIM = update(_MESSAGES).where(
    _MESSAGES.c.id == bindparam("routed_message"), _MESSAGES.c.routed_at.is_(None)
)
_OWED_IF_WITH_THE_AI = case(
    (
        and_(_CONVERSATIONS.c.state == "ai", not_(Message.no_reply)),
        _CONVERSATIONS.c.ownership_version,
    ),
    else_=None,
)
_ROUTING_CLAIM_ALONE = select(Message).from_statement(
    _ROUTING_CLAIM.values(
        routed_at=bindparam("now"),
        ai_turn_version=select(_OWED_IF_WITH_THE_AI)
        .where(_CONVERSATIONS.c.id == _MESSAGES.c.conversation_id)
        .scalar_subquery(),
    ).returning(*_MESSAGES.c)
)
_ANY_WEBHOOK_ENDPOINT = (
    exists()
    .where(
        WebhookEndpoint.organization_id == _ORGANIZATIONS.c.id,
        WebhookEndpoint.active.is_(True),
    )
    .label("webhook_endpoints")
)
_MESSAGE_FACTS = message_facts_of_claimed(_CONVERSATIONS, bindparam("routed_message")).label(
    "message_facts"
)
_ROUTING_CLAIM_WITH_CONTEXT = select(
    Message, Conversation, Organization, _ANY_WEBHOOK_ENDPOINT, _MESSAGE_FACTS
).from_statement(
    _ROUTING_CLAIM.values(routed_at=bindparam("now"), ai_turn_version=_OWED_IF_WITH_THE_AI)
    .where(
        _CONVERSATIONS.c.id == _MESSAGES.c.conversation_id,
        _ORGANIZATIONS.c.id == _CONVERSATIONS.c.organization_id,
    )
    .returning(
        *_MESSAGES.c, *_CONVERSATIONS.c, *_ORGANIZATIONS.c, _ANY_WEBHOOK_ENDPOINT, _MESSAGE_FACTS
    )
)
# the claim hands back the message as it is now: a copy already in the session would
# otherwise be returned unchanged
_AS_IT_IS_NOW = {"populate_existing": True}


async def claim_for_routing(session: AsyncSession, message_id: int) -> RoutingClaim | None:
    """Claim message `message_id` for routing (`Message.routed_at`, set once) and load it
    with its conversation's context (in the same statement on PostgreSQL, with whether its
    organization has a webhook endpoint and the facts for deciding on the message); None
    when it was claimed before."""
    parameters = {"routed_message": message_id, "now": utcnow()}
    if dialect_of(session) == "postgresql":
        row = (
            await session.execute(
                _ROUTING_CLAIM_WITH_CONTEXT, parameters, execution_options=_AS_IT_IS_NOW
            )
        ).first()
        if row is None:
            return None
        message, conversation, organization, webhook_endpoints, message_facts = row
        ahead = FactsAhead(
            conversation.ownership_version, message.id, rows_from_json(message_facts)
        )
        context = replace(_context(conversation, organization), facts_ahead=ahead)
        return RoutingClaim(message, context, webhook_endpoints)
    claimed = await session.scalar(
        _ROUTING_CLAIM_ALONE, parameters, execution_options=_AS_IT_IS_NOW
    )
    if claimed is None:
        return None
    return RoutingClaim(claimed, await load_context(session, claimed.conversation_id))


async def take_turn(
    session: AsyncSession, conversation_id: int, message_id: int, version: int
) -> ConversationContext | None:
    """Claim the AI's turn that customer message `message_id` awaits under `version`
    (`Message.ai_turn_version`) and load its conversation's context (in the same statement
    on PostgreSQL, with the facts for deciding on the reply); None when another run took
    the turn."""
    parameters = {
        "taken_message": message_id,
        "its_conversation": conversation_id,
        "owed_version": version,
        "of_conversation": conversation_id,  # the reply's facts, under the owed version
        "under_version": version,
    }
    if dialect_of(session) == "postgresql":
        row = (await session.execute(_CLAIM_WITH_CONTEXT, parameters)).first()
        if row is None:
            return None
        conversation, organization, reply_facts = row
        ahead = FactsAhead(version, None, rows_from_json(reply_facts))
        return replace(_context(conversation, organization), facts_ahead=ahead)
    claimed = await session.execute(_CLAIM, parameters)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return await load_context(session, conversation_id)


async def context_with_history(
    session: AsyncSession, conversation_id: int
) -> tuple[ConversationContext, tuple[Turn, ...]]:
    """The conversation's context and its last HISTORY_LIMIT messages, oldest first (in
    one statement on PostgreSQL)."""
    parameters = {"conversation_id": conversation_id}
    if dialect_of(session) == "postgresql":
        row = (await session.execute(_CONTEXT_WITH_TURNS, parameters)).first()
        if row is None:
            raise NotFound("no such conversation")
        conversation, organization, turns = row
        newest_first = [Turn(author, text) for author, text in turns or ()]
    else:
        context = await load_context(session, conversation_id)
        conversation, organization = context.conversation, context.organization
        rows = await session.execute(_RECENT_TURNS, parameters)
        newest_first = [Turn(author, text) for _, author, text in rows]
    return _context(conversation, organization), tuple(reversed(newest_first))
