"""The whole ladder with nobody picking up, on real servers: a real Redis, a real worker
process and a real SMTP server, with timers shortened to seconds. A customer asks for a
person; the worker routes the message and queues the conversation; the team gets N
reminder emails, then the admin an escalation; at expiry the conversation returns to the
AI and the customer's widget channel receives the "nobody available" notice."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import select, update

from gateway.db import Database
from gateway.events import conversation_channel
from gateway.models import Conversation, Deadline, Message, Team, TeamMember
from gateway.runtime import Services
from tests.support.factories import chat_message, intake_for, job_services, make_agent, make_org
from tests.support.smtp_sink import SmtpSink
from tests.support.worker import running_worker

R, N, E = 1, 2, 8  # seconds between steps, reminders, seconds to expiry
PUBLIC_URL = "https://help.example.test"


async def conversation_of(services: Services, conversation_id: int) -> Conversation:
    async with services.db.transaction() as session:
        row = await session.get(Conversation, conversation_id)
    assert row is not None
    return row


async def state_of(services: Services, conversation_id: int) -> str:
    return (await conversation_of(services, conversation_id)).state


async def wait_for_state(services: Services, conversation_id: int, state: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await state_of(services, conversation_id) == state:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"conversation {conversation_id} never reached {state}")


async def test_reminders_escalation_and_expiry_with_a_real_worker_and_smtp(
    db: Database, redis_url: str
) -> None:
    async with job_services(db, redis_url) as services:
        org = await make_org(
            db,
            "ladder",
            reminder_interval_seconds=R,
            reminder_repeats=N,
            queue_expiry_seconds=E,
            unassign_after_seconds=0,
        )
        tess = await make_agent(db, org, name="Tess")  # on the conversation's team
        otto = await make_agent(db, org, name="Otto")  # not on it
        ada = await make_agent(db, org, role="admin", name="Ada")
        async with db.transaction() as session:
            team = Team(organization_id=org.id, name="returns")
            session.add(team)
            await session.flush()
            session.add(TeamMember(team_id=team.id, agent_id=tess.id))
            team_id = team.id
        received = await intake_for(services).receive(
            chat_message(org, "I want to talk to a person")
        )
        conversation_id = received.conversation_id
        async with db.transaction() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(team_id=team_id)
            )

        with SmtpSink() as sink:
            async with services.events.redis.pubsub() as widget:
                await widget.subscribe(conversation_channel(conversation_id))
                with running_worker(
                    db.url,
                    redis_url,
                    SWITCHBOARD_SMTP_URL=sink.url,
                    SWITCHBOARD_PUBLIC_URL=PUBLIC_URL,
                    SWITCHBOARD_MAIL_FROM="desk@ladder.test",
                ):
                    await wait_for_state(services, conversation_id, "queued", timeout=20)
                    await sink.wait_for(N + 1, timeout=20)
                    await wait_for_state(services, conversation_id, "ai", timeout=E + 20)
                    frames = await notices_seen(widget, "nobody_available", timeout=10)
                    await asyncio.sleep(1.5)  # nothing more may arrive once it is over
                    mails = sink.messages

    to_tess, to_ada = sink.to(tess.email), sink.to(ada.email)
    assert len(mails) == N + 1 and sink.to(otto.email) == []
    assert len(to_tess) == N and all(m.subject.startswith("Waiting ") for m in to_tess)
    assert [f"reminder {k} of {N}" in m.text for k, m in enumerate(to_tess, 1)] == [True] * N
    assert len(to_ada) == 1 and to_ada[0].subject.startswith("Escalation: ")
    # back with the AI, the conversation shows no handoff summary any more
    assert (await conversation_of(services, conversation_id)).summary is None
    for mail in mails:
        assert f"{PUBLIC_URL}/queue/conversations/{conversation_id}" in mail.text
        assert mail.sender == "desk@ladder.test"
        assert "(no summary yet)" in mail.text or "\nWhy handed off: " in mail.text

    async with db.transaction() as session:
        fired = (
            await session.scalars(
                select(Deadline)
                .where(Deadline.conversation_id == conversation_id, Deadline.fired_at.is_not(None))
                .order_by(Deadline.fired_at)
            )
        ).all()
        notices = (
            await session.scalars(
                select(Message).where(
                    Message.conversation_id == conversation_id, Message.author == "system"
                )
            )
        ).all()
    assert [d.kind for d in fired] == ["reminder"] * N + ["escalate", "expire"]
    assert (fired[-1].fired_at - fired[0].created_at).total_seconds() >= E - 0.5
    [notice] = [m for m in notices if m.meta.get("notice") == "nobody_available"]
    assert (notice.channel, notice.delivery_status) == ("webchat", "delivered")
    assert frames[0]["data"]["text"] == notice.text


async def notices_seen(widget, notice: str, timeout: float) -> list[dict]:
    """The widget channel's message frames carrying `notice` (waits for the first)."""
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not found:
        raw = await widget.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if raw is None:
            continue
        frame = json.loads(raw["data"])
        if frame["type"] == "message" and frame["data"].get("notice") == notice:
            found.append(frame)
    assert found, f"the widget never received the {notice!r} notice"
    return found
