"""Per-organization settings kept in the database (`Organization.settings`, JSON), with
their defaults. The worker reads them on every decision; unknown keys are ignored."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class OrganizationSettings:
    review_window_seconds: int = 15 * 60  # manual control pauses the AI this long
    queue_expiry_seconds: int = 15 * 60  # an unclaimed handoff returns to the AI after this
    ai_confidence_threshold: float = 0.45  # below it the AI says it does not know
    help_text: str = "Reply STOP to stop receiving messages."
    # The handoff policy (handoff/policy): a level per organization, optionally per channel;
    # the admins' edits to the levels' presets; keywords and restricted topics that call a
    # person; business hours (weekly, in `time_zone`; empty means always open) and what
    # happens outside them or when nobody is online.
    handoff_level: str = "balanced"
    channel_levels: dict[str, str] = field(default_factory=dict)
    level_presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    handoff_keywords: list[str] = field(default_factory=list)
    restricted_topics: list[str] = field(
        default_factory=lambda: ["billing_dispute", "cancellation", "legal", "privacy"]
    )
    custom_topics: dict[str, list[str]] = field(default_factory=dict)
    time_zone: str = "UTC"
    business_hours: dict[str, list[list[str]]] = field(default_factory=dict)
    outside_hours: str = "queue_with_notice"  # or "ai_takes_message"
    # The ladder while a handoff waits (handoff/ladder.py): a reminder to the team every
    # `reminder_interval_seconds` (at most `reminder_repeats` times; 0 turns reminders and
    # escalation off), then one escalation to the admins; expiry stays at
    # `queue_expiry_seconds`. A claimed conversation with no agent reply for
    # `unassign_after_seconds` goes back to the queue (0 turns that off).
    reminder_interval_seconds: int = 3 * 60
    reminder_repeats: int = 3
    escalate_to_admins: bool = True
    unassign_after_seconds: int = 10 * 60
    # The hosted model (handoff/ai/llm_client.py): a model or endpoint of the organization's
    # own overrides the process-wide one (the process-wide key is only ever sent to the
    # process-wide endpoint). `business_context` is told to the model with every question.
    # `notice_templates` overrides what customers are told, {kind: {channel or "*": text}}
    # (handoff/notice_templates.py).
    llm_base_url: str | None = None
    llm_model: str | None = None
    business_context: str = ""
    notice_templates: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def review_window(self) -> timedelta:
        return timedelta(seconds=self.review_window_seconds)

    @property
    def queue_expiry(self) -> timedelta:
        return timedelta(seconds=self.queue_expiry_seconds)

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> OrganizationSettings:
        known = {field.name: field.type for field in fields(cls)}
        values = {key: value for key, value in (raw or {}).items() if key in known}
        return cls(**values)
