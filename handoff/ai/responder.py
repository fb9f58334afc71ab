"""The contract between the handoff flow and whatever writes the AI's replies: a request
carrying the conversation so far, and a reply that says how sure it is, whether it knew the
answer and whether it wants a person to take over. The offline, knowledge-base responder
and any hosted model implement the same `Responder` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Turn:
    author: str  # "customer" | "ai" | "agent" | "system"
    text: str


@dataclass(frozen=True, slots=True)
class ResponderRequest:
    organization_id: int
    conversation_id: int
    history: tuple[Turn, ...]  # oldest first; the last customer turn is the one to answer
    business_name: str
    # the organization's knowledge-base version as read with the conversation, when it was:
    # the responder then needs no read of its own while this process holds that index
    knowledge_version: str | None = None


@dataclass(frozen=True, slots=True)
class ResponderReply:
    text: str
    confidence: float  # 0..1
    knows: bool  # False when it answered "I don't know"
    wants_human: bool = False  # a structured handoff signal (a hosted LLM's tool call later)
    sources: tuple[str, ...] = ()
    handoff_reason: str | None = None  # why it wants a person, in its own words


class Responder(Protocol):
    async def respond(self, request: ResponderRequest) -> ResponderReply: ...
