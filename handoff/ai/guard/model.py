"""The guard's model at run time: a logistic regression over the hashed features of
`handoff.ai.guard.features`, trained offline by `scripts/train-guard` and shipped as
`model.json` next to this module (learned weights, bias, the decision threshold chosen on
validation data, and how it was trained). Scoring is a few dictionary look-ups in plain
Python: no network, no machine-learning library, well under a millisecond per message."""

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
FORMAT = 1


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
        score = max([self.score(text), *(self.score(clause) for clause in clauses(text))])
        return GuardResult(score, score >= self.threshold)

    def to_json(self) -> dict[str, Any]:
        buckets = sorted(self.weights)
        return {
            "format": FORMAT,
            "features": SIGNATURE,
            "bias": self.bias,
            "threshold": self.threshold,
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
        if not 0.0 < threshold < 1.0:
            raise ConfigurationError(f"{source}: threshold {threshold} is not between 0 and 1")
        return GuardModel(
            weights={
                int(bucket): float(value) for bucket, value in zip(buckets, values, strict=True)
            },
            bias=float(data["bias"]),
            threshold=threshold,
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
    """Whether `text` really asks for a person: the guard over a keyword or AI signal."""
    return load_model().classify(text)
