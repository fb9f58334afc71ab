"""The whole path in a real worker process configured by environment variables: the hosted
model's tool call hands the conversation off, the summary job runs on its own queue and
stores the model's summary, and the key never reaches the worker's log."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from sqlalchemy import select

from gateway.db import Database
from gateway.models import Conversation, Message
from handoff.ai.llm_responder import HANDOFF_TOOL, HOLDING_LINE
from tests.handoff.ai.llm.conftest import API_KEY, MODEL
from tests.support.factories import chat_message, intake_for, job_services
from tests.support.fake_llm import FakeLLM
from tests.support.worker import START, worker_env

SUMMARY = (
    "Sam asks what can be done about a tent with a torn seam from order #48213; calm; "
    "the assistant handed off because it needs a person's judgment."
)


async def test_a_worker_hands_off_on_the_tool_call_and_stores_the_models_summary(
    db: Database, redis_url: str, fake_llm: FakeLLM, org
) -> None:
    fake_llm.answer_tool_call(HANDOFF_TOOL, {"reason": "a damaged product needs a decision"})
    fake_llm.answer_text(SUMMARY)
    async with job_services(db, redis_url) as services:
        received = await intake_for(services).receive(
            chat_message(org, "The tent from order #48213 has a torn seam. What can you do?")
        )
    env = worker_env(
        db.url,
        redis_url,
        SWITCHBOARD_LLM_BASE_URL=fake_llm.base_url,
        SWITCHBOARD_LLM_MODEL=MODEL,
        SWITCHBOARD_LLM_API_KEY=API_KEY,
        SWITCHBOARD_LLM_TIMEOUT_SECONDS="5",
    )

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", START, "burst", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    async with db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        texts = (
            await session.scalars(
                select(Message.text).where(Message.author == "ai").order_by(Message.id)
            )
        ).all()
    assert conversation is not None and conversation.state == "queued"
    assert conversation.handoff_reason == (
        "the assistant asked for a person: a damaged product needs a decision"
    )
    assert texts == [HOLDING_LINE]
    assert conversation.summary == SUMMARY
    reply_request, summary_request = fake_llm.received()
    assert reply_request.body["tools"][0]["function"]["name"] == HANDOFF_TOOL
    assert "tools" not in summary_request.body
    assert "order #48213 has a torn seam" in summary_request.messages[1]["content"]
    assert API_KEY not in done.stderr
