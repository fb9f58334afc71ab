"""The summary job: enqueued once a handoff commits, it gathers the conversation (customer,
contact details, transcript, the handoff's reason and rule hits), has it summarized, stores
the text on the conversation and tells the agents' pages. A job for an older handoff never
overwrites the summary of a newer one, and a job that finishes after the conversation went
back to the AI stores nothing (the move back clears the summary). The summary is internal:
it is published on the organization's channel only, never on the conversation's, which the
customer's widget reads."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels import ChannelSpec
from gateway.db import after_commit
from gateway.events import Event, org_channel
from gateway.models import Contact, ContactIdentity, Conversation, Message, Transition
from gateway.ownership import State
from gateway.runtime import Services, run_job
from handoff.ai.llm_client import llm_config
from handoff.ai.summaries import Line, SummaryInput, summarize
from handoff.context import load_context

log = logging.getLogger(__name__)

SUMMARIZE = "handoff.ai.summary_job.summarize_job"
MESSAGES = 50
PRIVATE_KINDS = frozenset({"web"})  # a web visitor id tells an agent nothing


async def _handoff(session: AsyncSession, conversation_id: int, version: int) -> Transition | None:
    """The move to the queue that made ownership `version`, if it is still the latest."""
    latest = await session.scalar(
        select(Transition)
        .where(Transition.conversation_id == conversation_id, Transition.to_state == State.QUEUED)
        .order_by(Transition.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.ownership_version == version else None


async def load_input(
    session: AsyncSession, conversation: Conversation, handoff: Transition, channel: ChannelSpec
) -> SummaryInput:
    contact = await session.get(Contact, conversation.contact_id)
    identities = await session.scalars(
        select(ContactIdentity.address)
        .where(
            ContactIdentity.contact_id == conversation.contact_id,
            ContactIdentity.kind.not_in(PRIVATE_KINDS),
        )
        .order_by(ContactIdentity.id)
    )
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.id.desc())
        .limit(MESSAGES)
    )
    lines = tuple(
        Line(message.author, message.text, _knows(message)) for message in reversed(rows.all())
    )
    return SummaryInput(
        channel=channel.phrase,
        customer_name=contact.name if contact is not None else None,
        addresses=tuple(identities.all()),
        messages=lines,
        reason=handoff.reason or "no reason recorded",
        rule_hits=tuple(hit for hit in handoff.rule_hits if isinstance(hit, dict)),
    )


def _knows(message: Message) -> bool | None:
    knows = (message.meta or {}).get("knows")
    return knows if isinstance(knows, bool) else None


async def summarize_handoff(services: Services, conversation_id: int, version: int) -> str:
    """Summarize the handoff that made ownership `version`; returns what happened."""
    async with services.db.transaction() as session:
        context = await load_context(session, conversation_id)
        handoff = await _handoff(session, conversation_id, version)
        if handoff is None:
            return "superseded"
        channel = services.channels.spec(context.conversation.channel)
        data = await load_input(session, context.conversation, handoff, channel)
    text = await summarize(data, llm_config(services.settings, context.settings))
    async with services.db.transaction() as session:
        if await _handoff(session, conversation_id, version) is None:
            log.info("summary of conversation %s dropped: a newer handoff exists", conversation_id)
            return "superseded"
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        if conversation.state in (State.AI, State.RESOLVED):
            # back with the AI (or closed) before the summary was ready: it would describe
            # a handoff nobody is working on
            log.info("summary of conversation %s dropped: no longer handed off", conversation_id)
            return "not handed off"
        conversation.summary = text
        event = Event("summary", conversation.organization_id, conversation_id, {"summary": text})
        after_commit(
            session,
            lambda: services.events.redis.publish(
                org_channel(event.organization_id), event.to_json()
            ),
        )
    return "stored"


def summarize_job(conversation_id: int, version: int) -> str:
    """RQ entry point."""
    return run_job(lambda services: summarize_handoff(services, conversation_id, version))
