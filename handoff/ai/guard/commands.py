"""The work behind `switchboard guard classify` and `switchboard guard eval`: classify
messages from a stream one per line, and measure the guard on a labelled CSV file. The CLI
only parses arguments and hands the streams over."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from handoff.ai.guard.evaluation import evaluate, mistake_lines, read_labelled, report
from handoff.ai.guard.model import load_model

ESCALATE = "escalate"
STAY = "stay"


def classify_lines(lines: Iterable[str], out: TextIO) -> int:
    """`score<TAB>decision<TAB>text` for every input line (empty lines too, so the output
    lines up with the input); returns how many lines were classified."""
    model = load_model()
    count = 0
    for line in lines:
        text = line.rstrip("\r\n")
        result = model.classify(text)
        out.write(f"{result.score:.4f}\t{ESCALATE if result.wants_person else STAY}\t{text}\n")
        count += 1
    return count


def evaluate_file(path: Path, out: TextIO, *, show_mistakes: bool = False) -> None:
    """Print precision, recall and per-message latency of the guard on `path`."""
    rows = read_labelled(path)
    model = load_model()
    model.score("warm up")  # the first call pays for imports and caches, not the guard
    evaluation = evaluate(model, rows)
    for line in report(evaluation, path.name, model.threshold):
        out.write(line + "\n")
    if show_mistakes:
        for line in mistake_lines(evaluation):
            out.write(line + "\n")
