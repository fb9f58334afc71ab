"""Which conversation a mail belongs to, tried in order (first hit wins, all within the
organization): a signed plus-address token in a recipient, the In-Reply-To of a stored
Message-ID, References (newest first) when the subject still matches, the signed body
marker. Every candidate must be an email conversation with this very sender, so a stranger
holding a leaked Message-ID or token opens a conversation of their own. There is no
subject-only fallback: it merges unrelated mail."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from email_channel import tokens
from email_channel.models import MailId
from email_channel.parsed import ParsedMail
from gateway.models import Conversation

CHANNEL = "email"
_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|antw|fw|fwd|wg|tr|rif|odp)\s*(\[\d+\])?\s*[:\uff1a]\s*|\[ticket#[^\]]*\]\s*)+",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Thread:
    conversation: Conversation | None
    how: str  # token | in-reply-to | references | marker | new


def canonical_subject(subject: str) -> str:
    """For comparison only: without Re:/Fwd:/AW:/SV: prefixes, ticket tags and spacing."""
    return " ".join(_PREFIX.sub("", subject).split()).lower()


async def find_thread(
    session: AsyncSession,
    organization_id: int,
    mail: ParsedMail,
    secret: str,
    *,
    sender: str | None,
) -> Thread:
    """The conversation `mail` continues, among `sender`'s own conversations (None, for an
    authenticated agent: among all of the organization's email conversations)."""
    for recipient in mail.recipients:
        number = tokens.token_in_address(secret, recipient, "c")
        if number is not None:
            found = await _owned(session, organization_id, number, sender)
            if found is not None:
                return Thread(found, "token")
    if mail.in_reply_to:
        found = await _by_header(session, organization_id, [mail.in_reply_to], sender, None)
        if found is not None:
            return Thread(found, "in-reply-to")
    if mail.references:
        subject = canonical_subject(mail.subject)
        found = await _by_header(
            session, organization_id, list(reversed(mail.references)), sender, subject
        )
        if found is not None:
            return Thread(found, "references")
    number = tokens.marker_in(secret, mail.full_text)
    if number is not None:
        found = await _owned(session, organization_id, number, sender)
        if found is not None:
            return Thread(found, "marker")
    return Thread(None, "new")


async def _owned(
    session: AsyncSession, organization_id: int, conversation_id: int, sender: str | None
) -> Conversation | None:
    query = select(Conversation).where(
        Conversation.id == conversation_id,
        Conversation.organization_id == organization_id,
        Conversation.channel == CHANNEL,
    )
    if sender is not None:
        query = query.where(Conversation.address == sender)
    return (await session.execute(query)).scalar_one_or_none()


async def _by_header(
    session: AsyncSession,
    organization_id: int,
    header_ids: list[str],
    sender: str | None,
    subject: str | None,
) -> Conversation | None:
    for header_id in header_ids[:20]:
        query = (
            select(Conversation, MailId.subject)
            .join(MailId, MailId.conversation_id == Conversation.id)
            .where(
                MailId.organization_id == organization_id,
                MailId.header_id == header_id,
                Conversation.channel == CHANNEL,
            )
            .order_by(MailId.message_id.desc())
        )
        if sender is not None:
            query = query.where(Conversation.address == sender)
        for conversation, stored_subject in (await session.execute(query)).all():
            if subject is None or canonical_subject(stored_subject) == subject:
                return conversation
    return None
