"""Factories for rows and messages, and the job services a worker would build, wired to
the test's real database and Redis."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from gateway.channels import ChannelRegistry
from gateway.db import Database
from gateway.events import EventPublisher
from gateway.intake import Intake
from gateway.messages import Attachment, InboundMessage
from gateway.models import Agent, Organization
from gateway.passwords import hash_password
from gateway.plugins import build_registry
from gateway.queues import JobQueue
from gateway.runtime import Services
from gateway.settings import Settings
from server.plugins import PLUGINS
from tests.support.fake_twilio import BUSINESS, CUSTOMER

PASSWORD = "correct horse battery"
_FAST_HASH = hash_password(PASSWORD)


@asynccontextmanager
async def job_services(db: Database, redis_url: str, **settings: Any) -> AsyncIterator[Services]:
    """Services as a worker builds them, on the test's database and Redis."""
    events = EventPublisher(AsyncRedis.from_url(redis_url))
    services = Services(
        settings=Settings(database_url=db.url, redis_url=redis_url, secret_key="test", **settings),
        db=db,
        jobs=JobQueue(Redis.from_url(redis_url)),
        events=events,
        channels=ChannelRegistry(),
    )
    services.channels = build_registry(PLUGINS, services)
    try:
        yield services
    finally:
        await events.redis.aclose()
        services.jobs.redis.close()


def intake_for(services: Services) -> Intake:
    return Intake(services.db, services.jobs, services.events)


async def make_org(db: Database, slug: str | None = None, **org_settings: Any) -> Organization:
    slug = slug or f"org-{uuid.uuid4().hex[:8]}"
    async with db.transaction() as session:
        org = Organization(
            slug=slug,
            name=slug.title(),
            widget_key=f"pk_{secrets.token_urlsafe(12)}",
            allowed_origins=[],
            settings=dict(org_settings),
        )
        session.add(org)
    return org


async def make_agent(
    db: Database, org: Organization, *, role: str = "agent", name: str = "Dana"
) -> Agent:
    async with db.transaction() as session:
        agent = Agent(
            organization_id=org.id,
            name=name,
            email=f"{uuid.uuid4().hex[:10]}@example.test",
            password_hash=_FAST_HASH,
            role=role,
        )
        session.add(agent)
    return agent


def chat_message(
    org: Organization, text: str, *, visitor: str = "visitor-1", frame: str | None = None
) -> InboundMessage:
    return InboundMessage(
        organization_id=org.id,
        channel="webchat",
        sender_kind="web",
        sender_address=visitor,
        text=text,
        provider_message_id=f"{visitor}:{frame or uuid.uuid4().hex}",
    )


def sms_message(
    org: Organization,
    text: str,
    *,
    sender: str = CUSTOMER,
    to: str = BUSINESS,
    sid: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    meta: dict[str, Any] | None = None,
) -> InboundMessage:
    """A customer's text from `sender` to the business number `to`."""
    return InboundMessage(
        organization_id=org.id,
        channel="sms",
        sender_kind="phone",
        sender_address=sender,
        text=text,
        provider_message_id=sid or f"SM{uuid.uuid4().hex}",
        thread_key=to,
        attachments=attachments,
        meta=meta or {},
    )
