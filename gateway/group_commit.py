"""Group commit for intake: the messages that arrive while one intake transaction commits
are stored together in the next one, so a busy gateway pays one transaction (a pool
checkout, BEGIN, COMMIT and its flush to disk, and on SQLite one turn of the write lock)
per batch instead of per message. A message that arrives alone is stored at once, as before:
nothing waits for company.

Every caller still gets its own answer after the commit that stored its message, and its
after-commit work (the routing job, the live event) has run. If anything fails in a shared
transaction, nothing of it was committed and the batch's messages are stored again one
transaction each, so a failure belongs to the message that caused it alone.

Messages of one batch are stored in the order of their sender (stable, so one sender's
messages keep the order they came in): two batches in two processes then lock the same
conversations in the same order, and do not deadlock on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import Database, after_commit
from gateway.messages import InboundMessage

log = logging.getLogger(__name__)

MAX_BATCH = 64

Options = TypeVar("Options")
Answer = TypeVar("Answer")


@dataclass(slots=True)
class Waiting(Generic[Options, Answer]):
    """One message waiting to be stored, what its caller passed along, and the future its
    answer goes to."""

    inbound: InboundMessage
    options: Options
    answer: asyncio.Future[Answer] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def lock_order(self) -> tuple[int, str, str, str, str]:
        inbound = self.inbound
        return (
            inbound.organization_id,
            inbound.channel,
            inbound.sender_kind,
            inbound.sender_address,
            inbound.thread_key,
        )

    def settle(self, answer: Answer) -> None:
        with contextlib.suppress(asyncio.InvalidStateError):  # its caller went away meanwhile
            self.answer.set_result(answer)

    def fail(self, error: BaseException) -> None:
        with contextlib.suppress(asyncio.InvalidStateError):
            self.answer.set_exception(error)


StoreMany = Callable[
    [AsyncSession, Sequence[tuple[InboundMessage, Options]]], Awaitable[Sequence[Answer]]
]
# Stores what it can of a batch without a transaction of its own making: an answer for each
# message it stored, None for each it left. It raises only when it stored nothing.
StoreQuickly = Callable[
    [Sequence[tuple[InboundMessage, Options]]], Awaitable[Sequence[Answer | None]]
]


class GroupCommit(Generic[Options, Answer]):
    """Stores messages through `store` (a batch of messages, in order, in the session it is
    given; an answer for each), batching the ones that arrive while a commit is under way.
    With `quickly`, a batch goes to it first, and what it leaves to `store`."""

    def __init__(
        self,
        db: Database,
        store: StoreMany[Options, Answer],
        quickly: StoreQuickly[Options, Answer] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.quickly = quickly
        self._waiting: list[Waiting[Options, Answer]] = []
        self._committer: asyncio.Task[None] | None = None

    async def submit(self, inbound: InboundMessage, options: Options) -> Answer:
        waiting: Waiting[Options, Answer] = Waiting(inbound, options)
        self._waiting.append(waiting)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_all())
        return await waiting.answer

    async def _commit_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                batch.sort(key=lambda item: item.lock_order)
                rest = await self._store_quickly(batch)
                if rest and not await self._commit(rest) and len(rest) > 1:
                    for waiting in rest:
                        await self._commit([waiting])
            finally:
                for waiting in batch:  # only when cancelled (the process stopping)
                    if not waiting.answer.done():
                        waiting.answer.cancel()

    async def _store_quickly(
        self, batch: list[Waiting[Options, Answer]]
    ) -> list[Waiting[Options, Answer]]:
        """What `quickly` stored answered; the rest, for a transaction."""
        if self.quickly is None:
            return batch
        try:
            answers = await self.quickly([(waiting.inbound, waiting.options) for waiting in batch])
        except Exception as error:
            log.info(
                "storing %d messages at once failed (%s); storing them again", len(batch), error
            )
            return batch
        rest = []
        for waiting, answer in zip(batch, answers, strict=True):
            if answer is None:
                rest.append(waiting)
            else:
                waiting.settle(answer)
        return rest

    async def _commit(self, batch: list[Waiting[Options, Answer]]) -> bool:
        """Store the batch in one transaction; False when that failed before its commit
        (nothing of it was stored) for a batch of several, to be stored one by one."""
        committed: list[bool] = []
        try:
            async with self.db.transaction() as session:
                after_commit(session, lambda: committed.append(True))
                answers = await self.store(
                    session, [(waiting.inbound, waiting.options) for waiting in batch]
                )
        except Exception as error:
            if len(batch) > 1 and not committed:
                log.info(
                    "storing %d messages together failed (%s); storing them one by one",
                    len(batch),
                    error,
                )
                return False
            for waiting in batch:  # its own failure, or one after the commit: every caller's
                waiting.fail(error)
            return True
        for waiting, answer in zip(batch, answers, strict=True):
            waiting.settle(answer)
        return True
