"""An agent answers a notification mail from their own mail client: the reminder is caught
by a real SMTP peer (aiosmtpd), the reply goes into Switchboard's own inbound SMTP server,
and the customer receives the reply's new text once, on the conversation's own channel
(SMS through the loopback Twilio API, web chat as a live event, email through the SMTP
peer), while the conversation becomes the agent's. A reply that is not authenticated,
comes from someone else, is automatic, or carries an altered token never reaches the
customer: it is stored as its sender's message, flagged for the team. Where the mailbox
checks DKIM itself, a reply signed by the agent's domain is authenticated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
import dkim
import pytest
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import select, update

from email_channel import relay
from email_channel.dkim_verify import DkimVerifier
from email_channel.ingest import MailIntake
from email_channel.models import Mailbox
from email_channel.processor import MailProcessor
from email_channel.smtp_server import inbound_smtp
from gateway import ownership
from gateway.db import Database
from gateway.delivery import deliver_message
from gateway.events import EventHub, conversation_channel
from gateway.models import Agent, Conversation, Deadline, Message, Organization, utcnow
from gateway.ownership import State
from gateway.runtime import Services
from handoff import actions
from handoff.context import load_context
from handoff.notify_email import REMINDER, send
from handoff.routing import hand_off
from messaging.twilio.numbers import add_number
from tests.email.helpers import Inbound, mail, support_mailbox
from tests.email.test_dkim_verify import SELECTOR, StubDns, throwaway_key
from tests.support.factories import chat_message, intake_for, job_services, make_agent
from tests.support.fake_twilio import BUSINESS, CUSTOMER, FakeTwilio, receive, running_fake_twilio
from tests.support.ports import free_port
from tests.support.smtp_sink import Received, SmtpSink

AUTHSERV = "mx.shop.example"
NEW_TEXT = "Your parcel left our warehouse this morning; it arrives on Thursday."


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        yield fake


@pytest.fixture
async def services(
    db: Database, redis_url: str, tmp_path: Path, sink: SmtpSink, fake_twilio: FakeTwilio
) -> AsyncIterator[Services]:
    async with job_services(
        db,
        redis_url,
        var_dir=tmp_path,
        smtp_url=sink.url,
        mail_from="desk@shop.example",
        public_url="https://desk.shop.example",
        twilio_api_base_url=fake_twilio.base_url,
    ) as built:
        yield built


@pytest.fixture
async def smtp_port(services: Services, org: Organization) -> AsyncIterator[Inbound]:
    await support_mailbox(services.db, org, trusted_authserv_id=AUTHSERV)
    port = free_port()
    async with inbound_smtp(services, "127.0.0.1", port) as processor:
        yield Inbound(port, processor)


async def customer_conversation(
    services: Services, org: Organization, channel: str, fake: FakeTwilio
) -> int:
    """A conversation on `channel`, waiting for a person as the handoff policy leaves it."""
    if channel == "sms":
        account = fake.add_account()
        await add_number(services.db, org.id, BUSINESS, account.sid, account.token)
        conversation_id = (
            await receive(services, org.id, account, "A person, please")
        ).conversation_id
    elif channel == "webchat":
        received = await intake_for(services).receive(chat_message(org, "A person, please"))
        conversation_id = received.conversation_id
    else:
        mailbox = await support_mailbox_info(services, org)
        ingested = await MailIntake(services).ingest(mailbox, mail(body="A person, please"))
        assert ingested.conversation_id is not None
        conversation_id = ingested.conversation_id
    async with services.db.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id == conversation_id)
            .values(routed_at=utcnow())
        )
        context = await load_context(session, conversation_id)
        await hand_off(
            session,
            services,
            context.conversation,
            reason="the customer asked for a person",
            rule_hits=[{"rule": "explicit_request", "fired": True}],
            expiry=context.settings.queue_expiry,
        )
    return conversation_id


async def support_mailbox_info(services: Services, org: Organization):  # type: ignore[no-untyped-def]
    from email_channel.mailboxes import info, list_mailboxes

    (row,) = await list_mailboxes(services.db, org.id)
    return info(row)


async def notification_to(
    services: Services, sink: SmtpSink, conversation_id: int, agent: Agent
) -> Received:
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        version = conversation.ownership_version
    before = len(sink.messages)
    assert await send(services, conversation_id, version, REMINDER, 1, 3, agent.email) == "sent"
    return (await sink.wait_for(before + 1))[-1]


def reply_to(
    notification: Received,
    sender: str,
    *,
    text: str = NEW_TEXT,
    authenticated: bool = True,
    to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """What a mail client sends when the agent presses Reply: the new text above the quoted
    notification, to the notification's Reply-To."""
    original = notification.message
    reply = EmailMessage()
    reply["From"] = f"Dana <{sender}>"
    reply["To"] = to or str(original["Reply-To"])
    reply["Subject"] = f"Re: {original['Subject']}"
    reply["Message-ID"] = make_msgid(domain="example.test")
    reply["In-Reply-To"] = str(original["Message-ID"])
    if authenticated:
        domain = sender.rpartition("@")[2]
        reply["Authentication-Results"] = f"{AUTHSERV}; dkim=pass header.d={domain}"
    for name, value in (headers or {}).items():
        reply[name] = value
    quoted = "\n".join(f"> {line}" for line in notification.text.splitlines())
    reply.set_content(
        f"{text}\n\nOn Mon, 30 Nov 2026 at 14:02, desk@shop.example wrote:\n{quoted}\n"
    )
    return bytes(reply)


