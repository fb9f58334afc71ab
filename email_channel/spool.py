"""The spool: where accepted mail waits, durable, until it is processed. Accepting a mail
is one row with its raw bytes and envelope; the SMTP server answers `250` once that row
is committed, and IMAP intake moves its cursor in the transaction that spools the mails
it fetched. `SpoolWriter` commits the mails of concurrent SMTP sessions together: every
mail that arrives while a transaction is under way goes into the next one, so under load
one commit serves many mails, and each sender still hears `250` only after the commit
that holds its mail (and `451` if that commit fails). Processing (`processor.py`) reads
due rows, and deletes each in the transaction that stores its message."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.models import SpooledMail
from gateway.db import Database
from gateway.models import utcnow

MAX_RETRY_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Arrival:
    """One accepted mail for one mailbox, as it is spooled."""

    mailbox_id: int
    raw: bytes
    envelope_from: str | None = None  # None: read over IMAP, no envelope
    envelope_recipients: tuple[str, ...] = ()
    peer: str | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A spooled mail due for processing."""

    id: int
    mailbox_id: int
    raw: bytes
    envelope_from: str | None
    envelope_recipients: list[str]
    peer: str | None
    attempts: int
    received_at: datetime


class AlreadyProcessed(Exception):
    """Another processor stored this spooled mail first."""


async def spool(
    session: AsyncSession, arrivals: Sequence[Arrival], *, ids: bool = True
) -> list[int]:
    """Insert `arrivals` in the caller's transaction; their row ids, in order (or none,
    with `ids=False`: a plain many-row insert, much cheaper for a large batch)."""
    if not arrivals:
        return []
    now = utcnow()
    rows = [
        {
            "mailbox_id": item.mailbox_id,
            "raw": item.raw,
            "envelope_from": item.envelope_from,
            "envelope_recipients": list(item.envelope_recipients),
            "peer": item.peer,
            "received_at": now,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
        }
        for item in arrivals
    ]
    # Core, not the ORM's bulk insert: this is the `250`'s path, and the ORM's bookkeeping
    # for rows it never loads cost a third of the accepting rate (bench/email_intake.py)
    table = cast(Table, SpooledMail.__table__)
    if not ids:
        await session.execute(insert(table), rows)
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    result = await session.execute(statement, rows)
    return [int(row[0]) for row in result.all()]


async def due(db: Database, limit: int) -> list[Pending]:
    """The oldest spooled mails whose next attempt is due."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(
                    SpooledMail.id,
                    SpooledMail.mailbox_id,
                    SpooledMail.raw,
                    SpooledMail.envelope_from,
                    SpooledMail.envelope_recipients,
                    SpooledMail.peer,
                    SpooledMail.attempts,
                    SpooledMail.received_at,
                )
                .where(SpooledMail.next_attempt_at <= utcnow())
                .order_by(SpooledMail.id)
                .limit(limit)
            )
        ).all()
    return [
        Pending(row[0], row[1], bytes(row[2]), row[3], list(row[4] or []), row[5], row[6], row[7])
        for row in rows
    ]


def claim(spooled_id: int) -> Callable[[AsyncSession], Awaitable[None]]:
    """A step for `MailIntake.ingest`: delete the spooled row in the message's transaction,
    and roll it all back when the row is gone (another processor committed it)."""

    async def step(session: AsyncSession) -> None:
        result = await session.execute(delete(SpooledMail).where(SpooledMail.id == spooled_id))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise AlreadyProcessed(spooled_id)

    return step


async def discard(db: Database, spooled_id: int) -> None:
    async with db.transaction() as session:
        await session.execute(delete(SpooledMail).where(SpooledMail.id == spooled_id))


async def postpone(db: Database, pending: Pending, error: str) -> float:
    """Keep a mail that failed to process for a later attempt (1 s, 2 s, 4 s … 10 min);
    returns the delay in seconds."""
    delay = min(2.0**pending.attempts, MAX_RETRY_SECONDS)
    async with db.transaction() as session:
        await session.execute(
            update(SpooledMail)
            .where(SpooledMail.id == pending.id)
            .values(
                attempts=pending.attempts + 1,
                next_attempt_at=utcnow() + timedelta(seconds=delay),
                last_error=error[:2000],
            )
        )
    return delay


class SpoolWriter:
    """Group commit for the SMTP server: `accept()` returns once the transaction that
    holds the mail has committed, and raises if it failed (nothing of that group is
    stored). `ready` runs before each commit (Redis must answer, so the mail can be
    routed once processed); `committed` runs after each (wake the processor)."""

    def __init__(
        self,
        db: Database,
        *,
        ready: Callable[[], Awaitable[object]] | None = None,
        committed: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.ready = ready
        self.committed = committed
        self._waiting: list[tuple[list[Arrival], asyncio.Future[list[int]]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def accept(self, arrivals: list[Arrival]) -> list[int]:
        """Spool the arrivals of one SMTP transaction (one per mailbox) together."""
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._waiting.append((arrivals, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        await asyncio.sleep(0)  # sessions answered in the same turn of the loop join in
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                if self.ready is not None:
                    await self.ready()
                async with self.db.transaction() as session:
                    ids = await spool(session, [item for arrivals, _ in group for item in arrivals])
            except Exception as error:
                for _, future in group:
                    if not future.done():
                        future.set_exception(error)
                continue
            for arrivals, future in group:
                mine, ids = ids[: len(arrivals)], ids[len(arrivals) :]
                if not future.done():  # a session that went away no longer waits
                    future.set_result(mine)
            if self.committed is not None:
                with contextlib.suppress(Exception):
                    self.committed()
