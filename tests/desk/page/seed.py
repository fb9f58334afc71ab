"""Rows for the queue page tests, written straight to the database: customers with names
and addresses on several channels, each with a conversation, a first message and the
transitions of its history (handed off, maybe claimed, maybe resolved), spread over past
days so the lists, the search and the dashboard have something to show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.db import Database
from gateway.models import (
    Contact,
    ContactIdentity,
    Conversation,
    Message,
    Organization,
    Transition,
    utcnow,
)

KINDS = {"webchat": "web", "sms": "phone", "whatsapp": "whatsapp", "email": "email"}
REASONS = [
    ("the customer asked for a person", "explicit_person_request"),
    ("a restricted topic: billing dispute", "restricted_topic"),
    ("the AI was not confident", "low_confidence_streak"),
    ("the customer is upset", "negative_sentiment"),
]


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    channel: str
    address: str
    text: str
    state: str = "queued"  # queued, assigned, resolved, ai
    days_ago: int = 0
    minutes_to_claim: int = 3
    minutes_to_handle: int = 12
    label: str | None = None
    reason: int = 0
    opted_out: bool = False


async def seed(db: Database, org: Organization, customers: list[Customer]) -> list[int]:
    """Store the customers and their conversations; returns the conversation ids."""
    ids: list[int] = []
    now = utcnow()
    async with db.transaction() as session:
        for index, customer in enumerate(customers):
            start = now - timedelta(days=customer.days_ago, minutes=len(customers) - index + 30)
            contact = Contact(organization_id=org.id, name=customer.name or None, created_at=start)
            session.add(contact)
            await session.flush()
            kind = KINDS[customer.channel]
            session.add(
                ContactIdentity(
                    organization_id=org.id,
                    contact_id=contact.id,
                    kind=kind,
                    address=customer.address,
                    opted_out_at=start if customer.opted_out else None,
                    created_at=start,
                )
            )
            reason, rule = REASONS[customer.reason % len(REASONS)]
            queued_at = start + timedelta(minutes=1)
            conversation = Conversation(
                organization_id=org.id,
                contact_id=contact.id,
                channel=customer.channel,
                address_kind=kind,
                address=customer.address,
                state=customer.state,
                label=customer.label,
                handoff_reason=reason,
                rule_hits=[{"rule": rule, "fired": True}],
                waiting_since=queued_at if customer.state == "queued" else None,
                last_customer_at=start,
                created_at=start,
                updated_at=queued_at,
            )
            session.add(conversation)
            await session.flush()
            session.add(
                Message(
                    organization_id=org.id,
                    conversation_id=conversation.id,
                    direction="inbound",
                    author="customer",
                    channel=customer.channel,
                    text=customer.text,
                    provider_message_id=f"seed-{conversation.id}",
                    delivery_status="received",
                    routed_at=start,
                    created_at=start,
                )
            )
            for version, (source, target, at) in enumerate(_history(customer, queued_at), start=2):
                session.add(
                    Transition(
                        organization_id=org.id,
                        conversation_id=conversation.id,
                        from_state=source,
                        to_state=target,
                        actor="ai" if target == "queued" else "agent:0",
                        reason=reason if target == "queued" else target,
                        rule_hits=[{"rule": rule, "fired": True}] if target == "queued" else [],
                        ownership_version=version,
                        created_at=at,
                    )
                )
            ids.append(conversation.id)
    return ids


def _history(customer: Customer, queued_at: datetime) -> list[tuple[str, str, datetime]]:
    if customer.state == "ai":
        return []
    moves = [("ai", "queued", queued_at)]
    if customer.state in ("assigned", "resolved"):
        claimed = queued_at + timedelta(minutes=customer.minutes_to_claim)
        moves.append(("queued", "assigned", claimed))
        if customer.state == "resolved":
            moves.append(
                ("assigned", "resolved", claimed + timedelta(minutes=customer.minutes_to_handle))
            )
    return moves
