"""Reading a call's rows in the voice tests, opting the caller out of texts, waiting for a
job worker to start, Dana, the agent rung first, answering and joining the caller, and a
caller of a gateway whose AI is the loopback model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import Redis
from rq import Worker
from sqlalchemy import select

from gateway import consent
from gateway.consent import ConsentChange
from gateway.models import Conversation, Message
from gateway.runtime import Services
from server.app import create_app
from tests.support.call_simulator import AgentPhone, Caller
from tests.support.fake_llm import FakeLLM
from tests.support.fake_twilio import CUSTOMER, Account, FakeTwilio
from tests.voice.conftest import DANA_PHONE
from voice.models import TransferAttempt, VoiceCall


async def the_call(services: Services) -> tuple[VoiceCall, Conversation]:
    async with services.db.transaction() as session:
        call = (await session.execute(select(VoiceCall))).scalar_one()
        conversation = await session.get(Conversation, call.conversation_id)
        assert conversation is not None
        return call, conversation


async def opt_out_by_text(services: Services, organization_id: int, number: str) -> None:
    """What a STOP texted from `number` records."""
    async with services.db.transaction() as session:
        await consent.apply(
            session,
            ConsentChange(
                organization_id=organization_id,
                kind="phone",
                address=number,
                opted_out=True,
                source="keyword",
                detail='they replied "STOP"',
                message_id=None,
            ),
        )


async def attempts(services: Services) -> list[TransferAttempt]:
    async with services.db.transaction() as session:
        rows = await session.scalars(select(TransferAttempt).order_by(TransferAttempt.id))
        return list(rows.all())


async def outcomes(services: Services) -> list[tuple[str, str | None]]:
    return [(row.target_label, row.outcome) for row in await attempts(services)]


async def transcript(services: Services, conversation_id: int) -> list[Message]:
    async with services.db.transaction() as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return list(rows.all())


async def worker_ready(redis_url: str, timeout: float = 120.0) -> None:
    """Wait until a job worker has registered with Redis (a cold start can be slow)."""
    connection = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + timeout
        while Worker.count(connection=connection) == 0:
            assert time.monotonic() < deadline, "the worker did not start"
            await asyncio.sleep(0.1)
    finally:
        connection.close()


async def dana_joins(
    caller: Caller, fake_twilio: FakeTwilio, account: Account, calls_so_far: int
) -> AgentPhone:
    """Dana, the agent rung for the caller's transfer (the `calls_so_far + 1`th call placed),
    answers and presses 1: she is in the caller's conference."""
    placed = fake_twilio.wait_for_calls(calls_so_far + 1)[-1]
    assert placed.get("To") == DANA_PHONE
    phone = AgentPhone(caller.client, account, placed)
    await phone.report("ringing")
    assert "Press 1" in " ".join(await phone.pick_up())
    joined = await phone.press("1")
    conference = joined.find("Dial/Conference")
    assert conference is not None and (conference.text or "").strip() == caller.room
    return phone


async def ringing_dana(caller: Caller, fake_twilio: FakeTwilio, account: Account) -> AgentPhone:
    """The caller asks for a person and holds; Dana's phone rings and she answers: she
    hears the whisper and is asked to press 1."""
    await caller.dial_in()
    await caller.say("I want to talk to a person")
    assert caller.room is not None
    [dana] = fake_twilio.wait_for_calls(1)
    phone = AgentPhone(caller.client, account, dana)
    await phone.report("ringing")
    assert "Press 1" in " ".join(await phone.pick_up())
    return phone


@asynccontextmanager
async def calling_with_model(
    services: Services, account: Account, business_number: str, llm: FakeLLM
) -> AsyncIterator[Caller]:
    """A caller of a gateway whose AI is the loopback model `llm`."""
    settings = services.settings.model_copy(
        update={"llm_base_url": llm.base_url, "llm_model": "fake-model"}
    )
    app = create_app(settings)
    async with app.test_app():
        yield Caller(app.test_client(), account, CUSTOMER, business_number)
