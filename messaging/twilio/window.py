"""WhatsApp's customer-care window: a business may send free-form messages only within 24
hours of the customer's last message. Declared as the WhatsApp channel's reachability rule,
so agents' replies are refused before anything is stored, delivery refuses at send, and
the composer shows the same sentence."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.models import Conversation
from gateway.reachability import Unreachable, when

WHATSAPP_WINDOW = timedelta(hours=24)
WINDOW_CLOSED = "outside_whatsapp_window"


def window_closes_at(conversation: Conversation) -> datetime | None:
    """When the WhatsApp customer-care window closes (None: never opened)."""
    if conversation.last_customer_at is None:
        return None
    return conversation.last_customer_at + WHATSAPP_WINDOW


def whatsapp_window(conversation: Conversation, now: datetime) -> Unreachable | None:
    closes = window_closes_at(conversation)
    if closes is not None and closes > now:
        return None
    last = (
        f"last wrote on {when(conversation.last_customer_at)}"
        if conversation.last_customer_at is not None
        else "has not written yet"
    )
    return Unreachable(
        WINDOW_CLOSED,
        f"The customer {last}. WhatsApp allows free-form messages only within 24 "
        "hours of the customer's last message, so no reply can be sent until they "
        "write again.",
    )
