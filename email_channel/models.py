"""The email channel's own tables (sharing `gateway.models.Base`): an organization's
mailboxes, the spool of accepted mail not yet processed, the IMAP cursors of each mailbox
(its folder's, moved in the same transaction as the mail it spooled, and its Sent
folder's, moved with the agent's reply it stored), the index of RFC 5322 Message-IDs that
threading looks replies up in, the bounces (delivery status notifications) matched to the
outbound mail they report on, and the agents' replies to notification mails relayed to
customers (each once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models import ID, Base, utcnow


class Mailbox(Base):
    """A support address. Mail reaches it through Switchboard's inbound SMTP server
    (`smtp_enabled`), through IMAP intake (`imap_host` set), or both."""

    __tablename__ = "email_mailboxes"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    smtp_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    imap_host: Mapped[str | None] = mapped_column(String(255))
    imap_port: Mapped[int | None] = mapped_column(Integer)
    imap_tls: Mapped[bool] = mapped_column(Boolean, default=True)
    imap_user: Mapped[str | None] = mapped_column(String(320))
    imap_password: Mapped[str | None] = mapped_column(String(500))
    imap_folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    # Where a mail goes once it is committed (MOVE, when the server offers it); unset, or
    # without MOVE, it stays and is only marked \Seen. Never read back as "processed".
    imap_processed_folder: Mapped[str | None] = mapped_column(String(255))
    # The shared mailbox's Sent folder, watched for replies agents send from it.
    imap_sent_folder: Mapped[str | None] = mapped_column(String(255))
    # Staff replies count only when authenticated: by an Authentication-Results header
    # whose authserv-id is this one (the organization's own mail server), or by arrival
    # over SMTP from one of these relay addresses.
    trusted_authserv_id: Mapped[str | None] = mapped_column(String(255))
    trusted_relays: Mapped[list[Any]] = mapped_column(default=list)
    # Or, with no trusted server in front, by a DKIM signature of the agent's own domain
    # that Switchboard verifies itself (`dkim_verify`): off unless the admin turns it on.
    verify_dkim: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Signing its replies in the app (when the outgoing server does not): the selector and
    # the RSA private key (PEM), which no API or listing ever shows.
    dkim_selector: Mapped[str | None] = mapped_column(String(63))
    dkim_private_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpooledMail(Base):
    """A mail accepted (SMTP `250`, or an IMAP cursor moved past it) and not yet processed:
    its raw bytes and envelope, durable before the sender is answered. Processing deletes
    the row in the same transaction as the message it stores, so it happens exactly once;
    a failure leaves the row for a later attempt (`next_attempt_at`, `last_error`)."""

    __tablename__ = "email_spool"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("email_mailboxes.id", ondelete="CASCADE"), index=True
    )
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    envelope_from: Mapped[str | None] = mapped_column(String(998))  # None: read over IMAP
    envelope_recipients: Mapped[list[Any]] = mapped_column(default=list)
    peer: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class ImapCursor(Base):
    """How far IMAP intake has read one mailbox's folder: the last UID it stored, valid
    only under `uidvalidity` (a new value means the folder was recreated: rescan)."""

    __tablename__ = "email_imap_cursors"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("email_mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SentCursor(Base):
    """How far IMAP intake has read a mailbox's Sent folder (as `ImapCursor`)."""

    __tablename__ = "email_sent_cursors"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("email_mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MailId(Base):
    """The Message-ID header of one stored message, in or out, so that a reply's
    In-Reply-To and References find their conversation."""

    __tablename__ = "email_message_ids"
    __table_args__ = (Index("ix_email_message_ids_lookup", "organization_id", "header_id"),)

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    header_id: Mapped[str] = mapped_column(String(998))
    subject: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[str] = mapped_column(Text, default="")


class Bounce(Base):
    """A delivery status notification: which of our messages it reports on (when it could
    be matched), the recipient and the status code. Stored once per bounce mail."""

    __tablename__ = "email_bounces"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(16), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RelayedReply(Base):
    """An agent's reply to a notification mail, relayed to the customer: keyed by the
    mail's idempotency key, so the same reply arriving twice (by SMTP and IMAP, or a
    retry) is sent once. `message_id` is the agent's message in the customer's
    conversation."""

    __tablename__ = "email_relayed_replies"
    __table_args__ = (UniqueConstraint("organization_id", "provider_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    provider_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
