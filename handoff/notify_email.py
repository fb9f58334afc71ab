"""Notification emails to the people who answer: a reminder to the team while a handoff
waits unclaimed, an escalation to the admins after the reminders. `notify()` runs inside the
deadline's transaction and, once it commits, enqueues one send job per recipient (explicit
`Retry`; a send that finally fails marks the conversation "needs attention"). The job skips
a notice that went stale (the conversation changed hands before it was sent). Mail leaves
through the core's transport (`gateway.mail`, SWITCHBOARD_SMTP_URL); without it, no email
is sent and a log line says so. The emails say they are automatic (`Auto-Submitted`).
When the organization takes mail in (a channel offers a reply inbox), each email's
`Reply-To` is that address with a token signed for this conversation and this agent
(`gateway.reply_tokens`): the agent's reply reaches the customer as their message."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.attention import mark_needs_attention
from gateway.auth import Role
from gateway.db import after_commit
from gateway.errors import PermanentDeliveryError
from gateway.mail import send_mail
from gateway.models import Agent, Conversation, TeamMember, utcnow
from gateway.queues import OUTBOUND, SEND_RETRY
from gateway.reply_tokens import reply_address
from gateway.runtime import Services, run_job
from gateway.settings import Settings
from handoff.context import load_context

log = logging.getLogger(__name__)

REMINDER = "reminder"
ESCALATION = "escalation"
SEND_JOB = "handoff.notify_email.send_notification"
STAFF_ROLES = (Role.AGENT, Role.ADMIN)


async def recipients(session: AsyncSession, conversation: Conversation, kind: str) -> list[str]:
    """Escalations go to the organization's admins; reminders to the conversation's team,
    or to every agent and admin when it has no team. Only active accounts."""
    query = select(Agent.email).where(
        Agent.organization_id == conversation.organization_id, Agent.active.is_(True)
    )
    if kind == ESCALATION:
        query = query.where(Agent.role == Role.ADMIN)
    elif conversation.team_id is not None:
        members = select(TeamMember.agent_id).where(TeamMember.team_id == conversation.team_id)
        query = query.where(Agent.role.in_(STAFF_ROLES), Agent.id.in_(members))
    else:
        query = query.where(Agent.role.in_(STAFF_ROLES))
    return sorted(set((await session.scalars(query)).all()))


async def notify(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    kind: str,
    number: int,
    total: int,
) -> int:
    """Queue the `kind` email (the `number`th of `total`) to each recipient once the
    transaction commits; returns how many were queued."""
    if services.settings.smtp_url is None:
        log.info("conversation %s: %s email not sent, no SMTP configured", conversation.id, kind)
        return 0
    addresses = await recipients(session, conversation, kind)
    if not addresses:
        log.warning("conversation %s: nobody to send the %s email to", conversation.id, kind)
        return 0
    conversation_id, version = conversation.id, conversation.ownership_version

    async def enqueue() -> None:
        for address in addresses:
            await services.jobs.enqueue_async(
                OUTBOUND,
                SEND_JOB,
                conversation_id,
                version,
                kind,
                number,
                total,
                address,
                retry=SEND_RETRY,
                conversation_id=conversation_id,
            )

    after_commit(session, enqueue)
    return len(addresses)


def send_notification(
    conversation_id: int, version: int, kind: str, number: int, total: int, recipient: str
) -> str:
    """RQ job: send one notification email."""
    return run_job(
        lambda services: send(services, conversation_id, version, kind, number, total, recipient)
    )


async def send(
    services: Services,
    conversation_id: int,
    version: int,
    kind: str,
    number: int,
    total: int,
    recipient: str,
) -> str:
    """Compose and send; returns sent, stale or refused (a temporary failure raises)."""
    async with services.db.transaction() as session:
        context = await load_context(session, conversation_id)
        if context.conversation.ownership_version != version:
            return "stale"
        message = compose(
            services.settings,
            context.conversation,
            context.organization.name,
            kind,
            number,
            total,
            reply_to=await _reply_to(session, services, context.conversation, recipient),
        )
    message["To"] = recipient
    try:
        await send_mail(services.settings, message)
    except PermanentDeliveryError as refused:  # a temporary refusal raises: RQ tries again
        await mark_needs_attention(
            services, conversation_id, f"{kind} email to {recipient} refused: {refused.message}"
        )
        return "refused"
    return "sent"


async def _reply_to(
    session: AsyncSession, services: Services, conversation: Conversation, recipient: str
) -> str | None:
    """The signed address the recipient's reply reaches the customer through, if any."""
    agent_id = await session.scalar(
        select(Agent.id).where(
            Agent.organization_id == conversation.organization_id,
            Agent.email == recipient,
            Agent.active.is_(True),
            Agent.role.in_(STAFF_ROLES),
        )
    )
    if agent_id is None or services.settings.secret_key is None:  # no key: nothing to sign
        return None
    inbox = await services.channels.reply_inbox(session, conversation.organization_id)
    if inbox is None:
        return None
    secret = services.settings.secret_key.get_secret_value()
    return reply_address(inbox, secret, conversation.id, agent_id)


def compose(
    settings: Settings,
    conversation: Conversation,
    organization: str,
    kind: str,
    number: int,
    total: int,
    *,
    reply_to: str | None = None,
) -> EmailMessage:
    waited = duration_text((utcnow() - (conversation.waiting_since or utcnow())).total_seconds())
    link = f"{settings.resolved_public_url}/queue/conversations/{conversation.id}"
    where = f"conversation #{conversation.id} ({conversation.channel})"
    if kind == ESCALATION:
        subject = f"Escalation: {where} unclaimed for {waited}"
        opening = (
            f"A customer of {organization} has waited {waited} for a person. The team "
            "was reminded and nobody has claimed the conversation. Please step in or find "
            "someone who can."
        )
    else:
        subject = f"Waiting {waited}: {where} needs a person"
        opening = (
            f"A customer of {organization} has waited {waited} for a person and "
            f"nobody has claimed the conversation yet (reminder {number} of {total})."
        )
    body = "\n".join(
        [
            opening,
            "",
            f"Why it was handed off: {conversation.handoff_reason or 'not recorded'}",
            "",
            "Summary:",
            conversation.summary or "(no summary yet)",
            "",
            f"Open it: {link}",
            "",
            "If nobody claims it in time, it goes back to the AI and the customer is told "
            "that nobody is available.",
            *(
                [
                    "",
                    "You can also answer by replying to this email: what you write above the "
                    "quoted text goes to the customer as your message, and the conversation "
                    "becomes yours.",
                ]
                if reply_to
                else []
            ),
        ]
    )
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=_domain(settings.mail_from))
    message["X-Switchboard-Conversation"] = str(conversation.id)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders stay quiet
    message.set_content(body)
    return message


def duration_text(seconds: float) -> str:
    """'45 seconds', '1 minute', '12 minutes'."""
    if seconds < 120:
        whole = max(int(seconds), 0)
        return f"{whole} second{'' if whole == 1 else 's'}"
    minutes = int(seconds // 60)
    return f"{minutes} minutes"


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"
