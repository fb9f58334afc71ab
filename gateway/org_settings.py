"""Per-organization settings kept in the database (`Organization.settings`, JSON), with
their defaults. Admins edit them; the worker reads them on every decision."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from gateway.errors import BadInput


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

    @classmethod
    def validated(cls, raw: dict[str, Any]) -> dict[str, Any]:
        """Check an admin's update; unknown names and wrong types are refused."""
        defaults = cls()
        for key, value in raw.items():
            if not hasattr(defaults, key):
                raise BadInput(f"unknown organization setting {key!r}")
            expected = type(getattr(defaults, key))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                continue
            if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
                raise BadInput(f"organization setting {key!r} must be a {expected.__name__}")
        return raw
