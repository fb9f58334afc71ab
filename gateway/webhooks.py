"""Outgoing webhooks, the integrations' view of what happens: any package emits an event
(handoff, claimed, resolved, message) inside its own transaction, which stores one delivery
row per subscribed endpoint of the organization; once committed, an RQ job per delivery
POSTs it (see `gateway.webhook_jobs`). Each request is signed with the endpoint's secret:
`X-Switchboard-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from rq import Retry
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit
from gateway.errors import BadInput
from gateway.models import Conversation, Message, utcnow
from gateway.queues import DELIVER_WEBHOOK, OUTBOUND
from gateway.runtime import Services
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint

EVENTS = ("handoff", "claimed", "resolved", "message")
SIGNATURE_HEADER = "X-Switchboard-Signature"
DELIVERY_HEADER = "X-Switchboard-Delivery"
EVENT_HEADER = "X-Switchboard-Event"
MAX_URL_CHARS = 2000
SIGNATURE_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `header` signs `body` with `secret` and is at most `tolerance` seconds old
    (a receiver's check; replayed old requests fail it)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def validate_url(url: object) -> str:
    """An absolute http(s) URL with a host, or BadInput. Where the host may be is checked
    separately, after DNS resolution (`gateway.webhook_targets.check_target`)."""
    if not isinstance(url, str) or not url.strip():
        raise BadInput("send a 'url' string", code="bad_url")
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise BadInput(f"a webhook URL may hold at most {MAX_URL_CHARS} characters", code="bad_url")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise BadInput("a webhook URL may not contain spaces or control characters", code="bad_url")
    try:
        parsed = urlsplit(url)
        port = parsed.port
    except ValueError as exc:
        raise BadInput(f"not a valid URL: {exc}", code="bad_url") from None
    if parsed.scheme not in ("http", "https"):
        raise BadInput("a webhook URL must start with http:// or https://", code="bad_url")
    if not parsed.hostname:
        raise BadInput("a webhook URL needs a host", code="bad_url")
    if parsed.username is not None or parsed.password is not None:
        raise BadInput("put no credentials in a webhook URL; check the signature", code="bad_url")
    if port == 0:
        raise BadInput("a webhook URL needs a valid port", code="bad_url")
    return url


def validate_events(events: object) -> list[str]:
    """The subscribed event names (all of them when none are given), or BadInput."""
    if events is None:
        return list(EVENTS)
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise BadInput(f"'events' must be a non-empty list drawn from {', '.join(EVENTS)}")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        noun = "event" if len(unknown) == 1 else "events"
        raise BadInput(f"unknown {noun} {', '.join(unknown)}; known: {', '.join(EVENTS)}")
    return [name for name in EVENTS if name in events]


def conversation_data(conversation: Conversation) -> dict[str, Any]:
    """What integrations see of a conversation (the contact's address stays out)."""
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "state": conversation.state,
        "ownership_version": conversation.ownership_version,
        "assigned_agent_id": conversation.assigned_agent_id,
        "team_id": conversation.team_id,
        "handoff_reason": conversation.handoff_reason,
        "summary": conversation.summary,
    }


def message_data(message: Message, conversation: Conversation) -> dict[str, Any]:
    """A new customer message and the conversation it arrived in."""
    return {
        "conversation": conversation_data(conversation),
        "message": {
            "id": message.id,
            "author": message.author,
            "channel": message.channel,
            "text": message.text,
            "attachments": len(message.attachments or []),
            "created_at": message.created_at.isoformat(),
        },
    }


def retry_policy(services: Services) -> Retry:
    intervals = list(services.settings.webhook_retry_intervals)
    return Retry(max=len(intervals), interval=intervals)


# built once: every message and every change of hands emits an event. On PostgreSQL the
# rows found are held (FOR KEY SHARE, which only a deletion waits for) until the event's
# transaction ends: an endpoint deleted meanwhile is either not found, or deleted after
# the deliveries are stored (and they with it), never gone under the deliveries' insert.
_ACTIVE_ENDPOINTS = (
    select(WebhookEndpoint)
    .where(
        WebhookEndpoint.organization_id == bindparam("organization_id"),
        WebhookEndpoint.active.is_(True),
    )
    .with_for_update(key_share=True)
)


async def emit(
    session: AsyncSession,
    services: Services,
    organization_id: int,
    event: str,
    data: dict[str, Any],
) -> int:
    """Store a delivery of `event` for each active endpoint of the organization that wants
    it, and send them once the transaction commits. Returns how many were stored."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    endpoints = (
        await session.scalars(_ACTIVE_ENDPOINTS, {"organization_id": organization_id})
    ).all()
    rows: list[WebhookDelivery] = []
    now = utcnow()
    for endpoint in endpoints:
        if event not in endpoint.events:
            continue
        delivery_id = str(uuid.uuid4())
        envelope = {
            "id": delivery_id,
            "event": event,
            "created_at": now.isoformat(),
            "organization_id": organization_id,
            "data": data,
        }
        rows.append(
            WebhookDelivery(
                organization_id=organization_id,
                endpoint_id=endpoint.id,
                event=event,
                delivery_id=delivery_id,
                payload=json.loads(json.dumps(envelope, default=str)),
                status="pending",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
    if not rows:
        return 0
    session.add_all(rows)
    await session.flush()
    ids = [row.id for row in rows]
    retry = retry_policy(services)

    async def enqueue() -> None:
        for pk in ids:
            await services.jobs.enqueue_async(OUTBOUND, DELIVER_WEBHOOK, pk, retry=retry)

    after_commit(session, enqueue)
    return len(rows)


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed) for a delivery."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


async def resend(services: Services, delivery_ids: list[int]) -> None:
    retry = retry_policy(services)
    for pk in delivery_ids:
        await services.jobs.enqueue_async(OUTBOUND, DELIVER_WEBHOOK, pk, retry=retry)
