"""A deadline firing at the moment an agent acts on the same conversation: one of the two
wins, and the other is told the conversation changed hands (never a server error, which
two transactions locking the conversation and its deadlines in opposite orders caused on
PostgreSQL). The agent's action is made to start while the deadline is being applied."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from desk import conversation_actions
from email_channel import staff
from email_channel.ingest import MailIntake
from email_channel.sent_folder import SentFolderIntake
from gateway.errors import Conflict
from gateway.events import org_channel
from gateway.models import Conversation, Deadline, Message, Organization, utcnow
from gateway.runtime import Services
from handoff import actions, deadline_actions
from handoff.deadline_actions import fire
from tests.email.helpers import mail, support_mailbox
from tests.support.factories import chat_message, intake_for, make_agent
from tests.support.queued import queued_conversation


async def _due_now(services: Services, conversation_id: int, kind: str) -> Deadline:
    """The conversation's pending deadline of `kind`, made due a second ago."""
    async with services.db.transaction() as session:
        deadline = await session.scalar(
            select(Deadline).where(
                Deadline.conversation_id == conversation_id,
                Deadline.kind == kind,
                Deadline.cancelled_at.is_(None),
            )
        )
        assert deadline is not None
        await session.execute(
            update(Deadline)
            .where(Deadline.id == deadline.id)
            .values(due_at=utcnow() - timedelta(seconds=1))
        )
    return deadline


def _when_it_has_read(
    monkeypatch: pytest.MonkeyPatch, services: Services, module: Any, reader: str = "load_context"
) -> asyncio.Event:
    """Set once an agent's action has read the conversation (with `module`'s `reader`), on
    PostgreSQL; on SQLite, where writers take turns, once it has asked for its turn, which
    it then waits for."""
    read = asyncio.Event()
    find, transaction = getattr(module, reader), services.db.transaction

    async def reading(*args: Any, **kwargs: Any) -> Any:
        found = await find(*args, **kwargs)
        read.set()
        return found

    def asking_for_a_turn() -> Any:
        read.set()
        return transaction()

    if services.db.dialect == "postgresql":
        monkeypatch.setattr(module, reader, reading)
    else:
        monkeypatch.setattr(services.db, "transaction", asking_for_a_turn)
    return read


