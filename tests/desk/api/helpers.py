"""Rows for the queue tests: conversations in any state, on any channel, with a customer,
an identity and messages, written directly (the states' own paths are tested elsewhere)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from quart import Quart
from quart.testing import QuartClient

from gateway.auth import COOKIE, open_session
from gateway.db import Database
from gateway.models import (
    Agent,
    Contact,
    ContactIdentity,
    Conversation,
    Message,
    Organization,
    utcnow,
)

KIND_OF_CHANNEL = {"webchat": "web", "sms": "phone", "whatsapp": "whatsapp", "email": "email"}


@dataclass(frozen=True)
class Seeded:
    conversation_id: int
    contact_id: int
    message_id: int


async def seed_conversation(
    db: Database,
    org: Organization,
    *,
    state: str = "queued",
    channel: str = "webchat",
    name: str | None = "Ada Lovelace",
    address: str | None = None,
    text: str = "hello",
    html: str | None = None,
    contact_id: int | None = None,
    assignee: Agent | None = None,
    waiting_since: datetime | None = None,
    updated_at: datetime | None = None,
    ai_paused_until: datetime | None = None,
    label: str | None = None,
    team_id: int | None = None,
    opted_out: bool = False,
    thread_key: str = "",
) -> Seeded:
    now = utcnow()
    kind = KIND_OF_CHANNEL[channel]
    address = address or f"{kind}-{uuid.uuid4().hex[:8]}"
    async with db.transaction() as session:
        if contact_id is None:
            contact = Contact(organization_id=org.id, name=name)
            session.add(contact)
            await session.flush()
            contact_id = contact.id
        session.add(
            ContactIdentity(
                organization_id=org.id,
                contact_id=contact_id,
                kind=kind,
                address=address,
                opted_out_at=now - timedelta(days=1) if opted_out else None,
            )
        )
        conversation = Conversation(
            organization_id=org.id,
            contact_id=contact_id,
            channel=channel,
            thread_key=thread_key,
            address_kind=kind,
            address=address,
            state=state,
            assigned_agent_id=assignee.id if assignee else None,
            waiting_since=waiting_since or (now if state == "queued" else None),
            ai_paused_until=ai_paused_until
            or (now + timedelta(minutes=15) if state == "manual" else None),
            handoff_reason="the customer asked for a person" if state == "queued" else None,
            summary="Wants a refund for order 42.\nSecond line." if state == "queued" else None,
            label=label,
            team_id=team_id,
            created_at=now,
            updated_at=updated_at or now,
        )
        session.add(conversation)
        await session.flush()
        message = Message(
            organization_id=org.id,
            conversation_id=conversation.id,
            direction="inbound",
            author="customer",
            channel=channel,
            text=text,
            html=html,
            provider_message_id=uuid.uuid4().hex,
            delivery_status="received",
            created_at=now,
        )
        session.add(message)
        await session.flush()
        # the ORM bumps updated_at on flush; put back the one the test asked for
        conversation.updated_at = updated_at or now
        return Seeded(conversation.id, contact_id, message.id)


async def client_for(app: Quart, db: Database, agent: Agent) -> tuple[QuartClient, dict[str, str]]:
    """A test client with a session opened directly (no password hashing per client)."""
    token, csrf = await open_session(db, agent)
    client = app.test_client()
    client.set_cookie("localhost", COOKIE, token)
    return client, {"X-CSRF-Token": csrf}
