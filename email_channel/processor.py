"""Processing of spooled mail: each accepted mail is parsed, threaded and stored through
`MailIntake.ingest` exactly once. The spooled row is deleted in the transaction that
stores the message, so a crash before that commit leaves the row to process again and
one after it leaves nothing; two processors racing for one row (two processes on one
database) end with one commit, the other rolls back. A mail that fails to process stays
spooled with the error and is tried again with back-off: accepted mail is never dropped.
An unconfirmed copy of an agent's reply on a mailbox that watches its Sent folder is put
back the same way, for up to `SENT_COPY_WAIT`, until the Sent copy shows it is the
agent's (`staff.AwaitingSentCopy`); after that it is stored as any unconfirmed mail is.

The processor runs beside whatever accepts mail (the SMTP server, IMAP intake), woken
after each commit that spooled something, and looks for due rows every `poll_seconds`
anyway (retries, rows left by a stopped process). Accepting comes first: while mail keeps
arriving (a commit less than `QUIET_SECONDS` ago) the processor waits before its next
group, so senders are answered promptly during a burst; it still stores a group at least
every `MAX_DEFER_SECONDS`, so processing never stops under a steady flood."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.dkim_verify import DkimVerifier
from email_channel.ingest import MailIntake
from email_channel.mailboxes import MailboxInfo, info
from email_channel.models import Mailbox
from email_channel.spool import AlreadyProcessed, Pending, claim, discard, due, postpone
from email_channel.staff import AwaitingSentCopy
from email_channel.together import Incoming, ingest_together
from gateway.db import Database
from gateway.models import utcnow
from gateway.runtime import Services

log = logging.getLogger(__name__)

BATCH = 50  # rows read per query
GROUP = 10  # mails stored per commit: more would hold SQLite's write lock too long
QUIET_SECONDS = 0.05
MAX_DEFER_SECONDS = 1.0
BUSY_GROUP = 2  # mails stored after MAX_DEFER_SECONDS while mail keeps arriving
# How long an unconfirmed copy of an agent's reply waits for the copy in the Sent folder.
SENT_COPY_WAIT = timedelta(minutes=10)
AWAITING_SENT = "a mail from an agent's address waits for its copy in the Sent folder"


class MailProcessor:
    def __init__(
        self,
        services: Services,
        *,
        poll_seconds: float = 30.0,
        dkim: DkimVerifier | None = None,
    ) -> None:
        self.services = services
        self.mail_intake = MailIntake(services, dkim=dkim)
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._turn = asyncio.Lock()  # one pass at a time in this process
        self._stop = asyncio.Event()
        self._arrived = 0.0  # when mail was last spooled (monotonic)
        self._stored = time.monotonic()  # when the last group was stored

    def wake(self) -> None:
        """New mail was spooled: process it soon."""
        self._arrived = time.monotonic()
        self._wake.set()

    async def _give_way(self) -> int:
        """Wait while mail is arriving, up to `MAX_DEFER_SECONDS` after the last group;
        returns how many mails to store now (a few only, when mail is still arriving)."""
        while not self._stop.is_set():
            now = time.monotonic()
            if now - self._arrived >= QUIET_SECONDS:
                return GROUP
            if now - self._stored >= MAX_DEFER_SECONDS:
                return BUSY_GROUP
            await asyncio.sleep(QUIET_SECONDS)
        return 0

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
                size = await self._give_way()
                batch = await due(self.services.db, BATCH)
                if not batch or self._stop.is_set():
                    return done
                while batch:
                    if self._stop.is_set():
                        return done
                    group: list[tuple[MailboxInfo, Pending]] = []
                    for pending in batch[:size]:
                        if pending.mailbox_id not in mailboxes:
                            mailboxes[pending.mailbox_id] = await _mailbox(
                                self.services.db, pending.mailbox_id
                            )
                        mailbox = mailboxes[pending.mailbox_id]
                        if mailbox is not None:  # else removed meanwhile, with its spool
                            group.append((mailbox, pending))
                    batch = batch[size:]
                    done += await self._process_group(group)
                    self._stored = time.monotonic()
                    if batch:
                        size = await self._give_way()

    async def _process_group(self, group: list[tuple[MailboxInfo, Pending]]) -> int:
        """One commit for the group's plain mails, then the others one by one; the whole
        group one by one if that commit fails."""
        incoming = [
            Incoming(
                mailbox,
                pending.raw,
                pending.envelope_from,
                pending.envelope_recipients,
                claim(pending.id),
            )
            for mailbox, pending in group
        ]
        try:
            results = await ingest_together(self.mail_intake, incoming)
        except Exception:
            log.info("a group of spooled mails failed together; processing them one by one")
            results = [None] * len(group)
        done = 0
        for (mailbox, pending), result in zip(group, results, strict=True):
            done += 1 if result is not None else await self._process(mailbox, pending)
        return done

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
                await_sent=utcnow() - pending.received_at < SENT_COPY_WAIT,
            )
        except AlreadyProcessed:
            return 1
        except AwaitingSentCopy:
            delay = await postpone(self.services.db, pending, AWAITING_SENT)
            log.info("%s: %s; looking again in %.0f s", mailbox.address, AWAITING_SENT, delay)
            return 0
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
