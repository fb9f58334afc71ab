"""Recognizing a customer who explicitly asks for a person ("can I talk to a human?", "agent
please", "transfer me to an operator"): the first and strongest handoff trigger. It is
pattern-based, one named pattern per way of asking, so a rule hit can say which one fired;
a classifier may later guard it against the false positives patterns cannot see.

What counts as a person: a human, a (real, live) person, someone, an agent, representative,
operator, advisor, staff member, manager or supervisor, and customer service or support.
Asking for customer service ("can I talk to customer service?") counts: the customer is
already in the business's service channel, so asking for it by name means asking for the
people behind it. Mentions that are not requests do not fire: "are you a bot?", "my agent
said the parcel is late", "I already talked to someone yesterday", "a real estate agent",
past tenses, someone's own agent ("my agent"), and requests negated in the same clause
("I don't want to talk to a person")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DETERMINER = r"(?:(?:a|an|the|some|any|your|one\s+of\s+your|someone\s+from|somebody\s+from)\s+)"
_ADJECTIVE = r"(?:(?:real|live|actual|human|proper|flesh\s+and\s+blood)\s+)"
_SERVICE = (
    r"customer\s+(?:service|support|care|services)"
    r"(?:\s+(?:team|department|desk|rep|representative|agent|person))?"
    r"|(?:support|service)\s+(?:team|staff|desk|department|agent|rep|representative)"
    r"|help\s*desk|support"
)
_STAFF = (
    r"hum(?:an|na)s?|person|people|agents?|representatives?|reps?|operators?|advis[oe]rs?"
    r"|staff(?:\s+member)?|team\s+member|employees?|managers?|supervisors?|associates?"
)
# "an agent account", "a person's order": the noun is a modifier, not who to talk to.
_NOT_MODIFIER = r"(?!'s\b|\s+(?:account|login|portal|number|id|code|app|fee|estate|profile))"
PERSON = (
    rf"{_DETERMINER}?{_ADJECTIVE}?(?:{_SERVICE}|{_STAFF})\b{_NOT_MODIFIER}"
    rf"|(?:someone|somebody)\b(?!\s+(?:at|from|in)\s+my\b)"
)
_POLITE = r"(?:\s+(?:please|pls|plz|now|asap|thanks|thank\s+you))*"

PATTERNS: dict[str, re.Pattern[str]] = {
    # "can I talk to a human?", "I want to speak with a representative"
    "talk_to_person": re.compile(rf"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:{PERSON})"),
    # "connect me to someone", "transfer me to an operator", "put me through to an agent"
    "connect_to_person": re.compile(
        r"\b(?:connect|transfer|put|pass|switch|forward|hand)\s+"
        r"(?:(?:me|us|this|this\s+chat|my\s+call|the\s+call|it)\s+)?(?:through\s+|over\s+|on\s+)?"
        rf"(?:to|with)\s+(?:{PERSON})"
    ),
    # "I want a real person", "I need a human", "get me an agent"
    "want_person": re.compile(
        r"\b(?:want|need|like|prefer|request|get\s+me|give\s+me|get)\s+"
        rf"{_DETERMINER}?{_ADJECTIVE}?(?:{_SERVICE}|{_STAFF})\b{_NOT_MODIFIER}"
        r"(?!\s+(?:said|says|told|who|that))"
    ),
    # "is there a human I can talk to?", "is anyone real there?"
    "person_available": re.compile(
        rf"\b(?:is|are)\s+there\s+(?:{_DETERMINER}|any\s+)?{_ADJECTIVE}?"
        r"(?:humans?|person|people|agents?|representatives?|operators?|someone\s+real)\b"
    ),
    # the whole message is the request: "agent please", "human!", "real person",
    # "customer service please"
    "bare_request": re.compile(
        r"^(?:please[\s,]+)?(?:(?:a|an)\s+)?"
        rf"{_ADJECTIVE}?(?:{_SERVICE}|humans?|person|agents?|representatives?|reps?|operators?"
        rf"|staff|managers?|supervisors?){_POLITE}\s*(?:[!.?]+|,.*)?$"
    ),
    # "please escalate this", "escalate to a manager"
    "escalate": re.compile(r"\bescalate\b"),
}

_NEGATION = re.compile(
    r"\b(?:don't|dont|do\s+not|doesn't|does\s+not|didn't|did\s+not|never|no\s+need\s+to"
    r"|not|won't|wouldn't|no)\b"
)
_CLAUSE_BREAK = re.compile(r"[.;!?,]|\bbut\b")


@dataclass(frozen=True, slots=True)
class PersonRequest:
    """An explicit request for a person: the named pattern that fired and the words."""

    pattern: str
    phrase: str


def normalize(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def find_person_request(text: str) -> PersonRequest | None:
    """The first pattern that recognizes `text` as asking for a person, if any."""
    normalized = normalize(text)
    for name, pattern in PATTERNS.items():
        for match in pattern.finditer(normalized):
            if not _negated(normalized, match.start()):
                return PersonRequest(name, match.group(0).strip())
    return None


def asks_for_person(text: str) -> bool:
    """Whether the message explicitly asks to talk to a person."""
    return find_person_request(text) is not None


def _negated(text: str, start: int) -> bool:
    """Whether a negation precedes the match in its own clause ("I don't need an agent")."""
    clause = _CLAUSE_BREAK.split(text[:start])[-1]
    return _NEGATION.search(clause) is not None
