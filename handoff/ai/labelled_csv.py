"""Reading a labelled CSV file (a `text` column and a 0/1 label column), for the commands
that judge a model and the scripts that train one: every set passes the same checks, and
a bad file is named with its row in a plain sentence rather than a traceback."""

from __future__ import annotations

import csv
from pathlib import Path

from gateway.errors import BadInput

LABELS = {"1": True, "0": False, "true": True, "false": False}


def read_labelled_csv(path: Path, label_column: str) -> list[tuple[str, bool]]:
    """`(text, label)` for every row; a missing column or a bad label names the row."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            missing = {"text", label_column} - set(reader.fieldnames or ())
            if missing:
                raise BadInput(
                    f"{path}: missing column(s) {', '.join(sorted(missing))} "
                    f"(expected a header with text and {label_column})"
                )
            rows: list[tuple[str, bool]] = []
            for line, row in enumerate(reader, start=2):
                label = (row[label_column] or "").strip().lower()
                if label not in LABELS or row["text"] is None:
                    raise BadInput(
                        f"{path}, line {line}: {label_column} must be 0 or 1, "
                        f"found {row[label_column]!r}"
                    )
                rows.append((row["text"], LABELS[label]))
    except FileNotFoundError:
        raise BadInput(f"file not found: {path}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a UTF-8 text file") from None
    except csv.Error as error:
        raise BadInput(f"{path}: not a valid CSV file ({error})") from None
    if not rows:
        raise BadInput(f"{path}: no rows to evaluate")
    return rows
