"""Building mail for the email tests, and the services and mailbox they run against."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from email_channel.ingest import MailIntake
from email_channel.mailboxes import MailboxInfo, add_mailbox, info
from email_channel.processor import MailProcessor
from gateway.db import Database
from gateway.models import Conversation, Message, Organization
from gateway.runtime import Services
from tests.support.factories import job_services

SUPPORT = "support@shop.example"


def mail(
    sender: str = "carol@customer.example",
    *,
    to: str = SUPPORT,
    subject: str = "Where is my order?",
    body: str = "Hello, my order 1234 has not arrived yet.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Carol <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return bytes(message)


@dataclass(frozen=True)
class Inbound:
    """A running inbound SMTP (or LMTP) server's port and the processor beside it: after
    a delivery, `await processor.process_pending()` waits until the mail is stored."""

    port: int
    processor: MailProcessor


@asynccontextmanager
async def email_services(
    db: Database, redis_url: str, var_dir: Path, **settings: Any
) -> AsyncIterator[Services]:
    async with job_services(db, redis_url, var_dir=var_dir, **settings) as services:
        yield services  # the email channel is among the plug-ins job_services builds


async def support_mailbox(db: Database, org: Organization, **options: Any) -> MailboxInfo:
    return info(await add_mailbox(db, org.id, SUPPORT, display_name="Shop Support", **options))


def intake(services: Services) -> MailIntake:
    return MailIntake(services)


async def messages(db: Database) -> list[Message]:
    async with db.transaction() as session:
        return list((await session.scalars(select(Message).order_by(Message.id))).all())


async def conversations(db: Database) -> list[Conversation]:
    async with db.transaction() as session:
        return list((await session.scalars(select(Conversation).order_by(Conversation.id))).all())
