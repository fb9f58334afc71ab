"""Each outgoing message's delivery state in words, as agents read it: "Sending…",
"Delivered", "Retrying (2 of 5), next try in 15 s", "Not delivered: the number has opted
out". This is the one place a stored state and failure become a sentence; the page only
shows what it gets. Channels store a plain sentence in `error_message` and the provider's
own words in `error_detail` (the page puts those behind a disclosure); a failure with no
sentence of its own gets a general one, with what was stored as the detail.

Also which actions apply: Retry only for a failure that never reached the provider (no
provider id) and whose outcome is known (an interrupted send may have gone out), so Retry
never sends anything a second time; Dismiss for any failure an agent has not put aside."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.delivery import GAVE_UP, UNEXPECTED
from gateway.lost_jobs import INTERRUPTED
from gateway.models import Message, utcnow
from gateway.queues import SEND_RETRY
from gateway.reachability import OPTED_OUT

FAILURES = frozenset({"failed", "undelivered", "refused"})
PLAIN = {
    "pending": "Sending…",
    "sending": "Sending…",
    "queued": "Sent",
    "sent": "Sent",
    "delivered": "Delivered",
    "read": "Read",
    "sent_externally": "Sent from the agent's own mail",
}
# Who opted out, by the conversation's address kind: an email address, a web visitor, or
# (every other kind) a phone number.
OPTED_OUT_WHO = {"email": "the address", "web": "the customer"}


def _wait(seconds: float) -> str:
    """A short wait in words: "15 s", "1 min", "5 min"."""
    if seconds < 60:
        return f"{max(0, round(seconds))} s"
    return f"{round(seconds / 60)} min"


def _reason(message: Message, fallback: str) -> str:
    return (message.error_message or fallback).strip().rstrip(".") or fallback


def describe(
    message: Message, address_kind: str | None = None, now: datetime | None = None
) -> dict[str, Any] | None:
    """The state of an outgoing message as the page shows it; None for an incoming one.

    `tone` is how it is marked (ok, waiting, failed, quiet); `lead` and `next_try_at`
    let the page count down to the next retry; `detail` is what the provider said."""
    if message.direction != "outbound":
        return None
    status = message.delivery_status
    state: dict[str, Any] = {
        "text": PLAIN.get(status, status.replace("_", " ").capitalize()),
        "tone": "ok" if status in PLAIN else "quiet",
        "lead": None,
        "next_try_at": None,
        "detail": message.error_detail,
        "can_retry": False,
        "can_dismiss": False,
        "dismissed": message.failure_dismissed_at is not None,
    }
    if status in ("pending", "sending"):
        state["tone"] = "waiting"
        if status == "pending" and message.next_attempt_at is not None:
            lead = f"Retrying ({message.delivery_attempts} of {SEND_RETRY.max})"
            left = (message.next_attempt_at - (now or utcnow())).total_seconds()
            state["lead"] = lead
            state["next_try_at"] = message.next_attempt_at
            state["text"] = f"{lead}, " + (
                f"next try in {_wait(left)}" if left > 0 else "trying again now"
            )
        return state
    if status == "dropped":
        state["text"] = "Not sent: a person took over first"
        state["tone"] = "quiet"
        state["detail"] = None
        return state
    if status not in FAILURES:
        return state
    state["tone"] = "failed"
    state["can_dismiss"] = not state["dismissed"]
    code = message.error_code
    if status == "refused" or code == OPTED_OUT:
        who = OPTED_OUT_WHO.get(address_kind or "web", "the number")
        state["text"] = f"Not delivered: {who} has opted out"
    elif code == INTERRUPTED:
        state["text"] = "Maybe not sent: sending was interrupted, so check with the customer"
        state["detail"] = message.error_detail or message.error_message
    elif code == GAVE_UP:
        state["text"] = f"Not sent: all {SEND_RETRY.max + 1} tries failed"
        if message.error_message:  # the channel's words for the last try's error
            state["text"] += f"; {_reason(message, '')}"
    elif code == UNEXPECTED:
        state["text"] = f"Not sent: {_reason(message, 'something went wrong while sending')}"
    elif message.provider_message_id is None and status == "failed":
        state["text"] = f"Not sent: {_reason(message, 'the provider refused it')}"
    else:
        state["text"] = f"Not delivered: {_reason(message, 'the provider could not deliver it')}"
    state["can_retry"] = (
        status == "failed"
        and code not in (OPTED_OUT, INTERRUPTED)
        and message.provider_message_id is None
    )
    return state
