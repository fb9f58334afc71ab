"""The Twilio tables (sharing `gateway.models.Base`, migrated with the rest in
`gateway/migrations`): the accounts whose tokens verify webhooks and sign REST calls, the
business numbers and Messaging Services that find an incoming message's organization, and
the parts a long reply is sent in, whose status callbacks drive the message's delivery
state. Voice shares the accounts and numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models import ID, Base, utcnow


class TwilioAccount(Base):
    """A Twilio account or subaccount an organization uses: its auth token verifies the
    signatures of webhooks for its numbers and authenticates the REST calls."""

    __tablename__ = "twilio_accounts"
    __table_args__ = (UniqueConstraint("organization_id", "account_sid"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    account_sid: Mapped[str] = mapped_column(String(34))
    auth_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TwilioNumber(Base):
    """A business number (E.164 or a short code), or a whole Messaging Service (its `MG`
    SID), registered to one organization: an incoming webhook finds its organization here."""

    __tablename__ = "twilio_numbers"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("twilio_accounts.id"), index=True)
    address: Mapped[str] = mapped_column(String(64), unique=True)
    messaging_service_sid: Mapped[str | None] = mapped_column(String(34))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TwilioMessagePart(Base):
    """One Twilio message sent for a stored outbound message (a long reply goes out in
    several parts). Status callbacks update it; the message's delivery state follows."""

    __tablename__ = "twilio_message_parts"
    __table_args__ = (UniqueConstraint("message_id", "part"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("twilio_accounts.id"))
    part: Mapped[int] = mapped_column(Integer)
    sid: Mapped[str | None] = mapped_column(String(34), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
