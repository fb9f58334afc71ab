"""Editing a mailbox in place (`switchboard mailbox edit`, the admin API's PATCH): the
changes given are laid over the stored settings and the whole is checked as adding a
mailbox checks it, so an edit can never leave a mailbox that could not have been added.
The address is the mailbox's name and does not change (remove and add for a new one).

What is not given stays: an IMAP password is kept unless a new one is given (and never
returned), and moving a mailbox to IMAP needs one. When the IMAP account or folder read
changes (host, port, user or folder), its UID cursor is dropped in the same transaction:
UIDs count only within one folder of one server, so the new folder is read as a newly
added mailbox's is, and a mail already stored is not stored again (intake's key). The
Sent folder's cursor likewise. The IMAP intake picks the new settings up at its next
look at the mailbox list."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from sqlalchemy import delete

from email_channel.mailbox_lookup import mailbox_named
from email_channel.mailboxes import MailboxSettings, columns, settings_of
from email_channel.models import ImapCursor, Mailbox, SentCursor
from gateway.db import Database
from gateway.errors import BadInput

NAMES = frozenset(field.name for field in fields(MailboxSettings))


async def edit_mailbox(
    db: Database,
    address: str,
    changes: dict[str, Any],
    *,
    organization_id: int | None = None,
    without_imap: bool = False,
) -> Mailbox:
    """Apply `changes` (MailboxSettings field names; `without_imap` drops the IMAP
    settings first) to the mailbox at `address`, of `organization_id` when given."""
    unknown = sorted(set(changes) - NAMES)
    if unknown:
        raise BadInput(f"{unknown[0][:60]!r} is not a mailbox setting")
    if "trusted_relays" in changes:
        changes = {**changes, "trusted_relays": tuple(changes["trusted_relays"] or ())}
    async with db.transaction() as session:
        row = await mailbox_named(session, address, organization_id)
        before = settings_of(row)
        base = before
        if without_imap:
            base = replace(
                base,
                imap_host=None,
                imap_port=None,
                imap_user=None,
                imap_password=None,
                imap_folder="INBOX",
                imap_processed_folder=None,
                imap_sent_folder=None,
            )
        default_port = 993 if base.imap_tls else 143
        tls_changed = changes.get("imap_tls", base.imap_tls) != base.imap_tls
        if tls_changed and "imap_port" not in changes and base.imap_port == default_port:
            base = replace(base, imap_port=None)  # a default port follows TLS; others stay
        values = columns(row.address, replace(base, **changes))
        account = ("imap_host", "imap_port", "imap_user")
        if any(getattr(row, name) != values[name] for name in (*account, "imap_folder")):
            await session.execute(delete(ImapCursor).where(ImapCursor.mailbox_id == row.id))
        if any(getattr(row, name) != values[name] for name in (*account, "imap_sent_folder")):
            await session.execute(delete(SentCursor).where(SentCursor.mailbox_id == row.id))
        for name, value in values.items():
            setattr(row, name, value)
    return row
