"""The guard's model at run time: a logistic regression over the hashed features of
`handoff.ai.guard.features`, trained offline by `scripts/train-guard` and shipped as
`model.json` next to this module (learned weights, bias, two decision thresholds chosen on
validation data, and how it was trained). The guard alone escalates at `threshold`; as
the second half of the explicit-request trigger it confirms a message the patterns
proposed at `trigger_threshold`, chosen on those proposals only: most of a proposal's
evidence is already in, so the bar that keeps the trigger's precision is lower. Scoring
is a few dictionary look-ups in plain Python: no network, no machine-learning library,
well under a millisecond per message."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gateway.errors import ConfigurationError
from handoff.ai.guard.features import SIGNATURE, extract

MODEL_PATH = Path(__file__).resolve().parent / "model.json"
FORMAT = 2


@dataclass(frozen=True, slots=True)
class GuardResult:
    """How likely the message asks for a person (0..1), and whether that clears the bar."""

    score: float
    wants_person: bool


_CLAUSE_BREAK = re.compile(r"[.!?;,\n]+|\s[-\u2013\u2014]\s")


def clauses(text: str) -> list[str]:
    """The message's sentences and comma-separated clauses of two words or more, when there
    is more than one."""
    parts = [part.strip() for part in _CLAUSE_BREAK.split(text)]
    found = [part for part in parts if len(part.split()) >= 2]
    return found if len(found) > 1 else []


@dataclass(frozen=True, slots=True)
class GuardModel:
    weights: Mapping[int, float]
    bias: float
    threshold: float
    trigger_threshold: float
    training: Mapping[str, Any] = field(default_factory=dict)

    def score(self, text: str) -> float:
        """The probability that `text` asks for a person."""
        weights = self.weights
        logit = self.bias + sum(
            weights.get(bucket, 0.0) * value for bucket, value in extract(text).items()
        )
        # exp() of a large positive number overflows; mirror the formula instead.
        if logit >= 0:
            return 1.0 / (1.0 + math.exp(-logit))
        odds = math.exp(logit)
        return odds / (1.0 + odds)

    def classify(self, text: str) -> GuardResult:
        """The best score of the whole message and each of its clauses: a request for a
        person inside a longer complaint ("I want a person, you charged me twice, I am
        furious") must not be drowned by the words around it."""
        score = self.best_score(text)
        return GuardResult(score, score >= self.threshold)

    def confirm_proposal(self, text: str) -> GuardResult:
        """Whether a message the trigger's patterns proposed really asks for a person."""
        score = self.best_score(text)
        return GuardResult(score, score >= self.trigger_threshold)

    def best_score(self, text: str) -> float:
        return max([self.score(text), *(self.score(clause) for clause in clauses(text))])

    def to_json(self) -> dict[str, Any]:
        buckets = sorted(self.weights)
        return {
            "format": FORMAT,
            "features": SIGNATURE,
            "bias": self.bias,
            "threshold": self.threshold,
            "trigger_threshold": self.trigger_threshold,
            "buckets": buckets,
            "weights": [self.weights[bucket] for bucket in buckets],
            "training": dict(self.training),
        }


def parse_model(data: Mapping[str, Any], source: str = "model") -> GuardModel:
    """A model from its JSON form; a file from other code or other features is refused."""
    try:
        if data["format"] != FORMAT:
            raise ConfigurationError(f"{source}: unsupported guard model format {data['format']}")
        if data["features"] != SIGNATURE:
            raise ConfigurationError(
                f"{source}: trained on features {data['features']!r}, but this code extracts "
                f"{SIGNATURE!r}; run scripts/train-guard"
            )
        buckets, values = data["buckets"], data["weights"]
        if len(buckets) != len(values):
            raise ConfigurationError(f"{source}: {len(buckets)} buckets but {len(values)} weights")
        threshold = float(data["threshold"])
        trigger_threshold = float(data["trigger_threshold"])
        for name, value in (("threshold", threshold), ("trigger_threshold", trigger_threshold)):
            if not 0.0 < value < 1.0:
                raise ConfigurationError(f"{source}: {name} {value} is not between 0 and 1")
        return GuardModel(
            weights={
                int(bucket): float(value) for bucket, value in zip(buckets, values, strict=True)
            },
            bias=float(data["bias"]),
            threshold=threshold,
            trigger_threshold=trigger_threshold,
            training=dict(data.get("training", {})),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(f"{source}: not a guard model ({error!r})") from None


def read_model(path: Path) -> GuardModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot read the guard model {path}: {error}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: not a guard model")
    return parse_model(data, str(path))


@cache
def load_model() -> GuardModel:
    """The shipped model, read once per process."""
    return read_model(MODEL_PATH)


def confirm_person_request(text: str) -> GuardResult:
    """Whether `text` really asks for a person: the guard alone (over the AI's signal)."""
    return load_model().classify(text)


def confirm_proposal(text: str) -> GuardResult:
    """Whether `text`, which the trigger's patterns proposed, really asks for a person."""
    return load_model().confirm_proposal(text)
