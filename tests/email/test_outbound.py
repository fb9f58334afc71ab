"""Replies by email through a real SMTP peer (aiosmtpd): threading headers, a stable
Message-ID across a retry, Auto-Submitted on AI replies only, the signed Reply-To and VERP
envelope; 451 retried, 550 failed with the conversation marked, both in words with the
server's text as the detail; a bounce marks the exact message failed (in words too) and
the address undeliverable without opening a conversation; the customer's reply to our mail
threads back; an authenticated agent's own mail pauses the AI, an unauthenticated one is
only flagged."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from desk import delivery_state
from email_channel import tokens
from email_channel.ingest import MailIntake
from email_channel.mailboxes import MailboxInfo
from gateway.consent import opted_out_at
from gateway.db import Database
from gateway.delivery import deliver_message
from gateway.errors import TransientDeliveryError
from gateway.models import Conversation, Message, Organization, utcnow
from gateway.runtime import Services
from tests.email.helpers import (
    SUPPORT,
    conversations,
    email_services,
    mail,
    messages,
    support_mailbox,
)
from tests.support.factories import make_agent
from tests.support.smtp_sink import SmtpSink


async def customer_mail(services: Services, mailbox: MailboxInfo, **options: object) -> int:
    received = await MailIntake(services).ingest(
        mailbox,
        mail(message_id="<root@customer.example>", **options),  # type: ignore[arg-type]
    )
    assert received.conversation_id is not None
    return received.conversation_id


async def store_reply(db: Database, conversation_id: int, author: str, text: str) -> int:
    async with db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        row = Message(
            organization_id=conversation.organization_id,
            conversation_id=conversation_id,
            direction="outbound",
            author=author,
            channel="email",
            text=text,
            ownership_version=conversation.ownership_version,
            delivery_status="pending",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        return row.id


async def test_an_ai_reply_threads_and_survives_a_451_with_the_same_message_id(
    db: Database, redis_url: str, org: Organization, tmp_path: Path
) -> None:
    with SmtpSink(refuse_first=1) as sink:
        async with email_services(db, redis_url, tmp_path, smtp_url=sink.url) as services:
            mailbox = await support_mailbox(db, org)
            conversation_id = await customer_mail(services, mailbox)
            reply_id = await store_reply(db, conversation_id, "ai", "It ships tomorrow.")
            with pytest.raises(TransientDeliveryError):
                await deliver_message(services, reply_id)
            (waiting,) = [m for m in await messages(db) if m.id == reply_id]
            assert waiting.delivery_status == "pending"
            assert waiting.error_message == "the receiving mail server could not take it for now"
            assert waiting.error_detail is not None and waiting.error_detail.startswith("451")
            assert await deliver_message(services, reply_id) == "sent"
            (received,) = await sink.wait_for(1)
    message = received.message
    assert message["In-Reply-To"] == "<root@customer.example>"
    assert message["References"] == "<root@customer.example>"
    assert message["Subject"] == "Re: Where is my order?"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Message-ID"] == f"<sb.{conversation_id}.{reply_id}@shop.example>"
    reply_to = str(message["Reply-To"])
    assert tokens.token_in_address("test", reply_to, "c") == conversation_id
    assert tokens.token_in_address("test", received.sender, "b") == reply_id
    assert received.recipients == ("carol@customer.example",)
    assert received.text.startswith("It ships tomorrow.")
    assert "> Hello, my order 1234 has not arrived yet." in received.text
    (stored,) = [m for m in await messages(db) if m.id == reply_id]
    assert stored.delivery_status == "sent"


async def test_a_human_reply_has_no_auto_submitted_and_the_customer_reply_threads_back(
    db: Database, redis_url: str, org: Organization, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        async with email_services(db, redis_url, tmp_path, smtp_url=sink.url) as services:
            mailbox = await support_mailbox(db, org)
            conversation_id = await customer_mail(services, mailbox)
            reply_id = await store_reply(db, conversation_id, "agent", "Checking for you.")
            await deliver_message(services, reply_id)
            (received,) = await sink.wait_for(1)
            assert received.message["Auto-Submitted"] is None
            answer = EmailMessage()
            answer["From"] = "carol@customer.example"
            answer["To"] = str(received.message["Reply-To"])
            answer["Subject"] = "Re: Where is my order? (new address)"
            answer["Message-ID"] = "<answer@customer.example>"
            answer["In-Reply-To"] = str(received.message["Message-ID"])
            quoted = "\n".join("> " + line for line in received.text.splitlines())
            answer.set_content(f"Thanks!\n\nOn Monday, Shop wrote:\n{quoted}\n")
            await MailIntake(services).ingest(mailbox, bytes(answer))
    last = (await messages(db))[-1]
    assert last.conversation_id == conversation_id
    assert last.text == "Thanks!"
    assert "Checking for you." in last.meta["email"]["quoted_text"]


async def test_a_550_fails_the_reply_and_marks_the_conversation(
    db: Database, redis_url: str, org: Organization, tmp_path: Path
) -> None:
    with SmtpSink(refuse_first=1, refusal="550 5.1.1 No such user") as sink:
        async with email_services(db, redis_url, tmp_path, smtp_url=sink.url) as services:
            mailbox = await support_mailbox(db, org)
            conversation_id = await customer_mail(services, mailbox)
            reply_id = await store_reply(db, conversation_id, "ai", "Hello")
            assert await deliver_message(services, reply_id) == "failed"
    (conversation,) = await conversations(db)
    assert conversation.needs_attention
    (stored,) = [m for m in await messages(db) if m.id == reply_id]
    assert stored.delivery_status == "failed" and stored.error_code == "550"
    shown = delivery_state.describe(stored, "email")
    assert shown is not None
    assert shown["text"] == "Not sent: the address does not exist"
    assert shown["detail"] == "550 5.1.1 No such user"
    assert (
        conversation.attention_reason == "A message was not delivered: the address does not exist."
    )


def dsn(bounce_to: str, status: str, returned_id: str) -> bytes:
    """A delivery status notification as a mail server writes one (RFC 3464)."""
    return (
        "From: MAILER-DAEMON@mx.customer.example\r\n"
        f"To: {bounce_to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.customer.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        "Final-Recipient: rfc822; carol@customer.example\r\n"
        f"Action: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp; 550 user unknown\r\n"
        "\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n"
        f"Message-ID: <{returned_id}>\r\nSubject: Re: Where is my order?\r\n\r\n"
        "It ships tomorrow.\r\n--B--\r\n"
    ).encode()


@pytest.mark.parametrize("matched_by", ["verp", "returned-message-id"])
async def test_a_bounce_fails_the_exact_message_and_opens_nothing(
    db: Database, redis_url: str, org: Organization, tmp_path: Path, matched_by: str
) -> None:
    with SmtpSink() as sink:
        async with email_services(db, redis_url, tmp_path, smtp_url=sink.url) as services:
            mailbox = await support_mailbox(db, org)
            conversation_id = await customer_mail(services, mailbox)
            reply_id = await store_reply(db, conversation_id, "ai", "It ships tomorrow.")
            await deliver_message(services, reply_id)
            (sent,) = await sink.wait_for(1)
            to = sent.sender if matched_by == "verp" else SUPPORT
            returned = str(sent.message["Message-ID"]).strip("<>")
            if matched_by == "verp":
                returned = "unrelated@elsewhere.example"
            raw = dsn(to, "5.1.1", returned)
            for _ in range(2):  # a repeated bounce changes nothing more
                outcome = await MailIntake(services).ingest(mailbox, raw, envelope_from="")
                assert outcome.outcome == "bounce" and outcome.message_id == reply_id
            async with db.transaction() as session:
                assert await opted_out_at(session, org.id, "email", "carol@customer.example")
    assert len(await conversations(db)) == 1
    (stored,) = [m for m in await messages(db) if m.id == reply_id]
    assert stored.delivery_status == "failed" and stored.error_code == "5.1.1"
    assert stored.error_message == "the address does not exist"
    assert stored.error_detail == "Status 5.1.1: 550 user unknown"
    assert len(await messages(db)) == 2  # the customer's mail and our reply, no bounce


async def test_authenticated_agent_mail_is_their_reply_and_pauses_the_ai(
    db: Database, redis_url: str, org: Organization, tmp_path: Path
) -> None:
    agent = await make_agent(db, org)
    async with email_services(db, redis_url, tmp_path) as services:
        mailbox = await support_mailbox(db, org, trusted_authserv_id="mx.shop.example")
        conversation_id = await customer_mail(services, mailbox)
        domain = agent.email.split("@")[1]
        common = {
            "to": "carol@customer.example",
            "subject": "Re: Where is my order?",
            "in_reply_to": "<root@customer.example>",
            "body": "I have sent a new parcel today.",
        }
        forged = mail(agent.email, message_id="<forged@x.example>", **common)  # type: ignore[arg-type]
        await MailIntake(services).ingest(mailbox, forged)
        signed = mail(
            agent.email,
            message_id="<agent@x.example>",
            headers={"Authentication-Results": f"mx.shop.example; dkim=pass header.d={domain}"},
            **common,  # type: ignore[arg-type]
        )
        result = await MailIntake(services).ingest(mailbox, signed)
        assert result.outcome == "staff"
    stored = await messages(db)
    forged_row = next(m for m in stored if m.meta["email"].get("message_id") == "forged@x.example")
    assert (
        forged_row.author == "customer" and "could not be authenticated" in forged_row.meta["flag"]
    )
    agent_row = stored[-1]
    assert agent_row.author == "agent" and agent_row.agent_id == agent.id
    assert agent_row.delivery_status == "sent_externally"
    assert agent_row.conversation_id == conversation_id
    async with db.transaction() as session:
        conversation = await session.scalar(
            select(Conversation).where(Conversation.id == conversation_id)
        )
    assert conversation is not None
    assert conversation.state == "manual" and conversation.assigned_agent_id == agent.id
    assert conversation.ai_paused_until is not None


async def test_a_bounced_address_is_shown_unreachable_and_a_new_mail_makes_it_reachable(
    db: Database, redis_url: str, org: Organization, tmp_path: Path
) -> None:
    from gateway.reachability import why_unreachable

    with SmtpSink() as sink:
        async with email_services(db, redis_url, tmp_path, smtp_url=sink.url) as services:
            mailbox = await support_mailbox(db, org)
            conversation_id = await customer_mail(services, mailbox)
            reply_id = await store_reply(db, conversation_id, "ai", "It ships tomorrow.")
            await deliver_message(services, reply_id)
            (sent,) = await sink.wait_for(1)
            await MailIntake(services).ingest(
                mailbox, dsn(sent.sender, "5.1.1", "x@y.example"), envelope_from=""
            )
            async with db.transaction() as session:
                conversation = await session.get(Conversation, conversation_id)
                assert conversation is not None
                found = await why_unreachable(session, conversation, services.channels)
            assert found is not None and "bounced" in found.reason
            assert "writes again" in found.reason
            await MailIntake(services).ingest(
                mailbox, mail(message_id="<back@customer.example>", body="I am back")
            )
            async with db.transaction() as session:
                conversation = await session.get(Conversation, conversation_id)
                assert conversation is not None
                assert await why_unreachable(session, conversation, services.channels) is None
