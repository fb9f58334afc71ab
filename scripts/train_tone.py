"""Train the frustration model (run through `scripts/train-tone`, which installs the `train`
extra). Training rows: TweetEval sentiment (negative = frustrated; neutral and positive =
not) and emotion (anger and sadness = frustrated; joy and optimism = not), Bitext's
`complaint` intent (frustrated) against its other intents, and the hand-labelled support
messages in `training/support_tone.csv`, weighted up because they are the text the model
meets. The regularization strength is chosen by the out-of-fold AUROC on the support rows
(5 hash-based folds); the dev set under `tests/fixtures/handoff/tone/` is never read here.
Writes `handoff/ai/tone/model.json` (weights only: no training text ships)."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sklearn
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from handoff.ai.tone.evaluation import read_scored
from handoff.ai.tone.features import BUCKETS, DENSE, extract
from handoff.ai.tone.model import MODEL_PATH, ToneModel

REPOSITORY = Path(__file__).resolve().parent.parent
DATA = REPOSITORY.parent.parent / "shared" / "data"
SUPPORT = REPOSITORY / "training" / "support_tone.csv"
FOLDS = 5
C_GRID = (0.3, 1.0, 3.0, 10.0)
SUPPORT_WEIGHT = 8.0
BITEXT_WEIGHT = 0.5
SENTIMENT = {"negative": 1, "neutral": 0, "positive": 0}
EMOTION = {"anger": 1, "sadness": 1, "joy": 0, "optimism": 0}


def read_csv(path: Path, column: str, labels: dict[str, int]) -> list[tuple[str, int]]:
    with path.open(newline="", encoding="utf-8") as file:
        return [(row["text"], labels[row[column]]) for row in csv.DictReader(file)]


def bitext(path: Path) -> list[tuple[str, int]]:
    with path.open(newline="", encoding="utf-8") as file:
        return [(row["text"], int(row["intent"] == "complaint")) for row in csv.DictReader(file)]


def matrix(texts: Sequence[str]) -> csr_matrix:
    data: list[float] = []
    indices: list[int] = []
    pointers = [0]
    for text in texts:
        features = extract(text)
        indices.extend(features)
        data.extend(features.values())
        pointers.append(len(indices))
    return csr_matrix((data, indices, pointers), shape=(len(texts), BUCKETS + len(DENSE)))


def fold_of(text: str) -> int:
    digest = hashlib.sha256(b"tone-fold:" + " ".join(text.lower().split()).encode()).digest()
    return int.from_bytes(digest[:8], "big") % FOLDS


def fit(
    features: csr_matrix, labels: np.ndarray, weights: np.ndarray, c: float
) -> LogisticRegression:
    return LogisticRegression(C=c, solver="liblinear", max_iter=2000).fit(
        features, labels, sample_weight=weights
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    sentiment = args.data / "sentiment"
    sources = {
        "tweeteval sentiment": (
            read_csv(sentiment / "tweeteval_sentiment.csv", "label", SENTIMENT),
            1.0,
        ),
        "tweeteval emotion": (read_csv(sentiment / "tweeteval_emotion.csv", "label", EMOTION), 1.0),
        "bitext": (bitext(args.data / "handoff" / "bitext_utterances.csv"), BITEXT_WEIGHT),
        "support": ([(row.text, int(row.label)) for row in read_scored(SUPPORT)], SUPPORT_WEIGHT),
    }
    texts: list[str] = []
    labels_list: list[int] = []
    weights_list: list[float] = []
    is_support: list[bool] = []
    for name, (rows, weight) in sources.items():
        print(f"{name}: {len(rows)} rows, {sum(label for _, label in rows)} frustrated")
        for text, label in rows:
            texts.append(text)
            labels_list.append(label)
            weights_list.append(weight)
            is_support.append(name == "support")
    labels, weights = np.array(labels_list), np.array(weights_list)
    support = np.array(is_support)
    folds = np.array([fold_of(text) for text in texts])
    features = matrix(texts)

    best: tuple[float, float] | None = None
    for c in C_GRID:
        scores = np.zeros(len(texts))
        for fold in range(FOLDS):
            held = folds == fold
            model = fit(features[~held], labels[~held], weights[~held], c)
            scores[held] = model.predict_proba(features[held])[:, 1]
        auroc = float(roc_auc_score(labels[support], scores[support]))
        print(f"C={c:<5g} out-of-fold AUROC on the support rows {auroc:.4f}")
        if best is None or auroc > best[1]:
            best = (c, auroc)
    assert best is not None
    c, auroc = best
    final = fit(features, labels, weights, c)
    model = ToneModel(
        weights={
            int(index): float(f"{final.coef_[0, index]:.6g}")
            for index in np.flatnonzero(final.coef_[0])
        },
        bias=float(f"{final.intercept_[0]:.8g}"),
        training={
            "rows": {name: len(rows) for name, (rows, _) in sources.items()},
            "weights": {name: weight for name, (_, weight) in sources.items()},
            "C": c,
            "validation": {"folds": FOLDS, "support_auroc": round(auroc, 4)},
            "scikit_learn": sklearn.__version__,
        },
    )
    expected = final.predict_proba(features[support])[:, 1]
    got = [model.score(text) for text, keep in zip(texts, support, strict=True) if keep]
    worst = float(np.max(np.abs(np.array(got) - expected)))
    if worst > 1e-4:
        raise SystemExit(f"plain-Python scores differ from scikit-learn's by {worst}")
    MODEL_PATH.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n")
    print(f"chosen C={c:g}; wrote {MODEL_PATH} ({len(model.weights)} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
