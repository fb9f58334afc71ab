"""The frustration model at run time: the weights `scripts/train-tone` learned (a logistic
regression over `handoff.ai.tone.features`), read once from `model.json` next to this module.
A message's score is the probability that it sounds frustrated; the same message is scored
once per process (a conversation's recent messages are re-read at every decision)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from gateway.errors import ConfigurationError
from handoff.ai.tone.features import SIGNATURE, extract

MODEL_PATH = Path(__file__).resolve().parent / "model.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class ToneModel:
    weights: Mapping[int, float]
    bias: float
    training: Mapping[str, Any] = field(default_factory=dict)

    def score(self, text: str) -> float:
        """The probability that `text` sounds frustrated, 0..1."""
        weights = self.weights
        logit = self.bias + sum(
            weights.get(index, 0.0) * value for index, value in extract(text).items()
        )
        # exp() of a large positive number overflows; mirror the formula instead.
        if logit >= 0:
            return 1.0 / (1.0 + math.exp(-logit))
        odds = math.exp(logit)
        return odds / (1.0 + odds)

    def to_json(self) -> dict[str, Any]:
        indices = sorted(self.weights)
        return {
            "format": FORMAT,
            "features": SIGNATURE,
            "bias": self.bias,
            "indices": indices,
            "weights": [self.weights[index] for index in indices],
            "training": dict(self.training),
        }


def parse_model(data: Mapping[str, Any], source: str = "model") -> ToneModel:
    """A model from its JSON form; a file from other code or other features is refused."""
    try:
        if data["format"] != FORMAT:
            raise ConfigurationError(f"{source}: unsupported tone model format {data['format']}")
        if data["features"] != SIGNATURE:
            raise ConfigurationError(
                f"{source}: trained on features {data['features']!r}, but this code extracts "
                f"{SIGNATURE!r}; run scripts/train-tone"
            )
        indices, values = data["indices"], data["weights"]
        if len(indices) != len(values):
            raise ConfigurationError(f"{source}: {len(indices)} indices but {len(values)} weights")
        return ToneModel(
            weights={int(i): float(v) for i, v in zip(indices, values, strict=True)},
            bias=float(data["bias"]),
            training=dict(data.get("training", {})),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(f"{source}: not a tone model ({error!r})") from None


def read_model(path: Path) -> ToneModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot read the tone model {path}: {error}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: not a tone model")
    return parse_model(data, str(path))


@cache
def load_model() -> ToneModel:
    """The shipped model, read once per process."""
    return read_model(MODEL_PATH)


@lru_cache(maxsize=4096)
def frustration(text: str) -> float:
    """How frustrated `text` sounds, 0..1, by the shipped model."""
    return load_model().score(text)
