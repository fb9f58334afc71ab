"""Intake of known senders' messages on PostgreSQL in one statement: the messages of a
batch whose sender and conversation already exist are stored, and their conversations
marked with the customer's time, by a single statement sent outside any transaction. A
statement commits on its own and whole or not at all, so it does what intake's
transaction does (the senders found, the messages inserted, the conversations updated)
in one round trip to the server instead of five (`BEGIN`, three statements, `COMMIT`), and
without the session's work around each.

Only the common case takes this way: a message whose sender or conversation is new, or
that is stored already (a provider's retry), is left to intake's transaction, which
creates what is missing and finds the stored one. A message stored here has exactly the
row intake's transaction would have written (`gateway.intake_rows.message_row`); a test
compares the two.

The conversations are locked in the order of their ids, as intake's transaction locks
them, so batches in two processes never wait on each other in a circle.

Inside a transaction (`store_known_in`: a message whose channel knows its conversation
and has work to do in the same transaction, a caller's utterance routed where it is
stored) the same statement stores one message in one round trip instead of three."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import Database
from gateway.intake_rows import MessageKey, message_key, message_row
from gateway.messages import InboundMessage

_STORE = """
WITH input AS (
    SELECT * FROM unnest(
        $1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::text[], $9::text[], $10::text[]
    ) WITH ORDINALITY AS i(
        organization_id, kind, address, channel, thread_key, provider_message_id,
        text, html, attachments, meta, position
    )
),
threads AS (
    SELECT i.position, identity.contact_id, conversation.id AS conversation_id,
           conversation.state
    FROM input i
    JOIN contact_identities identity
      ON identity.organization_id = i.organization_id
     AND identity.kind = i.kind
     AND identity.address = i.address
    JOIN conversations conversation
      ON conversation.organization_id = i.organization_id
     AND conversation.contact_id = identity.contact_id
     AND conversation.channel = i.channel
     AND conversation.thread_key = i.thread_key
),
stored AS (
    INSERT INTO messages (
        organization_id, conversation_id, direction, author, channel, text, html,
        attachments, meta, provider_message_id, delivery_status, delivery_attempts,
        created_at, updated_at
    )
    SELECT i.organization_id, t.conversation_id, 'inbound', 'customer', i.channel, i.text,
           i.html, i.attachments::json, i.meta::json, i.provider_message_id, 'received', 0,
           $11, $11
    FROM input i JOIN threads t ON t.position = i.position
    ORDER BY i.position
    ON CONFLICT (organization_id, channel, provider_message_id) DO NOTHING
    RETURNING id, organization_id, channel, provider_message_id, conversation_id
),
locked AS (
    SELECT id FROM conversations
    WHERE id IN (SELECT conversation_id FROM stored)
    ORDER BY id
    FOR NO KEY UPDATE
),
spoke AS (
    UPDATE conversations SET last_customer_at = $11, updated_at = $11
    FROM locked WHERE conversations.id = locked.id
)
SELECT t.position, t.contact_id, t.conversation_id, t.state, s.id
FROM input i
JOIN threads t ON t.position = i.position
LEFT JOIN stored s
  ON s.organization_id = i.organization_id
 AND s.channel = i.channel
 AND s.provider_message_id = i.provider_message_id
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """A message this statement stored: its id, and its thread."""

    message_id: int
    conversation_id: int
    contact_id: int
    state: str  # the conversation's ownership state


async def store_known(
    db: Database, inbounds: Sequence[InboundMessage], now: datetime
) -> list[Stored | None]:
    """Store the messages whose sender and conversation exist, in one statement; for each
    message in order, what was stored, or None for one left to intake's transaction (a
    new sender or thread, or a message stored already)."""
    async with db.driver_connection() as connection:
        found = await connection.fetch(_STORE, *_columns(inbounds, now), now)
    return _answers(inbounds, found)


async def store_known_in(
    session: AsyncSession, inbound: InboundMessage, now: datetime
) -> Stored | None:
    """`store_known` for one message in the session's transaction (PostgreSQL only)."""
    connection = await session.connection()
    found = await connection.exec_driver_sql(_STORE, (*_columns([inbound], now), now))
    [answer] = _answers([inbound], found.all())
    return answer


def _columns(inbounds: Sequence[InboundMessage], now: datetime) -> list[list[Any]]:
    """The statement's arrays: one element per message, in order."""
    rows = [message_row(inbound, 0, now) for inbound in inbounds]
    return [
        [inbound.organization_id for inbound in inbounds],
        [inbound.sender_kind for inbound in inbounds],
        [inbound.sender_address for inbound in inbounds],
        [inbound.channel for inbound in inbounds],
        [inbound.thread_key for inbound in inbounds],
        [row["provider_message_id"] for row in rows],
        [row["text"] for row in rows],
        [row["html"] for row in rows],
        [json.dumps(row["attachments"]) for row in rows],
        [json.dumps(row["meta"]) for row in rows],
    ]


def _answers(inbounds: Sequence[InboundMessage], found: Sequence[Any]) -> list[Stored | None]:
    """For each message in order, what the statement's rows say was stored."""
    threads: dict[int, tuple[int, int, str]] = {}
    new: dict[MessageKey, int] = {}
    for position, contact, conversation, state, message in found:
        threads[position - 1] = (int(conversation), int(contact), state)
        if message is not None:
            new[message_key(inbounds[position - 1])] = int(message)
    answers: list[Stored | None] = []
    for index, inbound in enumerate(inbounds):
        thread = threads.get(index)
        # Of two copies of one message in a batch, the first is the one stored.
        message_id = new.pop(message_key(inbound), None) if thread is not None else None
        answers.append(
            None if thread is None or message_id is None else Stored(message_id, *thread)
        )
    return answers
