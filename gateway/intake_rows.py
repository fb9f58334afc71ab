"""The rows intake reads and writes, through statements built once (their values come as
parameters, so a message does not pay for building and keying new statements): the
sender's contact, the conversation, the message, and the conversation's last customer
time. Each step also has a form for a batch of messages, one statement for all of them
(`gateway.intake` stores the messages arriving at the same moment together)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import conflict_insert, dialect_of, insert_ignoring_conflict
from gateway.messages import InboundMessage
from gateway.models import Contact, ContactIdentity, Conversation, Message, utcnow
from gateway.ownership import State

SenderKey = tuple[int, str, str]  # organization, kind, address
ThreadKey = tuple[int, int, str, str]  # organization, contact, channel, thread
MessageKey = tuple[int, str, str]  # organization, channel, the provider's message id


@dataclass(frozen=True, slots=True)
class Stored:
    """A message's row: its id, its conversation's and its contact's."""

    message_id: int
    conversation_id: int
    contact_id: int


MESSAGES = cast(Table, Message.__table__)
IDENTITIES = cast(Table, ContactIdentity.__table__)
CONVERSATIONS = cast(Table, Conversation.__table__)
CONTACTS = cast(Table, Contact.__table__)

_STORED = (
    select(MESSAGES.c.id, MESSAGES.c.conversation_id, CONVERSATIONS.c.contact_id)
    .join(CONVERSATIONS, CONVERSATIONS.c.id == MESSAGES.c.conversation_id)
    .where(
        MESSAGES.c.organization_id == bindparam("organization_id"),
        MESSAGES.c.channel == bindparam("channel"),
        MESSAGES.c.provider_message_id == bindparam("provider_message_id"),
    )
)
_IDENTITY = select(IDENTITIES.c.contact_id).where(
    IDENTITIES.c.organization_id == bindparam("organization_id"),
    IDENTITIES.c.kind == bindparam("kind"),
    IDENTITIES.c.address == bindparam("address"),
)
# The senders' contacts and the conversations open on their threads, in one statement: one
# IN per column rather than one of (organization, kind, address) tuples, so SQLite searches
# the identities' unique index on all three columns (for a tuple IN it searched on the
# organization alone and read every identity of it), and then the conversations' unique
# index. Pairings the batch never asked for are dropped by `_known`.
_KNOWN_THREADS = (
    select(
        IDENTITIES.c.organization_id,
        IDENTITIES.c.kind,
        IDENTITIES.c.address,
        IDENTITIES.c.contact_id,
        CONVERSATIONS.c.channel,
        CONVERSATIONS.c.thread_key,
        CONVERSATIONS.c.id,
        CONVERSATIONS.c.state,
    )
    .select_from(
        IDENTITIES.outerjoin(
            CONVERSATIONS,
            and_(
                CONVERSATIONS.c.organization_id == IDENTITIES.c.organization_id,
                CONVERSATIONS.c.contact_id == IDENTITIES.c.contact_id,
                CONVERSATIONS.c.channel.in_(bindparam("channels", expanding=True)),
                CONVERSATIONS.c.thread_key.in_(bindparam("threads", expanding=True)),
            ),
        )
    )
    .where(
        IDENTITIES.c.organization_id.in_(bindparam("organizations", expanding=True)),
        IDENTITIES.c.kind.in_(bindparam("kinds", expanding=True)),
        IDENTITIES.c.address.in_(bindparam("addresses", expanding=True)),
    )
)
_NEW_CONTACT = insert(CONTACTS).returning(CONTACTS.c.id)
_CONVERSATION = select(CONVERSATIONS.c.id, CONVERSATIONS.c.state).where(
    CONVERSATIONS.c.organization_id == bindparam("organization_id"),
    CONVERSATIONS.c.contact_id == bindparam("contact_id"),
    CONVERSATIONS.c.channel == bindparam("channel"),
    CONVERSATIONS.c.thread_key == bindparam("thread_key"),
)
_CUSTOMER_SPOKE = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id.in_(bindparam("conversations", expanding=True)))
    .values(last_customer_at=bindparam("now"))
)
_MESSAGE_KEY = ("organization_id", "channel", "provider_message_id")


def sender_key(inbound: InboundMessage) -> SenderKey:
    return (inbound.organization_id, inbound.sender_kind, inbound.sender_address)


def thread_key(inbound: InboundMessage, contact_id: int) -> ThreadKey:
    return (inbound.organization_id, contact_id, inbound.channel, inbound.thread_key)


def message_key(inbound: InboundMessage) -> MessageKey:
    return (inbound.organization_id, inbound.channel, inbound.provider_message_id)


async def stored(session: AsyncSession, inbound: InboundMessage) -> Stored | None:
    """The message already stored under the provider's id."""
    row = (
        await session.execute(_STORED, dict(zip(_MESSAGE_KEY, message_key(inbound), strict=True)))
    ).first()
    return None if row is None else Stored(row[0], row[1], row[2])


@dataclass(frozen=True, slots=True)
class Thread:
    """Where a message goes: its sender's contact, and the conversation on its thread."""

    contact_id: int
    conversation_id: int
    state: str  # the conversation's ownership state