async def mail_in(inbound: Inbound, raw: bytes, sender: str, recipient: str) -> None:
    """Send over SMTP, then wait until the processor has stored what was spooled."""
    await aiosmtplib.send(
        raw,
        sender=sender,
        recipients=[recipient],
        hostname="127.0.0.1",
        port=inbound.port,
        timeout=10,
    )
    await inbound.processor.process_pending()


async def rows(db: Database, conversation_id: int) -> list[Message]:
    async with db.transaction() as session:
        found = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return list(found.all())


async def conversation(db: Database, conversation_id: int) -> Conversation:
    async with db.transaction() as session:
        found = await session.get(Conversation, conversation_id)
        assert found is not None
        return found


@pytest.mark.parametrize("channel", ["sms", "webchat", "email"])
async def test_a_reply_to_a_reminder_reaches_the_customer_once_as_the_agents_message(
    services: Services,
    org: Organization,
    smtp_port: Inbound,
    sink: SmtpSink,
    fake_twilio: FakeTwilio,
    redis_url: str,
    channel: str,
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await customer_conversation(services, org, channel, fake_twilio)
    notification = await notification_to(services, sink, conversation_id, agent)
    address = str(notification.message["Reply-To"])
    assert address.startswith("support+") and address.endswith("@shop.example")
    assert "replying to this email" in notification.text
    raw = reply_to(notification, agent.email)

    await mail_in(smtp_port, raw, agent.email, address)
    await mail_in(smtp_port, raw, agent.email, address)  # the same mail again: relayed once

    relayed = [m for m in await rows(services.db, conversation_id) if m.author == "agent"]
    assert len(relayed) == 1
    (message,) = relayed
    assert message.text == NEW_TEXT  # the quoted notification is not sent
    assert message.agent_id == agent.id and message.channel == channel
    state = await conversation(services.db, conversation_id)
    assert state.state == "assigned" and state.assigned_agent_id == agent.id

    customer_mails = len(sink.messages)
    hub = EventHub(AsyncRedis.from_url(redis_url))
    try:
        async with hub.subscribe(conversation_channel(conversation_id)) as events:
            assert await deliver_message(services, message.id) in ("sent", "delivered", "queued")
            assert await deliver_message(services, message.id) == "skipped"
            if channel == "webchat":
                event = await asyncio.wait_for(events.get(), 10)
                while event.type != "message":
                    event = await asyncio.wait_for(events.get(), 10)
                assert event.data["text"] == NEW_TEXT and event.data["author"] == "agent"
    finally:
        await hub.close()
        await hub.redis.aclose()
    if channel == "sms":
        texts = [sent.get("Body") for sent in fake_twilio.messages()]
        assert texts.count(NEW_TEXT) == 1
        assert [
            sent.get("To") for sent in fake_twilio.messages() if sent.get("Body") == NEW_TEXT
        ] == [CUSTOMER]
    if channel == "email":
        (to_customer,) = (await sink.wait_for(customer_mails + 1))[customer_mails:]
        assert to_customer.recipients == ("carol@customer.example",)
        assert to_customer.text.startswith(NEW_TEXT)


@pytest.mark.parametrize(
    "case",
    ["unauthenticated", "another agent", "a stranger", "automatic reply", "altered token"],
)
async def test_a_reply_that_fails_a_check_never_reaches_the_customer_and_is_flagged(
    services: Services,
    org: Organization,
    smtp_port: Inbound,
    sink: SmtpSink,
    fake_twilio: FakeTwilio,
    case: str,
) -> None:
    agent = await make_agent(services.db, org)
    other = await make_agent(services.db, org, name="Eli")
    conversation_id = await customer_conversation(services, org, "webchat", fake_twilio)
    notification = await notification_to(services, sink, conversation_id, agent)
    address = str(notification.message["Reply-To"])
    sender, options = agent.email, {}
    if case == "unauthenticated":
        options = {"authenticated": False}
    elif case == "another agent":
        sender = other.email
    elif case == "a stranger":
        sender = "mallory@elsewhere.example"
    elif case == "automatic reply":
        options = {"headers": {"Auto-Submitted": "auto-replied"}}
    else:
        local, _, domain = address.partition("@")
        address = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}"
        options = {"to": address}

    before = [m.id for m in await rows(services.db, conversation_id)]

    await mail_in(smtp_port, reply_to(notification, sender, **options), sender, address)  # type: ignore[arg-type]

    assert [m.id for m in await rows(services.db, conversation_id)] == before
    waiting = await conversation(services.db, conversation_id)
    assert waiting.state == "queued" and waiting.assigned_agent_id is None
    async with services.db.transaction() as session:
        stored = (await session.scalars(select(Message).where(Message.text == NEW_TEXT))).one()
        kept = await session.get(Conversation, stored.conversation_id)
    assert kept is not None and kept.id != conversation_id
    assert stored.author == "customer" and stored.no_reply == (case != "altered token")
    if case == "automatic reply":  # stored and flagged as every automatic mail is
        assert "Auto-Submitted" in stored.meta["flag"] and not kept.needs_attention
    elif case != "altered token":  # an altered token is no token: ordinary mail
        assert "not sent to the customer" in stored.meta["flag"]
        assert kept.needs_attention and "not sent to the customer" in (kept.attention_reason or "")


