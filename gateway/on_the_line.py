"""A sender waiting on the line (a caller), as the task answering them sees it. While the
caller's request still waits, the AI's reply is spoken in the transaction that stores it:
stored as delivered, with the request's whole answer (`speak`, the channel's document, kept
by the channel in that same transaction). So the request needs no further transaction to
claim the reply, no delivery job ever touches it, and the caller hears it exactly once.

The request and the task share one event loop. The task takes the line (`take`) only while
the request waits; once it has, the request waits for that commit rather than giving up on
its budget. A request that stopped waiting first (`hang_up`) leaves the reply to be stored
as any other, for the next request to claim."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit

# The channel's answer to the waiting request, given the lines to speak, kept in `session`.
Speak = Callable[[AsyncSession, list[str]], Awaitable[str]]


class OnTheLine:
    def __init__(self, speak: Speak) -> None:
        self._speak = speak
        self.waiting = True
        self.taken = False
        # the request's answer, once the spoken reply is committed: the request need not
        # wait for what the task does after (telling the live pages)
        self.spoken: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @property
    def answer(self) -> str | None:
        return self.spoken.result() if self.spoken.done() else None

    def take(self) -> bool:
        """Claim the waiting request for a reply about to be stored; False once it left."""
        if self.waiting:
            self.taken = True
        return self.taken

    def hang_up(self) -> bool:
        """The request stops waiting; True when a reply took the line first (its commit
        is then the request's answer, worth waiting for)."""
        self.waiting = False
        return self.taken

    async def speak(self, session: AsyncSession, lines: list[str]) -> None:
        """The request's answer speaking `lines`, kept in `session`'s transaction."""
        answer = await self._speak(session, lines)

        def committed() -> None:
            self.spoken.set_result(answer)

        after_commit(session, committed)
