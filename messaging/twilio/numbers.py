"""Registering business numbers: an admin (or `switchboard number add`) ties a number, or
a whole Messaging Service, to the organization and to the Twilio account or subaccount
that owns it. Registering a number under an account already known updates that account's
auth token, which is how a rotated token is put in. The token is never shown again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from gateway.db import Database
from gateway.errors import BadInput, Conflict, NotFound
from gateway.models import Organization, utcnow
from messaging.twilio.addresses import (
    check_account_sid,
    check_service_sid,
    is_service_sid,
    normalize_number,
)
from messaging.twilio.lines import forget_lines
from messaging.twilio.models import TwilioAccount, TwilioNumber

_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,128}")


@dataclass(frozen=True, slots=True)
class NumberView:
    organization_id: int
    organization_slug: str
    address: str
    account_sid: str
    messaging_service_sid: str | None
    created_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "number": self.address,
            "account_sid": self.account_sid,
            "messaging_service_sid": self.messaging_service_sid,
            "created_at": self.created_at,
        }

    def line(self) -> str:
        """One line of `switchboard number list` (tab-separated)."""
        service = self.messaging_service_sid or "-"
        return "\t".join((self.address, self.organization_slug, self.account_sid, service))


def _address(raw: str, messaging_service_sid: str | None) -> tuple[str, str | None]:
    raw = raw.strip()
    service = check_service_sid(messaging_service_sid.strip()) if messaging_service_sid else None
    if is_service_sid(raw):
        if service not in (None, raw):
            raise BadInput("a Messaging Service cannot belong to another Messaging Service")
        return raw, raw
    return normalize_number(raw), service


async def add_number(
    db: Database,
    organization_id: int,
    number: str,
    account_sid: str,
    auth_token: str,
    messaging_service_sid: str | None = None,
) -> NumberView:
    address, service = _address(number, messaging_service_sid)
    account_sid = check_account_sid(account_sid)
    auth_token = auth_token.strip()
    if not _TOKEN.fullmatch(auth_token):
        raise BadInput("the auth token should be 32 letters and digits, as Twilio shows it")
    conflict = Conflict(f"{address} is already registered; remove it first to move it")
    try:
        async with db.transaction() as session:
            if await session.scalar(select(TwilioNumber.id).where(TwilioNumber.address == address)):
                raise conflict
            account = await session.scalar(
                select(TwilioAccount).where(
                    TwilioAccount.organization_id == organization_id,
                    TwilioAccount.account_sid == account_sid,
                )
            )
            if account is None:
                account = TwilioAccount(
                    organization_id=organization_id, account_sid=account_sid, auth_token=auth_token
                )
                session.add(account)
                await session.flush()
            elif account.auth_token != auth_token:
                account.auth_token = auth_token
                account.updated_at = utcnow()
            row = TwilioNumber(
                organization_id=organization_id,
                account_id=account.id,
                address=address,
                messaging_service_sid=service,
            )
            session.add(row)
            await session.flush()
            slug = await session.scalar(
                select(Organization.slug).where(Organization.id == organization_id)
            )
            if slug is None:
                raise NotFound("no such organization")
            added = NumberView(organization_id, slug, address, account_sid, service, row.created_at)
    except IntegrityError:  # registered concurrently since the check above
        raise conflict from None
    forget_lines()
    return added


async def list_numbers(db: Database, organization_id: int | None = None) -> list[NumberView]:
    query = (
        select(TwilioNumber, TwilioAccount.account_sid, Organization.slug)
        .join(TwilioAccount, TwilioAccount.id == TwilioNumber.account_id)
        .join(Organization, Organization.id == TwilioNumber.organization_id)
    )
    if organization_id is not None:
        query = query.where(TwilioNumber.organization_id == organization_id)
    async with db.transaction() as session:
        rows = (await session.execute(query.order_by(TwilioNumber.address))).all()
    return [
        NumberView(
            row.organization_id, slug, row.address, sid, row.messaging_service_sid, row.created_at
        )
        for row, sid, slug in rows
    ]


async def remove_number(db: Database, number: str, organization_id: int | None = None) -> str:
    """Unregister a number (of the organization, when given); returns its address."""
    address = number.strip() if is_service_sid(number.strip()) else normalize_number(number)
    statement = delete(TwilioNumber).where(TwilioNumber.address == address)
    if organization_id is not None:
        statement = statement.where(TwilioNumber.organization_id == organization_id)
    async with db.transaction() as session:
        removed = await session.execute(statement)
    forget_lines()
    if removed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(f"{address} is not registered")
    return address
