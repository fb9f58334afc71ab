"""Per-organization settings kept in the database (`Organization.settings`, JSON), with
their defaults. The worker reads them on every decision; unknown keys are ignored."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class OrganizationSettings:
    review_window_seconds: int = 15 * 60  # manual control pauses the AI this long
    queue_expiry_seconds: int = 15 * 60  # an unclaimed handoff returns to the AI after this
    ai_confidence_threshold: float = 0.45  # below it the AI says it does not know
    help_text: str = "Reply STOP to stop receiving messages."

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
