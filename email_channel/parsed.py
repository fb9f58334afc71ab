"""One inbound mail as Switchboard understands it: addresses, subject, the ids threading
uses, the new text (quotes and signature removed) and the full text, the sanitized HTML,
attachments, and the verdict of `classify` (kind, reason, bounce details). `parse_mail`
never raises: whatever could not be read is listed in `problems`. `summary()` is what
`switchboard mail parse` prints."""

from __future__ import annotations

import base64
import hashlib
import html as html_module
import re
from dataclasses import dataclass, field
from typing import Any

from email_channel.classify import Verdict, classify
from email_channel.mime import MailParts, RawAttachment, addresses, message_ids, read_mail
from email_channel.quotes import new_text
from gateway.sanitize import sanitize_html

MAX_INLINE_IMAGE = 512 * 1024
_CID = re.compile(r"""(src\s*=\s*["']?)cid:([^"'\s>]+)""", re.IGNORECASE)


@dataclass
class ParsedMail:
    raw: bytes
    message_id: str | None
    sender: str  # lowercased address, '' when none could be read
    sender_name: str | None
    to: list[str]
    cc: list[str]
    delivered_to: list[str]
    subject: str
    in_reply_to: str | None
    references: list[str]
    text: str
    full_text: str
    html: str | None
    attachments: list[RawAttachment]
    verdict: Verdict
    authentication_results: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.verdict.kind

    @property
    def recipients(self) -> list[str]:
        return list(dict.fromkeys([*self.to, *self.cc, *self.delivered_to]))

    def provider_id(self) -> str:
        """The idempotency key: sender-scoped, so a stranger reusing a Message-ID cannot
        suppress a customer's mail, and the same mail seen by SMTP and IMAP is one."""
        seed = f"{self.sender}|{self.message_id}".encode() if self.message_id else self.raw
        return hashlib.sha256(seed).hexdigest()

    def summary(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "from": self.sender or None,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "in_reply_to": self.in_reply_to,
            "references": self.references,
            "text": self.text,
            "html": self.html is not None,
            "attachments": [
                {"name": item.name, "content_type": item.content_type, "size": len(item.data)}
                for item in self.attachments
            ],
            "kind": self.kind,
            "reason": self.verdict.reason,
            "bounced_recipients": list(self.verdict.bounced_recipients),
            "status": self.verdict.status,
            "problems": self.problems,
        }


def parse_mail(raw: bytes, *, own_domain: str = "", envelope_from: str | None = None) -> ParsedMail:
    parts = read_mail(raw)
    senders = addresses(parts, "From") or addresses(parts, "Sender", "Return-Path")
    sender_name, sender = senders[0] if senders else (None, "")
    if not sender and envelope_from:
        sender = envelope_from.lower()
    ids = message_ids(parts.header("Message-ID"))
    replied = message_ids(parts.header("In-Reply-To"))
    verdict = classify(parts, sender, own_domain.lower(), envelope_from)
    html = _html(parts) if parts.html is not None else None
    return ParsedMail(
        raw=raw,
        message_id=ids[0] if ids else None,
        sender=sender,
        sender_name=sender_name or None,
        to=[address for _, address in addresses(parts, "To")],
        cc=[address for _, address in addresses(parts, "Cc")],
        delivered_to=[address for _, address in addresses(parts, "Delivered-To", "X-Original-To")],
        subject=" ".join(parts.header("Subject").split())[:998],
        in_reply_to=replied[0] if replied else None,
        references=message_ids(" ".join(parts.headers("References")))[-50:],
        text=new_text(parts.text) if parts.text else _text_from_html(html),
        full_text=parts.text,
        html=html,
        attachments=[item for item in parts.attachments if item.content_type != "message/rfc822"]
        if verdict.kind == "bounce"
        else parts.attachments,
        verdict=verdict,
        authentication_results=parts.headers("Authentication-Results"),
        problems=parts.problems,
    )


def _html(parts: MailParts) -> str:
    """Sanitized HTML with `cid:` images inlined from their parts (small ones only)."""
    images = {
        item.content_id: item
        for item in parts.attachments
        if item.content_id and item.content_type.startswith("image/")
    }

    def inline(match: re.Match[str]) -> str:
        image = images.get(match.group(2))
        if image is None or len(image.data) > MAX_INLINE_IMAGE:
            return match.group(0)
        data = base64.b64encode(image.data).decode()
        return f"{match.group(1)}data:{image.content_type};base64,{data}"

    return sanitize_html(_CID.sub(inline, parts.html or "")).html


def _text_from_html(html: str | None) -> str:
    if not html:
        return ""
    text = re.sub(r"<(br|/p|/div|/li|/tr)[^>]*>", "\n", html, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", "", text)
    return new_text(html_module.unescape(text))
