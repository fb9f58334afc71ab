"""The held-out split stays held out: the committed held-out file is exactly the hash split
of the Bitext data, none of it (nor any hard evaluation example) is in the training rows,
the committed model was trained on the current training rows, and the customer-service
labels follow the documented decision."""

from __future__ import annotations

import csv

import pytest

from handoff.ai.guard import bitext, dataset
from handoff.ai.guard.evaluation import read_labelled
from handoff.ai.guard.model import load_model
from tests.handoff.ai.guard.guard_support import bitext_path


def committed_held_out() -> list[tuple[str, bool, str]]:
    with dataset.HELD_OUT_CSV.open(newline="", encoding="utf-8") as file:
        return [
            (row["text"], row["is_handoff"] == "1", row["intent"]) for row in csv.DictReader(file)
        ]


def test_the_held_out_file_is_the_hash_split_of_bitext() -> None:
    assert committed_held_out() == dataset.held_out_rows(bitext_path())


def test_held_out_is_about_a_fifth_and_every_row_hashes_into_it() -> None:
    rows = committed_held_out()
    assert all(bitext.is_held_out(text) for text, _, _ in rows)
    total = sum(1 for _ in bitext.read_utterances(bitext_path()))
    assert 0.17 < len(rows) / total < 0.23


def test_nothing_evaluated_is_trained_on() -> None:
    rows = dataset.training_rows(bitext_path())
    held_out = [text for text, _, _ in committed_held_out()]
    hard = [row.text for path in dataset.DEV_SETS for row in read_labelled(path)]
    assert dataset.overlap(rows, held_out) == []
    assert dataset.overlap(rows, hard) == []


def test_the_committed_model_was_trained_on_the_current_training_rows() -> None:
    """Editing the training examples (or the labels) without running scripts/train-guard
    fails here."""
    rows = dataset.training_rows(bitext_path())
    training = load_model().training
    assert training["digest"] == dataset.digest(rows)
    assert training["rows"] == len(rows)
    assert training["positives"] == sum(row.wants_person for row in rows)
    validation = training["validation"]
    assert validation["precision"] >= validation["target_precision"]
    assert validation["trigger_precision"] >= validation["target_trigger_precision"]


def test_training_folds_are_stable_and_spread() -> None:
    rows = dataset.training_rows(bitext_path())
    folds = [dataset.fold_of(row.text, 5) for row in rows]
    assert folds == [dataset.fold_of(row.text.upper(), 5) for row in rows]
    assert all(0.15 < folds.count(fold) / len(folds) < 0.25 for fold in range(5))


@pytest.mark.parametrize(
    ("intent", "text", "wants_person"),
    [
        ("contact_human_agent", "how can i speak to a human agent", True),
        ("contact_customer_service", "can I speak with customer service?", True),
        ("contact_customer_service", "how do i conttact customer service", True),
        ("contact_customer_service", "what hours can I contact customer assistance?", False),
        (
            "contact_customer_service",
            "do you have a phone number to contact customer support?",
            False,
        ),
        ("contact_customer_service", "customersupport e-mail", False),
        ("contact_customer_service", "I'm trying to call customer service", False),
        ("complaint", "I want to file a complaint against an agent", False),
    ],
)
def test_labels(intent: str, text: str, wants_person: bool) -> None:
    assert bitext.wants_person(intent, text) is wants_person


def test_customer_service_rows_are_split_by_the_decision() -> None:
    service = [
        row for row in bitext.read_utterances(bitext_path()) if row.intent == bitext.SERVICE_INTENT
    ]
    asking = [row for row in service if row.wants_person]
    # Both kinds are common in Bitext: the decision matters for the figures.
    assert len(service) == 231 and 60 < len(asking) < 120
    held_out = [row for row in committed_held_out() if row[2] == bitext.SERVICE_INTENT]
    assert {wants for _, wants, _ in held_out} == {True, False}
    assert all(wants == bitext.wants_person(intent, text) for text, wants, intent in held_out)
