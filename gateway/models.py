"""The conversation model: the core's tables, each row owned by exactly one organization
(a channel keeps its own tables in its package, the outgoing webhooks theirs in
`gateway.webhook_tables`, all on this `Base`). Queries elsewhere always filter by
`organization_id`; uniqueness constraints here are what make intake idempotent (provider
message ids, contact identities, one conversation per contact, channel and thread)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def new_knowledge_version() -> str:
    """Random, not a counter: an organization given a deleted one's id (SQLite reuses the
    highest) must never meet the deleted one's retrieval index."""
    return uuid.uuid4().hex


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    widget_key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[Any]] = mapped_column(default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # a new value (`new_knowledge_version`) with every change to the organization's
    # knowledge entries: a process keeps the retrieval index it built while the value holds
    knowledge_version: Mapped[str] = mapped_column(
        String(32), default=lambda: new_knowledge_version(), server_default="initial"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)


class AgentSession(Base):
    """A server-side login session; the cookie carries a random token, we keep its hash."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactIdentity(Base):
    """One way to reach a contact: a phone number (shared by calls and texts), an email
    address, a WhatsApp id or a web visitor id."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("organization_id", "kind", "address"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("organization_id", "contact_id", "channel", "thread_key"),
        Index("ix_conversations_queue", "organization_id", "state", "waiting_since"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    thread_key: Mapped[str] = mapped_column(String(255), default="")
    address_kind: Mapped[str] = mapped_column(String(16))  # how replies reach the customer
    address: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(16), default="ai")
    ownership_version: Mapped[int] = mapped_column(Integer, default=1)
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    label: Mapped[str | None] = mapped_column(String(120))
    handoff_reason: Mapped[str | None] = mapped_column(Text)
    rule_hits: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[str | None] = mapped_column(Text)
    waiting_since: Mapped[datetime | None]
    ai_paused_until: Mapped[datetime | None]
    last_customer_at: Mapped[datetime | None]
    last_human_at: Mapped[datetime | None]
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    attention_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("organization_id", "channel", "provider_message_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_unrouted", "routed_at", "direction"),
        Index("ix_messages_ai_turn", "ai_turn_version", "routed_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound
    author: Mapped[str] = mapped_column(String(16))  # customer | ai | agent | system
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    ownership_version: Mapped[int | None] = mapped_column(Integer)
    delivery_status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # The provider's own words for a failure, when the channel gave a plain sentence in
    # `error_message`; shown to agents only behind a disclosure.
    error_detail: Mapped[str | None] = mapped_column(Text)
    # While a send is retried: the attempts made so far and when the next one is due.
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    failure_dismissed_at: Mapped[datetime | None]  # an agent put the failure aside
    routed_at: Mapped[datetime | None]
    # An inbound message routed to the AI keeps the ownership version of the AI's turn it
    # awaits until that turn is stored (or found obsolete): the database, not Redis, knows
    # which turns are owed, so a turn whose job was lost is run again (`gateway.lost_jobs`,
    # which then moves `routed_at` to when it queued the turn again).
    ai_turn_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Typed views of the core's own keys in `meta`, which only intake and
    # `gateway.outbound` write: no package reads or writes these keys directly.
    @hybrid_property
    def no_reply(self) -> bool:
        """An inbound message kept but never answered (an SMS STOP, START or HELP)."""
        return bool((self.meta or {}).get("no_reply"))

    @no_reply.inplace.expression
    @classmethod
    def _no_reply_in_sql(cls) -> ColumnElement[bool]:
        return func.coalesce(cls.meta["no_reply"].as_boolean(), false())

    @property
    def notice(self) -> str | None:
        """For a notice to the customer: its kind (`handoff`, `resolved`, ...)."""
        kind = (self.meta or {}).get("notice")
        return kind if isinstance(kind, str) else None

    @property
    def reply_to(self) -> int | None:
        """The id of the inbound message this outgoing one answers, when it is one."""
        answered = (self.meta or {}).get("reply_to")
        return answered if isinstance(answered, int) else None


class Transition(Base):
    """The audit trail: one row for every ownership change."""

    __tablename__ = "transitions"
    __table_args__ = (Index("ix_transitions_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    rule_hits: Mapped[list[Any]] = mapped_column(default=list)
    ownership_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deadline(Base):
    """A timer that must survive restarts: a row here and a scheduled RQ job at once."""

    __tablename__ = "deadlines"
    __table_args__ = (Index("ix_deadlines_pending", "fired_at", "cancelled_at", "due_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    ownership_version: Mapped[int] = mapped_column(Integer)
    fired_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeEntry(Base):
    """One answerable item of an organization's knowledge base (an FAQ entry or a row of a
    catalog), loaded from Markdown or CSV files."""

    __tablename__ = "knowledge_entries"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    source: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactConsent(Base):
    """Why an address is opted out, or back in: the keyword the customer sent, the
    provider's opt-out type, or a provider error. `ContactIdentity.opted_out_at` is the
    flag every send checks; this row is the reason the queue page shows."""

    __tablename__ = "contact_consents"
    __table_args__ = (UniqueConstraint("organization_id", "kind", "address"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    opted_out: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(32))  # keyword | opt_out_type | provider_error
    detail: Mapped[str] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ID)  # the inbound message that decided it
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaFile(Base):
    """A file kept in the state folder: media a customer sent (fetched from the provider)
    or an image an agent uploaded to send. Only the organization's agents may read it."""

    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(255))
    origin: Mapped[str] = mapped_column(String(16))  # inbound | upload
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- handoff policy tables ---


class HandoffDecision(Base):
    """One decision of the handoff policy about one customer message: the level it ran at,
    the outcome, the rule that decided it, and every rule's result (`[{rule, fired,
    detail}]`), so an agent can see why a conversation was handed off, or why it was not.
    `phase` is "message" (on arrival) or "reply" (after the AI's answer was computed)."""

    __tablename__ = "handoff_decisions"
    __table_args__ = (Index("ix_handoff_decisions_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    phase: Mapped[str] = mapped_column(String(16))
    ownership_version: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    fired_rule: Mapped[str | None] = mapped_column(String(64))
    rule_results: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- queue page tables ---


class CannedResponse(Base):
    """A reply text an admin prepared; agents insert it with its shortcut."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("organization_id", "shortcut"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    shortcut: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConversationNote(Base):
    """An internal note on a conversation: seen by the organization's agents, never sent."""

    __tablename__ = "conversation_notes"
    __table_args__ = (Index("ix_conversation_notes_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationRead(Base):
    """How far one agent has read one conversation (for the queue's unread marks)."""

    __tablename__ = "conversation_reads"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    last_read_message_id: Mapped[int] = mapped_column(ID, default=0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationCount(Base):
    """A number of conversations with one combination of the columns the queue's badges
    count by. Never written by the application: triggers on `conversations` (migration
    0020) add a row of +1 for each conversation inserted and of -1 for each deleted, and
    both for an update that changes one of these columns, in the same transaction as the
    change. `gateway.conversation_counts.fold` sums them into one row per combination.
    A migration that rebuilds `conversations` must create the triggers again."""

    __tablename__ = "conversation_counts"
    __table_args__ = (Index("ix_conversation_counts_organization", "organization_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ID)
    state: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int | None] = mapped_column(ID)
    label: Mapped[str | None] = mapped_column(String(120))
    agent_id: Mapped[int | None] = mapped_column(ID)  # the conversation's assigned agent
    needs_attention: Mapped[bool] = mapped_column(Boolean)
    delta: Mapped[int] = mapped_column(Integer)
    folded: Mapped[bool] = mapped_column(Boolean, default=False)


class IdempotencyKey(Base):
    """A request an agent sent with an `Idempotency-Key` header (`gateway.idempotency`):
    claimed by the copy doing the work (no answer yet), then its answer, kept for repeats
    until `expires_at` (migration 0021)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("organization_id", "agent_id", "key"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    key: Mapped[str] = mapped_column(String(255))
    # a digest of the request the key was first sent with
    fingerprint: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[str] = mapped_column(String(32))  # the copy doing the work
    status: Mapped[int | None] = mapped_column(Integer)  # None while the work runs
    answer: Mapped[str | None] = mapped_column(Text)  # the JSON body answered
    claimed_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


# Indexes for the queue's lists, counts and the dashboard (migration 0004). The search
# indexes on PostgreSQL (pg_trgm) live only in the migration: they need the extension.
Index(
    "ix_conversations_activity",
    Conversation.organization_id,
    Conversation.state,
    Conversation.updated_at,
    Conversation.id,
)
Index(  # All, and a search across every view (migration 0013)
    "ix_conversations_recent",
    Conversation.organization_id,
    Conversation.updated_at,
    Conversation.id,
)
Index(  # a customer's conversations, newest first (migration 0015)
    "ix_conversations_contact",
    Conversation.organization_id,
    Conversation.contact_id,
    Conversation.updated_at,
)
Index(  # Needs attention (migration 0013)
    "ix_conversations_attention",
    Conversation.organization_id,
    Conversation.needs_attention,
    Conversation.updated_at,
    Conversation.id,
)
Index(
    "ix_conversations_assignee",
    Conversation.organization_id,
    Conversation.assigned_agent_id,
    Conversation.state,
)
Index(
    "ix_conversations_counts",
    Conversation.organization_id,
    Conversation.state,
    Conversation.needs_attention,
    Conversation.assigned_agent_id,
)
Index("ix_messages_organization", Message.organization_id, Message.id)
Index("ix_transitions_organization_time", Transition.organization_id, Transition.created_at)
