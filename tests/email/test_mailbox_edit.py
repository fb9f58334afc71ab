"""Editing a mailbox in place: only what is given changes, the IMAP password stays unless
a new one is given, a change of IMAP account or folder drops exactly the cursors it makes
meaningless (a new folder is read from its start), the default port follows TLS, and an
edit that could not have been added is refused with nothing changed. Admins edit their
own organization's mailboxes only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from email_channel.mailbox_edit import edit_mailbox
from email_channel.mailboxes import describe
from email_channel.models import ImapCursor, Mailbox, SentCursor
from gateway.db import Database
from gateway.errors import BadInput, NotFound
from gateway.models import Organization
from tests.email.helpers import SUPPORT, support_mailbox

PASSWORD = "imap-secret-99"


async def cursors(db: Database) -> tuple[bool, bool]:
    async with db.transaction() as session:
        imap = await session.scalar(select(ImapCursor.mailbox_id))
        sent = await session.scalar(select(SentCursor.mailbox_id))
    return imap is not None, sent is not None


async def read_at(db: Database, mailbox_id: int, uid: int) -> None:
    async with db.transaction() as session:
        for model in (ImapCursor, SentCursor):
            session.add(model(mailbox_id=mailbox_id, uidvalidity=7, last_uid=uid))


async def stored(db: Database) -> Mailbox:
    async with db.transaction() as session:
        row = await session.scalar(select(Mailbox))
    assert row is not None
    return row


async def test_an_edit_changes_what_it_names_and_forgets_what_it_invalidates(
    db: Database, org: Organization, other_org: Organization
) -> None:
    mailbox = await support_mailbox(
        db, org, imap_host="imap.shop.example", imap_password=PASSWORD, imap_sent_folder="Sent"
    )
    await read_at(db, mailbox.id, 40)

    await edit_mailbox(db, SUPPORT, {"display_name": "Help", "verify_dkim": True})
    row = await stored(db)
    assert (row.display_name, row.verify_dkim, row.imap_password) == ("Help", True, PASSWORD)
    assert await cursors(db) == (True, True)  # nothing about reading changed

    await edit_mailbox(db, SUPPORT, {"imap_folder": "Support"})
    assert await cursors(db) == (False, True)  # the new folder is read from its start
    async with db.transaction() as session:
        session.add(ImapCursor(mailbox_id=mailbox.id, uidvalidity=9, last_uid=3))
    await edit_mailbox(db, SUPPORT, {"imap_host": "mail.example.net"})
    assert await cursors(db) == (False, False)  # another server: both folders anew

    await edit_mailbox(db, SUPPORT, {"imap_tls": False})
    row = await stored(db)
    assert (row.imap_port, row.imap_tls, row.imap_password) == (143, False, PASSWORD)
    assert PASSWORD not in str(describe(row))
    await edit_mailbox(db, SUPPORT, {"imap_port": 1143})
    await edit_mailbox(db, SUPPORT, {"imap_tls": True})
    assert (await stored(db)).imap_port == 1143  # a port of one's own stays
    await edit_mailbox(db, SUPPORT, {"imap_tls": False, "imap_port": 143})

    before = describe(await stored(db))
    refused = [
        ({"imap_processed_folder": "Support"}, "must differ from the folder read"),
        ({"imap_port": 70000}, "between 1 and 65535"),
        ({"imap_host": None}, "a processed or Sent folder needs IMAP settings"),
        ({"trusted_relays": ["not an ip"]}, "not an IP address"),
        ({"address": "other@shop.example"}, "not a mailbox setting"),
    ]
    for changes, says in refused:
        with pytest.raises(BadInput, match=says):
            await edit_mailbox(db, SUPPORT, changes)
    with pytest.raises(BadInput, match="IMAP settings, inbound SMTP delivery, or both"):
        await edit_mailbox(db, SUPPORT, {"smtp": False}, without_imap=True)
    assert describe(await stored(db)) == before
    with pytest.raises(NotFound):
        await edit_mailbox(db, SUPPORT, {"display_name": "x"}, organization_id=other_org.id)

    await edit_mailbox(db, SUPPORT, {}, without_imap=True)
    row = await stored(db)
    assert row.imap_host is None and row.imap_password is None and row.imap_sent_folder is None
    assert row.smtp_enabled and describe(row)["imap"] is None
