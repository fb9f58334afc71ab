"""A mailbox's DKIM settings: set (selector and private key, checked first) or removed
with `switchboard mailbox dkim`, read by outbound to sign, and described for people as the
selector and the DNS TXT record to publish. The private key is never part of a
description: no command output or API answer contains it. And whether the mailbox checks
the DKIM signature of agents' own mail itself (`switchboard mailbox verify-dkim`, or the
admin API), turned on or off here."""

from __future__ import annotations

from typing import Any

from email_channel.dkim_signing import DkimKey, check_key, dns_record
from email_channel.mailbox_lookup import mailbox_named
from email_channel.models import Mailbox
from gateway.db import Database


def dkim_key(row: Mailbox) -> DkimKey | None:
    if not row.dkim_selector or not row.dkim_private_key:
        return None
    return DkimKey(row.address.rpartition("@")[2], row.dkim_selector, row.dkim_private_key)


def describe_dkim(row: Mailbox) -> dict[str, str] | None:
    """What to publish for the mailbox's signing key, or None when it signs nothing."""
    key = dkim_key(row)
    if key is None:
        return None
    try:
        record = dns_record(key)
    except Exception:  # a stored key that no longer parses is reported, not raised
        record = ""
    return {"selector": key.selector, "dns_name": key.dns_name, "dns_record": record}


async def set_dkim(
    db: Database, address: str, selector: str | None, private_key: str | None
) -> dict[str, Any]:
    """Sign the mailbox's replies with this key (both None: stop signing); returns the
    description of the new setting (None when off)."""
    checked = check_key(selector or "", private_key or "") if selector or private_key else None
    async with db.transaction() as session:
        row = await mailbox_named(session, address)
        row.dkim_selector, row.dkim_private_key = checked or (None, None)
        return {"address": row.address, "dkim": describe_dkim(row)}


async def set_verify_dkim(
    db: Database, address: str, on: bool, *, organization_id: int | None = None
) -> dict[str, Any]:
    """Turn the mailbox's own DKIM check of agents' mail on or off; returns the address
    and the new setting. `organization_id` keeps an admin to their own mailboxes."""
    async with db.transaction() as session:
        row = await mailbox_named(session, address, organization_id)
        row.verify_dkim = on
        return {"address": row.address, "verify_dkim": on}
