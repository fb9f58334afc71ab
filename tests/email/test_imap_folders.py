"""IMAP intake's folders against a real Dovecot: a committed mail is moved to the processed
folder where the server offers MOVE, else (or when the server refuses the move) left and
marked \\Seen; a server without IDLE is polled (a new mail is ingested within the poll
interval, and only by the poll), one with IDLE pushes it at once; and a reply an agent
sent from the shared mailbox, found in its Sent folder, is stored as that agent's reply,
not sent again, and pauses the AI, while Switchboard's own replies and unrelated mail
there are left alone. Its copy in the inbox (Cc) is the same reply, whichever is read
first, and that copy alone never makes a mail the agent's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aioimaplib import IMAP4
from redis import Redis
from rq import Queue
from sqlalchemy import select, update

from email_channel import imap_intake
from email_channel.imap_intake import ImapIntake
from email_channel.mailboxes import ImapAccess, imap_mailboxes
from email_channel.models import ImapCursor, SentCursor, SpooledMail
from email_channel.processor import SENT_COPY_WAIT, MailProcessor
from email_channel.staff import SUSPECT
from gateway.db import Database
from gateway.models import Agent, Conversation, Message, Organization, utcnow
from gateway.queues import OUTBOUND
from gateway.runtime import Services
from tests.email.helpers import SUPPORT, email_services, mail, messages, support_mailbox
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.factories import make_agent

PASSWORD = "imap-pass-123"
# Dovecot's own list, less IDLE and MOVE (as some servers offer).
PLAIN_SERVER = (
    "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE SORT THREAD=REFERENCES "
    "MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 "
    "CONDSTORE QRESYNC ESEARCH SEARCHRES SPECIAL-USE"
)


def _server(capabilities: str | None) -> Iterator[Dovecot]:
    yield from running_dovecot(SUPPORT, PASSWORD, capabilities=capabilities)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from _server(None)


@pytest.fixture
def plain_dovecot() -> Iterator[Dovecot]:
    yield from _server(PLAIN_SERVER)


@pytest.fixture
async def services(db: Database, redis_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    async with email_services(db, redis_url, tmp_path) as built:
        yield built


async def imap_access(
    services: Services, org: Organization, server: Dovecot, **folders: str
) -> ImapAccess:
    await support_mailbox(
        services.db,
        org,
        imap_host="127.0.0.1",
        imap_port=server.port,
        imap_tls=False,
        imap_password=PASSWORD,
        **folders,
    )
    (found,) = await imap_mailboxes(services.db)
    return found


async def read_inbox(services: Services, access: ImapAccess) -> int:
    """One pass over the inbox, then the processing of what it spooled."""
    count = await ImapIntake(services, access).read_once()
    await MailProcessor(services).process_pending()
    return count


def reading(
    services: Services, access: ImapAccess, stop: asyncio.Event, *, poll: float, idle: float = 30
) -> asyncio.Future[list[None]]:
    """IMAP intake and its processor, running until `stop`."""
    processor = MailProcessor(services)
    intake = ImapIntake(
        services, access, poll_seconds=poll, idle_seconds=idle, on_spooled=processor.wake
    )
    return asyncio.gather(intake.run(stop), processor.run(stop))


def numbered(n: int) -> bytes:
    return mail(body=f"Mail number {n}", message_id=f"<n{n}@customer.example>")


async def stored_within(db: Database, count: int, timeout: float) -> float:
    """Seconds until `count` messages are stored; fails after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if len(await messages(db)) >= count:
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} messages after {timeout} s")


async def test_a_committed_mail_is_moved_to_the_processed_folder(
    services: Services, org: Organization, dovecot: Dovecot
) -> None:
    access = await imap_access(services, org, dovecot, imap_processed_folder="Processed")
    dovecot.deliver(numbered(1))
    dovecot.deliver(numbered(2))
    assert await read_inbox(services, access) == 2
    assert dovecot.files() == []  # the inbox is empty ...
    assert len(dovecot.files("Processed")) == 2  # ... both were moved, after the commit
    dovecot.deliver(numbered(3))
    assert await read_inbox(services, access) == 1  # the cursor, not the folder, says what is new
    assert [m.text for m in await messages(services.db)] == [f"Mail number {n}" for n in (1, 2, 3)]
    async with services.db.transaction() as session:
        cursor = await session.get(ImapCursor, access.mailbox.id)
    assert cursor is not None and cursor.last_uid == 3


