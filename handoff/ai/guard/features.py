"""How the guard turns a message into numbers: word unigrams and bigrams (with start and end
markers, so "human" alone differs from "human resources") plus character 2- to 5-grams inside
words (so "humna", "representitive" and "talkk" land near their spellings), hashed with CRC-32
into a fixed number of buckets and scaled to unit length. Training and inference both call
`extract`, so the weights learned offline line up with the features seen at run time."""

from __future__ import annotations

import math
import re
from zlib import crc32

BUCKETS = 1 << 18
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 5)
# Written into the model file: a model trained with other features refuses to load.
SIGNATURE = (
    f"words{WORD_NGRAMS[0]}-{WORD_NGRAMS[1]}+chars{CHAR_NGRAMS[0]}-{CHAR_NGRAMS[1]}/crc32/{BUCKETS}"
)

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?!]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


def tokens(text: str) -> list[str]:
    """Lower-case words (with their apostrophe: "don't") and the marks `?` and `!`."""
    return _TOKEN.findall(text.lower().translate(_APOSTROPHES))


def feature_names(text: str) -> list[str]:
    """Every feature of `text` by name, with repeats (a repeated n-gram counts once later)."""
    words = tokens(text)
    names: list[str] = []
    padded = ["<s>", *words, "</s>"]
    low, high = WORD_NGRAMS
    for size in range(low, high + 1):
        source = words if size == 1 else padded
        for start in range(len(source) - size + 1):
            names.append("w:" + " ".join(source[start : start + size]))
    low, high = CHAR_NGRAMS
    for word in words:
        if not word[0].isalnum():
            continue
        marked = f" {word} "
        for size in range(low, min(high, len(marked)) + 1):
            for start in range(len(marked) - size + 1):
                names.append("c:" + marked[start : start + size])
    return names


def extract(text: str) -> dict[int, float]:
    """The hashed, L2-normalized binary features of `text`: bucket -> value."""
    buckets = {crc32(name.encode()) % BUCKETS for name in feature_names(text)}
    if not buckets:
        return {}
    value = 1.0 / math.sqrt(len(buckets))
    return dict.fromkeys(buckets, value)
