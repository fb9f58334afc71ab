"""Switchboard's intake as an LMTP server (RFC 2033), for running behind Postfix or another
mail server that delivers to it with `lmtp:inet:HOST:PORT`. It is the inbound SMTP
server's intake with LMTP's one difference: after DATA it answers once per accepted
recipient, in RCPT order, so the mail server knows for each recipient whether the mail
was committed to the spool (`250`, only after the commit) or must be tried again
(`451 4.3.0`); the processor stores it after, as for SMTP.
Recipients are checked at RCPT exactly as over SMTP (`550 5.1.1` for an address that is
no mailbox here), and oversize mail is refused with `552` for every recipient. LMTP has no
authentication: listen on loopback (or a private network the mail server alone reaches)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, AnyStr

from aiosmtpd.lmtp import LMTP

from email_channel.mailboxes import MailboxInfo
from email_channel.smtp_server import DEFAULT_SIZE_LIMIT, TRY_AGAIN, InboundHandler
from gateway.runtime import Services


class LmtpHandler(InboundHandler):
    """The SMTP handler's hooks, with one DATA reply per accepted recipient."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mailboxes: dict[int, MailboxInfo] = getattr(envelope, "switchboard_mailboxes", {})
        replies: dict[int, str] = {}
        for key, mailbox in mailboxes.items():
            stored = await self.store([mailbox], session, envelope)
            if stored is None:
                replies[key] = TRY_AGAIN
            else:
                replies[key] = f"250 2.0.0 Queued as {','.join(f's{n}' for n in stored) or '0'}"
        # Two addresses of one mailbox (support@ and a support+tag@) share its outcome.
        routes: list[int] = getattr(envelope, "switchboard_routes", [])
        return "\r\n".join(replies[key] for key in routes)


class SwitchboardLMTP(LMTP):
    """aiosmtpd's LMTP, which sends one reply where LMTP wants one per recipient when it
    refuses the data itself (too large, a line too long): repeat that reply for each."""

    _data_reply_due = False

    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else str(status)
        if text.startswith("354"):
            self._data_reply_due = True
        elif self._data_reply_due:
            self._data_reply_due = False
            count = len(self.envelope.rcpt_tos) if self.envelope is not None else 1
            if "\r\n" not in text and count > 1:
                text = "\r\n".join([text] * count)
        await super().push(text)


async def start_lmtp_server(
    services: Services,
    host: str,
    port: int,
    *,
    on_spooled: Callable[[], None] | None = None,
    hostname: str = "switchboard",
    size_limit: int = DEFAULT_SIZE_LIMIT,
) -> asyncio.Server:
    """Listen for LMTP on `host:port` on the running loop; close the returned server to
    stop. `on_spooled` runs after each commit that spooled mail (wake the processor)."""
    handler = LmtpHandler(services, on_spooled)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SwitchboardLMTP(
            handler,
            hostname=hostname,
            data_size_limit=size_limit,
            decode_data=False,
            enable_SMTPUTF8=True,
        ),
        host,
        port,
    )
