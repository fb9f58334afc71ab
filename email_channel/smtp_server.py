"""Switchboard's inbound SMTP server (aiosmtpd, served on the running event loop so the
database engine and Redis client stay on their loop). It is never a relay: a recipient
that is not one of the organizations' mailboxes is refused at RCPT with `550 5.1.1`.
`250` is answered only once the mail is committed; a database or Redis failure answers
`451 4.3.0` so the sending server tries again (intake's dedupe absorbs the repeat)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP
from sqlalchemy import select

from email_channel.ingest import MailIntake
from email_channel.mailboxes import MailboxInfo, mailbox_for_recipient
from email_channel.parsed import parse_mail
from gateway.models import Message

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 100
DEFAULT_SIZE_LIMIT = 25 * 1024 * 1024
TRY_AGAIN = "451 4.3.0 Try again later"


class InboundHandler:
    """aiosmtpd handler hooks; one instance serves every connection."""

    def __init__(self, mail_intake: MailIntake) -> None:
        self.mail_intake = mail_intake
        self.db = mail_intake.services.db

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            mailbox = await mailbox_for_recipient(self.db, address)
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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stored: list[int] = []
        for mailbox in getattr(envelope, "switchboard_mailboxes", {}).values():
            outcome = await self.store(mailbox, session, envelope)
            if outcome is None:
                return TRY_AGAIN
            stored.extend(outcome)
        reference = ",".join(str(number) for number in stored) or "0"
        return f"250 2.0.0 Queued as {reference}"

    async def store(self, mailbox: MailboxInfo, session: Any, envelope: Any) -> list[int] | None:
        """Commit the envelope's mail to one mailbox: the stored message's id (none for a
        bounce or a repeat), or None when it could not be stored (answer 451)."""
        raw: bytes = envelope.original_content or envelope.content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else None
        try:
            await self.mail_intake.services.events.redis.ping()
            ingested = await self.mail_intake.ingest(
                mailbox,
                raw,
                envelope_from=envelope.mail_from or "",
                envelope_recipients=list(envelope.rcpt_tos),
                peer=peer,
            )
        except Exception:
            if await self._committed(mailbox, raw, envelope.mail_from or ""):
                # Committed, only the routing job could not be queued: the reconciler
                # routes it, so the sender must not send it again.
                log.exception("mail stored but not yet routed; the reconciler will")
                return []
            log.exception("could not store an inbound mail for %s", mailbox.address)
            return None
        return [] if ingested.message_id is None else [ingested.message_id]

    async def _committed(self, mailbox: MailboxInfo, raw: bytes, envelope_from: str) -> bool:
        try:
            mail = parse_mail(raw, own_domain=mailbox.domain, envelope_from=envelope_from)
            if mail.kind == "bounce":
                return False
            async with self.db.transaction() as session:
                found = await session.scalar(
                    select(Message.id).where(
                        Message.organization_id == mailbox.organization_id,
                        Message.channel == "email",
                        Message.provider_message_id == mail.provider_id(),
                    )
                )
            return found is not None
        except Exception:
            return False


async def start_smtp_server(
    mail_intake: MailIntake,
    host: str,
    port: int,
    *,
    hostname: str = "switchboard",
    size_limit: int = DEFAULT_SIZE_LIMIT,
) -> asyncio.Server:
    """Listen on `host:port` on the running loop; close the returned server to stop."""
    handler = InboundHandler(mail_intake)
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


def parse_listen(value: str) -> tuple[str, int]:
    """`127.0.0.1:2525` → ('127.0.0.1', 2525)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must look like 127.0.0.1:2525")
    return host.strip("[]") or "127.0.0.1", int(port)
