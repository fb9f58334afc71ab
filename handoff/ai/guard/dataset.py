"""What the guard is trained on and judged by, assembled the same way by the training script
and the tests: the Bitext rows outside the held-out split plus the hand-written examples
in `training_examples.csv` and `training/person_requests.csv` (real-sounding requests and
the hard negatives the trigger must leave alone), with validation folds chosen by a hash
of the text. A digest of
the training rows is written into the model, so a test can tell when the data changed and
the model was not retrained. The held-out split and the dev sets under
`tests/fixtures/handoff/guard/` (the hard sets and the chat sets) are never trained on."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from handoff.ai.guard.bitext import is_held_out, read_utterances
from handoff.ai.guard.evaluation import LabelledText, read_labelled

PACKAGE = Path(__file__).resolve().parent
TRAINING_EXAMPLES = PACKAGE / "training_examples.csv"
REPOSITORY = PACKAGE.parent.parent.parent
DEFAULT_BITEXT = REPOSITORY.parent / "shared" / "data" / "handoff" / "bitext_utterances.csv"
FIXTURES = REPOSITORY / "tests" / "fixtures" / "handoff" / "guard"
HELD_OUT_CSV = FIXTURES / "bitext_heldout.csv"
HARD_NEGATIVES_CSV = FIXTURES / "hard_negatives.csv"
HARD_POSITIVES_CSV = FIXTURES / "hard_positives.csv"
CHAT_DEV_CSV = FIXTURES / "chat_dev.csv"
CHAT_BLIND_CSV = FIXTURES / "chat_blind.csv"
CHAT_FINAL_CSV = FIXTURES / "chat_final.csv"
DEV_SETS = (HARD_NEGATIVES_CSV, HARD_POSITIVES_CSV, CHAT_DEV_CSV, CHAT_BLIND_CSV, CHAT_FINAL_CSV)
PERSON_REQUESTS = REPOSITORY / "training" / "person_requests.csv"


def key(text: str) -> str:
    """Texts that differ only in case and spacing are the same text."""
    return " ".join(text.lower().split())


def _hash(text: str, salt: bytes) -> int:
    return int.from_bytes(hashlib.sha256(salt + key(text).encode()).digest()[:8], "big")


def fold_of(text: str, folds: int) -> int:
    """The validation fold of a training text (independent of the held-out hash)."""
    return _hash(text, b"guard-fold:") % folds


def training_rows(bitext: Path) -> list[LabelledText]:
    """Bitext outside the held-out split, then the hand-written examples (both files)."""
    rows = [
        LabelledText(row.text, row.wants_person)
        for row in read_utterances(bitext)
        if not is_held_out(row.text)
    ]
    return rows + read_labelled(TRAINING_EXAMPLES) + read_labelled(PERSON_REQUESTS)


def held_out_rows(bitext: Path) -> list[tuple[str, bool, str]]:
    """(text, wants person, intent) of every held-out Bitext row, in file order."""
    return [
        (row.text, row.wants_person, row.intent)
        for row in read_utterances(bitext)
        if is_held_out(row.text)
    ]


def write_held_out(rows: Iterable[tuple[str, bool, str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["text", "is_handoff", "intent"])
        for text, wants_person, intent in rows:
            writer.writerow([text, int(wants_person), intent])


def digest(rows: Sequence[LabelledText]) -> str:
    """A fingerprint of the training rows and their labels."""
    hasher = hashlib.sha256()
    for row in rows:
        hasher.update(f"{int(row.wants_person)}\t{row.text}\n".encode())
    return hasher.hexdigest()


def overlap(rows: Iterable[LabelledText], others: Iterable[str]) -> list[str]:
    """Texts of `rows` that also appear among `others` (by `key`)."""
    other_keys = {key(text) for text in others}
    return [row.text for row in rows if key(row.text) in other_keys]
