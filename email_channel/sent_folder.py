"""What IMAP intake does with one mail from a shared mailbox's Sent folder. A reply an
agent sent from the mailbox in their own mail client that continues a conversation is
stored as that agent's reply — sent already, so never sent again — and the AI steps back
(`staff.handle_sent`, the path a staff reply arriving in the inbox takes too). Everything
else there is left alone: Switchboard's own replies (a provider such as Gmail files mail
sent through it in Sent too; they carry our headers), new mail to people who are no
customers, automatic mail. The folder's cursor moves in the same transaction either way."""

from __future__ import annotations

import email.utils
from email.parser import BytesHeaderParser
from email.policy import compat32

from email_channel import staff
from email_channel.mailboxes import MailboxInfo
from email_channel.parsed import parse_mail
from email_channel.staff import StaffReply, Step
from gateway.runtime import Services

_HEADERS = BytesHeaderParser(policy=compat32)


class SentFolderIntake:
    def __init__(self, services: Services, mailbox: MailboxInfo) -> None:
        self.services = services
        self.mailbox = mailbox

    async def ingest(self, raw: bytes, step: Step) -> StaffReply | None:
        """Store `raw` if it is an agent's reply; `step` (the cursor) runs regardless."""
        mail = parse_mail(raw, own_domain=self.mailbox.domain)
        secret = self.services.settings.require_secret_key()
        stored = await staff.handle_sent(
            self.services, self.mailbox, mail, secret, step, on_behalf_of=_sender(raw)
        )
        if stored is None:
            async with self.services.db.transaction() as session:
                await step(session)
        return stored


def _sender(raw: bytes) -> str | None:
    """The Sender header's address: who sent a mail "on behalf of" the From address."""
    try:
        value = _HEADERS.parsebytes(raw).get("Sender")
    except Exception:  # a header we cannot read names nobody
        return None
    if not value:
        return None
    found = email.utils.getaddresses([str(value)])
    address = found[0][1].strip().lower() if found else ""
    return address if "@" in address else None
