"""Measuring the frustration model on a labelled CSV file (columns `text` and `label`, 1 for
a frustrated message): AUROC (the chance that a frustrated message scores above a calm one),
as `switchboard tone eval` prints it, next to VADER alone for comparison. The training
script reads its hand-labelled file with the same code."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import BadInput

LABELS = {"1": True, "0": False, "true": True, "false": False}


@dataclass(frozen=True, slots=True)
class ScoredText:
    text: str
    label: bool  # True: frustrated


def read_scored(path: Path) -> list[ScoredText]:
    """The rows of a labelled CSV; a missing column or a bad label names the row."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            missing = {"text", "label"} - set(reader.fieldnames or ())
            if missing:
                raise BadInput(
                    f"{path}: missing column(s) {', '.join(sorted(missing))} "
                    "(expected a header with text and label)"
                )
            rows: list[ScoredText] = []
            for line, row in enumerate(reader, start=2):
                label = (row["label"] or "").strip().lower()
                if label not in LABELS or row["text"] is None:
                    raise BadInput(f"{path}, line {line}: label must be 0 or 1")
                rows.append(ScoredText(row["text"], LABELS[label]))
    except FileNotFoundError:
        raise BadInput(f"file not found: {path}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a UTF-8 text file") from None
    except csv.Error as error:
        raise BadInput(f"{path}: not a valid CSV file ({error})") from None
    if not rows:
        raise BadInput(f"{path}: no rows to evaluate")
    return rows


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
