"""Callbacks of the two legs that arrive at the same moment as an agent's press of 1: the
answering-machine callback, and the caller hanging up. Where the timing cannot be forced
with requests posted together, the second event is placed between the first one's read
and its write."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import Agent
from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.call_simulator import Caller
from tests.support.fake_twilio import Account, FakeTwilio
from tests.voice.helpers import attempts, outcomes, ringing_dana, the_call
from voice import agent_leg, transfer
from voice.models import TransferAttempt, VoiceCall


async def test_a_machine_callback_read_before_a_press_of_1_does_not_hang_up_the_agent(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AMD guesses "machine" for a person who answers quickly and presses 1; the callback
    read the attempt before the press took the call. The press is the real guard: Dana
    stays on the line with the caller."""
    dana, _ = agents
    phone = await ringing_dana(caller, fake_twilio, account)
    original = agent_leg.machine_detected
    pressed: list[ET.Element] = []

    async def press_first(services: Services, seen: agent_leg.AttemptView, by: str) -> None:
        pressed.append(await phone.press("1"))  # after the callback's read, before its act
        await original(services, seen, by)

    monkeypatch.setattr(agent_leg, "machine_detected", press_first)
    assert await phone.machine("machine_start") == 200

    [joined] = pressed
    assert joined.find("Dial/Conference") is not None, ET.tostring(joined)
    assert fake_twilio.updates_of(phone.placed.sid) == []  # nobody hung up on Dana
    assert await outcomes(voice_services) == [("Dana", "accepted")]
    call, _ = await the_call(voice_services)
    assert (call.phase, call.agent_id) == ("agent", dana.id)
    assert len(fake_twilio.placed_calls()) == 1  # nobody else was rung


async def _call_phase(services: Services) -> str | None:
    """The call's phase as committed (a read: it never waits for a writer)."""
    async with services.db.read() as session:
        return await session.scalar(select(VoiceCall.phase))


async def test_the_caller_hanging_up_as_a_press_of_1_is_stored_leaves_the_call_ended(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The caller's "completed" arrives while the press of 1 is being stored (after it
    read the call on hold). The call must end up ended, not "with Dana" for good."""
    phone = await ringing_dana(caller, fake_twilio, account)
    execute: Callable[..., Awaitable[Any]] = AsyncSession.execute
    hung_up: list[asyncio.Task[int]] = []

    async def hang_up_meanwhile(self: AsyncSession, statement: Any, *args: Any, **kw: Any) -> Any:
        result = await execute(self, statement, *args, **kw)
        table = getattr(statement, "table", None)
        if (
            not hung_up
            and getattr(statement, "is_update", False)
            and (getattr(table, "name", "") == "voice_transfer_attempts")
        ):
            # the press is storing "accepted": the caller's hang-up lands now, before it
            # commits (SQLite lets one writer at a time, so there it waits its turn)
            hung_up.append(asyncio.create_task(caller.hang_up()))
            started = time.monotonic()
            while time.monotonic() - started < 2 and await _call_phase(voice_services) != "ended":
                await asyncio.sleep(0.02)
        return result

    monkeypatch.setattr(AsyncSession, "execute", hang_up_meanwhile)
    await phone.press("1")
    [hang_up] = hung_up
    assert await hang_up == 200
    monkeypatch.undo()

    call, _ = await the_call(voice_services)
    assert (call.phase, call.status) == ("ended", "completed")


async def test_call_me_as_the_next_target_is_picked_leaves_one_phone_ringing(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dana does not answer, and as the gateway picks the next target Sam clicks "Call me".
    One phone rings for the call, not Sam's two (his own and the one in the list)."""
    _, sam = agents
    dana = await ringing_dana(caller, fake_twilio, account)
    _, conversation = await the_call(voice_services)
    client, csrf = await logged_in(voice_app, sam)
    await client.put("/api/me/phone", json={"number": "+15550009999"}, headers=csrf)
    call_me = f"/api/conversations/{conversation.id}/call/call-me"
    original = transfer._pick
    clicked: list[asyncio.Task[Any]] = []

    async def click_meanwhile(session: AsyncSession, found: Any, round_: int) -> Any:
        if not clicked:  # the next target is being picked: Sam's click lands now
            clicked.append(asyncio.create_task(client.post(call_me, headers=csrf)))
            started = time.monotonic()
            while time.monotonic() - started < 2 and not await _asked_to_be_called(voice_services):
                await asyncio.sleep(0.02)
        return await original(session, found, round_)

    monkeypatch.setattr(transfer, "_pick", click_meanwhile)
    assert await dana.report("no-answer") == 200
    [click] = clicked
    assert (await click).status_code == 200

    ringing = [attempt for attempt in await attempts(voice_services) if attempt.outcome is None]
    assert [(attempt.target_label, attempt.detail) for attempt in ringing] == [
        ("Sam", transfer.CALL_ME)
    ]
    hung_up = {update.sid for update in fake_twilio.call_updates}
    after_dana = fake_twilio.placed_calls()[1:]
    assert [leg.get("To") for leg in after_dana if leg.sid not in hung_up] == ["+15550009999"]


async def _asked_to_be_called(services: Services) -> bool:
    async with services.db.read() as session:
        found = await session.scalar(
            select(TransferAttempt.id).where(TransferAttempt.detail == transfer.CALL_ME)
        )
    return found is not None


async def test_back_to_the_ai_clicked_twice_moves_the_caller_once(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    agents: tuple[Agent, Agent],
) -> None:
    """A double click on "Back to the AI": one redirect of the caller. A second one would
    take the caller, already talking to the AI again, back to "anything else?"."""
    dana, _ = agents
    phone = await ringing_dana(caller, fake_twilio, account)
    assert (await phone.press("1")).find("Dial/Conference") is not None
    _, conversation = await the_call(voice_services)
    client, csrf = await logged_in(voice_app, dana)
    back = f"/api/conversations/{conversation.id}/call/back-to-ai"

    first, second = await asyncio.gather(
        client.post(back, headers=csrf), client.post(back, headers=csrf)
    )
    assert first.status_code == second.status_code == 200
    [move] = fake_twilio.updates_of(caller.sid)
    assert "x=desk" in (move.get("Url") or "")
