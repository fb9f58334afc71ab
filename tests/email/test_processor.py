"""The processor stores spooled mail in groups, one commit per group: a reply later in a
group threads to the mail it answers earlier in the same group; a mail that fails makes
its group fall back to one mail at a time, so the others are stored and only it stays
spooled; bounces and agents' mails in a group take their own paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from email_channel.ingest import MailIntake
from email_channel.models import SpooledMail
from email_channel.processor import MailProcessor
from email_channel.spool import Arrival, spool
from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from tests.email.helpers import email_services, mail, messages, support_mailbox


@pytest.fixture
async def services(db: Database, redis_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    async with email_services(db, redis_url, tmp_path) as built:
        yield built


async def spool_mails(services: Services, org: Organization, raws: list[bytes]) -> None:
    mailbox = await support_mailbox(services.db, org)
    async with services.db.transaction() as session:
        await spool(session, [Arrival(mailbox.id, raw, "carol@customer.example") for raw in raws])


async def left(db: Database) -> list[SpooledMail]:
    async with db.transaction() as session:
        return list((await session.scalars(select(SpooledMail))).all())


async def test_a_reply_in_the_same_group_threads_to_the_mail_before_it(
    services: Services, org: Organization
) -> None:
    root = mail(body="My order is late.", message_id="<root@customer.example>")
    reply = mail(
        subject="Re: Where is my order?",
        body="Also, it was a gift.",
        message_id="<reply@customer.example>",
        in_reply_to="<root@customer.example>",
    )
    await spool_mails(services, org, [root, reply, root])  # and a repeat of the first
    assert await MailProcessor(services).process_pending() == 3
    first, second = await messages(services.db)
    assert second.conversation_id == first.conversation_id
    assert second.meta["email"]["threaded_by"] == "in-reply-to"
    assert await left(services.db) == []


async def test_one_failing_mail_leaves_the_rest_of_its_group_stored(
    services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = MailIntake._index

    async def broken_for_one(session, organization_id, received, parsed) -> None:  # type: ignore[no-untyped-def]
        if parsed.message_id == "bad@customer.example":
            raise RuntimeError("disk full")
        await index(session, organization_id, received, parsed)

    monkeypatch.setattr(MailIntake, "_index", staticmethod(broken_for_one))
    raws = [
        mail(body="One", message_id="<one@customer.example>"),
        mail(body="Bad", message_id="<bad@customer.example>"),
        mail(body="Three", message_id="<three@customer.example>"),
    ]
    await spool_mails(services, org, raws)
    assert await MailProcessor(services).process_pending() == 2
    assert [m.text for m in await messages(services.db)] == ["One", "Three"]
    (kept,) = await left(services.db)
    assert kept.attempts == 1 and "disk full" in kept.last_error


async def test_bounces_and_automatic_mail_in_a_group_are_stored_as_such(
    services: Services, org: Organization
) -> None:
    bounce = (
        b"From: MAILER-DAEMON@mx.example\r\nTo: support@shop.example\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn@mx.example>\r\n\r\n"
        b"This is the mail system. <gone@customer.example>: 550 5.1.1 user unknown\r\n"
    )
    raws = [
        mail(body="A person wrote this.", message_id="<p@customer.example>"),
        bounce,
        mail(
            body="Away",
            message_id="<ooo@customer.example>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    ]
    await spool_mails(services, org, raws)
    assert await MailProcessor(services).process_pending() == 3
    stored = await messages(services.db)
    assert [m.meta["email"]["kind"] for m in stored] == ["message", "auto_reply"]
    assert await left(services.db) == []
