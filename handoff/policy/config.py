"""The policy's view of an organization's settings for one conversation: the level in
force on its channel, that level's preset with the admins' edits, the compiled keywords
and restricted topics, the business hours, and the after-hours choice.

The admin API validates every value before it is stored (`handoff.policy.validation`);
should a stored value still be unusable (edited by hand), the decision falls back to the
default for that value and logs it, rather than failing to route the message."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.org_settings import OrganizationSettings
from handoff.policy.hours import ALWAYS_OPEN, Schedule, parse_schedule
from handoff.policy.levels import (
    DEFAULT_LEVEL,
    PRESETS,
    Level,
    Preset,
    parse_level,
    preset_for,
    validate_overrides,
)
from handoff.policy.topics import Topic, compile_topics, phrase_pattern

log = logging.getLogger(__name__)
T = TypeVar("T")

AI_TAKES_MESSAGE = "ai_takes_message"
QUEUE_WITH_NOTICE = "queue_with_notice"
OUTSIDE_HOURS_CHOICES = (AI_TAKES_MESSAGE, QUEUE_WITH_NOTICE)


@dataclass(frozen=True, slots=True)
class PolicySettings:
    level: Level
    preset: Preset
    keywords: re.Pattern[str] | None
    topics: tuple[Topic, ...]
    schedule: Schedule
    outside_hours: str

    @classmethod
    def default(cls, level: Level = DEFAULT_LEVEL) -> PolicySettings:
        return cls(level, PRESETS[level], None, (), ALWAYS_OPEN, QUEUE_WITH_NOTICE)


def level_for(settings: OrganizationSettings, channel: str) -> Level:
    """The channel's own level if the organization set one, else its level."""
    return parse_level(settings.channel_levels.get(channel, settings.handoff_level))


def parse_outside_hours(value: object) -> str:
    if value not in OUTSIDE_HOURS_CHOICES:
        raise ValueError(f"outside_hours must be one of {', '.join(OUTSIDE_HOURS_CHOICES)}")
    return str(value)


def _or_default(what: str, build: Callable[[], T], default: T) -> T:
    try:
        return build()
    except (ValueError, TypeError, AttributeError) as error:
        log.warning("unusable %s in organization settings (%s); using the default", what, error)
        return default


def policy_settings(settings: OrganizationSettings, channel: str) -> PolicySettings:
    """Everything the rules need from `settings`, for a conversation on `channel`."""
    level = _or_default("handoff level", lambda: level_for(settings, channel), DEFAULT_LEVEL)
    no_edits: dict[str, dict[str, Any]] = {}
    overrides = _or_default(
        "level presets", lambda: validate_overrides(settings.level_presets), no_edits
    )
    return PolicySettings(
        level=level,
        preset=preset_for(level, overrides),
        keywords=_or_default(
            "handoff keywords", lambda: phrase_pattern(settings.handoff_keywords), None
        ),
        topics=_or_default(
            "restricted topics",
            lambda: compile_topics(settings.restricted_topics, settings.custom_topics),
            (),
        ),
        schedule=_or_default(
            "business hours",
            lambda: parse_schedule(settings.business_hours, settings.time_zone),
            ALWAYS_OPEN,
        ),
        outside_hours=_or_default(
            "outside_hours", lambda: parse_outside_hours(settings.outside_hours), QUEUE_WITH_NOTICE
        ),
    )
