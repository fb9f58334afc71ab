"""Composing an outgoing reply (pure, no I/O): it answers the customer's latest mail with
`In-Reply-To` and `References` (RFC 5322 §3.6.4, trimmed to the first and the last 20),
`Subject: Re: <their latest subject>`, a `Message-ID` derived from our message's id (a
retry resends the same one), a signed `Reply-To`, `Auto-Submitted: auto-replied` on the
AI's replies only (RFC 3834), and the quoted last message under our marker line, in
text and HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from email_channel import tokens
from email_channel.classify import OUR_HEADER
from email_channel.quotes import MARKER
from email_channel.threads import canonical_subject
from gateway.messages import OutboundMessage
from gateway.models import utcnow


@dataclass(frozen=True, slots=True)
class Parent:
    """The customer's mail being answered (None fields when the conversation has none)."""

    message_id: str | None = None
    references: list[str] = field(default_factory=list)
    subject: str = ""
    sender_name: str | None = None
    text: str = ""
    sent_at: str = ""
    cc: list[str] = field(default_factory=list)


def our_message_id(outbound: OutboundMessage, domain: str) -> str:
    return f"sb.{outbound.conversation_id}.{outbound.message_id}@{domain}"


def references(parent: Parent) -> list[str]:
    chain = [*parent.references, *([parent.message_id] if parent.message_id else [])]
    chain = list(dict.fromkeys(chain))
    return chain if len(chain) <= 21 else [chain[0], *chain[-20:]]


def reply_subject(subject: str) -> str:
    bare = canonical_subject(subject)
    if not bare:
        return "Re: your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject.strip()}"


def compose(
    outbound: OutboundMessage,
    parent: Parent,
    *,
    mailbox: str,
    display_name: str,
    secret: str,
    cc: list[str],
) -> EmailMessage:
    domain = mailbox.rpartition("@")[2]
    message = EmailMessage()
    sender = outbound.author_name if outbound.author == "agent" and outbound.author_name else ""
    name = f"{sender} ({display_name})" if sender and display_name else sender or display_name
    message["From"] = formataddr((name, mailbox)) if name else mailbox
    message["To"] = outbound.recipient_address
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Reply-To"] = tokens.plus_address(mailbox, secret, "c", outbound.conversation_id)
    message["Subject"] = reply_subject(parent.subject)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<{our_message_id(outbound, domain)}>"
    chain = references(parent)
    if parent.message_id:
        message["In-Reply-To"] = f"<{parent.message_id}>"
    if chain:
        message["References"] = " ".join(f"<{ref}>" for ref in chain)
    if outbound.author == "ai":
        message["Auto-Submitted"] = "auto-replied"
    message[OUR_HEADER] = str(outbound.conversation_id)
    marker = tokens.body_marker(secret, outbound.conversation_id)
    message.set_content(_text(outbound.text, parent, marker))
    message.add_alternative(_html(outbound.text, parent, marker), subtype="html")
    return message


def _attribution(parent: Parent) -> str:
    who = parent.sender_name or "you"
    return f"On {parent.sent_at}, {who} wrote:" if parent.sent_at else f"{who} wrote:"


def _text(body: str, parent: Parent, marker: str) -> str:
    lines = [body.rstrip(), ""]
    if parent.text:
        lines += [MARKER, _attribution(parent)]
        lines += ["> " + line if line else ">" for line in parent.text.splitlines()]
    lines += ["", marker]
    return "\n".join(lines) + "\n"


def _html(body: str, parent: Parent, marker: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(chunk).replace(chr(10), '<br>')}</p>"
        for chunk in body.strip().split("\n\n")
    )
    quote = ""
    if parent.text:
        quoted = html.escape(parent.text).replace("\n", "<br>")
        quote = (
            f'<div id="sb-reply-above" style="color:#888">{html.escape(MARKER)}</div>'
            f"<p>{html.escape(_attribution(parent))}</p>"
            f'<blockquote type="cite">{quoted}</blockquote>'
        )
    footer = f'<div style="display:none;color:#fff">{html.escape(marker)}</div>'
    return f"<!DOCTYPE html><html><body>{paragraphs}{quote}{footer}</body></html>"
