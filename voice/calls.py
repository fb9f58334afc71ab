"""The call rows: finding a call (and the account that verifies its webhooks), starting
one from a verified incoming webhook (idempotent on the CallSid), remembering the TwiML each
caller-side request got (so a repeated request gets the same answer), and applying the
caller leg's status callbacks in SequenceNumber order (an older or repeated callback never
moves a call backwards)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gateway.db import Database, insert_ignoring_conflict
from gateway.events import Event
from gateway.models import Organization, utcnow
from gateway.runtime import Services
from messaging.twilio.models import TwilioAccount
from voice.models import CallAnswer, VoiceCall
from voice.settings import VoiceSettings

ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True, slots=True)
class CallView:
    """A call with what its routes need: the account that signs its webhooks, and the
    organization's name and voice settings."""

    call: VoiceCall
    account_sid: str
    auth_token: str
    business: str
    settings: VoiceSettings
    remembered: str | None = None  # the answer already given to this request, if any


async def view(db: Database, call_id: int, request_key: str | None = None) -> CallView | None:
    """The call, and the answer remembered for `request_key` when one is named (one
    statement)."""
    async with db.read(quick=True) as session:
        return await view_in(session, call_id, request_key)


async def view_in(
    session: AsyncSession, call_id: int, request_key: str | None = None
) -> CallView | None:
    return await _view_where(session, VoiceCall.id == call_id, request_key)


async def _view_where(
    session: AsyncSession, which: ColumnElement[bool], request_key: str | None = None
) -> CallView | None:
    """The call `which` picks, with its account and organization, in one statement."""
    remembered = (
        _remembered(VoiceCall.id, request_key).scalar_subquery()
        if request_key is not None
        else null()
    )
    row = (
        await session.execute(
            select(VoiceCall, TwilioAccount, Organization, remembered)
            .join(TwilioAccount, TwilioAccount.id == VoiceCall.account_id)
            .join(Organization, Organization.id == VoiceCall.organization_id)
            .where(which)
        )
    ).first()
    if row is None:
        return None
    call, account, organization, answer = row
    settings = VoiceSettings.from_json((organization.settings or {}).get("voice"))
    return CallView(
        call, account.account_sid, account.auth_token, organization.name, settings, answer
    )


async def start(
    session: AsyncSession,
    *,
    organization_id: int,
    conversation_id: int,
    account_id: int,
    call_sid: str,
    from_number: str,
    to_number: str,
) -> tuple[CallView, bool]:
    """The call for `call_sid`, created if new; the flag says whether it was."""
    now = utcnow()
    created = await insert_ignoring_conflict(
        session,
        VoiceCall,
        {
            "organization_id": organization_id,
            "conversation_id": conversation_id,
            "account_id": account_id,
            "call_sid": call_sid,
            "from_number": from_number,
            "to_number": to_number,
            "phase": "ai",
            "status": "in-progress",
            "status_sequence": -1,
            "silences": 0,
            "transfer_round": 0,
            "hold_told_attempt": 0,
            "created_at": now,
            "updated_at": now,
        },
        ("call_sid",),
    )
    found = await _view_where(session, VoiceCall.call_sid == call_sid)
    assert found is not None  # inserted above, or there already
    return found, created is not None


async def remember(db: Database, call_id: int, key: str, twiml: str) -> str:
    """Keep the answer to one request; if a concurrent copy of the request answered
    first, its answer is the one returned (both copies then say the same)."""
    async with db.transaction() as session:
        return await remember_in(session, call_id, key, twiml)


async def remember_in(session: AsyncSession, call_id: int, key: str, twiml: str) -> str:
    created = await insert_ignoring_conflict(
        session,
        CallAnswer,
        {"call_id": call_id, "request_key": key[:255], "twiml": twiml, "created_at": utcnow()},
        ("call_id", "request_key"),
    )
    if created is not None:
        return twiml
    stored = await session.scalar(_remembered(call_id, key))
    assert stored is not None
    return stored


def _remembered(call_id: int | InstrumentedAttribute[int], key: str) -> Select[str | None]:
    """The answer remembered for `key` on a call (given by id, or by the call's column in
    a statement that reads the call)."""
    return select(CallAnswer.twiml).where(
        CallAnswer.call_id == call_id, CallAnswer.request_key == key[:255]
    )


def answer_key(kind: str, *numbers: int) -> str:
    """The key the answer to a caller-side request is remembered under: its kind and its
    numbers (the turn and try, or the transfer round), as in `turn:3` or `wait:3:1`."""
    return ":".join([kind, *(str(number) for number in numbers)])


def sequence_of(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


async def apply_status(
    session: AsyncSession, call: VoiceCall, status: str, sequence: int, duration: str | None
) -> bool:
    """Record the caller leg's status if this callback is newer than the last one applied;
    returns whether it was (and so whether the call just ended)."""
    values: dict[str, object] = {"status": status[:16], "status_sequence": sequence}
    if status in ENDED_STATUSES:
        values.update(phase="ended", ended_at=utcnow())
        if duration and duration.isascii() and duration.isdigit() and len(duration) < 10:
            values["duration_seconds"] = int(duration)
    moved = await session.execute(
        update(VoiceCall)
        .where(
            VoiceCall.id == call.id,
            VoiceCall.status_sequence < sequence,
            VoiceCall.phase != "ended",
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


async def find_by_sid(db: Database, call_sid: str) -> CallView | None:
    if not call_sid or len(call_sid) > 64:
        return None
    async with db.read(quick=True) as session:
        return await _view_where(session, VoiceCall.call_sid == call_sid)


async def status_callback(services: Services, found: CallView, form: Mapping[str, str]) -> bool:
    """Apply the caller leg's status callback; True when it just ended the call."""
    status = form.get("CallStatus", "")
    async with services.db.transaction() as session:
        applied = await apply_status(
            session,
            found.call,
            status,
            sequence_of(form.get("SequenceNumber")),
            form.get("CallDuration"),
        )
    ended = applied and status in ENDED_STATUSES
    if ended:
        await services.events.publish(
            Event(
                "call",
                found.call.organization_id,
                found.call.conversation_id,
                {"call_id": found.call.id, "phase": "ended", "status": status},
            )
        )
    return ended


async def recording_callback(services: Services, found: CallView, form: Mapping[str, str]) -> bool:
    """Keep a finished recording's SID, URL and length on the call; True when there is one
    to fetch."""
    if form.get("RecordingStatus") != "completed" or not form.get("RecordingUrl"):
        return False
    duration = form.get("RecordingDuration", "")
    async with services.db.transaction() as session:
        await session.execute(
            update(VoiceCall)
            .where(VoiceCall.id == found.call.id)
            .values(
                recording_sid=form.get("RecordingSid", "")[:64] or None,
                recording_url=form.get("RecordingUrl", "")[:2000] or None,
                recording_seconds=(
                    int(duration)
                    if duration.isascii() and duration.isdigit() and len(duration) < 10
                    else None
                ),
            )
            .execution_options(synchronize_session=False)
        )
    return True
