"""The UID cursors of IMAP intake: how far it has read a mailbox's folder (`ImapCursor`)
and its Sent folder (`SentCursor`), each valid only under the folder's UIDVALIDITY."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.models import ImapCursor, SentCursor
from gateway.db import Database
from gateway.models import utcnow

CursorModel = type[ImapCursor] | type[SentCursor]


async def read(db: Database, model: CursorModel, mailbox_id: int, uidvalidity: int) -> int | None:
    """The last UID stored under `uidvalidity`: 0 for a new mailbox, None when the
    folder's UIDVALIDITY changed."""
    async with db.transaction() as session:
        cursor = await _get(session, model, mailbox_id)
    if cursor is None:
        return 0
    return cursor.last_uid if cursor.uidvalidity == uidvalidity else None


async def reset(db: Database, model: CursorModel, mailbox_id: int, uidvalidity: int) -> None:
    async with db.transaction() as session:
        cursor = await _get(session, model, mailbox_id)
        if cursor is not None:
            cursor.uidvalidity, cursor.last_uid, cursor.updated_at = uidvalidity, 0, utcnow()


def advance(
    model: CursorModel, mailbox_id: int, uidvalidity: int, uid: int
) -> Callable[[AsyncSession], Awaitable[None]]:
    """A step moving the cursor to `uid`, run in the transaction that stores the mail."""

    async def step(session: AsyncSession) -> None:
        cursor = await _get(session, model, mailbox_id)
        if cursor is None:
            session.add(model(mailbox_id=mailbox_id, uidvalidity=uidvalidity, last_uid=uid))
        elif cursor.uidvalidity != uidvalidity or cursor.last_uid < uid:
            cursor.uidvalidity, cursor.last_uid, cursor.updated_at = uidvalidity, uid, utcnow()

    return step


async def _get(
    session: AsyncSession, model: CursorModel, mailbox_id: int
) -> ImapCursor | SentCursor | None:
    found = await session.get(model, mailbox_id)
    return cast("ImapCursor | SentCursor | None", found)
