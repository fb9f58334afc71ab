"""Handoff levels: how eagerly the policy hands a conversation to a person. Each level is
a preset of the rules' thresholds; an organization picks one (and may pick another per
channel) and may edit any preset's values, which are validated here.

| level | in short |
|---|---|
| `ai_only` | never hands off, except a confirmed explicit request (always honored) |
| `quick` | hands off on any frustration or request |
| `balanced` | the AI tries first but honors direct requests |
| `ai_first` | the AI gathers the full problem statement before handing off |
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from itertools import pairwise
from typing import Any


class Level(StrEnum):
    AI_ONLY = "ai_only"
    QUICK = "quick"
    BALANCED = "balanced"
    AI_FIRST = "ai_first"


AI_DECISION_MODES = ("honored", "confirmed", "ignored")


@dataclass(frozen=True, slots=True)
class Preset:
    """The thresholds of one level. An explicit request for a person that the guard
    confirms is honored at every level, so it has no switch here."""

    keywords: bool  # the organization's keywords and phrases call a person
    restricted_topics: bool  # a restricted topic calls a person
    frustration_threshold: float | None  # frustration at or above this (0..1) calls a person
    sentiment_window: int  # how many recent customer messages the tone covers
    low_confidence_streak: int | None  # this many non-answers in a row call a person
    ai_decision: str  # the AI's own handoff signal: honored, confirmed (guard), ignored
    gather_words: int  # >0: first ask for the whole problem unless this many words came


PRESETS: dict[Level, Preset] = {
    Level.AI_ONLY: Preset(False, False, None, 3, None, "confirmed", 0),
    Level.QUICK: Preset(True, True, 0.3, 3, 1, "honored", 0),
    Level.BALANCED: Preset(True, True, 0.5, 3, 2, "honored", 0),
    Level.AI_FIRST: Preset(True, True, 0.7, 3, 3, "honored", 25),
}

DESCRIPTIONS: dict[Level, str] = {
    Level.AI_ONLY: "AI only: never hands off, except a confirmed explicit request for a person.",
    Level.QUICK: "Quick: hands off on any frustration or request.",
    Level.BALANCED: "Balanced: the AI tries first but honors direct requests.",
    Level.AI_FIRST: "AI first: the AI gathers the full problem statement before handing off.",
}

DEFAULT_LEVEL = Level.BALANCED


def parse_level(value: object) -> Level:
    if not isinstance(value, str) or value not in Level.__members__.values():
        names = ", ".join(level.value for level in Level)
        raise ValueError(f"unknown handoff level {value!r}; choose one of {names}")
    return Level(value)


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return float(value)


def _count(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _check(name: str, value: object) -> object:
    """One preset value, validated; `None` switches a rule off where that is allowed."""
    if name in ("keywords", "restricted_topics"):
        return _flag(name, value)
    if name == "frustration_threshold":
        return None if value is None else _number(name, value, 0.0, 1.0)
    if name == "sentiment_window":
        return _count(name, value, 1, 10)
    if name == "low_confidence_streak":
        return None if value is None else _count(name, value, 1, 10)
    if name == "ai_decision":
        if value not in AI_DECISION_MODES:
            raise ValueError(f"ai_decision must be one of {', '.join(AI_DECISION_MODES)}")
        return value
    if name == "gather_words":
        return _count(name, value, 0, 500)
    raise ValueError(f"unknown preset value {name!r}; known: {', '.join(PRESET_KEYS)}")


PRESET_KEYS = tuple(f.name for f in fields(Preset))

# Before the frustration model, the tone threshold was a VADER score (-1..0, lower = more
# negative) under this name. Edits saved that way keep their level's meaning: the quick,
# balanced and AI-first defaults map onto each other, and values between them in between.
LEGACY_TONE_KEY = "sentiment_threshold"
_VADER_TO_FRUSTRATION = ((-1.0, 0.9), (-0.75, 0.7), (-0.6, 0.5), (-0.25, 0.3), (0.0, 0.2))


def _from_vader(value: object) -> object:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if not -1.0 <= value <= 0.0:
        raise ValueError(f"{LEGACY_TONE_KEY} must be between -1 and 0")
    for (low, high), (next_low, next_high) in pairwise(_VADER_TO_FRUSTRATION):
        if low <= value <= next_low:
            share = (value - low) / (next_low - low)
            return round(high + share * (next_high - high), 3)
    return _VADER_TO_FRUSTRATION[-1][1]


def validate_overrides(raw: object) -> dict[str, dict[str, Any]]:
    """The admins' edits to the presets (`{level: {value: ...}}`), checked and cleaned."""
    if not isinstance(raw, dict):
        raise ValueError("level_presets must be an object of levels")
    cleaned: dict[str, dict[str, Any]] = {}
    for level_name, values in raw.items():
        level = parse_level(level_name)
        if not isinstance(values, dict):
            raise ValueError(f"level_presets.{level} must be an object")
        cleaned[level.value] = {}
        for name, value in values.items():
            try:
                if name == LEGACY_TONE_KEY:
                    name, value = "frustration_threshold", _from_vader(value)
                cleaned[level.value][name] = _check(name, value)
            except ValueError as error:
                raise ValueError(f"level_presets.{level}: {error}") from None
    return cleaned


def preset_for(level: Level, overrides: dict[str, dict[str, Any]]) -> Preset:
    """The level's preset with the organization's edits applied."""
    return replace(PRESETS[level], **overrides.get(level.value, {}))


def presets_json(overrides: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every level as the admin page shows it: description, values, and what was edited."""
    return {
        level.value: {
            "description": DESCRIPTIONS[level],
            "values": asdict(preset_for(level, overrides)),
            "defaults": asdict(PRESETS[level]),
            "edited": sorted(overrides.get(level.value, {})),
        }
        for level in Level
    }
