"""Writes an API client may safely send again: a request sent with an `Idempotency-Key`
header (the convention of Stripe's API and of the IETF httpapi draft of that name) does its
work once. The first copy claims the key (a row without an answer), does the work, and
keeps its answer (status and JSON body) in the work's own transaction, so the answer is
kept exactly when the work was committed. A repeat within `KEPT_FOR` gets that answer and
does nothing; a repeat while the first copy is still at work answers 409; the same key sent
with a different request answers 422. A copy whose work fails lets go of its claim (nothing
was done), so the client may try again with the same key; the claim of a copy whose
process died is taken over after `ABANDONED_AFTER`. A key belongs to one agent of one
organization; the reconciler purges expired ones."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from quart import Response, current_app
from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import Database, insert_ignoring_conflict
from gateway.errors import BadInput, Conflict, KeyReused
from gateway.models import Agent, IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_FOR = timedelta(hours=24)
# A request is over long before this (Quart's response timeout is a minute): a claim this
# old without an answer lost its process, and nothing of its work was committed.
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_CHARS = 255
PURGE_AT_ONCE = 500
IN_PROGRESS = (
    "a request with this Idempotency-Key is still being processed; "
    "wait for its answer, then send it again to read that answer"
)


@dataclass(frozen=True, slots=True)
class Kept:
    """The answer the first copy of a request gave."""

    status: int
    answer: str  # JSON text


@dataclass(frozen=True, slots=True)
class Claim:
    """The key, claimed by this copy of the request."""

    id: int
    attempt: str


def key_from(value: str | None) -> str | None:
    """The key a request carries in its header; None without one."""
    if value is None:
        return None
    key = value.strip()
    if not key or len(key) > MAX_KEY_CHARS or not all(" " <= ch <= "~" for ch in key):
        raise BadInput(
            f"an {HEADER} header must hold 1 to {MAX_KEY_CHARS} visible ASCII characters, "
            "such as a random UUID"
        )
    return key


def fingerprint(*parts: object) -> str:
    """What identifies a request beyond its key (method, path, body), as a digest."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _where(agent: Agent, key: str) -> ColumnElement[bool]:
    return and_(
        IdempotencyKey.organization_id == agent.organization_id,
        IdempotencyKey.agent_id == agent.id,
        IdempotencyKey.key == key,
    )


def _settled(row: IdempotencyKey, digest: str, now: datetime) -> Kept | None:
    """The kept answer for a repeat of `row`'s request; None when its claim was abandoned
    (the repeat may take it over). Raises for another request or one still at work."""
    if row.fingerprint != digest:
        raise KeyReused(
            f"this {HEADER} was already used for a different request; "
            "send a new key with a new request"
        )
    if row.status is not None and row.answer is not None:
        return Kept(row.status, row.answer)
    if row.claimed_at <= now - ABANDONED_AFTER:
        return None
    raise Conflict(IN_PROGRESS, code="request_in_progress")


async def claim(db: Database, agent: Agent, key: str, digest: str) -> Claim | Kept:
    """Claim `key` for the request with fingerprint `digest`, or the answer its first copy
    kept."""
    now = utcnow()
    # A plain read first: a repeat sees the first copy's claim at once, without waiting for
    # the first copy's transaction to end (SQLite's writers take turns).
    async with db.read(quick=True) as session:
        row = await session.scalar(select(IdempotencyKey).where(_where(agent, key)))
    if row is not None and row.expires_at > now:
        kept = _settled(row, digest, now)
        if kept is not None:
            return kept
    attempt = secrets.token_hex(16)
    async with db.transaction() as session:
        await session.execute(
            delete(IdempotencyKey).where(_where(agent, key), IdempotencyKey.expires_at <= now)
        )
        created = await insert_ignoring_conflict(
            session,
            IdempotencyKey,
            {
                "organization_id": agent.organization_id,
                "agent_id": agent.id,
                "key": key,
                "fingerprint": digest,
                "attempt": attempt,
                "status": None,
                "answer": None,
                "claimed_at": now,
                "expires_at": now + KEPT_FOR,
            },
            ("organization_id", "agent_id", "key"),
        )
        if created is not None:
            return Claim(created, attempt)
        row = await session.scalar(select(IdempotencyKey).where(_where(agent, key)))
        if row is None:  # only an expired row could vanish, and this transaction deleted it
            raise Conflict(IN_PROGRESS, code="request_in_progress")
        kept = _settled(row, digest, now)
        if kept is not None:
            return kept
        return await _take_over(session, row, attempt, now)


async def _take_over(
    session: AsyncSession, row: IdempotencyKey, attempt: str, now: datetime
) -> Claim:
    await _while_claimed(session, Claim(row.id, row.attempt), attempt=attempt, claimed_at=now)
    return Claim(row.id, attempt)


async def keep(session: AsyncSession, claimed: Claim, status: int, body: object) -> None:
    """Keep the answer in the work's own transaction. Should another copy have taken the
    claim over meanwhile, it raises, and the work is rolled back: it is done once."""
    await _while_claimed(session, claimed, status=status, answer=current_app.json.dumps(body))


async def _while_claimed(session: AsyncSession, claimed: Claim, **values: object) -> None:
    """Change the key's row only while `claimed` still holds it unanswered; else another
    copy of the request has it (409)."""
    changed = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == claimed.id,
            IdempotencyKey.attempt == claimed.attempt,
            IdempotencyKey.status.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(IN_PROGRESS, code="request_in_progress")


async def let_go(db: Database, claimed: Claim) -> None:
    """The work failed and nothing of it was committed: free the key for another try."""
    async with db.transaction() as session:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id == claimed.id,
                IdempotencyKey.attempt == claimed.attempt,
                IdempotencyKey.status.is_(None),
            )
        )


def replay(kept: Kept) -> Response:
    """The kept answer, as it was first given."""
    response = current_app.response_class(
        kept.answer, status=kept.status, mimetype="application/json"
    )
    response.headers[REPLAYED_HEADER] = "true"
    return response


async def purge_expired(db: Database, now: datetime) -> int:
    """Delete expired keys (a bounded batch); only a pass that finds some writes."""
    async with db.read(quick=True) as session:
        expired = list(
            await session.scalars(
                select(IdempotencyKey.id)
                .where(IdempotencyKey.expires_at <= now)
                .limit(PURGE_AT_ONCE)
            )
        )
    if not expired:
        return 0
    async with db.transaction() as session:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id.in_(expired), IdempotencyKey.expires_at <= now
            )
        )
    return len(expired)
