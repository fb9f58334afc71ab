"""Waiting for what the caller should hear next, on the conversation's live events rather
than by polling: subscribe first, then read the database (so a reply committed in between
is never missed), and read again on every event until something is ready or the budget
runs out.

Reading takes the lines to speak: each outbound message of the conversation after the
caller's utterance that is still waiting (`pending`, or `queued` once the delivery job
handed it to the voice channel) is claimed with one conditional update to `delivered`. For
an AI reply that update also requires the ownership version the reply was computed under:
the AI never talks over a person on the phone either. A reply that lost its version is
marked `dropped`. A message the delivery job is sending at that instant is waited for."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from sqlalchemy import exists, select, update

from gateway.events import Event, EventHub, conversation_channel
from gateway.models import Conversation, Message, utcnow
from gateway.runtime import Services

WAITING = ("pending", "queued")


@dataclass
class Heard:
    """What came of a wait: the lines claimed for speaking, and who owns the conversation."""

    lines: list[str] = field(default_factory=list)
    state: str = "ai"
    replied: bool = False  # a line came after the caller's utterance
    held: bool = False  # a line is with the delivery job this instant (its event wakes us)

    @property
    def ready(self) -> bool:
        # not while a line is held: a handoff's notice would otherwise go unheard
        return not self.held and (self.replied or self.state != "ai")


async def collect(services: Services, conversation_id: int, since_id: int) -> Heard:
    """Claim the lines waiting to be spoken after message `since_id`."""
    heard = Heard()
    spoken: list[int] = []
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        heard.state = conversation.state
        waiting = await session.scalars(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "outbound",
                Message.id > since_id,
                Message.delivery_status.in_((*WAITING, "sending")),
            )
            .order_by(Message.id)
        )
        for message in waiting.all():
            if message.delivery_status == "sending":
                heard.held = True
                break  # the delivery job holds it for an instant; its event wakes us
            claim = update(Message).where(
                Message.id == message.id, Message.delivery_status.in_(WAITING)
            )
            if message.author == "ai":
                claim = claim.where(
                    exists().where(
                        Conversation.id == conversation_id,
                        Conversation.ownership_version == message.ownership_version,
                    )
                )
            done = await session.execute(
                claim.values(delivery_status="delivered", updated_at=utcnow()).execution_options(
                    synchronize_session=False
                )
            )
            if done.rowcount == 1:  # type: ignore[attr-defined]
                heard.lines.append(message.text)
                heard.replied = True
                spoken.append(message.id)
            elif message.author == "ai":
                await session.execute(
                    update(Message)
                    .where(Message.id == message.id, Message.delivery_status.in_(WAITING))
                    .values(
                        delivery_status="dropped",
                        error_message="ownership changed before the AI reply was spoken",
                    )
                    .execution_options(synchronize_session=False)
                )
        organization_id = conversation.organization_id
    for message_id in spoken:
        await services.events.publish(
            Event(
                "delivery",
                organization_id,
                conversation_id,
                {"message_id": message_id, "status": "delivered", "error": None},
            )
        )
    return heard


async def listen(
    services: Services, hub: EventHub, conversation_id: int, since_id: int, budget: float
) -> Heard:
    """Wait up to `budget` seconds for a reply to the caller or a change of hands."""
    deadline = time.monotonic() + budget
    heard = Heard()
    async with hub.subscribe(conversation_channel(conversation_id)) as events:
        while True:
            found = await collect(services, conversation_id, since_id)
            heard.lines.extend(found.lines)
            heard.state, heard.held = found.state, found.held
            heard.replied = heard.replied or found.replied
            if heard.ready:
                return heard
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return heard
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(events.get(), remaining)
            while not events.empty():  # one read covers every event already queued
                events.get_nowait()
