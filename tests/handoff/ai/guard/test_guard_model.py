"""The guard's run-time model: the API the policy uses, a model loaded once per process, the
same scores in every process, and a clear start-up error for a model file that does not
fit the code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import ConfigurationError
from handoff.ai.guard import GuardResult, confirm_person_request, load_model
from handoff.ai.guard.features import BUCKETS, SIGNATURE, extract, tokens
from handoff.ai.guard.model import MODEL_PATH, clauses, read_model


def test_confirm_person_request_returns_a_score_and_a_decision() -> None:
    result = confirm_person_request("can I talk to a human?")
    assert result == GuardResult(result.score, True)
    assert 0.0 < result.score <= 1.0
    low = confirm_person_request("where is my parcel?")
    assert low.wants_person is False and 0.0 <= low.score < load_model().threshold


def test_the_model_is_loaded_once() -> None:
    assert load_model() is load_model()
    assert load_model().training["rows"] > 5000


@pytest.mark.parametrize(
    "text", ["", "   ", "???", "\u00e9\u00e8 \u4f60\u597d", "agent " * 2000, "\x00\x01"]
)
def test_any_text_gets_a_probability(text: str) -> None:
    result = confirm_person_request(text)
    assert 0.0 <= result.score <= 1.0


def test_features_ignore_case_and_curly_apostrophes() -> None:
    assert tokens("I DON\u2019T want a Human?!") == ["i", "don't", "want", "a", "human", "?", "!"]
    assert extract("Human please") == extract("human   PLEASE")
    features = extract("talk to a human")
    assert all(0 <= bucket < BUCKETS for bucket in features)
    assert abs(sum(value * value for value in features.values()) - 1.0) < 1e-9


def test_scores_are_the_same_in_every_process() -> None:
    """Hashing must not depend on Python's per-process string hash seed."""
    code = (
        "from handoff.ai.guard import confirm_person_request as c; "
        "print(repr(c('humna pls').score))"
    )
    scores = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert scores == {repr(confirm_person_request("humna pls").score) + "\n"}


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    return data


def test_a_copy_of_the_shipped_model_scores_the_same(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(shipped()), encoding="utf-8")
    assert read_model(path).classify("operator!!") == confirm_person_request("operator!!")
    assert shipped()["features"] == SIGNATURE


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"features": "words1-3/crc32/1024"}, "run scripts/train-guard"),
        ({"format": 99}, "unsupported guard model format 99"),
        ({"threshold": 1.5}, "threshold 1.5 is not between 0 and 1"),
        ({"trigger_threshold": 0.0}, "trigger_threshold 0.0 is not between 0 and 1"),
        ({"weights": [0.5]}, "buckets but 1 weights"),
        ({"bias": None}, "not a guard model"),
    ],
)
def test_a_model_that_does_not_fit_is_refused(
    tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({**shipped(), **change}), encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        read_model(path)
    assert fragment in raised.value.message


def test_an_unreadable_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the guard model"):
        read_model(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot read the guard model"):
        read_model(broken)
    broken.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not a guard model"):
        read_model(broken)


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a person, you charged me twice, I am furious, this is terrible!",
        "This is the third time I write. Your app is broken. Get me a human.",
        "order 5512 never came; I need a real person now",
    ],
)
def test_a_request_inside_a_longer_complaint_is_confirmed(text: str) -> None:
    assert confirm_person_request(text).wants_person


@pytest.mark.parametrize(
    "text",
    [
        "my agent said the parcel is late, where is it?",
        "are you a bot? just curious, where is my order",
        "I already talked to someone yesterday. The refund is still missing.",
    ],
)
def test_splitting_into_clauses_does_not_confirm_stray_phrases(text: str) -> None:
    assert not confirm_person_request(text).wants_person


def test_clauses_are_only_used_for_messages_with_several() -> None:
    assert clauses("human please") == []
    assert clauses("hi there. human please, now") == ["hi there", "human please"]
