"""The work behind `switchboard guard classify` and `switchboard guard eval`: decide about
messages from a stream one per line, and measure on a labelled CSV file, both as the policy
runs the explicit-request trigger (the patterns of `handoff.person_request` propose, the
guard confirms) and, second, for the guard alone. The CLI only parses arguments and hands
the streams over."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from handoff.ai.guard.evaluation import evaluate, header, mistake_lines, read_labelled, report
from handoff.ai.guard.model import GuardResult, load_model
from handoff.person_request import explicit_request

ESCALATE = "escalate"
STAY = "stay"


def trigger(text: str) -> GuardResult:
    """The explicit-request trigger's decision, with the guard's score (0 when the patterns
    proposed nothing, so the guard never ran)."""
    decision = explicit_request(text)
    return GuardResult(decision.score, decision.asked)


def classify_lines(lines: Iterable[str], out: TextIO) -> int:
    """`score<TAB>decision<TAB>text` for every input line (empty lines too, so the output
    lines up with the input): the trigger's decision and the guard's score of the message.
    Returns how many lines were classified."""
    model = load_model()
    count = 0
    for line in lines:
        text = line.rstrip("\r\n")
        decided = trigger(text).wants_person
        out.write(f"{model.best_score(text):.4f}\t{ESCALATE if decided else STAY}\t{text}\n")
        count += 1
    return count


def evaluate_file(path: Path, out: TextIO, *, show_mistakes: bool = False) -> None:
    """Print precision, recall, F1 and latency of the trigger on `path`, then of the guard
    alone."""
    rows = read_labelled(path)
    model = load_model()
    trigger("warm up")  # the first call pays for imports and caches, not the decision
    by_trigger = evaluate(trigger, rows)
    alone = evaluate(model.classify, rows)
    lines = [header(by_trigger, path.name)]
    lines += report(
        by_trigger,
        "the explicit-request trigger (the patterns propose, the guard confirms at "
        f"{model.trigger_threshold:.4f})",
    )
    if show_mistakes:
        lines += mistake_lines(by_trigger)
    lines += ["", *report(alone, f"the guard alone (threshold {model.threshold:.4f})")]
    if show_mistakes:
        lines += mistake_lines(alone)
    for line in lines:
        out.write(line + "\n")
