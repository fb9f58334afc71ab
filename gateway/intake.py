"""The funnel every channel calls: `receive(InboundMessage)`. In one transaction (shared
with the messages arriving at the same moment) it finds or creates the contact and the
conversation, stores the message, and (after commit) enqueues the routing job and tells
the live pages. The provider's message id is the idempotency key: a repeat returns the
stored message and does nothing else, even when the same message arrives many times at
once. The rows and their statements are `gateway.intake_rows`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import intake_rows as rows
from gateway import metrics
from gateway.db import Database, after_commit, run_after_commit
from gateway.errors import BadInput
from gateway.events import Event, EventPublisher
from gateway.group_commit import GroupCommit
from gateway.intake_statement import store_known, store_known_in
from gateway.messages import InboundMessage
from gateway.models import utcnow
from gateway.queues import INTAKE, ROUTE_MESSAGE, ROUTE_MESSAGES, JobQueue, JobRef

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
    route: bool
    thread_known: bool


Batch = Sequence[tuple[InboundMessage, _Options]]


class Intake:
    def __init__(self, db: Database, jobs: JobQueue, events: EventPublisher) -> None:
        self.db = db
        self.jobs = jobs
        self.events = events
        self._group = GroupCommit[_Options, Received](
            db,
            self._store_together,
            self._store_known if db.dialect == "postgresql" else None,
        )

    async def receive(
        self,
        inbound: InboundMessage,
        *,
        within: WithinIntake | None = None,
        route: bool = True,
        thread_known: bool = False,
    ) -> Received:
        """Store one inbound message once, in a transaction of its own or shared with the
        messages arriving at the same moment (`gateway.group_commit`). Its routing job is
        queued after the commit, unless `route` is False: `within` then routes it in this
        transaction (a message that is not routed there has its routing job queued by
        `within`, or is found by the reconciler). `thread_known`: see `receive_in`. Not
        for a task already inside a transaction: see `receive_in`."""
        _validate(inbound)
        return await self._group.submit(inbound, _Options(within, route, thread_known))

    async def receive_in(
        self,
        session: AsyncSession,
        inbound: InboundMessage,
        *,
        within: WithinIntake | None = None,
        route: bool = True,
        thread_known: bool = False,
    ) -> Received:
        """`receive` in the caller's transaction (a channel storing several messages in
        one commit); the routing job and the live event still wait for that commit. When
        the channel knows the message's conversation exists (`thread_known`: a call's
        turn), on PostgreSQL the message is stored by one statement
        (`gateway.intake_statement`): one round trip instead of three."""
        _validate(inbound)
        now = utcnow()
        one_statement = thread_known and self.db.dialect == "postgresql"
        known = await store_known_in(session, inbound, now) if one_statement else None
        if known is not None:
            received = Received(
                known.message_id, known.conversation_id, known.contact_id, duplicate=False
            )
            state = known.state
        else:
            received, state = await _store_in(session, inbound, now)
        if not received.duplicate:
            event = _event(inbound, received, state)
            if route:
                after_commit(session, lambda: self._route(received))
            after_commit(session, lambda: self.events.publish(event))
            after_commit(session, lambda: metrics.count_message_received(inbound.channel))
        if within is not None:
            await within(session, received)
        return received

    async def _store_together(self, session: AsyncSession, batch: Batch) -> list[Received]:
        """Several messages in one transaction, each step one statement for all of them
        (a sender or a thread never seen before is created on its own)."""
        if len(batch) == 1:
            inbound, options = batch[0]
            # the group tried the one statement already for a message without `within`
            received = await self.receive_in(
                session,
                inbound,
                within=options.within,
                route=options.route,
                thread_known=options.thread_known and options.within is not None,
            )
            return [received]
        inbounds = [inbound for inbound, _ in batch]
        threads = await rows.threads_for(session, inbounds)
        now = utcnow()
        new = await rows.insert_messages(
            session,
            [
                rows.message_row(inbound, thread.conversation_id, now)
                for inbound, thread in zip(inbounds, threads, strict=True)
            ],
        )
        answers: list[Received] = []
        announced: list[tuple[InboundMessage, Received, str, bool]] = []
        for (inbound, options), thread in zip(batch, threads, strict=True):
            message_id = new.pop(rows.message_key(inbound), None)
            if message_id is None:  # a repeat (perhaps of a message earlier in this batch)
                received = await _stored(session, inbound)
            else:
                received = Received(
                    message_id, thread.conversation_id, thread.contact_id, duplicate=False
                )
                announced.append((inbound, received, thread.state, options.route))
            if options.within is not None:
                await options.within(session, received)
            answers.append(received)
        if announced:
            await rows.customer_spoke(session, {item[1].conversation_id for item in announced}, now)
            after_commit(session, lambda: self._announce(announced))
        return answers

    async def _store_known(self, batch: Batch) -> list[Received | None]:
        """On PostgreSQL: the messages from known senders on open threads stored by one
        statement (`gateway.intake_statement`), then their routing jobs and live events, as
        after a commit. None for each message left to a transaction: a new sender or
        thread, a repeat, or one with work to do in its own transaction (`within`)."""
        answers: list[Received | None] = [None] * len(batch)
        chosen = [index for index, (_, options) in enumerate(batch) if options.within is None]
        if not chosen:
            return answers
        stored = await store_known(self.db, [batch[index][0] for index in chosen], utcnow())
        announced: list[tuple[InboundMessage, Received, str, bool]] = []
        for index, item in zip(chosen, stored, strict=True):
            if item is None:
                continue
            inbound, options = batch[index]
            received = Received(
                item.message_id, item.conversation_id, item.contact_id, duplicate=False
            )
            answers[index] = received
            announced.append((inbound, received, item.state, options.route))
        if announced:
            await self._announce(announced)
        return answers

    def _route(self, received: Received) -> Awaitable[JobRef]:
        return self.jobs.enqueue_async(
            INTAKE, ROUTE_MESSAGE, received.message_id, conversation_id=received.conversation_id
        )

    def _route_together(self, routed: Sequence[Received]) -> Awaitable[JobRef] | None:
        """One routing job for the messages stored together (their own job for one)."""
        if len(routed) <= 1:
            return self._route(routed[0]) if routed else None
        return self.jobs.enqueue_async(
            INTAKE,
            ROUTE_MESSAGES,
            [[received.message_id, received.conversation_id] for received in routed],
        )

    async def _announce(
        self, announced: Sequence[tuple[InboundMessage, Received, str, bool]]
    ) -> None:
        """After a batch's commit: one routing job for its messages, the live events in one
        round trip, the counts."""
        routed = [received for _, received, _, route in announced if route]
        await run_after_commit(
            [
                lambda: self._route_together(routed),
                lambda: self.events.publish_many(
                    [_event(inbound, received, state) for inbound, received, state, _ in announced]
                ),
                lambda: _count(announced),
            ]
        )


def _count(announced: Sequence[tuple[InboundMessage, Received, str, bool]]) -> None:
    for inbound, *_ in announced:
        metrics.count_message_received(inbound.channel)


def _event(inbound: InboundMessage, received: Received, state: str) -> Event:
    """The live event of a new customer message."""
    return Event(
        "message",
        inbound.organization_id,
        received.conversation_id,
        {
            "message_id": received.message_id,
            "author": "customer",
            "channel": inbound.channel,
            "text": inbound.text,
            "state": state,
        },
    )


async def _store_in(
    session: AsyncSession, inbound: InboundMessage, now: datetime
) -> tuple[Received, str]:
    """Store one message in the transaction's way, creating its sender and thread when
    they are new; with its conversation's state."""
    [thread] = await rows.threads_for(session, [inbound])
    message_id = await rows.insert_message(
        session, rows.message_row(inbound, thread.conversation_id, now)
    )
    if message_id is None:  # a repeat, or the same message committed concurrently
        return await _stored(session, inbound), thread.state
    await rows.customer_spoke(session, [thread.conversation_id], now)
    received = Received(message_id, thread.conversation_id, thread.contact_id, duplicate=False)
    return received, thread.state


async def _stored(session: AsyncSession, inbound: InboundMessage) -> Received:
    found = await rows.stored(session, inbound)
    assert found is not None
    return Received(found.message_id, found.conversation_id, found.contact_id, duplicate=True)


def _validate(inbound: InboundMessage) -> None:
    if not inbound.provider_message_id:
        raise BadInput("an inbound message needs the provider's message id")
    if not inbound.sender_address:
        raise BadInput("an inbound message needs the sender's address")
    if len(inbound.text) > MAX_TEXT_CHARS:
        raise BadInput(f"a message may hold at most {MAX_TEXT_CHARS} characters")
