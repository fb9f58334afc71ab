"""The ladder step by step, firing each deadline as the worker would: reminders repeat N
times, then one escalation, while expiry stays where it was set; business hours postpone
reminders but not expiry; a claim stops the ladder and starts the unassign timer, which an
agent's reply cancels and which, when it runs out, puts the conversation back in the queue
with the ladder started again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from gateway.db import Database
from gateway.models import (
    Agent,
    Conversation,
    Deadline,
    Organization,
    Team,
    TeamMember,
    Transition,
    utcnow,
)
from gateway.queues import OUTBOUND
from gateway.runtime import Services
from handoff import actions
from handoff.deadline_actions import fire
from handoff.notify_email import ESCALATION, REMINDER, SEND_JOB, recipients
from handoff.policy.hours import DAYS
from tests.support.factories import job_services, make_agent, make_org
from tests.support.queued import queued_conversation

R, E, U = 60, 600, 300


@pytest.fixture
async def mail_services(db: Database, redis_url: str) -> AsyncIterator[Services]:
    """Services with an SMTP URL, so reminders queue their emails (nothing is sent here)."""
    async with job_services(db, redis_url, smtp_url="smtp://127.0.0.1:1") as services:
        yield services


async def ladder_org(services: Services, **settings: object) -> Organization:
    timers = {
        "reminder_interval_seconds": R,
        "reminder_repeats": 2,
        "queue_expiry_seconds": E,
        "unassign_after_seconds": U,
    }
    return await make_org(services.db, None, **{**timers, **settings})


async def pending(services: Services, conversation_id: int) -> dict[str, list[Deadline]]:
    async with services.db.transaction() as session:
        rows = await session.scalars(
            select(Deadline)
            .where(
                Deadline.conversation_id == conversation_id,
                Deadline.fired_at.is_(None),
                Deadline.cancelled_at.is_(None),
            )
            .order_by(Deadline.id)
        )
        found: dict[str, list[Deadline]] = {}
        for row in rows:
            found.setdefault(row.kind, []).append(row)
        return found


async def fire_now(services: Services, deadline: Deadline) -> str:
    """Make the deadline due and fire it, as the worker does when its time comes."""
    async with services.db.transaction() as session:
        await session.execute(
            update(Deadline)
            .where(Deadline.id == deadline.id)
            .values(due_at=utcnow() - timedelta(seconds=1))
        )
    return await fire(services, deadline.id)


async def conversation(services: Services, conversation_id: int) -> Conversation:
    async with services.db.transaction() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


def near(when: datetime, expected: datetime, slack: float = 5.0) -> bool:
    return abs((when - expected).total_seconds()) <= slack


def email_jobs(services: Services) -> list[list[object]]:
    return [
        job.args for job in services.jobs.queue(OUTBOUND).get_jobs() if job.func_name == SEND_JOB
    ]


async def test_a_handoff_sets_the_first_reminder_and_the_expiry(mail_services: Services) -> None:
    org = await ladder_org(mail_services)
    before = utcnow()
    conversation_id = await queued_conversation(mail_services, org)

    found = await pending(mail_services, conversation_id)

    assert sorted(found) == ["expire", "reminder"]
    assert near(found["reminder"][0].due_at, before + timedelta(seconds=R))
    assert near(found["expire"][0].due_at, before + timedelta(seconds=E))


async def test_reminders_repeat_n_times_then_one_escalation_and_expiry_stays(
    mail_services: Services,
) -> None:
    services = mail_services
    org = await ladder_org(services)
    agent = await make_agent(services.db, org)
    admin = await make_agent(services.db, org, role="admin", name="Ada")
    conversation_id = await queued_conversation(services, org)
    expiry = (await pending(services, conversation_id))["expire"][0]
    version = (await conversation(services, conversation_id)).ownership_version
    services.jobs.queue(OUTBOUND).empty()

    fired = []
    for _ in range(3):
        [step] = [
            d
            for kind, rows in (await pending(services, conversation_id)).items()
            if kind != "expire"
            for d in rows
        ]
        started = utcnow()
        assert await fire_now(services, step) == "fired"
        fired.append(step.kind)
        following = await pending(services, conversation_id)
        for kind in ("reminder", "escalate"):
            for row in following.get(kind, []):
                assert near(row.due_at, started + timedelta(seconds=R))

    assert fired == ["reminder", "reminder", "escalate"]
    left = await pending(services, conversation_id)
    assert list(left) == ["expire"] and left["expire"][0].id == expiry.id
    jobs = email_jobs(services)
    assert sorted(tuple(a[2:]) for a in jobs) == sorted(
        [
            ("reminder", 1, 2, agent.email),
            ("reminder", 1, 2, admin.email),
            ("reminder", 2, 2, agent.email),
            ("reminder", 2, 2, admin.email),
            ("escalation", 1, 1, admin.email),
        ]
    )
    assert all(a[0] == conversation_id and a[1] == version for a in jobs)


async def test_with_escalation_off_the_ladder_stops_after_the_reminders(
    mail_services: Services,
) -> None:
    org = await ladder_org(mail_services, reminder_repeats=1, escalate_to_admins=False)
    conversation_id = await queued_conversation(mail_services, org)

    [reminder] = (await pending(mail_services, conversation_id))["reminder"]
    assert await fire_now(mail_services, reminder) == "fired"

    assert list(await pending(mail_services, conversation_id)) == ["expire"]


@pytest.mark.parametrize("repeats", [0, -3])
async def test_with_no_reminders_the_escalation_comes_first(
    services: Services, repeats: int
) -> None:
    org = await ladder_org(services, reminder_repeats=repeats)
    conversation_id = await queued_conversation(services, org)

    assert sorted(await pending(services, conversation_id)) == ["escalate", "expire"]


async def test_a_zero_interval_turns_reminders_off_and_keeps_expiry(services: Services) -> None:
    org = await ladder_org(services, reminder_interval_seconds=0)
    conversation_id = await queued_conversation(services, org)

    assert list(await pending(services, conversation_id)) == ["expire"]


async def test_expiry_returns_the_conversation_to_the_ai_with_the_notice(
    services: Services,
) -> None:
    org = await ladder_org(services)
    conversation_id = await queued_conversation(services, org)

    [expiry] = (await pending(services, conversation_id))["expire"]
    assert await fire_now(services, expiry) == "fired"

    assert (await conversation(services, conversation_id)).state == "ai"
    assert await pending(services, conversation_id) == {}  # the reminder went with it


def closed_until_the_day_after_tomorrow(
    now: datetime,
) -> tuple[dict[str, list[list[str]]], datetime]:
    """Business hours open only two days from now, 09:00-10:00 UTC."""
    day = (now + timedelta(days=2)).date()
    opening = datetime(day.year, day.month, day.day, 9, 0, tzinfo=now.tzinfo)
    return {DAYS[day.weekday()]: [["09:00", "10:00"]]}, opening


async def test_outside_business_hours_reminders_wait_for_the_opening_but_expiry_does_not(
    services: Services,
) -> None:
    now = utcnow()
    hours, opening = closed_until_the_day_after_tomorrow(now)
    org = await ladder_org(services, business_hours=hours, time_zone="UTC")
    conversation_id = await queued_conversation(services, org)

    found = await pending(services, conversation_id)

    assert found["reminder"][0].due_at == opening
    assert near(found["expire"][0].due_at, now + timedelta(seconds=E))


async def test_business_hours_in_another_zone_are_read_in_that_zone(services: Services) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    day = (utcnow().astimezone(tokyo) + timedelta(days=2)).date()
    org = await ladder_org(
        services, business_hours={DAYS[day.weekday()]: [["09:00", "10:00"]]}, time_zone="Asia/Tokyo"
    )
    conversation_id = await queued_conversation(services, org)

    [reminder] = (await pending(services, conversation_id))["reminder"]

    assert reminder.due_at == datetime(day.year, day.month, day.day, 9, 0, tzinfo=tokyo)
    assert (reminder.due_at.hour, reminder.due_at.minute) == (0, 0)  # stored in UTC


async def test_broken_business_hours_count_as_always_open(services: Services) -> None:
    org = await ladder_org(services, business_hours={"funday": [["09:00", "10:00"]]})
    before = utcnow()
    conversation_id = await queued_conversation(services, org)

    [reminder] = (await pending(services, conversation_id))["reminder"]

    assert near(reminder.due_at, before + timedelta(seconds=R))


async def test_a_claim_stops_the_ladder_and_a_reply_cancels_the_unassign_timer(
    services: Services,
) -> None:
    org = await ladder_org(services)
    agent = await make_agent(services.db, org)
    conversation_id = await queued_conversation(services, org)
    [reminder] = (await pending(services, conversation_id))["reminder"]

    before = utcnow()
    await actions.claim(services, agent, conversation_id)
    found = await pending(services, conversation_id)
    assert list(found) == ["unassign"]
    assert near(found["unassign"][0].due_at, before + timedelta(seconds=U))
    assert await fire_now(services, reminder) == "not-fired"  # cancelled by the claim

    await actions.reply(services, agent, conversation_id, "Hi, I'm here.")
    assert await pending(services, conversation_id) == {}


async def test_an_unanswered_claim_goes_back_to_the_queue_with_the_ladder_restarted(
    services: Services,
) -> None:
    org = await ladder_org(services)
    agent = await make_agent(services.db, org)
    conversation_id = await queued_conversation(services, org)
    rule_hits = (await conversation(services, conversation_id)).rule_hits
    await actions.claim(services, agent, conversation_id)
    [unassign] = (await pending(services, conversation_id))["unassign"]

    before = utcnow()
    assert await fire_now(services, unassign) == "fired"

    back = await conversation(services, conversation_id)
    assert (back.state, back.assigned_agent_id) == ("queued", None)
    assert back.rule_hits == rule_hits
    found = await pending(services, conversation_id)
    assert sorted(found) == ["expire", "reminder"]
    assert near(found["expire"][0].due_at, before + timedelta(seconds=E))
    async with services.db.transaction() as session:
        last = await session.scalar(
            select(Transition)
            .where(Transition.conversation_id == conversation_id)
            .order_by(Transition.id.desc())
        )
    assert last is not None and (last.from_state, last.to_state) == ("assigned", "queued")
    assert last.reason == "claimed but not answered within 5 minutes"
    # and the conversation can be claimed again
    assert (await actions.claim(services, agent, conversation_id)).state == "assigned"


async def test_reminders_go_to_the_team_or_everyone_and_escalations_to_admins(
    mail_services: Services,
) -> None:
    services = mail_services
    org = await ladder_org(services)
    other = await ladder_org(services)
    in_team = await make_agent(services.db, org, name="Tess")
    outside = await make_agent(services.db, org, name="Otto")
    admin = await make_agent(services.db, org, role="admin", name="Ada")
    await make_agent(services.db, org, role="viewer", name="Vic")
    gone = await make_agent(services.db, org, name="Gone")
    foreign = await make_agent(services.db, other, role="admin", name="Fay")
    async with services.db.transaction() as session:
        await session.execute(update(Agent).where(Agent.id == gone.id).values(active=False))
        team = Team(organization_id=org.id, name="billing")
        session.add(team)
        await session.flush()
        session.add_all(
            [
                TeamMember(team_id=team.id, agent_id=in_team.id),
                TeamMember(team_id=team.id, agent_id=gone.id),
            ]
        )
        team_id = team.id
    conversation_id = await queued_conversation(services, org)

    async with services.db.transaction() as session:
        row = await session.get(Conversation, conversation_id)
        assert row is not None
        everyone = await recipients(session, row, REMINDER)
        admins = await recipients(session, row, ESCALATION)
        row.team_id = team_id
        await session.flush()
        team_only = await recipients(session, row, REMINDER)

    assert everyone == sorted([in_team.email, outside.email, admin.email])
    assert admins == [admin.email]
    assert team_only == [in_team.email]
    assert foreign.email not in everyone + admins
