"""Switchboard's inbound SMTP server (aiosmtpd, served on the running event loop so the
database engine and Redis client stay on their loop). It is never a relay: a recipient
that is not one of the organizations' mailboxes is refused at RCPT with `550 5.1.1`.
`250` is answered once the raw mail is committed to the spool (the sender may then
forget it: it is ours); the processor parses, threads and stores it right after. A
database or Redis failure answers `451 4.3.0` and spools nothing, so the sending server
tries again (processing dedupes the repeat). Concurrent sessions' mails are committed
together (`SpoolWriter`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiosmtpd.smtp import SMTP

from email_channel import health
from email_channel.mailboxes import MailboxInfo, mailbox_for_recipient
from email_channel.processor import MailProcessor
from email_channel.spool import Arrival, SpoolWriter
from gateway.runtime import Services

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 100
DEFAULT_SIZE_LIMIT = 25 * 1024 * 1024
TRY_AGAIN = "451 4.3.0 Try again later"
# A recipient found to be a mailbox is trusted this long without asking the database
# again (a mailbox removed meanwhile loses the mail still spooled for it).
KNOWN_SECONDS = 5.0


class InboundHandler:
    """aiosmtpd handler hooks; one instance serves every connection."""

    def __init__(self, services: Services, on_spooled: Callable[[], None] | None = None) -> None:
        self.db = services.db
        redis = services.events.redis
        self.writer = SpoolWriter(self.db, ready=redis.ping, committed=on_spooled)
        self._known: dict[str, tuple[float, MailboxInfo]] = {}

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            mailbox = await self._mailbox(address)
        except Exception:
            log.exception("looking up the mailbox of a recipient failed")
            return TRY_AGAIN
        if mailbox is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        found: dict[int, MailboxInfo] = getattr(envelope, "switchboard_mailboxes", {})
        found.setdefault(mailbox.id, mailbox)
        envelope.switchboard_mailboxes = found
        # Which mailbox each accepted recipient is (LMTP answers per recipient).
        routes: list[int] = getattr(envelope, "switchboard_routes", [])
        routes.append(mailbox.id)
        envelope.switchboard_routes = routes
        return "250 2.1.5 OK"

    async def _mailbox(self, address: str) -> MailboxInfo | None:
        key = address.strip().lower()
        now = time.monotonic()
        known = self._known.get(key)
        if known is not None and now - known[0] < KNOWN_SECONDS:
            return known[1]
        mailbox = await mailbox_for_recipient(self.db, address)
        if mailbox is None:  # only mailboxes are remembered: a new one works at once
            self._known.pop(key, None)
        else:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[key] = (now, mailbox)
        return mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mailboxes: dict[int, MailboxInfo] = getattr(envelope, "switchboard_mailboxes", {})
        spooled = await self.store(list(mailboxes.values()), session, envelope)
        if spooled is None:
            return TRY_AGAIN
        reference = ",".join(f"s{number}" for number in spooled) or "0"
        return f"250 2.0.0 Queued as {reference}"

    async def store(
        self, mailboxes: list[MailboxInfo], session: Any, envelope: Any
    ) -> list[int] | None:
        """Commit the envelope's mail to the spool, once per mailbox, all in one
        transaction: the spooled rows' ids, or None when it could not be (answer 451)."""
        raw: bytes = envelope.original_content or envelope.content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else None
        arrivals = [
            Arrival(mailbox.id, raw, envelope.mail_from or "", tuple(envelope.rcpt_tos), peer)
            for mailbox in mailboxes
        ]
        try:
            return await self.writer.accept(arrivals)
        except Exception:
            log.exception("could not spool an inbound mail")
            return None


async def start_smtp_server(
    services: Services,
    host: str,
    port: int,
    *,
    on_spooled: Callable[[], None] | None = None,
    hostname: str = "switchboard",
    size_limit: int = DEFAULT_SIZE_LIMIT,
) -> asyncio.Server:
    """Listen on `host:port` on the running loop; close the returned server to stop.
    `on_spooled` runs after each commit that spooled mail (wake the processor)."""
    handler = InboundHandler(services, on_spooled)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            hostname=hostname,
            data_size_limit=size_limit,
            decode_data=False,
            enable_SMTPUTF8=True,
        ),
        host,
        port,
    )


Starter = Callable[..., Awaitable[asyncio.Server]]


@asynccontextmanager
async def inbound_smtp(
    services: Services,
    host: str,
    port: int,
    *,
    processor: MailProcessor | None = None,
    start: Starter | None = None,
    protocol: str = "SMTP",
    **options: Any,
) -> AsyncIterator[MailProcessor]:
    """The SMTP server (or the one `start` starts: LMTP) and a processor for what it
    spools, both stopped on exit; yields the processor (`await
    processor.process_pending()` waits until what is spooled is processed). While it
    listens, /healthz says so (`email_channel.health`)."""
    processor = processor or MailProcessor(services)
    stop = asyncio.Event()
    running = asyncio.create_task(processor.run(stop))
    starter = start or start_smtp_server
    try:
        server = await starter(services, host, port, on_spooled=processor.wake, **options)
        listening = asyncio.Event()
        heartbeat = asyncio.create_task(health.listening(services, protocol, listening))
        try:
            yield processor
        finally:
            listening.set()
            await heartbeat
            server.close()
            await server.wait_closed()
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 30)


def parse_listen(value: str) -> tuple[str, int]:
    """`127.0.0.1:2525` → ('127.0.0.1', 2525)."""
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not 0 < int(port[:6]) < 65536:
        raise ValueError("must look like 127.0.0.1:2525")
    return host.strip("[]") or "127.0.0.1", int(port)
