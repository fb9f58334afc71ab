"""Building the handoff policy's input for table tests: an organization's settings as
they are stored (JSON), turned into the facts a decision sees, with no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.org_settings import OrganizationSettings
from handoff.ai.responder import ResponderReply
from handoff.policy.base import Phase, PolicyInput
from handoff.policy.config import policy_settings

# A Wednesday morning: inside the business hours the tests set, unless they say otherwise.
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
KNOWS = ResponderReply("Our shop opens at 9.", confidence=0.9, knows=True)
DONT_KNOW = ResponderReply("I'm not sure about that one.", confidence=0.1, knows=False)


def policy_input(
    text: str = "Where is my parcel?",
    *,
    level: str = "balanced",
    history: tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
    channel: str = "webchat",
    **facts: Any,
) -> PolicyInput:
    """Facts for `text` at `level`, one agent online, at NOW; `facts` overrides any field."""
    stored = {"handoff_level": level, **(settings or {})}
    values: dict[str, Any] = {
        "phase": Phase.REPLY if "reply" in facts else Phase.MESSAGE,
        "text": text,
        "recent_customer_texts": (*history, text),
        "state": "ai",
        "settings": policy_settings(OrganizationSettings.from_json(stored), channel),
        "now": NOW,
        "online_agents": 1,
    }
    values.update(facts)
    return PolicyInput(**values)
