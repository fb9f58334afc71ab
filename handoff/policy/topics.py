"""Restricted topics: subjects an organization wants a person for (billing disputes,
cancellations, legal matters, privacy requests, formal complaints). Built-in topics
recognize the common ways of raising them; an organization can add topics of its own as
plain phrases. Keywords use the same phrase matching."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from handoff.person_request import normalize


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    label: str  # as a person reads it in a decision record
    pattern: re.Pattern[str]

    def find(self, normalized_text: str) -> str | None:
        """The words that raised the topic, if any."""
        match = self.pattern.search(normalized_text)
        return match.group(0) if match else None


def _any(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{alternative})" for alternative in alternatives))


BUILTIN: dict[str, Topic] = {
    topic.name: topic
    for topic in (
        Topic(
            "billing_dispute",
            "a billing dispute",
            _any(
                r"\b(?:charged|billed)\s+(?:me\s+|us\s+)?(?:twice|double|two\s+times|again"
                r"|wrong(?:ly)?|incorrectly|too\s+much)",
                r"\bdouble[-\s]?(?:charged|billed|charge|billing)\b",
                r"\bover-?(?:charged|billed|charging|charge)\b",
                r"\bcharge-?backs?\b",
                r"\bdisput(?:e|ed|es|ing)\b",
                r"\b(?:unauthori[sz]ed|fraudulent|unknown|wrong|incorrect|duplicate)\s+"
                r"(?:charges?|payments?|transactions?|amount|invoice|bill)\b",
                r"\bnever\s+(?:got|received)\s+(?:my|the|a)\s+refund\b",
            ),
        ),
        Topic(
            "cancellation",
            "a cancellation",
            _any(
                r"\bcancel(?:l?ed|l?ing|lation|s)?\b",
                r"\b(?:terminate|end|close)\s+(?:my|our|the)\s+"
                r"(?:contract|account|subscription|membership|plan)\b",
                r"\bunsubscribe\s+(?:me\s+)?from\s+(?:the|my|your)\s+(?:plan|subscription|service)",
            ),
        ),
        Topic(
            "legal",
            "a legal matter",
            _any(
                r"\b(?:lawyers?|attorneys?|solicitors?|lawsuits?|litigation|ombudsman)\b",
                r"\b(?:sue|suing|sued)\s+(?:you|your|the\s+company|them)\b",
                r"\blegal\s+(?:action|steps|advice|proceedings|department|team|notice)\b",
                r"\b(?:small\s+claims|court|trading\s+standards|consumer\s+protection)\b",
            ),
        ),
        Topic(
            "privacy",
            "a privacy request",
            _any(
                r"\b(?:gdpr|ccpa|data\s+protection|data\s+(?:breach|leak))\b",
                r"\bdelete\s+(?:all\s+)?(?:my|our)\s+(?:data|information|details|account)\b",
                r"\b(?:subject\s+access\s+request|right\s+to\s+(?:be\s+forgotten|erasure))\b",
                r"\bwhat\s+(?:personal\s+)?data\s+(?:do\s+)?you\s+(?:have|hold|keep|store)\b",
            ),
        ),
        Topic(
            "complaint",
            "a formal complaint",
            _any(
                r"\b(?:file|make|lodge|raise|submit)\s+(?:a\s+)?(?:formal\s+)?complaint\b",
                r"\bformal(?:ly)?\s+complain",
            ),
        ),
    )
}


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for plain phrases: case-, spacing- and apostrophe-insensitive, whole
    words only ("refund" does not match "refunded"); None for no phrases."""
    parts = [
        r"\s+".join(re.escape(word) for word in normalize(phrase).split())
        for phrase in phrases
        if phrase.strip()
    ]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?!\w)")


def compile_topics(names: Iterable[str], custom: dict[str, list[str]]) -> tuple[Topic, ...]:
    """The organization's restricted topics, in its order; custom ones are phrase lists."""
    topics: list[Topic] = []
    for name in names:
        if name in custom:
            pattern = phrase_pattern(custom[name])
            if pattern is not None:
                topics.append(Topic(name, name.replace("_", " "), pattern))
        elif name in BUILTIN:
            topics.append(BUILTIN[name])
        else:
            raise ValueError(
                f"unknown restricted topic {name!r}: use a built-in one "
                f"({', '.join(BUILTIN)}) or define it in custom_topics"
            )
    return tuple(topics)