async def test_arrival_through_the_trusted_relay_authenticates_the_reply(
    services: Services,
    org: Organization,
    smtp_port: Inbound,
    sink: SmtpSink,
    fake_twilio: FakeTwilio,
) -> None:
    async with services.db.transaction() as session:
        await session.execute(update(Mailbox).values(trusted_relays=["127.0.0.1"]))
    agent = await make_agent(services.db, org)
    conversation_id = await customer_conversation(services, org, "webchat", fake_twilio)
    notification = await notification_to(services, sink, conversation_id, agent)
    address = str(notification.message["Reply-To"])

    # No Authentication-Results: it came from the organization's relay (here, loopback).
    raw = reply_to(notification, agent.email, authenticated=False)
    await mail_in(smtp_port, raw, agent.email, address)

    (relayed,) = [m for m in await rows(services.db, conversation_id) if m.author == "agent"]
    assert relayed.text == NEW_TEXT and relayed.agent_id == agent.id


async def test_a_reply_signed_by_the_agents_domain_is_relayed_where_the_mailbox_checks_dkim(
    services: Services, org: Organization, sink: SmtpSink, fake_twilio: FakeTwilio, tmp_path: Path
) -> None:
    await support_mailbox(services.db, org, verify_dkim=True)  # no trusted server in front
    key = throwaway_key(tmp_path)
    agent = await make_agent(services.db, org)
    conversation_id = await customer_conversation(services, org, "webchat", fake_twilio)
    notification = await notification_to(services, sink, conversation_id, agent)
    address = str(notification.message["Reply-To"])
    raw = reply_to(notification, agent.email, authenticated=False)
    domain = agent.email.rpartition("@")[2].encode()
    signed = dkim.sign(raw, SELECTOR, domain, key.encode()) + raw

    port = free_port()
    processor = MailProcessor(services, dkim=DkimVerifier(dnsfunc=StubDns(key).lookup))
    async with inbound_smtp(services, "127.0.0.1", port, processor=processor):
        await mail_in(Inbound(port, processor), signed, agent.email, address)

    (relayed,) = [m for m in await rows(services.db, conversation_id) if m.author == "agent"]
    assert relayed.text == NEW_TEXT and relayed.agent_id == agent.id