async def test_without_move_the_mail_stays_and_is_marked_seen(
    services: Services, org: Organization, plain_dovecot: Dovecot
) -> None:
    access = await imap_access(services, org, plain_dovecot, imap_processed_folder="Processed")
    plain_dovecot.deliver(numbered(1))
    assert await read_inbox(services, access) == 1
    (left,) = plain_dovecot.files()
    assert left.name.endswith(",S")  # \Seen, as a courtesy
    assert not (plain_dovecot.maildir / ".Processed").exists()
    # \Seen is never read as "processed": a second reader stores nothing new, a new
    # mail is still read.
    plain_dovecot.deliver(numbered(2))
    assert await read_inbox(services, access) == 1
    assert len(await messages(services.db)) == 2


async def test_a_move_the_server_refuses_falls_back_to_seen(
    services: Services, org: Organization, dovecot: Dovecot
) -> None:
    # This Dovecot's folders are separated by ".", so it refuses a name with "/".
    access = await imap_access(services, org, dovecot, imap_processed_folder="Done/Mail")
    dovecot.deliver(numbered(1))
    assert await read_inbox(services, access) == 1
    (left,) = dovecot.files()
    assert left.name.endswith(",S")
    assert await read_inbox(services, access) == 0
    assert len(await messages(services.db)) == 1


def held_polls(
    monkeypatch: pytest.MonkeyPatch, seconds: float
) -> tuple[asyncio.Event, asyncio.Event]:
    """Two events: set once the intake waits `seconds` for its next poll, and to end that
    wait at once (as if the time had come)."""
    waiting, due, wait = asyncio.Event(), asyncio.Event(), imap_intake._wait

    async def polling(stop: asyncio.Event, wait_seconds: float, *others: asyncio.Event) -> None:
        if wait_seconds == seconds:
            waiting.set()
            others = (*others, due)
        await wait(stop, wait_seconds, *others)

    monkeypatch.setattr(imap_intake, "_wait", polling)
    return waiting, due


