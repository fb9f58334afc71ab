"""Measuring a decision about requests for a person (the explicit-request trigger, or the
guard alone) on a labelled CSV file (columns `text` and `is_handoff`, 1 when the message
asks for a person): precision, recall, F1 and the time one message takes, as
`switchboard guard eval` prints them. The same code reads the training files, so every set
the guard is trained or judged on passes the same checks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from handoff.ai.guard.model import GuardResult
from handoff.ai.labelled_csv import read_labelled_csv


@dataclass(frozen=True, slots=True)
class LabelledText:
    text: str
    wants_person: bool


@dataclass(frozen=True, slots=True)
class Mistake:
    text: str
    score: float
    wants_person: bool  # the label: True for a missed request, False for a wrong escalation


@dataclass(frozen=True, slots=True)
class Evaluation:
    total: int
    positives: int
    true_positives: int
    false_positives: int
    latencies: Sequence[float]  # seconds per message
    mistakes: Sequence[Mistake] = field(default_factory=tuple)

    @property
    def escalated(self) -> int:
        return self.true_positives + self.false_positives

    @property
    def missed(self) -> int:
        return self.positives - self.true_positives

    @property
    def precision(self) -> float | None:
        """Escalations that were right; None when nothing was escalated."""
        return self.true_positives / self.escalated if self.escalated else None

    @property
    def recall(self) -> float | None:
        """Requests for a person that were escalated; None when the file has none."""
        return self.true_positives / self.positives if self.positives else None

    @property
    def f1(self) -> float | None:
        """The harmonic mean of precision and recall; None when either is undefined."""
        precision, recall = self.precision, self.recall
        if precision is None or recall is None or precision + recall == 0:
            return None
        return 2 * precision * recall / (precision + recall)

    def latency_ms(self, fraction: float) -> float:
        """Nearest-rank percentile of the per-message time, in milliseconds."""
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(fraction * len(ordered)))
        return ordered[rank - 1] * 1000


def read_labelled(path: Path) -> list[LabelledText]:
    """The rows of a labelled CSV (`text`, `is_handoff`); a bad file names the row."""
    return [LabelledText(text, label) for text, label in read_labelled_csv(path, "is_handoff")]


def evaluate(classify: Callable[[str], GuardResult], rows: Sequence[LabelledText]) -> Evaluation:
    """Classify every row once, timing each call (the model is already loaded)."""
    latencies: list[float] = []
    mistakes: list[Mistake] = []
    true_positives = false_positives = 0
    for row in rows:
        started = time.perf_counter()
        result = classify(row.text)
        latencies.append(time.perf_counter() - started)
        if result.wants_person and row.wants_person:
            true_positives += 1
        elif result.wants_person:
            false_positives += 1
        if result.wants_person != row.wants_person:
            mistakes.append(Mistake(row.text, result.score, row.wants_person))
    return Evaluation(
        total=len(rows),
        positives=sum(row.wants_person for row in rows),
        true_positives=true_positives,
        false_positives=false_positives,
        latencies=latencies,
        mistakes=mistakes,
    )


def header(evaluation: Evaluation, name: str) -> str:
    return f"{name}: {evaluation.total} messages, {evaluation.positives} ask for a person"


def report(evaluation: Evaluation, title: str) -> list[str]:
    """The lines `switchboard guard eval` prints for one decision, under `title`."""
    precision, recall, f1 = evaluation.precision, evaluation.recall, evaluation.f1
    return [
        title,
        f"escalated    {evaluation.escalated} ({evaluation.true_positives} right, "
        f"{evaluation.false_positives} wrong)",
        "precision    " + ("n/a (nothing escalated)" if precision is None else f"{precision:.4f}"),
        "recall       "
        + (
            "n/a (no requests for a person)"
            if recall is None
            else f"{recall:.4f} ({evaluation.missed} missed)"
        ),
        "f1           " + ("n/a" if f1 is None else f"{f1:.4f}"),
        f"latency p50  {evaluation.latency_ms(0.50):.3f} ms",
        f"latency p99  {evaluation.latency_ms(0.99):.3f} ms",
    ]


def mistake_lines(evaluation: Evaluation) -> list[str]:
    return [
        f"{'missed' if mistake.wants_person else 'wrong'}\t{mistake.score:.4f}\t{mistake.text}"
        for mistake in evaluation.mistakes
    ]
