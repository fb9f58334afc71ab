"""The work behind `switchboard tone score` and `switchboard tone eval`: score messages from
a stream one per line, and measure the frustration model on a labelled CSV file (AUROC, next
to VADER alone, and the share of frustrated messages each handoff level's threshold
catches). The CLI only parses arguments and hands the streams over."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from handoff.ai.tone.evaluation import auroc, caught, read_scored
from handoff.ai.tone.features import vader_compound
from handoff.ai.tone.model import load_model


def score_lines(lines: Iterable[str], out: TextIO) -> int:
    """`score<TAB>text` for every input line (empty lines too, so the output lines up with
    the input); returns how many lines were scored."""
    model = load_model()
    count = 0
    for line in lines:
        text = line.rstrip("\r\n")
        out.write(f"{model.score(text):.4f}\t{text}\n")
        count += 1
    return count


def _figure(value: float | None) -> str:
    return "n/a (needs frustrated and calm messages)" if value is None else f"{value:.4f}"


def evaluate_file(path: Path, out: TextIO, thresholds: Mapping[str, float | None]) -> None:
    """Print the model's AUROC on `path`, VADER's for comparison, what each named threshold
    (the handoff levels') catches, and the time one message takes."""
    rows = read_scored(path)
    labels = [row.label for row in rows]
    model = load_model()
    model.score("warm up")  # the first call pays for imports and caches, not the model
    scores: list[float] = []
    started = time.perf_counter()
    for row in rows:
        scores.append(model.score(row.text))
    per_message = (time.perf_counter() - started) / len(rows)
    vader = [-vader_compound(row.text) for row in rows]
    frustrated = sum(labels)
    out.write(f"{path.name}: {len(rows)} messages, {frustrated} frustrated\n")
    out.write(f"AUROC        {_figure(auroc(scores, labels))}\n")
    out.write(f"VADER alone  {_figure(auroc(vader, labels))}\n")
    calm = [score for score, label in zip(scores, labels, strict=True) if not label]
    for level, threshold in thresholds.items():
        if threshold is None or not frustrated:
            continue
        false_alarms = sum(score >= threshold for score in calm) / len(calm) if calm else 0.0
        out.write(
            f"{level:<12} threshold {threshold:.2f}: catches "
            f"{caught(scores, labels, threshold):.0%} of frustrated messages, "
            f"{false_alarms:.0%} of calm ones\n"
        )
    out.write(f"latency mean {per_message * 1000:.3f} ms\n")
