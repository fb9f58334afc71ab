"""Email on the queue page, as the tests set it up: a support mailbox for the running
system's organization, a customer's mail taken in through the channel's own intake, and an
admin's page open on its conversation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Page

from email_channel.ingest import Ingested, MailIntake
from email_channel.mailboxes import MailboxInfo, add_mailbox, info
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import agent_page
from tests.email.helpers import email_services

SUPPORT = "support@shop.example"


@dataclass(frozen=True, slots=True)
class OpenMail:
    page: Page
    mailbox: MailboxInfo
    received: Ingested


async def deliver(
    system: RunningSystem, tmp_path: Path, mailbox: MailboxInfo, raw: bytes
) -> Ingested:
    """Take one raw mail in through the channel's intake."""
    async with email_services(system.db, system.redis_url, tmp_path) as services:
        return await MailIntake(services).ingest(mailbox, raw)


async def open_mail(
    system: RunningSystem, browser: Browser, tmp_path: Path, raw: bytes
) -> OpenMail:
    """Deliver `raw` to a new support mailbox and open its conversation as the admin."""
    mailbox = info(await add_mailbox(system.db, system.org.id, SUPPORT))
    received = await deliver(system, tmp_path, mailbox, raw)
    page = await agent_page(browser, system.url, system.admin.email)
    await page.goto(f"{system.url}/queue/conversations/{received.conversation_id}")
    return OpenMail(page, mailbox, received)
