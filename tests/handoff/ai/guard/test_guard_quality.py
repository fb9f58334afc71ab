"""How well the guard separates requests for a person from mentions of people, measured by
the same code `switchboard guard eval` runs: the figures the issue asks for on the Bitext
held-out split, the hand-written hard sets (never trained on), and the examples the keyword
patterns are tested with, so the guard does not veto what they rightly catch."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from handoff.ai.guard import GuardResult, confirm_person_request
from handoff.ai.guard.commands import evaluate_file
from handoff.ai.guard.dataset import HARD_NEGATIVES_CSV, HARD_POSITIVES_CSV, HELD_OUT_CSV
from handoff.ai.guard.evaluation import evaluate, read_labelled
from handoff.ai.guard.model import load_model
from handoff.person_request import asks_for_person
from tests.handoff.ai.guard.guard_support import figure
from tests.handoff.test_person_request import NOT_REQUESTS, REQUESTS

# Documented in the README: on the hard sets the guard may escalate at most 3 % of the
# negatives and must escalate at least 95 % of the positives.
HARD_NEGATIVES_ESCALATED_AT_MOST = 0.03
HARD_POSITIVES_RECALL_AT_LEAST = 0.95


def eval_report(path: Path) -> str:
    out = io.StringIO()
    evaluate_file(path, out)
    return out.getvalue()


def test_held_out_precision_and_recall_meet_the_bar() -> None:
    report = eval_report(HELD_OUT_CSV)
    assert report.startswith("bitext_heldout.csv: 1315 messages, 63 ask for a person\n")
    assert figure(report, "precision") >= 0.95, report
    assert figure(report, "recall") >= 0.90, report


def test_hard_negatives_are_rarely_escalated() -> None:
    rows = read_labelled(HARD_NEGATIVES_CSV)
    assert len(rows) >= 100 and not any(row.wants_person for row in rows)
    evaluation = evaluate(load_model(), rows)
    assert evaluation.escalated <= HARD_NEGATIVES_ESCALATED_AT_MOST * len(rows), [
        mistake.text for mistake in evaluation.mistakes
    ]
    report = eval_report(HARD_NEGATIVES_CSV)
    assert (
        f"\nescalated    {evaluation.escalated} (0 right, {evaluation.escalated} wrong)\n" in report
    )


def test_hard_positives_are_escalated() -> None:
    rows = read_labelled(HARD_POSITIVES_CSV)
    assert len(rows) >= 60 and all(row.wants_person for row in rows)
    report = eval_report(HARD_POSITIVES_CSV)
    assert figure(report, "recall") >= HARD_POSITIVES_RECALL_AT_LEAST, report
    assert figure(report, "precision") == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "are you a bot?",
        "my agent said the parcel is late",
        "I already talked to someone yesterday",
        "the person at the store was rude",
        "real estate agent",
        "add a person to my account",
        "agent number 5 helped me",
        "am I talking to a real person?",
        "I don't want to talk to a person",
        "what are your opening hours",
        "",
    ],
)
def test_mentions_of_people_are_not_escalated(text: str) -> None:
    result = confirm_person_request(text)
    assert isinstance(result, GuardResult)
    assert not result.wants_person, result


@pytest.mark.parametrize(
    "text",
    [
        "human pls",
        "get me a real person",
        "operator!!",
        "talk to someone real",
        "u a bot? i want a human",
        "I want to talk to a human agent",
    ],
)
def test_requests_for_a_person_are_escalated(text: str) -> None:
    result = confirm_person_request(text)
    assert result.wants_person, result
    assert result.score >= load_model().threshold


@pytest.mark.parametrize(
    ("text", "wants_person"),
    [
        # asking for customer service by name asks for the people behind it, as the
        # keyword patterns decide ...
        ("can I talk to customer service?", True),
        ("customer service please", True),
        ("I need to speak with customer support", True),
        # ... but asking when it is open or how to reach it is a question the AI answers
        ("what hours can I call customer service?", False),
        ("customer support mail", False),
        ("do you have a phone number for customer support?", False),
    ],
)
def test_customer_service_decision(text: str, wants_person: bool) -> None:
    assert confirm_person_request(text).wants_person is wants_person


def test_the_guard_agrees_with_the_keyword_patterns_on_their_examples() -> None:
    """The patterns' own test examples, never trained on: the guard vetoes at most two of
    the requests they catch, and on its own escalates at most two of the mentions they
    rightly ignore (behind the patterns, those never reach it)."""
    assert all(asks_for_person(text) for text in REQUESTS)
    vetoed = [text for text in REQUESTS if not confirm_person_request(text).wants_person]
    assert len(vetoed) <= 2, vetoed
    escalated = [text for text in NOT_REQUESTS if confirm_person_request(text).wants_person]
    assert len(escalated) <= 2, escalated
