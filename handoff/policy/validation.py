"""Checking an admin's change to the organization's settings before it is stored: every
key must be a known setting, every value must have the setting's type, and the policy's
own settings (levels, presets, keywords, topics, business hours) must make sense. The
first problem found is reported by name, and nothing is stored."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any, get_type_hints

from pydantic import TypeAdapter, ValidationError

from gateway.errors import BadInput
from gateway.org_settings import OrganizationSettings
from handoff.notice_templates import validate_templates
from handoff.policy.config import parse_outside_hours
from handoff.policy.hours import parse_schedule, parse_zone
from handoff.policy.levels import parse_level, validate_overrides
from handoff.policy.topics import BUILTIN, compile_topics

MAX_PHRASES = 200
MAX_PHRASE_CHARS = 100
_TOPIC_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_HINTS = get_type_hints(OrganizationSettings)
KNOWN = tuple(f.name for f in fields(OrganizationSettings))


def _phrases(value: list[str]) -> list[str]:
    if len(value) > MAX_PHRASES:
        raise ValueError(f"at most {MAX_PHRASES} phrases")
    cleaned = [" ".join(phrase.split()) for phrase in value]
    for phrase in cleaned:
        if not phrase or len(phrase) > MAX_PHRASE_CHARS:
            raise ValueError(f"each phrase needs 1 to {MAX_PHRASE_CHARS} characters")
    return list(dict.fromkeys(cleaned))


def _custom_topics(value: dict[str, list[str]]) -> dict[str, list[str]]:
    for name in value:
        if not _TOPIC_NAME.fullmatch(name):
            raise ValueError(f"topic name {name!r}: lowercase letters, digits and _ only")
        if name in BUILTIN:
            raise ValueError(f"{name!r} is a built-in topic; choose another name")
    return {name: _phrases(phrases) for name, phrases in value.items()}


def _within(low: float, high: float) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return check


def _schedule(value: Any) -> Any:
    parse_schedule(value, "UTC")  # the format; the zone is checked with the whole
    return value


def _topic_names(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))


SPECIFIC: dict[str, Callable[[Any], Any]] = {
    "handoff_level": lambda value: parse_level(value).value,
    "level_presets": validate_overrides,
    "handoff_keywords": _phrases,
    "restricted_topics": _topic_names,
    "custom_topics": _custom_topics,
    "time_zone": lambda value: parse_zone(value).key,
    "business_hours": _schedule,
    "outside_hours": parse_outside_hours,
    "review_window_seconds": _within(60, 7 * 24 * 3600),
    "queue_expiry_seconds": _within(60, 7 * 24 * 3600),
    "ai_confidence_threshold": _within(0, 1),
}


def _channel_levels(value: dict[str, str], channels: Iterable[str]) -> dict[str, str]:
    known = set(channels)
    for channel, level in value.items():
        if channel not in known:
            raise ValueError(f"unknown channel {channel!r}; known: {', '.join(sorted(known))}")
        parse_level(level)
    return dict(value)


def _one(key: str, value: Any, channels: Iterable[str]) -> Any:
    try:
        value = TypeAdapter(_HINTS[key]).validate_python(value, strict=True)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadInput(f"{key}{'.' + where if where else ''}: {first['msg']}") from None
    if key == "notice_templates":
        return validate_templates(value)
    try:
        if key == "channel_levels":
            return _channel_levels(value, channels)
        if isinstance(value, int) and not isinstance(value, bool) and key.endswith("_seconds"):
            value = _within(0, 30 * 24 * 3600)(value)
        return SPECIFIC[key](value) if key in SPECIFIC else value
    except ValueError as error:
        raise BadInput(f"{key}: {error}") from None


def validate_update(
    body: object, current: dict[str, Any], channels: Iterable[str]
) -> dict[str, Any]:
    """The organization's new stored settings: `current` with the checked `body` applied.
    BadInput (HTTP 400) for an unknown key or a bad value."""
    if not isinstance(body, dict) or not body:
        raise BadInput("send a JSON object with the settings to change")
    unknown = sorted(str(key) for key in body if key not in _HINTS)
    if unknown:
        raise BadInput(
            f"unknown setting {unknown[0]!r}; known settings: {', '.join(KNOWN)}",
            code="unknown_setting",
        )
    channels = list(channels)
    merged = {**current, **{key: _one(key, value, channels) for key, value in body.items()}}
    settings = OrganizationSettings.from_json(merged)
    try:
        compile_topics(settings.restricted_topics, settings.custom_topics)
        parse_schedule(settings.business_hours, settings.time_zone)
    except ValueError as error:
        raise BadInput(str(error)) from None
    return merged
