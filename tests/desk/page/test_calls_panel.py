"""A voice conversation in the agents' queue page: the details panel shows the call's live
state and each transfer attempt with its outcome, and offers "Call me" while the caller
waits on hold (refused with a plain message until the agent has a phone); an ended call's
kept recording plays from the gateway. The AI's typing line goes as soon as the reply it
spoke to the caller shows. An admin's top bar links to the calls settings page
on every desk page; an agent's does not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, expect
from sqlalchemy import select, update

from gateway.events import Event
from gateway.media import MediaStore
from gateway.messages import InboundMessage
from gateway.models import Conversation, Message, utcnow
from gateway.outbound import queue_outbound
from messaging.twilio.models import TwilioAccount
from messaging.twilio.numbers import add_number
from tests.desk.page.conftest import RunningSystem
from tests.desk.page.pages import LIVE_TIMEOUT_MS, agent_page
from tests.support.factories import intake_for, job_services, make_agent
from voice.models import TransferAttempt, VoiceCall

BUSINESS = "+15550001111"
CALLER = "+15557654321"
QUESTION = "Where is my order?"
REPLY = "It left our warehouse this morning."


async def _a_call_on_hold(system: RunningSystem) -> int:
    account_sid = "AC" + "1" * 32
    await add_number(system.db, system.org.id, BUSINESS, account_sid, "a" * 32)
    async with job_services(system.db, system.redis_url) as services:
        received = await intake_for(services).receive(
            InboundMessage(
                system.org.id,
                "voice",
                "phone",
                CALLER,
                QUESTION,
                "CA1:1",
                thread_key=BUSINESS,
            )
        )
    async with system.db.transaction() as session:
        account_id = await session.scalar(
            select(TwilioAccount.id).where(TwilioAccount.account_sid == account_sid)
        )
        assert account_id is not None
        call = VoiceCall(
            organization_id=system.org.id,
            conversation_id=received.conversation_id,
            account_id=account_id,
            call_sid="CA1",
            from_number=CALLER,
            to_number=BUSINESS,
            phase="hold",
            status="in-progress",
            status_sequence=1,
            silences=0,
            transfer_round=1,
            hold_told_attempt=0,
            hold_started_at=utcnow(),
        )
        session.add(call)
        await session.flush()
        session.add(
            TransferAttempt(
                organization_id=system.org.id,
                call_id=call.id,
                round=1,
                position=0,
                agent_id=system.admin.id,
                target_number="+15550002222",
                target_label="Dana",
                status="ringing",
                status_sequence=1,
            )
        )
    return received.conversation_id


async def test_a_call_on_hold_shows_in_the_conversation(
    running_gateway: RunningSystem, browser: Browser
) -> None:
    system = running_gateway
    conversation_id = await _a_call_on_hold(system)
    page = await agent_page(browser, system.url, system.admin.email)
    await page.goto(f"{system.url}/queue/conversations/{conversation_id}")
    calls = page.get_by_test_id("calls")
    await expect(calls.get_by_test_id("call-state")).to_contain_text(
        "on hold for", timeout=LIVE_TIMEOUT_MS
    )
    await expect(calls.get_by_test_id("call-attempt")).to_have_text("Dana: ringing")

    # The panel follows live events; a refresh between pressing "Call me" and letting go
    # (the hold time has changed meanwhile) keeps the button, so the click counts.
    state = calls.get_by_test_id("call-state")
    held = await state.text_content()
    box = await calls.get_by_test_id("call-me").bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
    await page.mouse.down()
    async with system.db.transaction() as session:
        await session.execute(
            update(VoiceCall).values(hold_started_at=utcnow() - timedelta(minutes=5))
        )
    await page.evaluate("SB.queue.view.refresh(false)")
    await expect(state).not_to_have_text(held or "")  # the fresh list arrived
    await page.mouse.up()
    await expect(page.get_by_text("add your phone number first")).to_be_visible()


async def test_the_ais_typing_line_goes_when_its_spoken_reply_shows(
    running_gateway: RunningSystem, browser: Browser
) -> None:
    """A reply spoken on the call is stored as delivered, and the pages hear only of its
    delivery, not of a new message: the typing line must not wait out its 6 s."""
    system = running_gateway
    async with job_services(system.db, system.redis_url) as services:
        received = await intake_for(services).receive(
            InboundMessage(
                system.org.id, "voice", "phone", CALLER, QUESTION, "CA2:1", thread_key=BUSINESS
            )
        )
        conversation_id = received.conversation_id
        page = await agent_page(browser, system.url, system.admin.email)
        await page.goto(f"{system.url}/queue/conversations/{conversation_id}")
        await expect(page.get_by_test_id("timeline")).to_contain_text(QUESTION)
        await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
        typing = page.get_by_test_id("typing")
        told = Event("typing", system.org.id, conversation_id, {"author": "ai"})
        await services.events.publish(told)
        await expect(typing).to_have_text("AI assistant is typing…")

        async with system.db.transaction() as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            reply = await queue_outbound(
                session, services.jobs, conversation, author="ai", text=REPLY, delivered=True
            )
        delivered = {"message_id": reply.id, "status": "delivered", "error": None}
        await services.events.publish(Event("delivery", system.org.id, conversation_id, delivered))
        await expect(page.get_by_test_id("timeline")).to_contain_text(REPLY)
        await expect(typing).to_have_text("", timeout=2_000)  # well before its 6 s


async def test_an_admins_top_bar_links_to_the_calls_settings(
    running_gateway: RunningSystem, browser: Browser
) -> None:
    system = running_gateway
    page = await agent_page(browser, system.url, system.admin.email)
    for path in ("/queue", "/dashboard", "/admin"):
        await page.goto(system.url + path)
        calls = page.get_by_role("navigation", name="Main").get_by_role("link", name="Calls")
        await expect(calls).to_have_attribute("href", "/calls/settings")
    await calls.click()
    await expect(page).to_have_url(system.url + "/calls/settings")

    agent = await make_agent(system.db, system.org, name="Ada")
    agents_page = await agent_page(browser, system.url, agent.email)
    main = agents_page.get_by_role("navigation", name="Main")
    await expect(main.get_by_role("link", name="Queue")).to_be_visible()
    await expect(main.get_by_role("link", name="Calls")).to_have_count(0)


async def test_an_ended_calls_recording_plays_in_the_conversation(
    running_gateway: RunningSystem, browser: Browser, tmp_path: Path
) -> None:
    system = running_gateway
    conversation_id = await _a_call_on_hold(system)
    audio = b"ID3\x04\x00" + bytes(2048)
    stored = await MediaStore(tmp_path).save(
        system.db, system.org.id, audio, "audio/mpeg", name="call-recording.mp3", origin="inbound"
    )
    async with system.db.transaction() as session:
        await session.execute(
            update(VoiceCall).values(
                phase="ended", status="completed", recording_sid="RE1", recording_seconds=12
            )
        )
        session.add(
            Message(
                organization_id=system.org.id,
                conversation_id=conversation_id,
                direction="outbound",
                author="system",
                channel="voice",
                text="Call recording (12 s)",
                attachments=[stored.attachment()],
                meta={"voice": "recording"},
                provider_message_id="recording:RE1",
                delivery_status="delivered",
            )
        )
    page = await agent_page(browser, system.url, system.admin.email)
    await page.goto(f"{system.url}/queue/conversations/{conversation_id}")
    player = page.get_by_test_id("calls").get_by_test_id("call-recording")
    await expect(player).to_have_attribute("src", stored.url, timeout=LIVE_TIMEOUT_MS)
    await expect(page.get_by_test_id("calls")).to_contain_text("Recording (12 s)")
    fetched = await page.evaluate(
        "src => fetch(src).then(r => [r.status, r.headers.get('content-type')])", stored.url
    )
    assert fetched == [200, "audio/mpeg"]
