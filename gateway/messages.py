"""The two normalized message types. A channel edge turns whatever its provider sent into
an `InboundMessage`; delivery hands an `OutboundMessage` to the channel's adapter. Nothing
after intake knows what Twilio, MIME or a WebSocket frame is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AddressKind = Literal["phone", "email", "whatsapp", "web"]
Author = Literal["customer", "ai", "agent", "system"]


@dataclass(frozen=True, slots=True)
class Attachment:
    url: str
    content_type: str
    size: int | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A customer's message as every channel delivers it to `gateway.intake.receive`."""

    organization_id: int
    channel: str
    sender_kind: AddressKind
    sender_address: str
    text: str
    provider_message_id: str
    sender_name: str | None = None
    thread_key: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    no_reply: bool = False  # store it, never answer it (a consent keyword such as STOP)
    meta: dict[str, Any] = field(default_factory=dict)  # the channel's own data


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A stored outgoing message, ready for its channel adapter to send."""

    message_id: int
    organization_id: int
    conversation_id: int
    channel: str
    recipient_kind: AddressKind
    recipient_address: str
    author: Author
    text: str
    thread_key: str = ""
    author_name: str | None = None
    attachments: tuple[Attachment, ...] = ()
    notice: str | None = None  # a notice's kind (`handoff`, `resolved`, ...)
    # The customer message it answers: the provider's id of the one named when it was
    # stored (a HELP answer), else of the customer's latest (email threads on it).
    in_reply_to: str | None = None
    # The addresses an agent chose to copy in (Cc) on a channel that takes them; None: the
    # channel's own default (an email reply keeps the customer's Cc).
    cc: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a channel reports after sending: the provider's id and the delivery state."""

    provider_message_id: str | None
    status: Literal["sent", "delivered", "queued"] = "sent"