async def threads_for(session: AsyncSession, inbounds: Sequence[InboundMessage]) -> list[Thread]:
    """Each message's contact and conversation, in order: the ones already known found by
    one statement for all, a sender or a thread never seen before created on its own."""
    contacts, conversations = await _known(session, inbounds)
    threads = []
    for inbound in inbounds:
        sender = sender_key(inbound)
        if sender not in contacts:
            contacts[sender] = await _new_contact(session, inbound)
        thread = thread_key(inbound, contacts[sender])
        if thread not in conversations:
            conversations[thread] = await _new_conversation(session, inbound, thread[1])
        threads.append(Thread(contacts[sender], *conversations[thread]))
    return threads


async def _known(
    session: AsyncSession, inbounds: Sequence[InboundMessage]
) -> tuple[dict[SenderKey, int], dict[ThreadKey, tuple[int, str]]]:
    """The senders' contacts already known, and the id and state of the conversations
    already open on their threads, in one statement."""
    senders = {sender_key(inbound) for inbound in inbounds}
    rows = await session.execute(
        _KNOWN_THREADS,
        {
            "organizations": sorted({key[0] for key in senders}),
            "kinds": sorted({key[1] for key in senders}),
            "addresses": sorted({key[2] for key in senders}),
            "channels": sorted({inbound.channel for inbound in inbounds}),
            "threads": sorted({inbound.thread_key for inbound in inbounds}),
        },
    )
    contacts: dict[SenderKey, int] = {}
    conversations: dict[ThreadKey, tuple[int, str]] = {}
    for organization, kind, address, contact, channel, thread, conversation, state in rows:
        if (organization, kind, address) not in senders:
            continue
        contacts[(organization, kind, address)] = int(contact)
        if conversation is not None:
            conversations[(organization, int(contact), channel, thread)] = (
                int(conversation),
                state,
            )
    return contacts, conversations


async def _new_contact(session: AsyncSession, inbound: InboundMessage) -> int:
    """A contact with its identity for a sender not known yet; if another transaction
    created one meanwhile, that one."""
    key = dict(zip(("organization_id", "kind", "address"), sender_key(inbound), strict=True))
    contact_id = (
        await session.execute(
            _NEW_CONTACT,
            {
                "organization_id": inbound.organization_id,
                "name": inbound.sender_name,
                "created_at": utcnow(),
            },
        )
    ).scalar_one()
    created = await insert_ignoring_conflict(
        session,
        ContactIdentity,
        {**key, "contact_id": contact_id, "created_at": utcnow()},
        tuple(key),
    )
    if created is None:  # another message from this sender won the race
        await session.execute(delete(Contact).where(Contact.id == contact_id))
        return int((await session.execute(_IDENTITY, key)).scalar_one())
    return int(contact_id)


async def _new_conversation(
    session: AsyncSession, inbound: InboundMessage, contact_id: int
) -> tuple[int, str]:
    """The id and state of a conversation opened on the message's thread; if another
    transaction opened one meanwhile, that one's."""
    key = dict(
        zip(
            ("organization_id", "contact_id", "channel", "thread_key"),
            thread_key(inbound, contact_id),
            strict=True,
        )
    )
    now = utcnow()
    created = await insert_ignoring_conflict(
        session,
        Conversation,
        {
            **key,
            "address_kind": inbound.sender_kind,
            "address": inbound.sender_address,
            "state": State.AI.value,
            "ownership_version": 1,
            "created_at": now,
            "updated_at": now,
        },
        tuple(key),
    )
    if created is not None:
        return created, State.AI.value
    row = (await session.execute(_CONVERSATION, key)).one()
    return row[0], row[1]


def message_row(inbound: InboundMessage, conversation_id: int, now: datetime) -> dict[str, Any]:
    return {
        "organization_id": inbound.organization_id,
        "conversation_id": conversation_id,
        "direction": "inbound",
        "author": "customer",
        "channel": inbound.channel,
        "text": inbound.text,
        "html": inbound.html,
        "attachments": [asdict(item) for item in inbound.attachments],
        "meta": {**inbound.meta, **({"no_reply": True} if inbound.no_reply else {})},
        "provider_message_id": inbound.provider_message_id,
        "delivery_status": "received",
        "created_at": now,
        "updated_at": now,
    }


async def insert_message(session: AsyncSession, row: Mapping[str, Any]) -> int | None:
    """The new message's id, or None when one with the provider's id is stored already."""
    return await insert_ignoring_conflict(session, Message, row, _MESSAGE_KEY)


async def insert_messages(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]]
) -> dict[MessageKey, int]:
    """Insert the messages in order, in one statement; the ids of those that were new, by
    their provider's id (one already stored, or twice in `rows`, is inserted once)."""
    statement = conflict_insert(dialect_of(session), MESSAGES, _MESSAGE_KEY, ("id", *_MESSAGE_KEY))
    result = await session.execute(statement, [dict(row) for row in rows])
    return {(row[1], row[2], row[3]): int(row[0]) for row in result}


async def customer_spoke(
    session: AsyncSession, conversation_ids: Iterable[int], now: datetime
) -> None:
    """Mark when the customer last wrote, on each of these conversations (in id order, so
    concurrent batches lock them in the same order)."""
    await session.execute(
        _CUSTOMER_SPOKE, {"conversations": sorted(set(conversation_ids)), "now": now}
    )
