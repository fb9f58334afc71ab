"""Answering a caller-side request once, when Twilio sends it twice at the same time (a
connection override's retry reaches Switchboard while the first copy is still being
answered). The first copy to arrive claims the request: a row for its key without TwiML
yet. Only that copy acts (dials an agent back, returns the caller to the AI, sends the text
back) and then keeps its TwiML in the row. A copy that finds the claim waits for that
TwiML and answers with it. If the first copy fails, its claim is let go and a waiting
copy takes the request over; if its process died, a copy arriving after
`ABANDONED_AFTER` takes it over. A copy still waiting after `WAIT_AT_MOST` asks Twilio
to come back (a pause and a redirect to the same URL), well inside Twilio's 15 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete, select, update

from gateway.db import Database, insert_ignoring_conflict
from gateway.models import utcnow
from voice.models import CallAnswer

WAIT_AT_MOST = 8.0  # seconds a repeat waits for the first copy's answer
POLL_EVERY = 0.05  # seconds between its looks (only a repeat ever polls)
# Twilio gives up on a request after 15 s: a claim this old lost its process.
ABANDONED_AFTER = timedelta(seconds=30)


async def answer_once(
    db: Database,
    call_id: int,
    key: str,
    answer: Callable[[], Awaitable[str]],
    come_back: Callable[[], str],
) -> str:
    """The TwiML for one request: `answer()`'s, run by the one copy that claims the
    request, or what that copy answered; `come_back()` when it takes too long."""
    key = key[:255]
    deadline = time.monotonic() + WAIT_AT_MOST
    while True:
        if await _claim(db, call_id, key):
            try:
                twiml = await answer()
            except BaseException:
                await _let_go(db, call_id, key)
                raise
            await _keep(db, call_id, key, twiml)
            return twiml
        while True:  # another copy answers it
            claimed, given = await _read(db, call_id, key)
            if given is not None:
                return given
            if not claimed:
                break  # it failed and let go: claim it again
            if time.monotonic() >= deadline:
                return come_back()
            await asyncio.sleep(POLL_EVERY)


async def _claim(db: Database, call_id: int, key: str) -> bool:
    async with db.transaction() as session:
        now = utcnow()
        created = await insert_ignoring_conflict(
            session,
            CallAnswer,
            {"call_id": call_id, "request_key": key, "twiml": None, "created_at": now},
            ("call_id", "request_key"),
        )
        if created is not None:
            return True
        taken = await session.execute(
            update(CallAnswer)
            .where(
                CallAnswer.call_id == call_id,
                CallAnswer.request_key == key,
                CallAnswer.twiml.is_(None),
                CallAnswer.created_at < now - ABANDONED_AFTER,
            )
            .values(created_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


async def _keep(db: Database, call_id: int, key: str, twiml: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(CallAnswer)
            .where(CallAnswer.call_id == call_id, CallAnswer.request_key == key)
            .values(twiml=twiml)
            .execution_options(synchronize_session=False)
        )


async def _let_go(db: Database, call_id: int, key: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            delete(CallAnswer)
            .where(
                CallAnswer.call_id == call_id,
                CallAnswer.request_key == key,
                CallAnswer.twiml.is_(None),
            )
            .execution_options(synchronize_session=False)
        )


async def _read(db: Database, call_id: int, key: str) -> tuple[bool, str | None]:
    """Whether the request is claimed or answered, and its TwiML once answered."""
    async with db.read(quick=True) as session:
        row = (
            await session.execute(
                select(CallAnswer.twiml).where(
                    CallAnswer.call_id == call_id, CallAnswer.request_key == key
                )
            )
        ).first()
    return (row is not None, None if row is None else row[0])
