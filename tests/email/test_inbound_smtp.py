"""Switchboard's own inbound SMTP server, driven by aiosmtplib: unknown recipients are
refused at RCPT, oversize mail with 552, `250` comes only after the mail is committed to
the spool, a database or Redis failure answers 451 and stores nothing, repeats are
stored once, and the processor stores every spooled mail exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import select

from email_channel import spool as spool_module
from email_channel.ingest import MailIntake
from email_channel.models import MailId, SpooledMail
from email_channel.processor import MailProcessor
from email_channel.smtp_server import inbound_smtp
from gateway.db import Database
from gateway.models import Organization, utcnow
from gateway.runtime import Services
from tests.email.helpers import SUPPORT, Inbound, email_services, mail, messages, support_mailbox
from tests.support.ports import free_port


@pytest.fixture
async def services(db: Database, redis_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    async with email_services(db, redis_url, tmp_path) as built:
        yield built


@pytest.fixture
async def smtp_port(services: Services, org: Organization) -> AsyncIterator[Inbound]:
    await support_mailbox(services.db, org)
    port = free_port()
    async with inbound_smtp(services, "127.0.0.1", port, size_limit=200_000) as processor:
        yield Inbound(port, processor)


async def send(
    inbound: Inbound, raw: bytes, recipients: list[str], sender: str = "carol@customer.example"
):
    """Send over SMTP, then wait until the processor has handled what was spooled."""
    sent = await aiosmtplib.send(
        raw,
        sender=sender,
        recipients=recipients,
        hostname="127.0.0.1",
        port=inbound.port,
        timeout=10,
    )
    await inbound.processor.process_pending()
    return sent


async def spooled(db: Database) -> list[SpooledMail]:
    async with db.transaction() as session:
        return list((await session.scalars(select(SpooledMail))).all())


async def test_a_mail_is_stored_once_and_acknowledged_after_commit(
    services: Services, smtp_port: Inbound
) -> None:
    raw = mail(message_id="<first@customer.example>")
    errors, reply = await send(smtp_port, raw, [SUPPORT])
    assert errors == {}
    assert "Queued as s" in reply
    stored = await messages(services.db)
    assert len(stored) == 1
    assert stored[0].text == "Hello, my order 1234 has not arrived yet."
    assert stored[0].meta["email"]["subject"] == "Where is my order?"
    assert stored[0].attachments == [] and stored[0].author == "customer"
    # The sender retries (it never saw our 250, say): still one message.
    await send(smtp_port, raw, [SUPPORT])
    assert len(await messages(services.db)) == 1


async def test_unknown_recipients_are_refused_at_rcpt_and_nothing_is_relayed(
    services: Services, smtp_port: Inbound
) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(smtp_port, mail(to="someone@elsewhere.example"), ["someone@elsewhere.example"])
    assert refused.value.recipients[0].code == 550
    assert "5.1.1" in refused.value.recipients[0].message
    errors, _ = await send(smtp_port, mail(), [SUPPORT, "victim@elsewhere.example"])
    assert errors["victim@elsewhere.example"].code == 550
    assert len(await messages(services.db)) == 1


async def test_oversize_mail_is_refused_with_552(services: Services, smtp_port: Inbound) -> None:
    huge = mail(body="x" * 300_000)
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await send(smtp_port, huge, [SUPPORT])
    assert refused.value.code == 552
    assert await messages(services.db) == []


async def test_a_database_failure_answers_451_and_stores_nothing(
    services: Services, smtp_port: Inbound, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(session, arrivals):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(spool_module, "spool", broken)
    raw = mail(message_id="<retry@customer.example>")
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await send(smtp_port, raw, [SUPPORT])
    assert refused.value.code == 451
    assert "4.3.0" in refused.value.message
    assert await messages(services.db) == []
    assert await spooled(services.db) == []
    monkeypatch.undo()
    await send(smtp_port, raw, [SUPPORT])
    assert len(await messages(services.db)) == 1


async def test_a_failure_while_processing_keeps_the_mail_until_it_is_stored_once(
    services: Services, smtp_port: Inbound, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(session, organization_id, received, mail) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(MailIntake, "_index", staticmethod(broken))
    errors, reply = await send(smtp_port, mail(message_id="<later@customer.example>"), [SUPPORT])
    assert errors == {} and "Queued as s" in reply  # accepted: the raw mail is ours now
    assert await messages(services.db) == []  # the failed transaction left nothing
    (kept,) = await spooled(services.db)
    assert kept.attempts == 1 and "disk full" in kept.last_error
    monkeypatch.undo()
    async with services.db.transaction() as session:  # due now rather than in a second
        kept_row = await session.get(SpooledMail, kept.id)
        assert kept_row is not None
        kept_row.next_attempt_at = utcnow()
    await smtp_port.processor.process_pending()
    assert len(await messages(services.db)) == 1
    assert await spooled(services.db) == []


async def test_concurrent_sessions_are_committed_together_and_stored_once(
    services: Services, smtp_port: Inbound
) -> None:
    raws = [mail(body=f"Mail {n}", message_id=f"<c{n}@customer.example>") for n in range(12)]
    replies = await asyncio.gather(*(send(smtp_port, raw, [SUPPORT]) for raw in raws))
    assert all(errors == {} and "Queued as s" in reply for errors, reply in replies)
    # Two processors of two processes on one database: each mail is still stored once.
    other = MailProcessor(services)
    await asyncio.gather(other.process_pending(), smtp_port.processor.process_pending())
    assert sorted(m.text for m in await messages(services.db)) == sorted(
        f"Mail {n}" for n in range(12)
    )
    assert await spooled(services.db) == []


async def test_two_processors_racing_for_the_same_spool_store_each_mail_once(
    services: Services, org: Organization
) -> None:
    mailbox = await support_mailbox(services.db, org)
    async with services.db.transaction() as session:
        await spool_module.spool(
            session,
            [
                spool_module.Arrival(mailbox.id, mail(body=f"Mail {n}"), "carol@customer.example")
                for n in range(8)
            ],
        )
    first, second = MailProcessor(services), MailProcessor(services)
    done = await asyncio.gather(first.process_pending(), second.process_pending())
    assert sum(done) >= 8
    assert len(await messages(services.db)) == 8
    assert await spooled(services.db) == []


async def test_same_message_id_from_another_sender_is_another_message(
    services: Services, smtp_port: Inbound
) -> None:
    await send(smtp_port, mail(message_id="<same@x.example>"), [SUPPORT])
    stranger = mail("mallory@evil.example", message_id="<same@x.example>", body="spoof")
    await send(smtp_port, stranger, [SUPPORT], sender="mallory@evil.example")
    stored = await messages(services.db)
    assert [m.text for m in stored] == ["Hello, my order 1234 has not arrived yet.", "spoof"]
    assert stored[0].conversation_id != stored[1].conversation_id


async def test_replies_thread_by_in_reply_to_only_for_the_same_sender(
    services: Services, smtp_port: Inbound
) -> None:
    await send(smtp_port, mail(message_id="<root@customer.example>"), [SUPPORT])
    follow = mail(
        subject="Another thing",
        body="Also, can I change the address?",
        message_id="<second@customer.example>",
        in_reply_to="<root@customer.example>",
    )
    await send(smtp_port, follow, [SUPPORT])
    leaked = mail(
        "mallory@evil.example",
        body="let me in",
        in_reply_to="<root@customer.example>",
        references="<root@customer.example>",
    )
    await send(smtp_port, leaked, [SUPPORT], sender="mallory@evil.example")
    only_references = mail(subject="A new topic", body="new", references="<root@customer.example>")
    await send(smtp_port, only_references, [SUPPORT])
    first, second, third, fourth = await messages(services.db)
    assert second.conversation_id == first.conversation_id
    assert second.meta["email"]["threaded_by"] == "in-reply-to"
    assert third.conversation_id != first.conversation_id
    assert fourth.conversation_id != first.conversation_id
    async with services.db.transaction() as session:
        indexed = (await session.scalars(select(MailId.header_id))).all()
    assert "root@customer.example" in indexed


@pytest.mark.parametrize(
    ("headers", "sender", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, "carol@customer.example", "auto_reply"),
        ({"X-Autoreply": "yes"}, "carol@customer.example", "auto_reply"),
        ({"X-Autorespond": "1"}, "carol@customer.example", "auto_reply"),
        ({"Precedence": "bulk"}, "news@shop-news.example", "list"),
        ({"List-Id": "<news.example>"}, "news@shop-news.example", "list"),
        ({"Feedback-ID": "a:b:c"}, "news@shop-news.example", "list"),
        ({"X-Loop": "yes"}, "carol@customer.example", "auto_reply"),
        ({}, "no-reply@service.example", "auto_reply"),
        (
            {"Auto-Submitted": "auto-replied", "Subject": "Out of office"},
            "carol@customer.example",
            "out_of_office",
        ),
        ({"X-Switchboard-Conversation": "1"}, "carol@customer.example", "own_loop"),
    ],
)
async def test_automatic_mail_is_stored_flagged_and_never_answered(
    services: Services, smtp_port: Inbound, headers: dict[str, str], sender: str, kind: str
) -> None:
    headers = dict(headers)  # the parameters are shared by both databases' runs
    subject = headers.pop("Subject", "Re: your order")
    await send(smtp_port, mail(sender, subject=subject, headers=headers), [SUPPORT], sender=sender)
    (stored,) = await messages(services.db)
    assert stored.meta["email"]["kind"] == kind
    assert stored.meta["no_reply"] is True
    assert stored.meta["flag"]


async def test_redis_unreachable_answers_451_and_stores_nothing(
    db: Database, org: Organization, tmp_path: Path
) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    async with email_services(db, dead_redis, tmp_path) as broken:
        await support_mailbox(db, org)
        port = free_port()
        async with inbound_smtp(broken, "127.0.0.1", port) as processor:
            with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
                await send(Inbound(port, processor), mail(), [SUPPORT])
    assert (refused.value.code, "4.3.0" in refused.value.message) == (451, True)
    assert await messages(db) == []
    assert await spooled(db) == []