async def test_without_idle_new_mail_is_polled_within_the_interval(
    services: Services, org: Organization, plain_dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = await imap_access(services, org, plain_dovecot)
    plain_dovecot.deliver(numbered(1))
    waiting_to_poll, poll_now = held_polls(monkeypatch, 60)
    stop = asyncio.Event()
    slow = reading(services, access, stop, poll=60)
    try:
        await stored_within(services.db, 1, 20)  # read on connecting
        await asyncio.wait_for(waiting_to_poll.wait(), 20)
        plain_dovecot.deliver(numbered(2))
        # Polled every 60 s, and nothing pushed: not there yet, but at the next poll.
        assert len(await messages(services.db)) == 1
        poll_now.set()
        await stored_within(services.db, 2, 20)
    finally:
        stop.set()
        await asyncio.wait_for(slow, 20)
    poll = 1.5
    waiting_to_poll, _ = held_polls(monkeypatch, poll)
    stop = asyncio.Event()
    polling = reading(services, access, stop, poll=poll)
    try:
        await asyncio.wait_for(waiting_to_poll.wait(), 20)  # connected and read
        plain_dovecot.deliver(numbered(3))
        # At most one interval, plus the fetch and the commit.
        assert await stored_within(services.db, 3, poll + 2) <= poll + 2
    finally:
        stop.set()
        await asyncio.wait_for(polling, 20)


def idling(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set while a client is in IDLE: from the server's go-ahead until the client ends it."""
    in_idle, start, done = asyncio.Event(), IMAP4.idle_start, IMAP4.idle_done

    async def starting(client: IMAP4, *args: Any, **kwargs: Any) -> Any:
        idle = await start(client, *args, **kwargs)
        in_idle.set()
        return idle

    def ending(client: IMAP4) -> None:
        in_idle.clear()
        done(client)

    monkeypatch.setattr(IMAP4, "idle_start", starting)
    monkeypatch.setattr(IMAP4, "idle_done", ending)
    return in_idle


async def test_with_idle_new_mail_is_ingested_within_two_seconds(
    services: Services, org: Organization, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = await imap_access(services, org, dovecot)
    in_idle = idling(monkeypatch)
    stop = asyncio.Event()
    # Polling and IDLE's renewal are far off: only the server's push can be this quick.
    runner = reading(services, access, stop, poll=60, idle=30)
    try:
        dovecot.deliver(numbered(1))
        await stored_within(services.db, 1, 20)
        await asyncio.wait_for(in_idle.wait(), 20)  # back in IDLE
        dovecot.deliver(numbered(2))
        # Dovecot notices a new file in about 0.5 s; the fetch and the commit take the rest.
        assert await stored_within(services.db, 2, 2) <= 2
    finally:
        stop.set()
        await asyncio.wait_for(runner, 20)


def agent_reply(
    sender: str, *, message_id: str, in_reply_to: str | None, to: str = "carol@customer.example"
) -> bytes:
    return mail(
        sender,
        to=to,
        subject="Re: Where is my order?",
        body="I have sent a new parcel today.\n\nDana",
        message_id=message_id,
        in_reply_to=in_reply_to,
    )


async def test_a_reply_in_the_sent_folder_is_the_agents_and_pauses_the_ai(
    services: Services, org: Organization, dovecot: Dovecot, redis_url: str
) -> None:
    agent = await make_agent(services.db, org)
    access = await imap_access(services, org, dovecot, imap_sent_folder="Sent")
    dovecot.deliver(mail(message_id="<root@customer.example>"))
    assert await read_inbox(services, access) == 1
    (customer,) = await messages(services.db)
    # Switchboard's own reply, filed in Sent by the provider it was sent through.
    ours = mail(
        SUPPORT,
        message_id=f"<sb.{customer.conversation_id}.99@shop.example>",
        in_reply_to="<root@customer.example>",
        headers={"X-Switchboard-Conversation": str(customer.conversation_id)},
    )
    dovecot.deliver(ours, "Sent")
    # A mail from the shared mailbox to someone who is no customer.
    dovecot.deliver(mail(SUPPORT, to="supplier@parts.example", body="Ten more boxes"), "Sent")
    # The agent's reply, sent from the shared mailbox "on behalf of" the agent.
    reply = agent_reply(
        SUPPORT, message_id="<r1@shop.example>", in_reply_to="<root@customer.example>"
    )
    reply = b"Sender: " + agent.email.encode() + b"\n" + reply
    dovecot.deliver(reply, "Sent")
    sent = ImapIntake(services, access, sent=True)
    assert await sent.read_once() == 3
    assert await sent.read_once() == 0
    stored = await messages(services.db)
    assert len(stored) == 2  # the customer's mail and the agent's reply, nothing else
    row = stored[-1]
    assert (row.author, row.agent_id, row.direction) == ("agent", agent.id, "outbound")
    assert row.delivery_status == "sent_externally"
    assert row.conversation_id == customer.conversation_id
    assert row.text == "I have sent a new parcel today.\n\nDana"
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, customer.conversation_id)
        cursor = await session.get(SentCursor, access.mailbox.id)
        inbox_cursor = await session.get(ImapCursor, access.mailbox.id)
    assert conversation is not None
    assert conversation.state == "manual" and conversation.assigned_agent_id == agent.id
    assert conversation.ai_paused_until is not None
    assert cursor is not None and cursor.last_uid == 3
    assert inbox_cursor is not None and inbox_cursor.last_uid == 1  # each folder its own
    assert dovecot.files("Sent") and len(dovecot.files("Sent")) == 3  # left where they are
    # Never sent again: no delivery job was queued.
    assert Queue(OUTBOUND, connection=Redis.from_url(redis_url)).count == 0
    # The customer answers the agent's mail: it threads to the same conversation.
    answer = mail(message_id="<answer@customer.example>", in_reply_to="<r1@shop.example>")
    dovecot.deliver(answer)
    assert await read_inbox(services, access) == 1
    assert (await messages(services.db))[-1].conversation_id == customer.conversation_id


async def test_a_sent_reply_seen_in_the_inbox_too_is_stored_once(
    services: Services, org: Organization, dovecot: Dovecot
) -> None:
    agent = await make_agent(services.db, org)
    access = await imap_access(
        services, org, dovecot, imap_sent_folder="Sent", trusted_authserv_id="mx.shop.example"
    )
    dovecot.deliver(mail(message_id="<root@customer.example>"))
    assert await read_inbox(services, access) == 1
    reply = agent_reply(
        agent.email, message_id="<r2@example.test>", in_reply_to="<root@customer.example>"
    )
    # The agent replied from their own address with the support address in Cc: the copy
    # in the inbox (authenticated by the trusted server) and the one in Sent are one mail.
    checked = b"Authentication-Results: mx.shop.example; dkim=pass header.d=example.test\n" + reply
    dovecot.deliver(checked)
    dovecot.deliver(reply, "Sent")
    assert await read_inbox(services, access) == 1
    assert await ImapIntake(services, access, sent=True).read_once() == 1
    agent_rows = [m for m in await messages(services.db) if m.author == "agent"]
    assert len(agent_rows) == 1 and agent_rows[0].agent_id == agent.id
    async with services.db.transaction() as session:
        cursor = await session.get(SentCursor, access.mailbox.id)
        states = (await session.scalars(select(Conversation.state))).all()
    assert cursor is not None and cursor.last_uid == 1
    assert list(states) == ["manual"]


async def spool_due_now(db: Database) -> None:
    """Spooled mail put back for later (waiting for its Sent copy) is due now."""
    async with db.transaction() as session:
        await session.execute(update(SpooledMail).values(next_attempt_at=utcnow()))


async def _a_customers_thread(
    services: Services, org: Organization, dovecot: Dovecot
) -> tuple[Agent, ImapAccess, Message]:
    """An agent, a mailbox that reads its Sent folder, and a customer's first mail, read."""
    agent = await make_agent(services.db, org)
    access = await imap_access(services, org, dovecot, imap_sent_folder="Sent")
    dovecot.deliver(mail(message_id="<root@customer.example>"))
    assert await read_inbox(services, access) == 1
    (customer,) = await messages(services.db)
    return agent, access, customer


def _as_the_agent(agent: Agent, body: str, message_id: str) -> bytes:
    """A reply-all in the customer's thread from the agent's address, the mailbox in Cc."""
    return mail(
        agent.email,
        to="carol@customer.example",
        subject="Re: Where is my order?",
        body=body,
        message_id=message_id,
        in_reply_to="<root@customer.example>",
        headers={"Cc": SUPPORT},
    )


@pytest.mark.parametrize("inbox_first", [True, False], ids=["inbox-first", "sent-first"])
async def test_a_cc_reply_in_the_inbox_and_in_sent_is_the_agents_in_either_order(
    services: Services, org: Organization, dovecot: Dovecot, inbox_first: bool
) -> None:
    # No trusted server vouches for agents' mail: the Sent folder is the proof.
    agent, access, customer = await _a_customers_thread(services, org, dovecot)
    # Sent from the shared mailbox as the agent, reply-all: a copy in the inbox (Cc) and
    # one in Sent.
    reply = _as_the_agent(agent, "I have sent a new parcel today.\n\nDana", "<r3@example.test>")
    dovecot.deliver(reply)
    dovecot.deliver(reply, "Sent")
    sent = ImapIntake(services, access, sent=True)
    if inbox_first:
        assert await read_inbox(services, access) == 1
        assert await sent.read_once() == 1
    else:
        assert await sent.read_once() == 1
        assert await read_inbox(services, access) == 1
    await spool_due_now(services.db)
    await MailProcessor(services).process_pending()
    stored = await messages(services.db)
    assert [(m.author, m.agent_id, m.conversation_id) for m in stored] == [
        ("customer", None, customer.conversation_id),
        ("agent", agent.id, customer.conversation_id),
    ]
    assert stored[-1].delivery_status == "sent_externally"
    async with services.db.transaction() as session:
        states = (await session.scalars(select(Conversation.state))).all()
        left = (await session.scalars(select(SpooledMail.id))).all()
    assert list(states) == ["manual"]  # no conversation of the agent's own
    assert list(left) == []  # the inbox copy was the same mail, stored once


async def test_an_agents_address_in_from_alone_never_posts_as_the_agent(
    services: Services, org: Organization, dovecot: Dovecot
) -> None:
    agent, access, customer = await _a_customers_thread(services, org, dovecot)
    # A stranger who knows the thread writes as the agent; the Sent folder has no copy.
    forged = _as_the_agent(
        agent, "Please pay the customs fee at pay.example.", "<forged@example.test>"
    )
    dovecot.deliver(forged)
    dovecot.folder("Sent")  # there, and empty
    assert await read_inbox(services, access) == 1
    assert await ImapIntake(services, access, sent=True).read_once() == 0
    assert len(await messages(services.db)) == 1  # waiting for a Sent copy
    # The wait is over: it is stored as its sender's mail, flagged, never the agent's.
    async with services.db.transaction() as session:
        await session.execute(
            update(SpooledMail).values(
                received_at=utcnow() - SENT_COPY_WAIT, next_attempt_at=utcnow()
            )
        )
    await MailProcessor(services).process_pending()
    stored = await messages(services.db)
    assert len(stored) == 2
    row = stored[-1]
    assert (row.author, row.agent_id, row.direction) == ("customer", None, "inbound")
    assert row.conversation_id != customer.conversation_id
    assert row.meta["flag"] == SUSPECT
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, customer.conversation_id)
    assert conversation is not None and conversation.state == "ai"
