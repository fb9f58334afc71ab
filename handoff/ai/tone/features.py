"""How the frustration model turns a message into numbers: hashed word unigrams and bigrams
(so "still no", "third time" and "again" carry weight without any angry word), character 3-
and 4-grams inside words (spelling variants and "sooo"), a few shape cues (exclamation and
question marks, words in capitals) and VADER's negative, positive and compound scores. The
hashed part is scaled to unit length. Training and inference both call `extract`."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from itertools import pairwise
from zlib import crc32

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

BUCKETS = 1 << 17
# Dense features sit after the hashed buckets, in this order.
DENSE = ("vader_neg", "vader_pos", "vader_compound", "exclamations", "questions", "capitals")
SIGNATURE = f"tone:words1-2+chars3-4/crc32/{BUCKETS}+{','.join(DENSE)}"

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def vader_compound(text: str) -> float:
    """VADER's compound score, -1 (most negative) to 1."""
    return float(_vader().polarity_scores(text)["compound"])


def _names(text: str) -> list[str]:
    words = _TOKEN.findall(text.lower().translate(_APOSTROPHES))
    names = [f"w:{word}" for word in words]
    padded = ["<s>", *words, "</s>"]
    names += [f"b:{a} {b}" for a, b in pairwise(padded)]
    for word in words:
        marked = f" {word} "
        for size in (3, 4):
            names += [f"c:{marked[i : i + size]}" for i in range(len(marked) - size + 1)]
    return names


def extract(text: str) -> dict[int, float]:
    """Hashed, L2-normalized binary features, then the dense ones at `BUCKETS + i`."""
    buckets = {crc32(name.encode()) % BUCKETS for name in _names(text)}
    features = dict.fromkeys(buckets, 1.0 / math.sqrt(len(buckets))) if buckets else {}
    polarity = _vader().polarity_scores(text)
    words = text.split()
    capitals = sum(1 for word in words if len(word) > 2 and word.isupper())
    dense = (
        polarity["neg"],
        polarity["pos"],
        polarity["compound"],
        min(text.count("!"), 3) / 3,
        min(text.count("?"), 3) / 3,
        min(capitals, 3) / 3,
    )
    for index, value in enumerate(dense):
        if value:
            features[BUCKETS + index] = float(value)
    return features
