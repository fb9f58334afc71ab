"""The Bitext customer-support utterances as the guard uses them: which rows are held out
(a fixed split by a hash of the text, so no run and no machine ever trains on them) and what
counts as asking for a person.

Labels: `contact_human_agent` asks for a person. `contact_customer_service` does when it
asks to talk, speak, chat with, contact or get in touch with customer service ("can I talk
to customer service?"): as in `handoff.person_request`, the customer is already in the
business's service channel, so asking for it by name means asking for the people behind it.
It does not when it asks when service is open, for a phone number or an e-mail address, or
how to phone it ("what hours can I call customer support?", "customer support mail"): the AI
answers those from the knowledge base. Every other intent is not a request for a person."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import BadInput

HELD_OUT_PERCENT = 20
PERSON_INTENT = "contact_human_agent"
SERVICE_INTENT = "contact_customer_service"
# Asking about opening hours or a phone number / address, not for someone now.
_SERVICE_INFORMATION = re.compile(
    r"\bhours?\b|\bwhat\s+time\b|\bat\s+what\s+i?time\b|\bavailable\b|\bphone\b|\bnumber\b"
    r"|e-?mail\b|\bmail\b|\baddress\b|\bcall|\bcll\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Utterance:
    text: str
    intent: str
    wants_person: bool


def is_held_out(text: str) -> bool:
    """Whether `text` belongs to the held-out split (about 20 % of distinct texts)."""
    key = " ".join(text.lower().split()).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % 100 < HELD_OUT_PERCENT


def wants_person(intent: str, text: str) -> bool:
    """The guard's label for a Bitext row (see the module text for customer service)."""
    if intent == PERSON_INTENT:
        return True
    if intent == SERVICE_INTENT:
        return _SERVICE_INFORMATION.search(text) is None
    return False


def read_utterances(path: Path) -> Iterator[Utterance]:
    """The rows of the Bitext CSV (columns `text` and `intent` at least), labelled."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            missing = {"text", "intent"} - set(reader.fieldnames or ())
            if missing:
                raise BadInput(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            for row in reader:
                text, intent = row["text"], row["intent"]
                yield Utterance(text, intent, wants_person(intent, text))
    except FileNotFoundError:
        raise BadInput(f"file not found: {path}") from None
