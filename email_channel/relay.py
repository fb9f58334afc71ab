"""An agent's reply to one of Switchboard's notification mails (a reminder or an
escalation about a waiting conversation). The notification's Reply-To carries a token
signed for one conversation and one agent (`gateway.reply_tokens`); a reply reaching any
mailbox with that token is relayed to the customer, on the conversation's own channel
(SMS, web chat, email…), as that agent's message: the new text only (the quoted
notification is stripped on parsing), and the conversation becomes the agent's as a staff
reply makes it (`staff.take_over`). Only when every check passes: the token names a
conversation of the mailbox's organization and an active agent of it, the mail comes
from that agent's own address, is authenticated as a staff reply is (`staff.authenticated`),
is a person's message (not an auto-reply), has text, fits the channel, and the customer
can be reached. Otherwise nothing reaches the customer, and intake stores the mail as an
unanswered, flagged message of its sender with the reason in plain words. The same reply
arriving twice (SMTP and IMAP, or a retry) is relayed once, and a copy of a reply relayed
already is not checked again (nor flagged when a check would now fail). The conversation
is locked from the checks until the reply is stored, so a claim made meanwhile comes after
the reply, never between the checks and the reply."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel import staff
from email_channel.mailboxes import MailboxInfo
from email_channel.models import RelayedReply
from email_channel.parsed import ParsedMail
from email_channel.staff import Step
from gateway import deadlines
from gateway.db import insert_ignoring_conflict
from gateway.models import Agent, Conversation, utcnow
from gateway.outbound import queue_outbound
from gateway.ownership import State
from gateway.reachability import why_unreachable
from gateway.reply_tokens import ReplyToken, read_reply_token
from gateway.runtime import Services

UNASSIGN = "unassign"  # the ladder's claimed-but-unanswered timer, cancelled by a reply
MAX_REPLY_CHARS = 10_000
NOT_SENT = "A reply to a notification email was not sent to the customer: "


@dataclass(frozen=True, slots=True)
class Relayed:
    conversation_id: int | None
    message_id: int | None  # the agent's message in the customer's conversation
    refusal: str | None = None  # why nothing was sent, in plain words; None: relayed


def token_in(mail: ParsedMail, secret: str, envelope: list[str]) -> ReplyToken | None:
    for address in [*mail.recipients, *envelope]:
        found = read_reply_token(secret, address)
        if found is not None:
            return found
    return None


async def relay(
    services: Services,
    mailbox: MailboxInfo,
    mail: ParsedMail,
    token: ReplyToken,
    step: Step | None,
    *,
    peer: str | None,
    dkim_signed: bool = False,
) -> Relayed:
    """Relay the reply to the customer, or say why not (nothing written then)."""
    async with services.db.transaction() as session:
        # Locked until the reply is stored: a claim or a move made meanwhile waits for it,
        # rather than being checked against here and then overwritten (PostgreSQL).
        conversation = await session.get(Conversation, token.conversation_id, with_for_update=True)
        agent = await session.get(Agent, token.agent_id)
        if (
            conversation is None
            or agent is None
            or conversation.organization_id != mailbox.organization_id
            or agent.organization_id != mailbox.organization_id
        ):
            return Relayed(None, None, NOT_SENT + "it names no conversation of this organization.")
        key = {"organization_id": mailbox.organization_id, "provider_id": mail.provider_id()}
        # A copy of a reply relayed already (the same mail by SMTP, then over IMAP) is that
        # reply: the checks, which may differ now (no trusted relay in between, the
        # conversation claimed since), are not asked again.
        earlier = await _relayed(session, key)
        if earlier is not None:
            return await _again(session, conversation, earlier, step)
        refusal = await _refusal(
            session, services, mailbox, mail, conversation, agent, peer, dkim_signed
        )
        if refusal is not None:
            return Relayed(None, None, NOT_SENT + refusal)
        row_id = await insert_ignoring_conflict(
            session,
            RelayedReply,
            {**key, "conversation_id": conversation.id, "created_at": utcnow()},
            ("organization_id", "provider_id"),
        )
        if row_id is None:  # relayed meanwhile: only the caller's step is left to do
            earlier = await _relayed(session, key)
            assert earlier is not None
            return await _again(session, conversation, earlier, step)
        if conversation.state == State.ASSIGNED.value:
            await deadlines.cancel(session, conversation.id, UNASSIGN)
        await staff.take_over(session, services, agent, conversation)
        message = await queue_outbound(
            session,
            services.jobs,
            conversation,
            author="agent",
            text=mail.text.strip(),
            agent_id=agent.id,
            meta={"sent_by_email": {"message_id": mail.message_id, "subject": mail.subject}},
        )
        await session.execute(
            update(RelayedReply).where(RelayedReply.id == row_id).values(message_id=message.id)
        )
        if step is not None:
            await step(session)
        return Relayed(conversation.id, message.id)


async def _relayed(session: AsyncSession, key: dict[str, object]) -> RelayedReply | None:
    """The record of this very reply, when it was relayed before."""
    found: RelayedReply | None = await session.scalar(
        select(RelayedReply).where(
            RelayedReply.organization_id == key["organization_id"],
            RelayedReply.provider_id == key["provider_id"],
        )
    )
    return found


async def _again(
    session: AsyncSession, conversation: Conversation, earlier: RelayedReply, step: Step | None
) -> Relayed:
    """A reply relayed before: nothing is sent or changed, only the caller's step runs."""
    if step is not None:
        await step(session)
    return Relayed(conversation.id, earlier.message_id)


async def _refusal(
    session: AsyncSession,
    services: Services,
    mailbox: MailboxInfo,
    mail: ParsedMail,
    conversation: Conversation,
    agent: Agent,
    peer: str | None,
    dkim_signed: bool,
) -> str | None:
    if not agent.active or agent.role not in ("agent", "admin"):
        return f"{agent.name} can no longer answer customers."
    if (mail.sender or "").lower() != agent.email.lower():
        return f"it was sent from {mail.sender or 'an unknown address'}, not by {agent.name}."
    if not staff.authenticated(mail, mailbox, peer, dkim_signed=dkim_signed):
        return f"it could not be confirmed that {agent.name} sent it."
    if mail.kind != "message":
        return "it is an automatic reply."
    text = mail.text.strip()
    if not text:
        return "it has no text of its own above the quoted notification."
    channel = services.channels.spec(conversation.channel)
    limit = min(MAX_REPLY_CHARS, channel.max_text_chars or MAX_REPLY_CHARS)
    if len(text) > limit:
        return f"a reply by {channel.phrase} may hold at most {limit} characters."
    if conversation.state == State.ASSIGNED.value and conversation.assigned_agent_id != agent.id:
        owner = await session.get(Agent, conversation.assigned_agent_id)
        return f"the conversation belongs to {owner.name if owner else 'another agent'}."
    unreachable = await why_unreachable(session, conversation, services.channels)
    if unreachable is not None:
        return unreachable.reason
    return None
