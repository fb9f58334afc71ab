"""Measuring the frustration model on a labelled CSV file (columns `text` and `label`, 1 for
a frustrated message): AUROC (the chance that a frustrated message scores above a calm one),
as `switchboard tone eval` prints it, next to VADER alone for comparison. The training
script reads its hand-labelled file with the same code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from handoff.ai.labelled_csv import read_labelled_csv


@dataclass(frozen=True, slots=True)
class ScoredText:
    text: str
    label: bool  # True: frustrated


def read_scored(path: Path) -> list[ScoredText]:
    """The rows of a labelled CSV (`text`, `label`); a bad file names the row."""
    return [ScoredText(text, label) for text, label in read_labelled_csv(path, "label")]


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """The Mann-Whitney estimate of AUROC (ties count half); None without both classes."""
    positives = [s for s, label in zip(scores, labels, strict=True) if label]
    negatives = [s for s, label in zip(scores, labels, strict=True) if not label]
    if not positives or not negatives:
        return None
    ranked = sorted((score, label) for score, label in zip(scores, labels, strict=True))
    # average ranks over ties
    rank_sum = 0.0
    index = 0
    while index < len(ranked):
        end = index
        while end + 1 < len(ranked) and ranked[end + 1][0] == ranked[index][0]:
            end += 1
        average = (index + end) / 2 + 1
        rank_sum += average * sum(1 for i in range(index, end + 1) if ranked[i][1])
        index = end + 1
    count = len(positives)
    return (rank_sum - count * (count + 1) / 2) / (count * len(negatives))


def caught(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> float:
    """The fraction of frustrated messages scoring at or above `threshold`."""
    hits = [score >= threshold for score, label in zip(scores, labels, strict=True) if label]
    return sum(hits) / len(hits) if hits else 0.0


def score_all(rows: Sequence[ScoredText], scorer: Callable[[str], float]) -> list[float]:
    return [scorer(row.text) for row in rows]