async def test_a_reply_to_a_conversation_another_agent_claimed_meanwhile_is_not_sent(
    services: Services,
    org: Organization,
    smtp_port: Inbound,
    sink: SmtpSink,
    fake_twilio: FakeTwilio,
) -> None:
    agent = await make_agent(services.db, org)
    other = await make_agent(services.db, org, name="Eli")
    conversation_id = await customer_conversation(services, org, "webchat", fake_twilio)
    notification = await notification_to(services, sink, conversation_id, agent)
    await actions.claim(services, other, conversation_id)
    before = [m.id for m in await rows(services.db, conversation_id)]

    raw = reply_to(notification, agent.email)
    await mail_in(smtp_port, raw, agent.email, str(notification.message["Reply-To"]))

    assert [m.id for m in await rows(services.db, conversation_id)] == before
    claimed = await conversation(services.db, conversation_id)
    assert claimed.state == "assigned" and claimed.assigned_agent_id == other.id
    async with services.db.transaction() as session:
        stored = (await session.scalars(select(Message).where(Message.text == NEW_TEXT))).one()
    assert stored.meta["flag"] == (
        "A reply to a notification email was not sent to the customer: the conversation "
        "belongs to Eli."
    )


async def test_the_copy_read_over_imap_of_a_reply_relayed_over_smtp_is_not_flagged(
    services: Services,
    org: Organization,
    smtp_port: Inbound,
    sink: SmtpSink,
    fake_twilio: FakeTwilio,
) -> None:
    """The reply came in over SMTP from the trusted relay and was sent; the same mail then
    read from the mailbox over IMAP (no relay to vouch for it) is that reply again, not an
    unconfirmed reply to flag for the team."""
    async with services.db.transaction() as session:
        await session.execute(update(Mailbox).values(trusted_relays=["127.0.0.1"]))
    agent = await make_agent(services.db, org)
    conversation_id = await customer_conversation(services, org, "webchat", fake_twilio)
    notification = await notification_to(services, sink, conversation_id, agent)
    raw = reply_to(notification, agent.email, authenticated=False)
    await mail_in(smtp_port, raw, agent.email, str(notification.message["Reply-To"]))

    mailbox = await support_mailbox_info(services, org)
    again = await MailIntake(services).ingest(mailbox, raw)  # as IMAP intake hands it over

    assert again.outcome == "relayed"
    async with services.db.transaction() as session:
        stored = (await session.scalars(select(Message).where(Message.text == NEW_TEXT))).all()
        flagged = (
            await session.scalars(select(Conversation).where(Conversation.needs_attention))
        ).all()
    assert [(m.conversation_id, m.author) for m in stored] == [(conversation_id, "agent")]
    assert flagged == []


async def test_a_claim_made_while_a_reply_is_being_relayed_is_not_undone_by_it(
    services: Services,
    org: Organization,
    smtp_port: Inbound,
    sink: SmtpSink,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dana's reply to her "claimed but unanswered" reminder passes its checks; before it is
    stored, her claim runs out and Eli claims the conversation. Either the reply goes out
    before Eli's claim, or it is not sent: it must not go out after it and end Eli's
    claimed-but-unanswered timer."""
    agent = await make_agent(services.db, org)
    other = await make_agent(services.db, org, name="Eli")
    conversation_id = await customer_conversation(services, org, "webchat", fake_twilio)
    await actions.claim(services, agent, conversation_id)
    notification = await notification_to(services, sink, conversation_id, agent)
    checked = relay._refusal
    moved: list[asyncio.Task[None]] = []

    async def unassigned_and_claimed() -> None:
        async with services.db.transaction() as session:
            context = await load_context(session, conversation_id)
            await ownership.transition(
                session, context.conversation, State.QUEUED, actor=ownership.SYSTEM
            )
        await actions.claim(services, other, conversation_id)

    async def claimed_meanwhile(*args: object) -> str | None:
        refusal = await checked(*args)  # type: ignore[arg-type]
        moved.append(asyncio.create_task(unassigned_and_claimed()))
        await asyncio.wait(moved, timeout=2)  # done, unless the relay holds the conversation
        return refusal

    monkeypatch.setattr(relay, "_refusal", claimed_meanwhile)
    raw = reply_to(notification, agent.email)
    await mail_in(smtp_port, raw, agent.email, str(notification.message["Reply-To"]))
    await asyncio.gather(*moved)

    claimed = await conversation(services.db, conversation_id)
    assert claimed.state == "assigned" and claimed.assigned_agent_id == other.id
    async with services.db.transaction() as session:
        (claim_at, eli_timer_cancelled) = (
            await session.execute(
                select(Deadline.created_at, Deadline.cancelled_at).where(
                    Deadline.conversation_id == conversation_id,
                    Deadline.kind == relay.UNASSIGN,
                    Deadline.ownership_version == claimed.ownership_version,
                )
            )
        ).one()
    assert eli_timer_cancelled is None  # Eli's claimed-but-unanswered timer still runs
    sent = [m for m in await rows(services.db, conversation_id) if m.text == NEW_TEXT]
    assert all(m.created_at < claim_at for m in sent if m.author == "agent")
