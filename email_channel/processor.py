"""Processing of spooled mail: each accepted mail is parsed, threaded and stored through
`MailIntake.ingest` exactly once. The spooled row is deleted in the transaction that
stores the message, so a crash before that commit leaves the row to process again and
one after it leaves nothing; two processors racing for one row (two processes on one
database) end with one commit, the other rolls back. A mail that fails to process stays
spooled with the error and is tried again with back-off: accepted mail is never dropped.

The processor runs beside whatever accepts mail (the SMTP server, IMAP intake), woken
after each commit that spooled something, and looks for due rows every `poll_seconds`
anyway (retries, rows left by a stopped process)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.ingest import MailIntake
from email_channel.mailboxes import MailboxInfo, info
from email_channel.models import Mailbox
from email_channel.spool import AlreadyProcessed, Pending, claim, discard, due, postpone
from gateway.db import Database
from gateway.runtime import Services

log = logging.getLogger(__name__)

BATCH = 50  # rows read per query


class MailProcessor:
    def __init__(self, services: Services, *, poll_seconds: float = 30.0) -> None:
        self.services = services
        self.mail_intake = MailIntake(services)
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._turn = asyncio.Lock()  # one pass at a time in this process
        self._stop = asyncio.Event()

    def wake(self) -> None:
        """New mail was spooled: process it soon."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Process spooled mail until `stop` is set (a pass under way ends after the mail
        it is processing)."""
        self._stop = stop
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.process_pending()
            except Exception:
                log.exception("processing spooled mail failed; trying again")
            waiters = [asyncio.ensure_future(event.wait()) for event in (stop, self._wake)]
            try:
                await asyncio.wait(
                    waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()

    async def process_pending(self) -> int:
        """Process every spooled mail that is due, oldest first; returns how many were
        stored (or found already stored). Mails that fail are postponed, not counted."""
        async with self._turn:
            done = 0
            mailboxes: dict[int, MailboxInfo | None] = {}
            while True:
                batch = await due(self.services.db, BATCH)
                if not batch:
                    return done
                for pending in batch:
                    if self._stop.is_set():
                        return done
                    if pending.mailbox_id not in mailboxes:
                        mailboxes[pending.mailbox_id] = await _mailbox(
                            self.services.db, pending.mailbox_id
                        )
                    mailbox = mailboxes[pending.mailbox_id]
                    if mailbox is None:  # removed meanwhile: its spool went with it
                        continue
                    done += await self._process(mailbox, pending)
                    await asyncio.sleep(0)  # let the listeners answer their senders

    async def _process(self, mailbox: MailboxInfo, pending: Pending) -> int:
        step = claim(pending.id)
        claimed = False

        async def claiming(session: AsyncSession) -> None:
            nonlocal claimed
            await step(session)
            claimed = True

        try:
            await self.mail_intake.ingest(
                mailbox,
                pending.raw,
                envelope_from=pending.envelope_from,
                envelope_recipients=pending.envelope_recipients,
                peer=pending.peer,
                step=claiming,
            )
        except AlreadyProcessed:
            return 1
        except Exception as error:
            delay = await postpone(self.services.db, pending, _describe(error))
            log.exception(
                "could not process a mail for %s (attempt %d); trying again in %.0f s",
                mailbox.address,
                pending.attempts + 1,
                delay,
            )
            return 0
        if not claimed:  # a path that stored nothing new (a repeated staff reply)
            await discard(self.services.db, pending.id)
        return 1


async def _mailbox(db: Database, mailbox_id: int) -> MailboxInfo | None:
    async with db.transaction() as session:
        row = await session.get(Mailbox, mailbox_id)
    return None if row is None else info(row)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]
