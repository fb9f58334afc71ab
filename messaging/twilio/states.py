"""Delivery states of Twilio messages, mapped onto the message's `delivery_status`
(queued, sent, delivered, undelivered, failed, read). Callbacks may arrive out of order,
so a state only ever moves forward; a message sent in several parts is as far along as
its least advanced part, and has failed as soon as any part failed."""

from __future__ import annotations

from collections.abc import Iterable

FROM_TWILIO = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "partially_delivered": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
RANK = {
    "pending": 0,
    "sending": 0,
    "queued": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
}
FAILURES = frozenset({"undelivered", "failed"})


def from_twilio(status: str | None) -> str | None:
    return FROM_TWILIO.get((status or "").strip().lower())


def advances(current: str, new: str) -> bool:
    """Whether `new` is further along than `current` (unknown states never move)."""
    if current not in RANK or new not in RANK:
        return False
    return RANK[new] > RANK[current]


def combined(parts: Iterable[str]) -> str:
    """The state of a message from the states of its parts."""
    states = list(parts)
    for failure in ("failed", "undelivered"):
        if failure in states:
            return failure
    if not states or any(RANK.get(state, 0) < RANK["sent"] for state in states):
        return "queued"
    return min(states, key=lambda state: RANK[state])
