"""The organization's Twilio "lines": a registered business number (or Messaging Service)
with the account it belongs to. A webhook finds its line by the `To` number, falling back
to the Messaging Service SID for numbers that are only registered as part of a service's
sender pool; sending finds the line of the number the conversation came in on.

Webhook lookups are remembered for a few seconds per process (every incoming message
would otherwise pay a database round trip for them): a number removed, or a token
rotated, in another process takes effect there within `CACHE_SECONDS`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import Database
from gateway.errors import NotFound
from messaging.twilio.models import TwilioAccount, TwilioNumber
from messaging.twilio.signature import mismatch


@dataclass(frozen=True, slots=True)
class Line:
    organization_id: int
    address: str  # the registered number, or a Messaging Service SID
    account_id: int
    account_sid: str
    auth_token: str = field(repr=False)
    messaging_service_sid: str | None = None


async def _lookup(
    session: AsyncSession, candidates: list[str], organization_id: int | None = None
) -> Line | None:
    query = (
        select(TwilioNumber, TwilioAccount)
        .join(TwilioAccount, TwilioAccount.id == TwilioNumber.account_id)
        .where(TwilioNumber.address.in_(candidates))
    )
    if organization_id is not None:
        query = query.where(TwilioNumber.organization_id == organization_id)
    rows = {number.address: (number, account) for number, account in await session.execute(query)}
    for candidate in candidates:  # a number registered on its own wins over its service
        if candidate in rows:
            number, account = rows[candidate]
            return Line(
                organization_id=number.organization_id,
                address=number.address,
                account_id=account.id,
                account_sid=account.account_sid,
                auth_token=account.auth_token,
                messaging_service_sid=number.messaging_service_sid,
            )
    return None


def _candidates(number: str, messaging_service_sid: str | None) -> list[str]:
    found = [number] if number else []
    if messaging_service_sid and messaging_service_sid != number:
        found.append(messaging_service_sid)
    return found


CACHE_SECONDS = 5.0
_CACHE_ENTRIES = 10_000
_cache: dict[tuple[str, tuple[str, ...]], tuple[float, Line | None]] = {}


def forget_lines() -> None:
    """Drop this process's remembered lookups (after a number was added or removed)."""
    _cache.clear()


async def find_for_webhook(
    db: Database, number: str, messaging_service_sid: str | None
) -> Line | None:
    candidates = _candidates(number, messaging_service_sid)
    if not candidates:
        return None
    key, now = (db.url, tuple(candidates)), time.monotonic()
    remembered = _cache.get(key)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    async with db.transaction() as session:
        line = await _lookup(session, candidates)
    if len(_cache) >= _CACHE_ENTRIES:
        _cache.clear()
    _cache[key] = (now + CACHE_SECONDS, line)
    return line


async def find_for_sending(
    session: AsyncSession, organization_id: int, number: str, messaging_service_sid: str | None
) -> Line | None:
    candidates = _candidates(number, messaging_service_sid)
    return await _lookup(session, candidates, organization_id) if candidates else None


async def refuse_unregistered(
    db: Database, account_sid: str, signed_with: Callable[[str], bool]
) -> NoReturn:
    """A webhook for a number no organization registered. Only a caller that signed it
    with the auth token of an account we know (`signed_with(token)`) hears that the number
    is not registered (404); anyone else gets the same 403 as for a bad signature, so the
    answer tells a stranger nothing about which numbers are registered."""
    async with db.transaction() as session:
        tokens = list(
            await session.scalars(
                select(TwilioAccount.auth_token).where(TwilioAccount.account_sid == account_sid)
            )
        )
    if any(signed_with(token) for token in tokens):
        raise NotFound("no organization has registered this number (see `switchboard number`)")
    raise mismatch()
