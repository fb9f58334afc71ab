"""The voice channel's own tables. `voice_calls` holds one row per caller leg (unique on
Twilio's CallSid, so a repeated incoming webhook finds the same row), with where the call
stands (with the AI, on hold, with an agent, ended) and the status Twilio last reported
(applied only when its SequenceNumber is newer). `voice_transfer_attempts` holds one row per
dialled target of a warm transfer with its typed outcome. `voice_answers` remembers the
TwiML each caller-side request got, so a request Twilio repeats gets the same answer; a
row without TwiML is a request being answered right now (see `voice.once`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models import ID, Base, utcnow


class VoiceCall(Base):
    __tablename__ = "voice_calls"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("twilio_accounts.id"))
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(64))
    to_number: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16), default="ai")  # ai | hold | agent | ended
    status: Mapped[str] = mapped_column(String(16), default="ringing")  # Twilio's CallStatus
    status_sequence: Mapped[int] = mapped_column(Integer, default=-1)
    silences: Mapped[int] = mapped_column(Integer, default=0)  # empty turns in a row
    transfer_round: Mapped[int] = mapped_column(Integer, default=0)  # warm transfers begun
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # on the call now
    offer: Mapped[str | None] = mapped_column(String(16))  # why a text back was offered
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    recording_url: Mapped[str | None] = mapped_column(String(2000))
    recording_seconds: Mapped[int | None] = mapped_column(Integer)
    hold_started_at: Mapped[datetime | None]
    hold_told_attempt: Mapped[int] = mapped_column(Integer, default=0)  # last outcome told
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TransferAttempt(Base):
    __tablename__ = "voice_transfer_attempts"
    __table_args__ = (Index("ix_voice_transfer_attempts_call", "call_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    call_id: Mapped[int] = mapped_column(ForeignKey("voice_calls.id"))
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # 0-based place in the target list
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    target_number: Mapped[str] = mapped_column(String(64))
    target_label: Mapped[str] = mapped_column(String(200), default="")
    agent_call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="dialing")  # agent leg CallStatus
    status_sequence: Mapped[int] = mapped_column(Integer, default=-1)
    answered_by: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))  # see voice.outcomes
    detail: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    joined_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallAnswer(Base):
    __tablename__ = "voice_answers"
    __table_args__ = (UniqueConstraint("call_id", "request_key"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("voice_calls.id"))
    request_key: Mapped[str] = mapped_column(String(255))
    twiml: Mapped[str | None] = mapped_column(Text)  # None while the request is answered
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentPhone(Base):
    """An agent's phone for warm transfers, and whether they take calls right now."""

    __tablename__ = "voice_agent_phones"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
