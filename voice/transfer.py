"""Warm transfer, conference-centred: the caller waits alone in a conference named for the
transfer round, and the organization's targets are dialled one at a time through the Calls
API (answering-machine detection in the background). Each dialled target is a
`TransferAttempt` whose typed outcome is set exactly once (a conditional update from "no
outcome"), so racing callbacks never decide an attempt twice; an outcome that means "try
the next one" dials the next target. When nobody is left, the caller is moved off hold
(`/resume`) and offered a text back, or the AI again."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import DeliveryError
from gateway.models import Conversation, utcnow
from gateway.runtime import Services
from messaging.twilio import rest
from voice import urls
from voice.calls import CallView, view_in
from voice.models import AgentPhone, TransferAttempt, VoiceCall
from voice.settings import Target

log = logging.getLogger(__name__)

NEXT_TARGET = frozenset(
    {"declined", "no_answer", "busy", "failed", "voicemail", "claimed_elsewhere"}
)
OUTCOMES = NEXT_TARGET | {"accepted", "caller_left", "dropped_after_connect", "exhausted"}
CALL_ME = "asked to be called"  # the detail of an attempt an agent asked for from the desk
CALL_BACK = "called back after the line dropped"
CALL_BACK_POSITION = -3  # marks the one attempt of a call-back round (details get replaced)
RINGING = frozenset({"dialing", "queued", "initiated", "ringing"})


@dataclass(frozen=True, slots=True)
class Plan:
    """What a handoff does with the caller: wait on hold while targets are dialled, or
    hear the offer at once (`why`: "exhausted" when there is nobody to dial, "closed"
    outside business hours)."""

    hold: bool
    round: int
    why: str = ""


def closed_now(conversation: Conversation) -> bool:
    """Whether the handoff policy queued this conversation outside business hours."""
    return any(
        isinstance(hit, dict) and hit.get("rule") == "outside_business_hours" and hit.get("fired")
        for hit in conversation.rule_hits or []
    )


def targets_of(found: CallView) -> tuple[Target, ...]:
    return found.settings.transfer_targets[: found.settings.max_attempts]


async def begin(services: Services, call_id: int) -> Plan | None:
    """Put the call on hold for a new transfer round (once: a repeat finds it on hold and
    gets None). No targets, or closed, skip the hold and go straight to the offer."""
    async with services.db.transaction() as session:
        found = await view_in(session, call_id)
        assert found is not None
        call = found.call
        conversation = await session.get(Conversation, call.conversation_id)
        assert conversation is not None
        round_ = call.transfer_round + 1
        targets = await reachable(session, found)
        why = "closed" if closed_now(conversation) else "" if targets else "exhausted"
        moved = await session.execute(
            update(VoiceCall)
            .where(VoiceCall.id == call_id, VoiceCall.phase == "ai")
            .values(
                phase="hold" if not why else "offer",
                transfer_round=round_,
                hold_started_at=utcnow(),
                hold_told_attempt=0,
                offer=why or None,
            )
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None
    return Plan(hold=not why, round=round_, why=why)


def credentials(found: CallView) -> rest.Credentials:
    return rest.Credentials(found.account_sid, found.auth_token)


async def reachable(session: AsyncSession, found: CallView) -> list[Target]:
    """The targets to dial, in order, with agents' numbers filled in from their profiles;
    an agent who is not available for calls (or has no number) is left out."""
    rows = await session.scalars(
        select(AgentPhone).where(AgentPhone.organization_id == found.call.organization_id)
    )
    phones = {phone.agent_id: phone for phone in rows.all()}
    usable = []
    for target in targets_of(found):
        phone = phones.get(target.agent_id) if target.agent_id is not None else None
        if phone is not None and not phone.available:
            continue
        number = target.number or (phone.number if phone is not None else "")
        if number:
            usable.append(Target(number, target.agent_id, target.label))
    return usable


async def _pick(session: AsyncSession, found: CallView, round_: int) -> tuple[int, Target] | None:
    """The next target of the round: the agent who already claimed the conversation on
    the web comes first (they chose it), then the list in order."""
    tried = await session.scalars(
        select(TransferAttempt.position).where(
            TransferAttempt.call_id == found.call.id, TransferAttempt.round == round_
        )
    )
    done = set(tried.all())
    if CALL_BACK_POSITION in done:
        return None  # a call-back round dials its one agent, nobody else
    targets = await reachable(session, found)
    conversation = await session.get(Conversation, found.call.conversation_id)
    assert conversation is not None
    owner = conversation.assigned_agent_id
    order = sorted(range(len(targets)), key=lambda i: targets[i].agent_id != owner or not owner)
    for position in order:
        if position not in done:
            return position, targets[position]
    return None


async def dial_next(services: Services, call_id: int, round_: int) -> None:
    """Dial the next target of the round, or end the round as exhausted."""
    while True:
        async with services.db.transaction() as session:
            # the call's row is locked, as "Call me" locks it: what rings is read after it
            await session.execute(
                select(VoiceCall.id).where(VoiceCall.id == call_id).with_for_update()
            )
            found = await view_in(session, call_id)
            if found is None or found.call.phase != "hold" or found.call.transfer_round != round_:
                return
            open_attempts = await session.scalar(
                select(func.count())
                .select_from(TransferAttempt)
                .where(TransferAttempt.call_id == call_id, TransferAttempt.outcome.is_(None))
            )
            if open_attempts:
                return  # one target at a time
            picked = await _pick(session, found, round_)
            if picked is None:
                if not await _is_call_back(session, call_id, round_):
                    await _exhaust(session, found, round_)
                exhausted = True  # a call-back that failed: `/resume` returns the caller to the AI
            else:
                exhausted = False
                position, target = picked
                attempt = TransferAttempt(
                    organization_id=found.call.organization_id,
                    call_id=call_id,
                    round=round_,
                    position=position,
                    agent_id=target.agent_id,
                    target_number=target.number,
                    target_label=target.label,
                    status="dialing",
                    status_sequence=-1,
                )
                session.add(attempt)
                await session.flush()
                attempt_id = attempt.id
        if exhausted:
            await move_caller(services, found, urls.RESUME, round_)
            return
        if await place(services, found, attempt_id, target.number):
            return


async def place(services: Services, found: CallView, attempt_id: int, number: str) -> bool:
    """Place the attempt's call to `number`; False (the attempt failed) when Twilio
    refused it. If the caller left while the call was being placed, it is ended at once."""
    settings = services.settings
    try:
        created = await rest.create_call(
            settings.twilio_api_base_url,
            credentials(found),
            to=number,
            from_=found.call.to_number,
            url=urls.url(settings, urls.AGENT, a=attempt_id),
            status_callback=urls.url(settings, urls.AGENT_STATUS, a=attempt_id),
            ring_seconds=found.settings.ring_timeout_seconds,
            amd_callback=urls.url(settings, urls.AGENT_AMD, a=attempt_id),
        )
    except DeliveryError as error:
        log.warning("could not dial for call %s: %s", found.call.id, error.message)
        await decide(services, attempt_id, "failed", detail=error.message, go_on=False)
        return False
    async with services.db.transaction() as session:
        await session.execute(
            update(TransferAttempt)
            .where(TransferAttempt.id == attempt_id)
            .values(agent_call_sid=created.sid)
            .execution_options(synchronize_session=False)
        )
        dialled = await session.get(TransferAttempt, attempt_id)
        assert dialled is not None
    if dialled.outcome is not None:  # the caller left while the call was being placed
        await hang_up_agent(services, found, dialled)
    return True


async def _is_call_back(session: AsyncSession, call_id: int, round_: int) -> bool:
    found = await session.scalar(
        select(func.count())
        .select_from(TransferAttempt)
        .where(
            TransferAttempt.call_id == call_id,
            TransferAttempt.round == round_,
            TransferAttempt.position == CALL_BACK_POSITION,
        )
    )
    return bool(found)


async def _exhaust(session: AsyncSession, found: CallView, round_: int) -> None:
    session.add(
        TransferAttempt(
            organization_id=found.call.organization_id,
            call_id=found.call.id,
            round=round_,
            position=-1,
            target_number="",
            target_label="nobody left to try",
            status="none",
            status_sequence=-1,
            outcome="exhausted",
            ended_at=utcnow(),
        )
    )
    await session.execute(
        update(VoiceCall)
        .where(VoiceCall.id == found.call.id, VoiceCall.phase == "hold")
        .values(phase="offer", offer="exhausted")
        .execution_options(synchronize_session=False)
    )


async def move_caller(services: Services, found: CallView, path: str, round_: int) -> None:
    """Take the caller out of the conference to `path` (Twilio fetches its TwiML)."""
    try:
        await rest.update_call(
            services.settings.twilio_api_base_url,
            credentials(found),
            found.call.call_sid,
            url=urls.url(services.settings, path, c=found.call.id, r=round_),
        )
    except DeliveryError as error:  # e.g. 21220: the caller hung up meanwhile
        log.info("could not move call %s: %s", found.call.id, error.message)


async def decide(
    services: Services,
    attempt_id: int,
    outcome: str,
    *,
    detail: str | None = None,
    go_on: bool = True,
) -> bool:
    """Give an attempt its outcome if it has none yet; for an outcome that means "someone
    else, please", dial the next target. Returns whether this call decided it."""
    assert outcome in OUTCOMES
    async with services.db.transaction() as session:
        done = await session.execute(
            update(TransferAttempt)
            .where(TransferAttempt.id == attempt_id, TransferAttempt.outcome.is_(None))
            .values(outcome=outcome, detail=detail, ended_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        attempt = await session.get(TransferAttempt, attempt_id)
        assert attempt is not None
        call_id, round_ = attempt.call_id, attempt.round
    decided = bool(done.rowcount == 1)  # type: ignore[attr-defined]
    if decided and go_on and outcome in NEXT_TARGET:
        await dial_next(services, call_id, round_)
    return decided


async def hang_up_agent(services: Services, found: CallView, attempt: TransferAttempt) -> None:
    """End an agent leg: cancel it while it rings, complete it once answered. The attempt
    is read again: its call may have been placed since `attempt` was read (and `place`,
    finding the outcome not yet decided, left it ringing)."""
    async with services.db.read(quick=True) as session:
        fresh = await session.get(TransferAttempt, attempt.id)
    attempt = fresh if fresh is not None else attempt
    if not attempt.agent_call_sid:
        return
    status = "canceled" if attempt.status in RINGING else "completed"
    try:
        await rest.update_call(
            services.settings.twilio_api_base_url,
            credentials(found),
            attempt.agent_call_sid,
            status=status,
        )
    except DeliveryError as error:
        log.info("could not end agent leg %s: %s", attempt.agent_call_sid, error.message)


async def caller_left(services: Services, call_id: int) -> None:
    """The caller hung up: every undecided attempt ends as "caller left" and its agent
    leg is cancelled at once."""
    async with services.db.transaction() as session:
        found = await view_in(session, call_id)
        attempts = await session.scalars(
            select(TransferAttempt).where(
                TransferAttempt.call_id == call_id, TransferAttempt.outcome.is_(None)
            )
        )
        open_attempts = list(attempts.all())
    if found is None:
        return
    for attempt in open_attempts:
        if await decide(services, attempt.id, "caller_left", go_on=False):
            await hang_up_agent(services, found, attempt)
