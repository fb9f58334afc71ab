"""Long replies as several messages. Twilio takes at most 1,600 characters per message,
so a longer reply is cut at sentence ends (or line breaks) into as few parts as fit; a
sentence longer than a whole part is cut between words, and a "word" longer than that
between characters (never inside a surrogate pair). Lengths count UTF-16 code units,
which is what Twilio counts for text outside the Basic Multilingual Plane."""

from __future__ import annotations

import re

MAX_CHARS = 1600
# Sentence ends: . ! ? and the ellipsis, the ideographic full stop and the full-width ! ?
_SENTENCE_END = re.compile("(?<=[.!?\u2026\u3002\uff01\uff1f])\\s+|\n+")
_SPACE = re.compile(r"(?<=\s)")


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _pieces(text: str, pattern: re.Pattern[str]) -> list[str]:
    """`text` cut after each match, each piece keeping its trailing separator."""
    pieces, start = [], 0
    for match in pattern.finditer(text):
        if match.end() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _hard_cut(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = units(char)
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        parts.append("".join(current))
    return parts


def _fit(pieces: list[str], limit: int, finer: list[re.Pattern[str]]) -> list[str]:
    parts: list[str] = []
    current = ""
    for piece in pieces:
        if units(current + piece) <= limit:
            current += piece
            continue
        if current:
            parts.append(current)
            current = ""
        if units(piece) <= limit:
            current = piece
        elif finer:
            smaller = _fit(_pieces(piece, finer[0]), limit, finer[1:])
            parts.extend(smaller[:-1])
            current = smaller[-1]
        else:
            cut = _hard_cut(piece, limit)
            parts.extend(cut[:-1])
            current = cut[-1]
    if current:
        parts.append(current)
    return parts


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """`text` in parts of at most `limit` units, cut at the best boundary available."""
    text = text.strip()
    if units(text) <= limit:
        return [text] if text else []
    parts = _fit(_pieces(text, _SENTENCE_END), limit, [_SPACE])
    return [part.strip() for part in parts if part.strip()]
