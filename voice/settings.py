"""An organization's voice settings, kept under the `voice` key of its settings (JSON)
with their defaults, and validated when an admin changes them. Transfer targets are tried
in order: an agent (by id, dialled on the number given here or else on the phone in their
profile, and skipped while they are not available for calls) or any other number (a team
line, an external fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from gateway.errors import BadInput

DEFAULT_GREETING = "Thanks for calling {business}. How can I help you today?"


@dataclass(frozen=True, slots=True)
class Target:
    number: str
    agent_id: int | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    greeting: str = DEFAULT_GREETING
    tts_voice: str = "Polly.Joanna-Neural"
    language: str = "en-US"
    # speechTimeout="auto" cannot be used with Twilio's default model (warning 13335), so
    # a model is always named.
    speech_model: str = "phone_call"
    hints: str = ""
    transfer_targets: tuple[Target, ...] = ()
    ring_timeout_seconds: int = 20
    max_attempts: int = 3
    hold_message: str = "Please hold while I find someone for you."
    offer_sms_callback: bool = True
    record_calls: bool = False
    min_confidence: float = 0.4  # below it the caller is asked to repeat
    max_silences: int = 2  # empty turns in a row before the call ends politely
    gather_timeout_seconds: int = 5

    @classmethod
    def from_json(cls, raw: Any) -> VoiceSettings:
        """The stored settings; anything malformed falls back to its default."""
        if not isinstance(raw, dict):
            return cls()
        try:
            return validated(raw)
        except BadInput:
            return cls()

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["transfer_targets"] = [asdict(target) for target in self.transfer_targets]
        return body


_TYPES: dict[str, type | tuple[type, ...]] = {
    "greeting": str,
    "tts_voice": str,
    "language": str,
    "speech_model": str,
    "hints": str,
    "ring_timeout_seconds": int,
    "max_attempts": int,
    "hold_message": str,
    "offer_sms_callback": bool,
    "record_calls": bool,
    "min_confidence": (int, float),
    "max_silences": int,
    "gather_timeout_seconds": int,
}
_RANGES = {
    "ring_timeout_seconds": (5, 600),  # what Twilio's Calls API accepts
    "max_attempts": (1, 20),
    "max_silences": (1, 5),
    "gather_timeout_seconds": (1, 30),
}


def transfer_targets_rung(organization_settings: Mapping[str, Any]) -> str | None:
    """How a call reaches the team with nobody online on the desk: its transfer targets
    are rung (`ChannelSpec.staffed_without_desk`); None when it has none."""
    targets = VoiceSettings.from_json(organization_settings.get("voice")).transfer_targets
    return "the call's transfer targets are rung" if targets else None


def is_e164(number: object) -> bool:
    return (
        isinstance(number, str)
        and number.startswith("+")
        and number[1:].isascii()
        and number[1:].isdigit()
        and 8 <= len(number) <= 16
    )


def _target(raw: Any) -> Target:
    if not isinstance(raw, dict):
        raise BadInput("each transfer target must be an object with a phone number")
    number = raw.get("number", "")
    agent_id = raw.get("agent_id")
    if agent_id is not None and (not isinstance(agent_id, int) or isinstance(agent_id, bool)):
        raise BadInput("a transfer target's agent_id must be a number")
    if not (number == "" and agent_id is not None) and not is_e164(number):
        raise BadInput(
            "a transfer target needs a number in E.164 form, like +15551234567 (an agent's "
            "target may leave it out to use the phone in their profile)"
        )
    label = raw.get("label", "")
    if not isinstance(label, str) or len(label) > 200:
        raise BadInput("a transfer target's label must be text of at most 200 characters")
    return Target(number=number, agent_id=agent_id, label=label)


def validated(raw: dict[str, Any]) -> VoiceSettings:
    """Settings from an admin's JSON, or BadInput naming what is wrong."""
    known = {item.name for item in fields(VoiceSettings)}
    unknown = set(raw) - known
    if unknown:
        raise BadInput(f"unknown voice setting: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "transfer_targets":
            if not isinstance(value, list) or len(value) > 20:
                raise BadInput("transfer_targets must be a list of at most 20 targets")
            values[name] = tuple(_target(item) for item in value)
            continue
        expected = _TYPES[name]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise BadInput(f"the voice setting {name} has the wrong type")
        if isinstance(value, str) and len(value) > 1000:
            raise BadInput(f"the voice setting {name} is too long")
        bounds = _RANGES.get(name)
        if bounds is not None and isinstance(value, int) and not bounds[0] <= value <= bounds[1]:
            raise BadInput(f"the voice setting {name} must be between {bounds[0]} and {bounds[1]}")
        values[name] = value
    if "min_confidence" in values and not 0 <= values["min_confidence"] <= 1:
        raise BadInput("the voice setting min_confidence must be between 0 and 1")
    return VoiceSettings(**values)
