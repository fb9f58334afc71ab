"""Train the handoff guard (run through `scripts/train-guard`, which installs the `train`
extra). Reads the Bitext utterances, keeps the held-out split out of everything, adds the
hand-written examples, picks the regularization strength and the decision threshold on
out-of-fold predictions over the training rows (5 hash-based folds), fits the final model
on all training rows, checks that the plain-Python scorer reproduces scikit-learn's
probabilities, and writes `handoff/ai/guard/model.json` and the held-out CSV
`tests/fixtures/handoff/guard/bitext_heldout.csv`. The same inputs give the same files."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sklearn
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from handoff.ai.guard import dataset
from handoff.ai.guard.evaluation import read_labelled
from handoff.ai.guard.features import BUCKETS, SIGNATURE, extract
from handoff.ai.guard.model import MODEL_PATH, GuardModel
from handoff.person_request import find_person_request

FOLDS = 5
C_GRID = (1.0, 10.0, 100.0, 1e3, 1e4, 1e5)


def matrix(texts: Sequence[str]) -> csr_matrix:
    data: list[float] = []
    indices: list[int] = []
    pointers = [0]
    for text in texts:
        features = extract(text)
        indices.extend(features)
        data.extend(features.values())
        pointers.append(len(indices))
    return csr_matrix((data, indices, pointers), shape=(len(texts), BUCKETS))


def fit(features: csr_matrix, labels: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, solver="newton-cg", tol=1e-6, max_iter=1000).fit(
        features, labels
    )


def out_of_fold(
    features: csr_matrix, labels: np.ndarray, folds: np.ndarray, c: float
) -> np.ndarray:
    scores = np.zeros(len(labels))
    for fold in range(FOLDS):
        held = folds == fold
        model = fit(features[~held], labels[~held], c)
        scores[held] = model.predict_proba(features[held])[:, 1]
    return scores


def pick_threshold(
    scores: np.ndarray, labels: np.ndarray, precision: float
) -> tuple[float, float, float]:
    """The lowest threshold (most recall) whose escalations are at least `precision` right;
    the threshold sits halfway to the next lower score, so it does not hug one example."""
    order = np.argsort(-scores, kind="stable")
    ranked, truth = scores[order], labels[order].astype(bool)
    true_positives = np.cumsum(truth)
    escalated = np.arange(1, len(ranked) + 1)
    best: tuple[float, float, float] | None = None
    for index in range(len(ranked)):
        if index + 1 < len(ranked) and ranked[index + 1] == ranked[index]:
            continue  # a threshold cannot split equal scores
        if true_positives[index] / escalated[index] < precision:
            continue
        recall = float(true_positives[index] / truth.sum())
        if best is None or recall > best[2]:
            below = ranked[index + 1] if index + 1 < len(ranked) else 0.0
            threshold = (ranked[index] + below) / 2
            best = (float(threshold), float(true_positives[index] / escalated[index]), recall)
    if best is None:
        raise SystemExit(f"no threshold reaches precision {precision} on validation")
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bitext", type=Path, default=dataset.DEFAULT_BITEXT)
    parser.add_argument(
        "--precision",
        type=float,
        default=0.95,
        help="precision the guard's own threshold must reach on validation (default 0.95)",
    )
    parser.add_argument(
        "--trigger-precision",
        type=float,
        default=0.97,
        help="precision the trigger (patterns, then the guard) must reach on validation "
        "(default 0.97)",
    )
    args = parser.parse_args(argv)

    rows = dataset.training_rows(args.bitext)
    held_out = dataset.held_out_rows(args.bitext)
    hard_sets = [row for path in dataset.DEV_SETS for row in read_labelled(path)]
    leaks = dataset.overlap(rows, [text for text, _, _ in held_out]) + dataset.overlap(
        rows, [row.text for row in hard_sets]
    )
    if leaks:
        raise SystemExit(f"training rows also in the held-out or hard sets: {leaks[:10]}")

    texts = [row.text for row in rows]
    labels = np.array([int(row.wants_person) for row in rows])
    folds = np.array([dataset.fold_of(text, FOLDS) for text in texts])
    features = matrix(texts)
    # The trigger can only fire on what the patterns propose: its threshold is chosen there.
    proposed = np.array([find_person_request(text) is not None for text in texts])
    print(f"{len(rows)} training rows ({labels.sum()} ask for a person), {FOLDS} folds")
    print(f"the patterns propose {proposed.sum()} rows, {(proposed & (labels == 1)).sum()} right")

    choices = []
    for c in C_GRID:
        scores = out_of_fold(features, labels, folds, c)
        threshold, precision, recall = pick_threshold(scores, labels, args.precision)
        trigger = pick_threshold(np.where(proposed, scores, 0.0), labels, args.trigger_precision)
        print(
            f"C={c:<6g} guard: threshold {threshold:.4f} precision {precision:.4f} recall "
            f"{recall:.4f}; trigger: threshold {trigger[0]:.4f} precision {trigger[1]:.4f} "
            f"recall {trigger[2]:.4f}"
        )
        choices.append((recall, -c, c, threshold, precision, trigger))
    # C by the guard's own recall (it also stands alone, over the AI's signal); the trigger's
    # threshold is then chosen for that C, on the patterns' proposals.
    recall, _, c, threshold, precision, trigger = max(choices)
    print(f"chosen: C={c:g}, guard threshold {threshold:.4f}, trigger threshold {trigger[0]:.4f}")

    final = fit(features, labels, c)
    weights = {
        int(bucket): float(f"{final.coef_[0, bucket]:.6g}")
        for bucket in np.flatnonzero(final.coef_[0])
    }
    model = GuardModel(
        weights=weights,
        bias=float(f"{final.intercept_[0]:.8g}"),
        threshold=float(f"{threshold:.6g}"),
        trigger_threshold=float(f"{trigger[0]:.6g}"),
        training={
            "rows": len(rows),
            "positives": int(labels.sum()),
            "digest": dataset.digest(rows),
            "C": c,
            "validation": {
                "folds": FOLDS,
                "target_precision": args.precision,
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "target_trigger_precision": args.trigger_precision,
                "trigger_precision": round(trigger[1], 4),
                "trigger_recall": round(trigger[2], 4),
            },
            "scikit_learn": sklearn.__version__,
        },
    )
    check_scorer(model, final, features, texts)
    MODEL_PATH.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n")
    dataset.write_held_out(held_out, dataset.HELD_OUT_CSV)
    print(f"wrote {MODEL_PATH} ({len(weights)} weights, features {SIGNATURE})")
    print(f"wrote {dataset.HELD_OUT_CSV} ({len(held_out)} held-out rows)")
    return 0


def check_scorer(
    model: GuardModel, trained: LogisticRegression, features: csr_matrix, texts: list[str]
) -> None:
    """The shipped scorer must give scikit-learn's probabilities (up to the rounding)."""
    expected = trained.predict_proba(features)[:, 1]
    worst = max(abs(model.score(text) - want) for text, want in zip(texts, expected, strict=True))
    if worst > 1e-4:
        raise SystemExit(f"plain-Python scores differ from scikit-learn's by {worst}")


if __name__ == "__main__":
    sys.exit(main())
