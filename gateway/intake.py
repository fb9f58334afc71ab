"""The funnel every channel calls: `receive(InboundMessage)`. In one transaction (shared
with the messages arriving at the same moment) it finds or creates the contact and the
conversation, stores the message, and (after commit) enqueues the routing job and tells
the live pages. The provider's message id is the
idempotency key: a repeat returns the stored message and does nothing else, even when the
same message arrives many times at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import metrics
from gateway.db import Database, after_commit, insert_ignoring_conflict
from gateway.errors import BadInput
from gateway.events import Event, EventPublisher
from gateway.group_commit import GroupCommit
from gateway.messages import InboundMessage
from gateway.models import Contact, ContactIdentity, Conversation, Message, utcnow
from gateway.ownership import State
from gateway.queues import INTAKE, ROUTE_MESSAGE, JobQueue

MAX_TEXT_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class Received:
    message_id: int
    conversation_id: int
    contact_id: int
    duplicate: bool


# Work a channel does in the same transaction as the message (an IMAP cursor, an index of
# its ids): it commits with the message or not at all, for a new message and a repeat alike.
WithinIntake = Callable[[AsyncSession, "Received"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Options:
    within: WithinIntake | None
    route_after: timedelta | None


class Intake:
    def __init__(self, db: Database, jobs: JobQueue, events: EventPublisher) -> None:
        self.db = db
        self.jobs = jobs
        self.events = events
        self._group = GroupCommit[_Options, Received](db, self._store)

    async def receive(
        self,
        inbound: InboundMessage,
        *,
        within: WithinIntake | None = None,
        route_after: timedelta | None = None,
    ) -> Received:
        """Store one inbound message once, in a transaction of its own or shared with the
        messages arriving at the same moment (`gateway.group_commit`). Its routing job is
        queued after the commit, or held back `route_after` when the caller routes it at
        once itself (the job is then only the safety net: routing is claimed once per
        message). Not for a task already inside a transaction: see `receive_in`."""
        _validate(inbound)
        return await self._group.submit(inbound, _Options(within, route_after))

    async def _store(
        self, session: AsyncSession, inbound: InboundMessage, options: _Options
    ) -> Received:
        return await self.receive_in(
            session, inbound, within=options.within, route_after=options.route_after
        )

    async def receive_in(
        self,
        session: AsyncSession,
        inbound: InboundMessage,
        *,
        within: WithinIntake | None = None,
        route_after: timedelta | None = None,
    ) -> Received:
        """`receive` in the caller's transaction (a channel storing several messages in
        one commit); the routing job and the live event still wait for that commit."""
        _validate(inbound)
        contact_id = await _contact_for(session, inbound)
        conversation_id, state = await _conversation_for(session, inbound, contact_id)
        now = utcnow()
        message_id = await insert_ignoring_conflict(
            session,
            Message,
            {
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
            },
            ("organization_id", "channel", "provider_message_id"),
        )
        if message_id is None:  # a repeat, or the same message committed concurrently
            stored = await _stored(session, inbound)
            assert stored is not None
            if within is not None:
                await within(session, stored)
            return stored
        await session.execute(_CUSTOMER_SPOKE, {"conversation": conversation_id, "now": now})
        event = Event(
            "message",
            inbound.organization_id,
            conversation_id,
            {
                "message_id": message_id,
                "author": "customer",
                "channel": inbound.channel,
                "text": inbound.text,
                "state": state,
            },
        )
        route_at = None if route_after is None else now + route_after
        after_commit(
            session,
            lambda: self.jobs.enqueue_async(
                INTAKE, ROUTE_MESSAGE, message_id, conversation_id=conversation_id, at=route_at
            ),
        )
        after_commit(session, lambda: self.events.publish(event))
        after_commit(session, lambda: metrics.count_message_received(inbound.channel))
        received = Received(message_id, conversation_id, contact_id, duplicate=False)
        if within is not None:
            await within(session, received)
        return received


def _validate(inbound: InboundMessage) -> None:
    if not inbound.provider_message_id:
        raise BadInput("an inbound message needs the provider's message id")
    if not inbound.sender_address:
        raise BadInput("an inbound message needs the sender's address")
    if len(inbound.text) > MAX_TEXT_CHARS:
        raise BadInput(f"a message may hold at most {MAX_TEXT_CHARS} characters")


# The statements of every intake, built once (their values come as parameters).
_messages = cast(Table, Message.__table__)
_identities = cast(Table, ContactIdentity.__table__)
_conversations = cast(Table, Conversation.__table__)
_contacts = cast(Table, Contact.__table__)
_STORED = (
    select(_messages.c.id, _messages.c.conversation_id, _conversations.c.contact_id)
    .join(_conversations, _conversations.c.id == _messages.c.conversation_id)
    .where(
        _messages.c.organization_id == bindparam("organization_id"),
        _messages.c.channel == bindparam("channel"),
        _messages.c.provider_message_id == bindparam("provider_message_id"),
    )
)
_IDENTITY = select(_identities.c.contact_id).where(
    _identities.c.organization_id == bindparam("organization_id"),
    _identities.c.kind == bindparam("kind"),
    _identities.c.address == bindparam("address"),
)
_NEW_CONTACT = insert(_contacts).returning(_contacts.c.id)
_CONVERSATION = select(_conversations.c.id, _conversations.c.state).where(
    _conversations.c.organization_id == bindparam("organization_id"),
    _conversations.c.contact_id == bindparam("contact_id"),
    _conversations.c.channel == bindparam("channel"),
    _conversations.c.thread_key == bindparam("thread_key"),
)
_CUSTOMER_SPOKE = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conversation"))
    .values(last_customer_at=bindparam("now"))
)


async def _stored(session: AsyncSession, inbound: InboundMessage) -> Received | None:
    row = (
        await session.execute(
            _STORED,
            {
                "organization_id": inbound.organization_id,
                "channel": inbound.channel,
                "provider_message_id": inbound.provider_message_id,
            },
        )
    ).first()
    return None if row is None else Received(row[0], row[1], row[2], duplicate=True)


async def _contact_for(session: AsyncSession, inbound: InboundMessage) -> int:
    key = {
        "organization_id": inbound.organization_id,
        "kind": inbound.sender_kind,
        "address": inbound.sender_address,
    }
    found = (await session.execute(_IDENTITY, key)).scalar_one_or_none()
    if found is not None:
        return int(found)
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


async def _conversation_for(
    session: AsyncSession, inbound: InboundMessage, contact_id: int
) -> tuple[int, str]:
    """The conversation's id and state."""
    key = {
        "organization_id": inbound.organization_id,
        "contact_id": contact_id,
        "channel": inbound.channel,
        "thread_key": inbound.thread_key,
    }
    found = (await session.execute(_CONVERSATION, key)).first()
    if found is not None:
        return found[0], found[1]
    now = utcnow()
    await insert_ignoring_conflict(
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
    row = (await session.execute(_CONVERSATION, key)).one()
    return row[0], row[1]
