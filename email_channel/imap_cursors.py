"""The UID cursors of IMAP intake: how far it has read a mailbox's folder (`ImapCursor`)
and its Sent folder (`SentCursor`), each valid only under the folder's UIDVALIDITY.

Two readers of one mailbox can overlap (the reader lock ran out during a long read), so
every write is a compare-and-set in one statement: under one UIDVALIDITY the cursor only
moves forward (a reader that decided on an older value leaves a further one alone), and a
folder is started again only by the first reader that finds its new UIDVALIDITY. A mail
both readers spooled is stored once (intake's key), so an overlap costs a re-read at
most, never a cursor moved back and the folder read again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.models import ImapCursor, SentCursor
from gateway.db import Database, conflict_insert, dialect_of
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


async def reset(db: Database, model: CursorModel, mailbox_id: int, uidvalidity: int) -> int:
    """Start the folder again under its new `uidvalidity`; returns the UID to go on from:
    0, or further when another reader started it again first and has read on since."""
    async with db.transaction() as session:
        await session.execute(
            update(model)
            .where(model.mailbox_id == mailbox_id, model.uidvalidity != uidvalidity)
            .values(uidvalidity=uidvalidity, last_uid=0, updated_at=utcnow())
        )
        last = await session.scalar(
            select(model.last_uid).where(
                model.mailbox_id == mailbox_id, model.uidvalidity == uidvalidity
            )
        )
    return last or 0


def advance(
    model: CursorModel, mailbox_id: int, uidvalidity: int, uid: int
) -> Callable[[AsyncSession], Awaitable[None]]:
    """A step moving the cursor forward to `uid`, run in the transaction that stores the
    mail: never back, and never over a cursor of another UIDVALIDITY."""

    async def step(session: AsyncSession) -> None:
        table = cast(Table, model.__table__)
        statement = conflict_insert(dialect_of(session), table, ("mailbox_id",), ("mailbox_id",))
        row = {"mailbox_id": mailbox_id, "uidvalidity": uidvalidity, "last_uid": uid}
        if (await session.execute(statement, {**row, "updated_at": utcnow()})).first():
            return  # the folder's first cursor
        await session.execute(
            update(model)
            .where(
                model.mailbox_id == mailbox_id,
                model.uidvalidity == uidvalidity,
                model.last_uid < uid,
            )
            .values(last_uid=uid, updated_at=utcnow())
        )

    return step


async def _get(
    session: AsyncSession, model: CursorModel, mailbox_id: int
) -> ImapCursor | SentCursor | None:
    found = await session.get(model, mailbox_id)
    return cast("ImapCursor | SentCursor | None", found)
