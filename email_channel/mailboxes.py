"""Managing an organization's mailboxes (the `switchboard mailbox` commands and the admin
API share these functions) and finding the mailbox a recipient address belongs to. The
IMAP password is stored for the intake to log in with, and never shown, nor is a DKIM
private key: `describe()` is the only view of a mailbox that leaves this module."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.dkim_config import describe_dkim
from email_channel.models import Mailbox
from email_channel.tokens import base_address
from gateway.db import Database
from gateway.errors import BadInput, Conflict, NotFound

_ADDRESS = re.compile(r"^[a-z0-9!#$%&'*/=?^_`{|}~.-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    """A mailbox as intake needs it (a plain value, safe across sessions)."""

    id: int
    organization_id: int
    address: str
    display_name: str
    trusted_authserv_id: str | None = None
    trusted_relays: tuple[str, ...] = ()
    verify_dkim: bool = False  # authenticate agents' own mail by their domain's signature
    reads_sent: bool = False  # IMAP intake watches its Sent folder for agents' replies

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class ImapAccess:
    mailbox: MailboxInfo
    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str
    processed_folder: str | None = None
    sent_folder: str | None = None


def info(row: Mailbox) -> MailboxInfo:
    return MailboxInfo(
        row.id,
        row.organization_id,
        row.address,
        row.display_name,
        row.trusted_authserv_id,
        tuple(str(relay) for relay in row.trusted_relays or ()),
        bool(row.verify_dkim),
        bool(row.imap_host and row.imap_sent_folder),
    )


def normalize_address(raw: str) -> str:
    address = raw.strip().lower()
    if not _ADDRESS.match(address) or "+" in address.partition("@")[0] or len(address) > 254:
        raise BadInput(f"{raw!r} is not a plain email address (like support@shop.example)")
    return address


def describe(row: Mailbox) -> dict[str, Any]:
    """A mailbox for people to read: everything but the password."""
    imap = None
    if row.imap_host:
        imap = {
            "host": row.imap_host,
            "port": row.imap_port,
            "tls": row.imap_tls,
            "user": row.imap_user,
            "folder": row.imap_folder,
            "processed_folder": row.imap_processed_folder,
            "sent_folder": row.imap_sent_folder,
            "password_set": bool(row.imap_password),
        }
    return {
        "id": row.id,
        "address": row.address,
        "display_name": row.display_name,
        "smtp": row.smtp_enabled,
        "imap": imap,
        "trusted_authserv_id": row.trusted_authserv_id,
        "trusted_relays": list(row.trusted_relays or []),
        "verify_dkim": bool(row.verify_dkim),
        "dkim": describe_dkim(row),
    }


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    """Everything about a mailbox but its address and organization, as given by a person
    (`columns` checks it): what adding takes, and what an edit changes part of."""

    display_name: str = ""
    smtp: bool = True
    imap_host: str | None = None
    imap_port: int | None = None
    imap_tls: bool = True
    imap_user: str | None = None
    imap_password: str | None = None
    imap_folder: str = "INBOX"
    imap_processed_folder: str | None = None
    imap_sent_folder: str | None = None
    trusted_authserv_id: str | None = None
    trusted_relays: tuple[str, ...] = ()
    verify_dkim: bool = False


def settings_of(row: Mailbox) -> MailboxSettings:
    return MailboxSettings(
        row.display_name,
        row.smtp_enabled,
        row.imap_host,
        row.imap_port,
        row.imap_tls,
        row.imap_user,
        row.imap_password,
        row.imap_folder,
        row.imap_processed_folder,
        row.imap_sent_folder,
        row.trusted_authserv_id,
        tuple(str(relay) for relay in row.trusted_relays or ()),
        bool(row.verify_dkim),
    )


def columns(address: str, given: MailboxSettings) -> dict[str, Any]:
    """The mailbox's columns from `given`, checked (BadInput in plain words otherwise)."""
    imap_host, imap_port, imap_user = given.imap_host, given.imap_port, given.imap_user
    if imap_host is not None:
        imap_host = imap_host.strip()
        if not imap_host or any(char in imap_host for char in " /@"):
            raise BadInput("the IMAP host must be a host name such as imap.gmail.com")
        if not given.imap_password:
            raise BadInput("an IMAP mailbox needs its password")
        imap_port = imap_port or (993 if given.imap_tls else 143)
        if not 1 <= imap_port <= 65535:
            raise BadInput("the IMAP port must be between 1 and 65535")
        imap_user = (imap_user or address).strip()
    imap_folder = (given.imap_folder or "INBOX").strip() or "INBOX"
    imap_processed_folder = _folder(given.imap_processed_folder, "processed")
    imap_sent_folder = _folder(given.imap_sent_folder, "Sent")
    if imap_host is None and (imap_processed_folder or imap_sent_folder):
        raise BadInput("a processed or Sent folder needs IMAP settings")
    if imap_sent_folder and imap_sent_folder == imap_processed_folder:
        raise BadInput("the processed folder cannot be the Sent folder")
    if imap_folder in (imap_processed_folder, imap_sent_folder):
        raise BadInput("the processed and Sent folders must differ from the folder read")
    if not given.smtp and imap_host is None:
        raise BadInput("a mailbox needs IMAP settings, inbound SMTP delivery, or both")
    return {
        "display_name": given.display_name.strip()[:200],
        "smtp_enabled": given.smtp,
        "imap_host": imap_host,
        "imap_port": imap_port if imap_host is not None else None,
        "imap_tls": given.imap_tls,
        "imap_user": imap_user if imap_host is not None else None,
        "imap_password": given.imap_password if imap_host is not None else None,
        "imap_folder": imap_folder,
        "imap_processed_folder": imap_processed_folder,
        "imap_sent_folder": imap_sent_folder,
        "trusted_authserv_id": (given.trusted_authserv_id or "").strip().lower() or None,
        "trusted_relays": [_relay(relay) for relay in given.trusted_relays],
        "verify_dkim": given.verify_dkim,
    }


