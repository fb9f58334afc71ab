"""The ladder while a handoff waits, all as deadlines (rows plus scheduled jobs, so they
survive a Redis restart): a reminder email to the team every R seconds, at most N times,
then one escalation email to the admins R seconds after the last reminder; independently,
expiry after E seconds returns the conversation to the AI. Each step is scheduled only
when the previous one fires with the conversation still waiting; any change of hands
cancels what is pending. A reminder or escalation that would fall outside business hours
waits for the next opening; expiry does not wait (outside hours nobody is coming, so the
customer is told so and goes back to the AI). A claimed conversation that gets no agent
reply for U seconds goes back to the queue, with the ladder started again; the U seconds
count from the claim, or from the first customer message after the agent's last reply."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import deadlines
from gateway.models import Conversation, Deadline, Organization, utcnow
from gateway.org_settings import OrganizationSettings
from gateway.ownership import State
from gateway.runtime import Services
from handoff import notify_email
from handoff.policy.hours import ALWAYS_OPEN, Schedule, parse_schedule

log = logging.getLogger(__name__)

REMINDER = "reminder"
ESCALATE = "escalate"
EXPIRE = "expire"
UNASSIGN = "unassign"
MAX_REMINDERS = 20


async def organization_settings(
    session: AsyncSession, organization_id: int
) -> OrganizationSettings:
    raw = await session.scalar(
        select(Organization.settings).where(Organization.id == organization_id)
    )
    return OrganizationSettings.from_json(raw)


def opening_hours(settings: OrganizationSettings) -> Schedule:
    """The organization's schedule; a broken one counts as always open (and is logged),
    so a typo in the settings never silences the ladder."""
    try:
        return parse_schedule(settings.business_hours, settings.time_zone)
    except ValueError as exc:
        log.warning("business hours ignored: %s", exc)
        return ALWAYS_OPEN


def reminder_repeats(settings: OrganizationSettings) -> int:
    """N, kept within 0..MAX_REMINDERS whatever is stored."""
    return min(max(settings.reminder_repeats, 0), MAX_REMINDERS)


def within_hours(schedule: Schedule, at: datetime) -> datetime | None:
    """`at` if the organization is open then, else its next opening (None: never open)."""
    return at if schedule.is_open(at) else schedule.next_opening(at)


async def start(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    *,
    expiry: timedelta | None = None,
) -> None:
    """Set the expiry and the first step for a conversation that just entered the queue."""
    settings = await organization_settings(session, conversation.organization_id)
    now = utcnow()
    due = now + (expiry if expiry is not None else settings.queue_expiry)
    await deadlines.schedule(session, services.jobs, conversation, EXPIRE, due)
    await _next_step(session, services, conversation, settings, reminders_sent=0, now=now)


async def _next_step(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    settings: OrganizationSettings,
    *,
    reminders_sent: int,
    now: datetime,
) -> None:
    if settings.reminder_interval_seconds <= 0:
        return
    repeats = reminder_repeats(settings)
    if reminders_sent < repeats:
        kind = REMINDER
    elif reminders_sent == repeats and settings.escalate_to_admins:
        kind = ESCALATE
    else:
        return
    candidate = now + timedelta(seconds=settings.reminder_interval_seconds)
    due = within_hours(opening_hours(settings), candidate)
    if due is None:
        log.warning("conversation %s: business hours never open; no %s", conversation.id, kind)
        return
    await deadlines.schedule(session, services.jobs, conversation, kind, due)


async def reminders_sent(session: AsyncSession, conversation: Conversation) -> int:
    """Reminders fired since the conversation last changed hands (this wait only)."""
    count = await session.scalar(
        select(func.count(Deadline.id)).where(
            Deadline.conversation_id == conversation.id,
            Deadline.kind == REMINDER,
            Deadline.ownership_version == conversation.ownership_version,
            Deadline.fired_at.is_not(None),
        )
    )
    return int(count or 0)


async def remind(session: AsyncSession, services: Services, conversation: Conversation) -> None:
    """Deadline action: email the team, then set the next reminder or the escalation."""
    settings = await organization_settings(session, conversation.organization_id)
    number = await reminders_sent(session, conversation)
    await notify_email.notify(
        session, services, conversation, notify_email.REMINDER, number, reminder_repeats(settings)
    )
    await _next_step(session, services, conversation, settings, reminders_sent=number, now=utcnow())


async def escalate(session: AsyncSession, services: Services, conversation: Conversation) -> None:
    """Deadline action: email the admins; expiry stays as it was set."""
    await notify_email.notify(session, services, conversation, notify_email.ESCALATION, 1, 1)


async def schedule_unassign(
    session: AsyncSession, services: Services, conversation: Conversation
) -> None:
    """Start the claimed-but-unanswered timer (after a claim)."""
    settings = await organization_settings(session, conversation.organization_id)
    if settings.unassign_after_seconds > 0:
        due = utcnow() + timedelta(seconds=settings.unassign_after_seconds)
        await deadlines.schedule(session, services.jobs, conversation, UNASSIGN, due)


async def customer_wrote(
    session: AsyncSession, services: Services, conversation: Conversation, written_at: datetime
) -> bool:
    """A customer message on a claimed conversation: if the agent had answered everything
    before it (no unassign timer pending), the customer now waits again, so the timer
    starts from this message. A timer already running is left alone, so follow-ups never
    give an agent more time. Returns whether a timer was started."""
    if conversation.state != State.ASSIGNED:
        return False
    if conversation.last_human_at is not None and conversation.last_human_at >= written_at:
        return False  # routed late: the agent has already answered it
    settings = await organization_settings(session, conversation.organization_id)
    if settings.unassign_after_seconds <= 0:
        return False
    running = await session.scalar(
        select(func.count(Deadline.id)).where(
            Deadline.conversation_id == conversation.id,
            Deadline.kind == UNASSIGN,
            Deadline.ownership_version == conversation.ownership_version,
            Deadline.fired_at.is_(None),
            Deadline.cancelled_at.is_(None),
        )
    )
    if running:
        return False
    due = written_at + timedelta(seconds=settings.unassign_after_seconds)
    await deadlines.schedule(session, services.jobs, conversation, UNASSIGN, due)
    return True


async def agent_replied(session: AsyncSession, conversation: Conversation) -> None:
    """The agent answered: the conversation is no longer claimed-but-unanswered."""
    await deadlines.cancel(session, conversation.id, UNASSIGN)
