"""The customer's tone, from VADER (a lexicon- and rule-based sentiment model for short,
informal text; its lexicon ships inside the `vaderSentiment` package, so nothing is
downloaded at run time). A message scores from -1 (most negative) to 1; the tone of a
conversation is the lower of its latest message and the mean of its recent ones, so one
outburst counts at once and a sour run counts even when the last message is calmer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@lru_cache(maxsize=1)
def analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def score(text: str) -> float:
    """VADER's compound score of one message, -1..1."""
    return float(analyzer().polarity_scores(text)["compound"])


@dataclass(frozen=True, slots=True)
class Tone:
    score: float  # min(latest, mean)
    latest: float
    mean: float
    messages: int


def tone(texts: Sequence[str], window: int) -> Tone:
    """The tone of the last `window` of `texts` (oldest first); neutral for none."""
    recent = [text for text in texts if text.strip()][-window:]
    if not recent:
        return Tone(0.0, 0.0, 0.0, 0)
    scores = [score(text) for text in recent]
    mean = sum(scores) / len(scores)
    return Tone(min(scores[-1], mean), scores[-1], mean, len(scores))
