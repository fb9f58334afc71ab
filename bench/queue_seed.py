"""Bulk rows for the queue benchmarks: an organization whose conversations look like a busy
support desk (every channel and state, a customer with an identity each, three messages
each, a handoff transition for the waiting ones), written with Core `executemany` inserts
in chunks, with explicit ids, rather than one ORM object at a time."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.conversation_counts import fold
from gateway.db import Database
from gateway.models import (
    Base,
    Contact,
    ContactIdentity,
    Conversation,
    Message,
    Team,
    Transition,
    utcnow,
)

CHUNK = 2_000
ATTENTION_SHARE = 0.01  # conversations flagged for a person (a failed send, say)
CHANNELS = (("webchat", "web"), ("sms", "phone"), ("whatsapp", "whatsapp"), ("email", "email"))
# state, share of conversations
STATES = (("queued", 0.05), ("ai", 0.20), ("assigned", 0.05), ("manual", 0.02), ("resolved", 0.68))
FIRST_NAMES = ("Ada", "Grace", "Alan", "Katherine", "Marie", "Linus", "Barbara", "Edsger")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Johnson", "Curie", "Torvalds", "Liskov")
TEXTS = (
    "Where is my order {n}? It was due yesterday.",
    "Can I change the delivery address for order {n}?",
    "The jacket I got is the wrong size, how do I return it?",
    "Do you ship to Switzerland, and how long does it take?",
    "I was charged twice for order {n}, please refund one.",
)


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


async def _next_id(session: AsyncSession, table: Table) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


async def _insert(session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    table = model.__table__
    for chunk in _chunks(rows):
        await session.execute(insert(table), list(chunk))  # type: ignore[arg-type]


async def _fix_sequences(session: AsyncSession, tables: Sequence[str]) -> None:
    """PostgreSQL: explicit ids do not advance the sequences; move them past the rows."""
    for name in tables:
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
            )
        )


async def seed_conversations(
    db: Database, organization_id: int, count: int, agent_ids: Sequence[int], seed: int = 7
) -> list[int]:
    """Add `count` conversations to the organization; returns the new waiting ones' ids."""
    rng = random.Random(seed + count)
    now = utcnow()
    async with db.transaction() as session:
        contact_id = await _next_id(session, Contact.__table__)  # type: ignore[arg-type]
        identity_id = await _next_id(session, ContactIdentity.__table__)  # type: ignore[arg-type]
        conversation_id = await _next_id(session, Conversation.__table__)  # type: ignore[arg-type]
        message_id = await _next_id(session, Message.__table__)  # type: ignore[arg-type]
        team_ids = list(
            await session.scalars(select(Team.id).where(Team.organization_id == organization_id))
        )
    rows: tuple[list[dict[str, Any]], ...] = ([], [], [], [], [])
    contacts, identities, conversations, messages, transitions = rows
    waiting = []
    states = [state for state, _ in STATES]
    weights = [share for _, share in STATES]
    for n in range(count):
        channel, kind = CHANNELS[n % len(CHANNELS)]
        state = rng.choices(states, weights)[0]
        cid, vid = contact_id + n, conversation_id + n
        address = (
            f"+1555{cid:07d}"
            if kind in ("phone", "whatsapp")
            else f"customer{cid}@example.test"
            if kind == "email"
            else f"visitor-{cid}"
        )
        updated = now - timedelta(minutes=rng.randrange(60 * 24 * 30))
        contacts.append(
            {
                "id": cid,
                "organization_id": organization_id,
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {cid}",
                "created_at": updated,
            }
        )
        identities.append(
            {
                "id": identity_id + n,
                "organization_id": organization_id,
                "contact_id": cid,
                "kind": kind,
                "address": address,
                "opted_out_at": None,
                "created_at": updated,
            }
        )
        human = state in ("assigned", "manual")
        conversations.append(
            {
                "id": vid,
                "organization_id": organization_id,
                "contact_id": cid,
                "channel": channel,
                "thread_key": "",
                "address_kind": kind,
                "address": address,
                "state": state,
                "ownership_version": 2,
                "assigned_agent_id": rng.choice(agent_ids) if human else None,
                "team_id": rng.choice(team_ids) if team_ids and rng.random() < 0.5 else None,
                "label": rng.choice(("refund", "shipping", "returns", None)),
                "handoff_reason": "the customer asked for a person" if state == "queued" else None,
                "rule_hits": [],
                "summary": "Asks about an order.\nDetails follow." if state == "queued" else None,
                "waiting_since": updated if state == "queued" else None,
                "ai_paused_until": now + timedelta(minutes=rng.randrange(1, 15))
                if state == "manual"
                else None,
                "needs_attention": rng.random() < ATTENTION_SHARE,
                "created_at": updated - timedelta(minutes=5),
                "updated_at": updated,
            }
        )
        if state == "queued":
            waiting.append(vid)
            transitions.append(
                {
                    "organization_id": organization_id,
                    "conversation_id": vid,
                    "from_state": "ai",
                    "to_state": "queued",
                    "actor": "ai",
                    "reason": "the customer asked for a person",
                    "rule_hits": [{"rule": "explicit_person_request", "fired": True}],
                    "ownership_version": 2,
                    "created_at": updated,
                }
            )
        for turn, author in enumerate(("customer", "ai", "customer")):
            at = updated - timedelta(minutes=3 - turn)
            messages.append(
                {
                    "id": message_id + 3 * n + turn,
                    "organization_id": organization_id,
                    "conversation_id": vid,
                    "direction": "inbound" if author == "customer" else "outbound",
                    "author": author,
                    "channel": channel,
                    "text": rng.choice(TEXTS).format(n=cid * 10 + turn),
                    "attachments": [],
                    "meta": {},
                    "provider_message_id": f"bench-{vid}-{turn}",
                    "delivery_status": "received" if author == "customer" else "delivered",
                    "routed_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
    async with db.transaction() as session:
        await _insert(session, Contact, contacts)
        await _insert(session, ContactIdentity, identities)
        await _insert(session, Conversation, conversations)
        await _insert(session, Message, messages)
        await _insert(session, Transition, transitions)
        if db.dialect == "postgresql":
            await _fix_sequences(
                session, ["contacts", "contact_identities", "conversations", "messages"]
            )
    # What a live server would have done by now: the reconciler's fold of the badge
    # counts' rows, then autovacuum's statistics and visibility map.
    await fold(db, after=1)
    async with db.engine.connect() as connection:
        if db.dialect == "postgresql":
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")
        else:
            await connection.exec_driver_sql("ANALYZE")
    return waiting
