"""`switchboard guard classify` and `switchboard guard eval` as real subprocesses: the exact
output format (the trigger's decision and figures first, then the guard alone), figures
that match the evaluation code, and one clear error line with exit status 2 for a bad
file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handoff.ai.guard.commands import trigger
from handoff.ai.guard.dataset import HARD_NEGATIVES_CSV, HELD_OUT_CSV
from handoff.ai.guard.evaluation import evaluate, read_labelled
from handoff.ai.guard.model import load_model
from tests.handoff.ai.guard.guard_support import run_switchboard

LINE = re.compile(r"^(\d\.\d{4})\t(escalate|stay)\t(.*)$")


def test_classify_prints_score_decision_and_text_per_line(tmp_path: Path) -> None:
    texts = [
        "human pls",
        "are you a bot?",
        "",
        "operator!!",
        "my agent said\tthe parcel is late",
        "Kann ich mit einem Menschen sprechen? \u00fc\u00df",
    ]
    stdin = ("\n".join(texts[:-1]) + "\r\n" + texts[-1]).encode()  # no final newline
    result = run_switchboard(tmp_path, "guard", "classify", stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    lines = result.stdout.decode().split("\n")
    assert lines[-1] == ""  # every line ends with a newline
    assert len(lines[:-1]) == len(texts)
    for line, text in zip(lines[:-1], texts, strict=True):
        match = LINE.match(line)
        assert match, line
        score, decision, echoed = match.groups()
        assert echoed == text
        assert score == f"{load_model().best_score(text):.4f}"
        assert decision == ("escalate" if trigger(text).wants_person else "stay")
    decisions = [LINE.match(line).group(2) for line in lines[:-1]]  # type: ignore[union-attr]
    assert decisions[:4] == ["escalate", "stay", "stay", "escalate"]


def test_classify_survives_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    result = run_switchboard(tmp_path, "guard", "classify", stdin=b"agent \xff please\n")
    assert result.returncode == 0, result.stderr
    assert LINE.match(result.stdout.decode().rstrip("\n"))
    assert result.stdout.decode().endswith("\tagent \ufffd please\n")


def test_eval_prints_the_figures_of_the_evaluation_code(tmp_path: Path) -> None:
    result = run_switchboard(tmp_path, "guard", "eval", str(HELD_OUT_CSV))
    assert result.returncode == 0, result.stderr
    rows = read_labelled(HELD_OUT_CSV)
    model = load_model()
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "bitext_heldout.csv: 1315 messages, 63 ask for a person"
    titles = [
        "the explicit-request trigger (the patterns propose, the guard confirms at "
        f"{model.trigger_threshold:.4f})",
        f"the guard alone (threshold {model.threshold:.4f})",
    ]
    assert lines[8] == ""
    for block, title, evaluation in (
        (lines[1:8], titles[0], evaluate(trigger, rows)),
        (lines[9:16], titles[1], evaluate(model.classify, rows)),
    ):
        assert evaluation.f1 is not None
        assert block[:5] == [
            title,
            f"escalated    {evaluation.escalated} ({evaluation.true_positives} right, "
            f"{evaluation.false_positives} wrong)",
            f"precision    {evaluation.precision:.4f}",
            f"recall       {evaluation.recall:.4f} ({evaluation.missed} missed)",
            f"f1           {evaluation.f1:.4f}",
        ]
        assert re.fullmatch(r"latency p50  \d+\.\d{3} ms", block[5])
        assert re.fullmatch(r"latency p99  \d+\.\d{3} ms", block[6])
    assert len(lines) == 16


def test_eval_on_negatives_only_says_recall_is_undefined_and_lists_mistakes(
    tmp_path: Path,
) -> None:
    result = run_switchboard(tmp_path, "guard", "eval", str(HARD_NEGATIVES_CSV), "--mistakes")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "\nrecall       n/a (no requests for a person)\n" in out
    rows = read_labelled(HARD_NEGATIVES_CSV)
    by_trigger, alone = evaluate(trigger, rows), evaluate(load_model().classify, rows)
    wrong = [line for line in out.splitlines() if line.startswith("wrong\t")]
    assert wrong == [
        f"wrong\t{m.score:.4f}\t{m.text}" for m in (*by_trigger.mistakes, *alone.mistakes)
    ]
    if by_trigger.escalated == 0:
        assert "\nprecision    n/a (nothing escalated)\n" in out


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("message,label\nhi,0\n", "missing column(s) is_handoff, text"),
        ("text,is_handoff\nhi,0\nhuman,yes\n", "line 3: is_handoff must be 0 or 1, found 'yes'"),
        ("text,is_handoff\nhi\n", "line 2: is_handoff must be 0 or 1, found None"),
        ("text,is_handoff\n", "no rows to evaluate"),
        ("", "missing column(s)"),
    ],
)
def test_eval_refuses_a_bad_file_with_one_clear_line(
    tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = run_switchboard(tmp_path, "guard", "eval", str(path))
    assert result.returncode == 2
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert stderr.startswith("switchboard: error: ") and fragment in stderr, stderr
    assert "Traceback" not in stderr


def test_eval_refuses_a_missing_or_binary_file(tmp_path: Path) -> None:
    result = run_switchboard(tmp_path, "guard", "eval", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert b"file not found" in result.stderr
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"text,is_handoff\n\xff\xfe,1\n")
    result = run_switchboard(tmp_path, "guard", "eval", str(binary))
    assert result.returncode == 2
    assert b"not a UTF-8 text file" in result.stderr
