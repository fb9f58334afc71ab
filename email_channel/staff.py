"""A staff reply from the agent's own mail client. A mail from an active agent's address that
is authenticated (the mailbox's trusted mail server reports `dkim=pass` or `spf=pass` for
the agent's domain in Authentication-Results, or it arrived over SMTP from a trusted
relay, or — on a mailbox that verifies DKIM itself — intake found a valid DKIM signature
of the agent's domain on it, see `dkim_verify`) and that continues a conversation (token,
In-Reply-To, References, marker) or names an email customer in To/Cc is stored as that
agent's reply — sent already, so never sent again — and a person takes over: the AI pauses
for the review window (`manual`), or the agent claims a waiting conversation. A mail that
only claims to come from an agent goes on as a customer's message, flagged.

A reply an agent sent from the shared mailbox itself lands in its Sent folder, which only
people holding the mailbox's password can write to: `handle_sent` stores it the same way
without asking for authentication, as the reply of the agent named in From or Sender (a
"send on behalf"), else of the agent the conversation is assigned to. The same reply often
reaches the inbox too (reply-all keeps the mailbox in Cc), unauthenticated, and may be
read first: on a mailbox that watches its Sent folder, such a copy that continues a
conversation waits for the Sent copy (`AwaitingSentCopy`) instead of being stored as a
customer's mail, so the reply is stored once, as the agent's. The inbox copy itself never
proves anything: unconfirmed when the wait is over, it is a customer's mail, flagged."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel.mailboxes import MailboxInfo
from email_channel.models import MailId
from email_channel.parsed import ParsedMail
from email_channel.threads import CHANNEL, find_thread
from gateway import deadlines, ownership
from gateway.db import after_commit
from gateway.events import Event
from gateway.models import Agent, Conversation, Organization, utcnow
from gateway.org_settings import OrganizationSettings
from gateway.outbound import record_sent
from gateway.ownership import State
from gateway.runtime import Services

log = logging.getLogger(__name__)

RESUME_AI = "resume-ai"  # the deadline kind that hands a paused conversation back to the AI
Step = Callable[[AsyncSession], Awaitable[None]]
SUSPECT = "This mail claims to come from an agent but could not be authenticated."


class AwaitingSentCopy(Exception):
    """An unauthenticated mail from an agent's address that continues a conversation, on
    a mailbox that watches its Sent folder: the copy there, if it is the agent's, will
    say so. Try it again later (`handle` with `await_sent=False` once the wait is over)."""


@dataclass(frozen=True, slots=True)
class StaffReply:
    message_id: int | None
    conversation_id: int | None


def authenticated(
    mail: ParsedMail, mailbox: MailboxInfo, peer: str | None, *, dkim_signed: bool = False
) -> bool:
    """`dkim_signed`: the mail carries a valid DKIM signature of its sender's domain (only
    counted on a mailbox that verifies DKIM itself)."""
    if peer is not None and peer in mailbox.trusted_relays:
        return True
    if mailbox.verify_dkim and dkim_signed:
        return True
    server = mailbox.trusted_authserv_id
    if not server:
        return False
    domain = re.escape(mail.sender.rpartition("@")[2])
    passed = re.compile(
        rf"\b(dkim=pass\b[^;]*header\.d=@?{domain}\b|spf=pass\b[^;]*smtp\.mailfrom=\S*@?{domain}\b)",
        re.IGNORECASE,
    )
    for value in mail.authentication_results:
        authserv = value.split(";", 1)[0].strip().split()[0].lower() if value.strip() else ""
        if authserv == server and passed.search(value):
            return True
    return False


async def find_agent(session: AsyncSession, organization_id: int, address: str) -> Agent | None:
    found: Agent | None = await session.scalar(
        select(Agent).where(
            Agent.organization_id == organization_id,
            Agent.email == address,
            Agent.active.is_(True),
            Agent.role.in_(("agent", "admin")),
        )
    )
    return found


async def handle(
    services: Services,
    mailbox: MailboxInfo,
    mail: ParsedMail,
    secret: str,
    step: Step | None,
    *,
    peer: str | None = None,
    dkim_signed: bool = False,
    await_sent: bool = False,
) -> StaffReply | None:
    """Store `mail` as an agent's reply when it is one; None lets it go on as a
    customer's mail (with SUSPECT among its problems when it failed authentication).
    `await_sent`: raise `AwaitingSentCopy` rather than fail authentication when the
    mailbox's Sent folder may still hold the agent's own copy."""
    if mail.kind != "message" or not mail.sender:
        return None
    organization_id = mailbox.organization_id
    async with services.db.transaction() as session:
        agent = await find_agent(session, organization_id, mail.sender)
        if agent is None:
            return None
        if not authenticated(mail, mailbox, peer, dkim_signed=dkim_signed):
            waits = await_sent and mailbox.reads_sent
            if waits and await _conversation(session, mailbox, mail, secret) is not None:
                raise AwaitingSentCopy(mail.message_id)
            mail.problems.append(SUSPECT)
            return None
        conversation = await _conversation(session, mailbox, mail, secret)
        if conversation is None:
            mail.problems.append("An agent's mail matched no conversation.")
            return None
        await _lock(session, conversation)
        return await _record(session, services, agent, conversation, mail, step)


async def handle_sent(
    services: Services,
    mailbox: MailboxInfo,
    mail: ParsedMail,
    secret: str,
    step: Step,
    *,
    on_behalf_of: str | None = None,
) -> StaffReply | None:
    """Store a mail from the mailbox's Sent folder as an agent's reply when it continues
    a conversation and an agent can be named; `step` runs with it. None when it is not
    such a reply (the caller still moves its cursor)."""
    if mail.kind != "message":
        return None
    organization_id = mailbox.organization_id
    async with services.db.transaction() as session:
        conversation = await _conversation(session, mailbox, mail, secret)
        if conversation is None:
            return None
        await _lock(session, conversation)
        agent = await find_agent(session, organization_id, mail.sender)
        if agent is None and on_behalf_of:
            agent = await find_agent(session, organization_id, on_behalf_of)
        if agent is None and conversation.assigned_agent_id is not None:
            assigned = await session.get(Agent, conversation.assigned_agent_id)
            if assigned is not None and assigned.active:
                agent = assigned
        if agent is None:
            log.warning(
                "%s: a reply in the Sent folder names no agent; conversation %s unchanged",
                mailbox.address,
                conversation.id,
            )
            return None
        return await _record(session, services, agent, conversation, mail, step)


async def _conversation(
    session: AsyncSession, mailbox: MailboxInfo, mail: ParsedMail, secret: str
) -> Conversation | None:
    organization_id = mailbox.organization_id
    thread = await find_thread(session, organization_id, mail, secret, sender=None)
    return thread.conversation or await _named_customer(session, organization_id, mail, mailbox)


async def _lock(session: AsyncSession, conversation: Conversation) -> None:
    """Lock the conversation and read it again before the reply decides anything by its
    state (who takes over, from which state), as the relay does: a change of hands
    committed meanwhile (the review window ending, say) is seen, and none can land before
    this transaction ends. Otherwise, on PostgreSQL, a reply read in manual as the AI took
    the conversation back left it with the AI, paused, with a `resume-ai` deadline."""
    await session.refresh(conversation, with_for_update=True)


async def _record(
    session: AsyncSession,
    services: Services,
    agent: Agent,
    conversation: Conversation,
    mail: ParsedMail,
    step: Step | None,
) -> StaffReply:
    """Store the agent's reply (once: the same mail seen again is a no-op) and hand the
    conversation to people; `step` runs either way, in this transaction."""
    message_id = await _store(session, agent, conversation, mail)
    if message_id is not None:
        await take_over(session, services, agent, conversation)
    if step is not None:
        await step(session)
    return StaffReply(message_id, conversation.id)


async def _named_customer(
    session: AsyncSession, organization_id: int, mail: ParsedMail, mailbox: MailboxInfo
) -> Conversation | None:
    for address in [*mail.to, *mail.cc]:
        if address.partition("@")[2] == mailbox.domain:
            continue
        found: Conversation | None = await session.scalar(
            select(Conversation)
            .where(
                Conversation.organization_id == organization_id,
                Conversation.channel == CHANNEL,
                Conversation.address == address,
            )
            .order_by(Conversation.updated_at.desc())
            .limit(1)
        )
        if found is not None:
            return found
    return None


async def _store(
    session: AsyncSession, agent: Agent, conversation: Conversation, mail: ParsedMail
) -> int | None:
    message_id = await record_sent(
        session,
        conversation,
        author="agent",
        agent_id=agent.id,
        text=mail.text,
        html=mail.html,
        provider_message_id=mail.provider_id(),
        meta={
            "email": {
                "message_id": mail.message_id,
                "subject": mail.subject,
                "from": mail.sender,
                "to": mail.to,
                "cc": mail.cc,
                "sent_from_mail_client": True,
            }
        },
    )
    if message_id is not None and mail.message_id:
        session.add(
            MailId(
                message_id=message_id,
                organization_id=conversation.organization_id,
                conversation_id=conversation.id,
                header_id=mail.message_id,
                subject=mail.subject,
                references=" ".join(f"<{ref}>" for ref in mail.references[-20:]),
            )
        )
    return message_id


async def take_over(
    session: AsyncSession, services: Services, agent: Agent, conversation: Conversation
) -> None:
    organization = await session.get(Organization, conversation.organization_id)
    window = OrganizationSettings.from_json(organization.settings if organization else {})
    actor = ownership.agent(agent.id)
    state = State(conversation.state)
    reason = "replied from their own mail client"
    if state in (State.AI, State.RESOLVED):
        await ownership.transition(
            session,
            conversation,
            State.MANUAL,
            actor=actor,
            reason=reason,
            assignee_id=agent.id,
            review_window=window.review_window,
        )
    elif state is State.QUEUED:
        await ownership.transition(
            session, conversation, State.ASSIGNED, actor=actor, reason=reason, assignee_id=agent.id
        )
    elif state is State.MANUAL:
        conversation.ai_paused_until = utcnow() + window.review_window
        await deadlines.cancel(session, conversation.id, RESUME_AI)
    conversation.last_human_at = utcnow()
    if conversation.state == State.MANUAL.value and conversation.ai_paused_until is not None:
        await deadlines.schedule(
            session, services.jobs, conversation, RESUME_AI, conversation.ai_paused_until
        )
    event = Event(
        "state",
        conversation.organization_id,
        conversation.id,
        {"state": conversation.state, "ownership_version": conversation.ownership_version},
    )
    after_commit(session, lambda: services.events.publish(event))