async def test_a_claim_made_as_the_expiry_fires_is_refused_and_the_expiry_stands(
    services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await queued_conversation(services, org)
    expiry = await _due_now(services, conversation_id, "expire")
    expire = deadline_actions.ACTIONS["expire"]
    claims: list[asyncio.Task[Conversation]] = []
    read = _when_it_has_read(monkeypatch, services, actions)

    async def expire_while_an_agent_claims(
        session: AsyncSession, services: Services, conversation: Conversation
    ) -> None:
        claims.append(asyncio.create_task(actions.claim(services, agent, conversation_id)))
        await read.wait()
        await expire(session, services, conversation)

    monkeypatch.setitem(deadline_actions.ACTIONS, "expire", expire_while_an_agent_claims)

    fired = await asyncio.gather(fire(services, expiry.id), return_exceptions=True)
    [claimed] = await asyncio.gather(*claims, return_exceptions=True)

    assert fired == ["fired"]
    assert isinstance(claimed, Conflict), repr(claimed)
    async with services.db.transaction() as session:
        after = await session.get(Conversation, conversation_id)
        assert after is not None
        assert (after.state, after.assigned_agent_id) == ("ai", None)


async def test_a_reply_made_as_the_unassign_timer_fires_is_refused_not_sent_from_the_queue(
    services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timer takes the conversation back to the queue as the agent replies: either the
    reply claims it again and goes out, or it is refused (reload and claim it again); it is
    never sent to the customer from a conversation left waiting in the queue for someone
    else, with the ladder running."""
    agent = await make_agent(services.db, org)
    conversation_id = await queued_conversation(services, org)
    await actions.claim(services, agent, conversation_id)
    timer = await _due_now(services, conversation_id, "unassign")
    unassign = deadline_actions.ACTIONS["unassign"]
    replies: list[asyncio.Task[Message]] = []
    read = _when_it_has_read(monkeypatch, services, actions)

    async def unassign_while_the_agent_replies(
        session: AsyncSession, services: Services, conversation: Conversation
    ) -> None:
        replies.append(
            asyncio.create_task(actions.reply(services, agent, conversation_id, "Still here!"))
        )
        await read.wait()
        await unassign(session, services, conversation)

    monkeypatch.setitem(deadline_actions.ACTIONS, "unassign", unassign_while_the_agent_replies)

    fired = await asyncio.gather(fire(services, timer.id), return_exceptions=True)
    [replied] = await asyncio.gather(*replies, return_exceptions=True)

    assert fired == ["fired"]
    async with services.db.transaction() as session:
        after = await session.get(Conversation, conversation_id)
        assert after is not None
        sent = await session.scalars(
            select(Message.text).where(
                Message.conversation_id == conversation_id, Message.author == "agent"
            )
        )
        outcome = (after.state, after.assigned_agent_id, list(sent))
    if isinstance(replied, Message):
        assert outcome == ("assigned", agent.id, ["Still here!"])
    else:
        assert isinstance(replied, Conflict), repr(replied)
        assert outcome == ("queued", None, [])


@pytest.mark.parametrize("change", ["note", "label"])
async def test_a_note_or_label_as_the_review_window_ends_leaves_the_ai_unpaused(
    services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """The review window runs out (its `resume-ai` deadline hands the conversation back to
    the AI) as an agent writes a note or sets a label. The conversation is with the AI, and
    nothing says otherwise: no pause until a time to come, no `resume-ai` deadline pending,
    and the label's live update shows it with the AI, not under manual control. On
    PostgreSQL the agent's change read the conversation before the hand-back committed; on
    SQLite, where writers take turns, it waits for its turn meanwhile."""
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, "Where is my parcel?"))
    conversation_id = received.conversation_id
    await actions.take_manual_control(services, agent, conversation_id)
    window_end = await _due_now(services, conversation_id, "resume-ai")
    resume = deadline_actions.ACTIONS["resume-ai"]
    read = _when_it_has_read(monkeypatch, services, conversation_actions)
    changes: list[asyncio.Task[object]] = []

    async def resume_as_the_agent_acts(
        session: AsyncSession, services: Services, conversation: Conversation
    ) -> None:
        act = (
            conversation_actions.add_note(services, agent, conversation_id, "Refund approved")
            if change == "note"
            else conversation_actions.set_label(services, agent, conversation_id, "refund")
        )
        changes.append(asyncio.create_task(act))
        await read.wait()
        await resume(session, services, conversation)

    monkeypatch.setitem(deadline_actions.ACTIONS, "resume-ai", resume_as_the_agent_acts)
    async with services.events.redis.pubsub() as pubsub:
        await pubsub.subscribe(org_channel(org.id))
        await pubsub.get_message(timeout=1)
        assert await fire(services, window_end.id) == "fired"
        await asyncio.gather(*changes)
        published = []
        while event := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5):
            published.append(json.loads(event["data"]))

    async with services.db.transaction() as session:
        after = await session.get(Conversation, conversation_id)
        assert after is not None
        pending = await session.scalars(
            select(Deadline.kind).where(
                Deadline.conversation_id == conversation_id,
                Deadline.fired_at.is_(None),
                Deadline.cancelled_at.is_(None),
            )
        )
        assert (after.state, after.ai_paused_until, list(pending)) == ("ai", None, [])
    updates = [event["data"] for event in published if event["type"] == "updated"]
    assert [(u["state"], u["ai_paused_until"]) for u in updates] == (
        [("ai", None)] if change == "label" else []
    )


@pytest.mark.parametrize("folder", ["inbox", "sent"])
async def test_a_reply_from_the_agents_mail_client_as_the_review_window_ends_takes_over(
    services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """The review window runs out (its `resume-ai` deadline hands the conversation back to
    the AI) as a reply the agent sent from their own mail client arrives, authenticated in
    the inbox or found in the mailbox's Sent folder. The reply is a person taking over, so
    it wins as it does when it comes a moment later: the conversation is under manual
    control with a fresh window and that window's one `resume-ai` deadline. On PostgreSQL
    the reply read the conversation in manual before the hand-back committed, and left it
    with the AI, paused until a time to come, with a `resume-ai` deadline that could never
    fire; on SQLite, where writers take turns, it waits for its turn meanwhile."""
    agent = await make_agent(services.db, org)
    mailbox = await support_mailbox(services.db, org, trusted_authserv_id="mx.shop.example")
    received = await MailIntake(services).ingest(
        mailbox, mail(message_id="<root@customer.example>")
    )
    conversation_id = received.conversation_id
    assert conversation_id is not None
    await actions.take_manual_control(services, agent, conversation_id)
    window_end = await _due_now(services, conversation_id, "resume-ai")
    reply = mail(
        agent.email,
        to="carol@customer.example",
        subject="Re: Where is my order?",
        in_reply_to="<root@customer.example>",
        body="A new parcel went out today.",
        headers={
            "Authentication-Results": "mx.shop.example; dkim=pass header.d="
            + agent.email.partition("@")[2]
        },
    )
    resume = deadline_actions.ACTIONS["resume-ai"]
    read = _when_it_has_read(monkeypatch, services, staff, "_conversation")
    replies: list[asyncio.Task[int | None]] = []

    async def arrives() -> int | None:
        if folder == "inbox":
            return (await MailIntake(services).ingest(mailbox, reply)).message_id
        stored = await SentFolderIntake(services, mailbox).ingest(reply, _no_step)
        return None if stored is None else stored.message_id

    async def resume_as_the_reply_arrives(
        session: AsyncSession, services: Services, conversation: Conversation
    ) -> None:
        replies.append(asyncio.create_task(arrives()))
        await read.wait()
        await resume(session, services, conversation)

    monkeypatch.setitem(deadline_actions.ACTIONS, "resume-ai", resume_as_the_reply_arrives)
    assert await fire(services, window_end.id) == "fired"
    [message_id] = await asyncio.gather(*replies)

    assert message_id is not None
    async with services.db.transaction() as session:
        after = await session.get(Conversation, conversation_id)
        assert after is not None and after.ai_paused_until is not None
        pending = (
            await session.execute(
                select(Deadline.kind, Deadline.ownership_version, Deadline.due_at).where(
                    Deadline.conversation_id == conversation_id,
                    Deadline.fired_at.is_(None),
                    Deadline.cancelled_at.is_(None),
                )
            )
        ).all()
        stored = await session.get(Message, message_id)
        assert stored is not None
    assert (after.state, after.assigned_agent_id) == ("manual", agent.id)
    assert after.ai_paused_until > utcnow()
    assert [tuple(row) for row in pending] == [
        ("resume-ai", after.ownership_version, after.ai_paused_until)
    ]
    assert (stored.author, stored.agent_id) == ("agent", agent.id)


async def _no_step(session: AsyncSession) -> None:
    """Where the Sent folder's cursor would move."""
