"""The AI reply budget against a real loop: a peer that answers every mail with an
automatic reply that marks nothing (no Auto-Submitted, no Precedence). A worker process
answers with the (fake) hosted model and sends through the peer, whose answers come back
through Switchboard's inbound SMTP server; the exchange stops at the budget and the
conversation waits for a person, marked for attention."""

from __future__ import annotations

import asyncio
import smtplib
import threading
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from email_channel import budget
from email_channel.smtp_server import inbound_smtp
from gateway.db import Database
from gateway.models import Conversation, Message, Organization
from tests.email.helpers import SUPPORT, email_services, mail, support_mailbox
from tests.support.fake_llm import FakeLLM
from tests.support.ports import free_port
from tests.support.worker import running_worker

API_KEY = "sk-test-budget"


class AutoResponder:
    """An SMTP peer that accepts every mail and answers it, like a careless ticket system."""

    def __init__(self, inbound_port: int) -> None:
        self.inbound_port = inbound_port
        self.received: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        threading.Thread(target=self._answer, args=(message,), daemon=True).start()
        return "250 2.0.0 OK"

    def _answer(self, original: EmailMessage) -> None:
        answer = EmailMessage()
        answer["From"] = "carol@customer.example"
        answer["To"] = str(original["Reply-To"])
        answer["Subject"] = f"Re: {original['Subject']}"
        answer["In-Reply-To"] = str(original["Message-ID"])
        answer["Message-ID"] = f"<auto-{len(self.received)}-{time.time_ns()}@customer.example>"
        answer.set_content("We have received your message and will get back to you soon.")
        with smtplib.SMTP("127.0.0.1", self.inbound_port, timeout=30) as client:
            client.send_message(answer)

    def __enter__(self) -> AutoResponder:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


async def test_an_unmarked_auto_responder_stops_at_the_budget(
    db: Database, redis_url: str, org: Organization, tmp_path: Path
) -> None:
    inbound_port = free_port()
    with FakeLLM(api_key=API_KEY) as llm, AutoResponder(inbound_port) as peer:
        for _ in range(budget.PER_SENDER_HOUR + 5):
            llm.answer_text("Thank you, we are looking into it.")
        async with email_services(
            db, redis_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{peer.port}"
        ) as services:
            await support_mailbox(db, org)
            async with inbound_smtp(services, "127.0.0.1", inbound_port):
                with running_worker(
                    db.url,
                    redis_url,
                    SWITCHBOARD_SMTP_URL=f"smtp://127.0.0.1:{peer.port}",
                    SWITCHBOARD_LLM_BASE_URL=llm.base_url,
                    SWITCHBOARD_LLM_MODEL="fake-model",
                    SWITCHBOARD_LLM_API_KEY=API_KEY,
                ):
                    await aiosmtplib.send(
                        mail(),
                        sender="carol@customer.example",
                        recipients=[SUPPORT],
                        hostname="127.0.0.1",
                        port=inbound_port,
                    )
                    conversation = await _queued(db, timeout=90)
    assert conversation.needs_attention
    assert "automatic responder" in (conversation.attention_reason or "")
    async with db.transaction() as session:
        ai_replies = await session.scalar(
            select(func.count(Message.id)).where(Message.author == "ai")
        )
    assert ai_replies == budget.PER_SENDER_HOUR
    assert len(peer.received) == budget.PER_SENDER_HOUR
    assert all(message["Auto-Submitted"] == "auto-replied" for message in peer.received)


async def _queued(db: Database, timeout: float) -> Conversation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with db.transaction() as session:
            found = await session.scalar(select(Conversation).where(Conversation.state == "queued"))
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the exchange never stopped")
