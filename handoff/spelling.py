"""Forgiving spelling for the words the explicit-request trigger looks for: customers type
"humna", "persn", "talkiing", "tlak", "represntative" and "spk 2 sum1", and a pattern that
needs the exact word misses them. A word one edit away (a letter missing, extra, replaced or
two letters swapped) from a word of the vocabulary is read as that word, plus a table of
common chat shorthand. Only those words are touched, and words of four letters or fewer
only take an extra letter or a swap, so "walk", "cat" and "form" stay as they are. The
look-up is a few set probes per word (the symmetric-delete method), not a search."""

from __future__ import annotations

import re

VOCABULARY = str.split(
    "human humans person persons people someone somebody anyone anybody agent agents "
    "representative representatives operator operators advisor adviser supervisor manager "
    "staff employee specialist consultant assistant customer service support talking "
    "speaking chatting talk speak chat contact contacting connect transfer reach escalate "
    "actual real live please want need with"
)
SHORTHAND = {
    "spk": "speak",
    "tlk": "talk",
    "hooman": "human",
    "hmn": "human",
    "prsn": "person",
    "agnt": "agent",
    "ppl": "people",
    "sum1": "someone",
    "some1": "someone",
    "sumone": "someone",
    "somone": "someone",
    "sombody": "somebody",
    "smbdy": "somebody",
    "wth": "with",
    "wit": "with",
    "u": "you",
    "ur": "your",
}
_EXACT = frozenset(VOCABULARY)
_SWAPPABLE = frozenset(word for word in VOCABULARY if len(word) >= 4)
# Every vocabulary word of five letters or more with one letter deleted -> the word.
_DELETES: dict[str, str] = {}
for _word in VOCABULARY:
    if len(_word) >= 5:
        for _index in range(len(_word)):
            _DELETES.setdefault(_word[:_index] + _word[_index + 1 :], _word)
_WORD = re.compile(r"[a-z0-9]+")


def correct(word: str) -> str:
    """`word` (lower case) as the vocabulary word it misspells, else unchanged."""
    if word in SHORTHAND:
        return SHORTHAND[word]
    if word in _EXACT or len(word) < 3 or not word.isalpha():
        return word
    if word in _DELETES:  # a letter missing: "humn", "persn"
        return _DELETES[word]
    for index in range(len(word)):
        shorter = word[:index] + word[index + 1 :]
        if shorter in _SWAPPABLE:  # an extra letter: "talkk", "talkiing"
            return shorter
        if len(word) >= 5 and shorter in _DELETES:  # a letter replaced: "speek", "operater"
            return _DELETES[shorter]
    for index in range(len(word) - 1):
        swapped = word[:index] + word[index + 1] + word[index] + word[index + 2 :]
        if swapped in _SWAPPABLE:  # two letters swapped: "tlak", "wnat"
            return swapped
    return word


def correct_text(text: str) -> str:
    """`text` (lower case) with every misspelled vocabulary word corrected."""
    return _WORD.sub(lambda match: correct(match.group(0)), text)