async def add_mailbox(
    db: Database,
    organization_id: int,
    address: str,
    *,
    display_name: str = "",
    smtp: bool = True,
    imap_host: str | None = None,
    imap_port: int | None = None,
    imap_tls: bool = True,
    imap_user: str | None = None,
    imap_password: str | None = None,
    imap_folder: str = "INBOX",
    imap_processed_folder: str | None = None,
    imap_sent_folder: str | None = None,
    trusted_authserv_id: str | None = None,
    trusted_relays: list[str] | None = None,
    verify_dkim: bool = False,
) -> Mailbox:
    address = normalize_address(address)
    given = MailboxSettings(
        display_name,
        smtp,
        imap_host,
        imap_port,
        imap_tls,
        imap_user,
        imap_password,
        imap_folder,
        imap_processed_folder,
        imap_sent_folder,
        trusted_authserv_id,
        tuple(trusted_relays or ()),
        verify_dkim,
    )
    values = columns(address, given)
    async with db.transaction() as session:
        taken = await session.scalar(select(Mailbox.id).where(Mailbox.address == address))
        if taken is not None:
            raise Conflict(f"the mailbox {address} is already registered")
        row = Mailbox(organization_id=organization_id, address=address, **values)
        session.add(row)
    return row


def _folder(raw: str | None, what: str) -> str | None:
    folder = (raw or "").strip()
    if len(folder) > 255 or not folder.isascii() or any(c in folder for c in '\r\n"*%\\'):
        raise BadInput(f"the {what} folder must be a plain folder name, like Switchboard/Done")
    return folder or None


def _relay(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise BadInput(f"{raw!r} is not an IP address") from None


async def list_mailboxes(db: Database, organization_id: int | None = None) -> list[Mailbox]:
    async with db.transaction() as session:
        query = select(Mailbox).order_by(Mailbox.address)
        if organization_id is not None:
            query = query.where(Mailbox.organization_id == organization_id)
        return list((await session.scalars(query)).all())


async def remove_mailbox(db: Database, address: str, organization_id: int | None = None) -> str:
    address = address.strip().lower()
    async with db.transaction() as session:
        query = delete(Mailbox).where(Mailbox.address == address)
        if organization_id is not None:
            query = query.where(Mailbox.organization_id == organization_id)
        removed = await session.execute(query)
        if removed.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound(f"no mailbox {address}")
    return address


async def mailbox_for_recipient(db: Database, recipient: str) -> MailboxInfo | None:
    """The mailbox that receives mail for `recipient` by SMTP (plus tags allowed)."""
    address = base_address(recipient)
    async with db.transaction() as session:
        row = await session.scalar(
            select(Mailbox).where(Mailbox.address == address, Mailbox.smtp_enabled.is_(True))
        )
    return None if row is None else info(row)


async def reply_inbox(session: AsyncSession, organization_id: int) -> str | None:
    """The organization's first mailbox: agents' replies to notification mails go there
    (by SMTP or IMAP, whichever brings its mail in)."""
    address: str | None = await session.scalar(
        select(Mailbox.address)
        .where(Mailbox.organization_id == organization_id)
        .order_by(Mailbox.id)
        .limit(1)
    )
    return address


async def imap_mailboxes(db: Database) -> list[ImapAccess]:
    async with db.transaction() as session:
        rows = (await session.scalars(select(Mailbox).where(Mailbox.imap_host.is_not(None)))).all()
    return [
        ImapAccess(
            info(row),
            row.imap_host or "",
            row.imap_port or 993,
            row.imap_tls,
            row.imap_user or row.address,
            row.imap_password or "",
            row.imap_folder,
            row.imap_processed_folder,
            row.imap_sent_folder,
        )
        for row in rows
    ]
