"""The frustration model behind the tone rule: it ranks frustrated support messages above
calm ones on the hand-labelled dev set (never trained on) far better than VADER alone, hears
frustration without angry words, ships weights only, and `switchboard tone` prints what the
README says. The figures pinned here are the README's."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from handoff.ai.tone import frustration, load_model
from handoff.ai.tone.commands import evaluate_file, score_lines
from handoff.ai.tone.evaluation import auroc, read_scored
from handoff.ai.tone.model import MODEL_PATH
from handoff.policy.levels import PRESETS, Level

DEV = Path(__file__).resolve().parents[3] / "fixtures" / "handoff" / "tone" / "support_dev.csv"
TRAINING = Path(__file__).resolve().parents[4] / "training" / "support_tone.csv"
LEVELS = {level.value: preset.frustration_threshold for level, preset in PRESETS.items()}


def report() -> str:
    out = io.StringIO()
    evaluate_file(DEV, out, LEVELS)
    return out.getvalue()


def figure(text: str, name: str) -> float:
    match = re.search(rf"^{name}\s+([0-9.]+)", text, re.MULTILINE)
    assert match, text
    return float(match.group(1))


def test_the_dev_set_is_never_trained_on() -> None:
    def keys(path: Path) -> set[str]:
        return {" ".join(row.text.lower().split()) for row in read_scored(path)}

    assert keys(DEV).isdisjoint(keys(TRAINING))
    rows = read_scored(DEV)
    assert len(rows) >= 120 and 0.4 < sum(row.label for row in rows) / len(rows) < 0.6


def test_it_ranks_frustrated_support_messages_far_better_than_vader() -> None:
    printed = report()
    assert printed.startswith("support_dev.csv: 133 messages, 70 frustrated\n"), printed
    assert figure(printed, "AUROC") >= 0.90, printed
    assert figure(printed, "VADER alone") <= 0.80, printed


def test_each_level_catches_what_the_readme_says() -> None:
    printed = report()
    caught = {
        level: int(match)
        for level, match in re.findall(r"^(\w+)\s+threshold [0-9.]+: catches (\d+)%", printed, re.M)
    }
    assert set(caught) == {"quick", "balanced", "ai_first"}
    assert caught["quick"] >= 80 and caught["quick"] > caught["balanced"] > caught["ai_first"]
    assert caught["ai_first"] >= 30, printed


@pytest.mark.parametrize(
    "text",
    [
        "third time I'm asking",
        "still no refund",
        "the parcel is late again and nobody answers",
        "This is terrible, I am furious, worst service ever",
    ],
)
def test_frustration_without_angry_words_is_heard(text: str) -> None:
    assert frustration(text) >= PRESETS[Level.BALANCED].frustration_threshold  # type: ignore[operator]


@pytest.mark.parametrize(
    "text", ["Do you ship to Norway?", "Thanks, that worked!", "What are your opening hours?"]
)
def test_calm_questions_stay_calm(text: str) -> None:
    assert frustration(text) < PRESETS[Level.QUICK].frustration_threshold  # type: ignore[operator]


def test_the_shipped_file_holds_weights_not_text() -> None:
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert set(data) == {"format", "features", "bias", "indices", "weights", "training"}
    assert all(isinstance(index, int) for index in data["indices"])
    assert all(isinstance(weight, float) for weight in data["weights"])
    assert load_model().training["validation"]["support_auroc"] > 0.8


def test_score_prints_one_line_per_input_line() -> None:
    out = io.StringIO()
    count = score_lines(io.StringIO("still no refund\n\nthanks!\n"), out)
    lines = out.getvalue().splitlines()
    assert count == 3
    assert [line.split("\t")[1] for line in lines] == ["still no refund", "", "thanks!"]
    scores = [float(line.split("\t")[0]) for line in lines]
    assert scores[0] > scores[2] and all(0 <= score <= 1 for score in scores)


def test_auroc_counts_ties_as_half() -> None:
    assert auroc([0.9, 0.1], [True, False]) == 1.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    assert auroc([0.1, 0.9], [True, False]) == 0.0
    assert auroc([0.3], [True]) is None


def test_a_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    from gateway.errors import BadInput

    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as file:
        csv.writer(file).writerows([["text", "is_handoff"], ["hi", "1"]])
    with pytest.raises(BadInput, match="missing column"):
        read_scored(bad)


def test_the_switchboard_commands_score_and_evaluate(tmp_path: Path) -> None:
    from tests.handoff.ai.guard.guard_support import run_switchboard

    scored = run_switchboard(tmp_path, "tone", "score", stdin=b"still no refund\nthanks!")
    assert scored.returncode == 0, scored.stderr
    lines = scored.stdout.decode().splitlines()
    assert [line.split("\t")[1] for line in lines] == ["still no refund", "thanks!"]
    assert lines[0] == f"{frustration('still no refund'):.4f}\tstill no refund"

    evaluated = run_switchboard(tmp_path, "tone", "eval", str(DEV))
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stdout.decode().splitlines()[:3] == report().splitlines()[:3]

    missing = run_switchboard(tmp_path, "tone", "eval", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and b"file not found" in missing.stderr
