"""The customer's tone for the tone rule: how frustrated their recent messages sound, by the
frustration model (`handoff.ai.tone`, trained on support complaints as well as general
text, so "third time I'm asking" counts without an angry word). A message scores from 0
(calm) to 1 (frustrated); the tone of a conversation is the higher of its latest message
and the mean of its recent ones, so one outburst counts at once and a sour run counts even
when the last message is calmer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handoff.ai.tone import frustration


def score(text: str) -> float:
    """How frustrated one message sounds, 0..1."""
    return frustration(text)


@dataclass(frozen=True, slots=True)
class Tone:
    score: float  # max(latest, mean)
    latest: float
    mean: float
    messages: int


def tone(texts: Sequence[str], window: int) -> Tone:
    """The tone of the last `window` of `texts` (oldest first); calm (0) for none."""
    recent = [text for text in texts if text.strip()][-window:]
    if not recent:
        return Tone(0.0, 0.0, 0.0, 0)
    scores = [score(text) for text in recent]
    mean = sum(scores) / len(scores)
    return Tone(max(scores[-1], mean), scores[-1], mean, len(scores))
