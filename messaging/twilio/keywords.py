"""Consent keywords in an incoming message. Twilio's `OptOutType` parameter (sent when a
Messaging Service has Advanced Opt-Out) decides when present; otherwise a message that is
exactly one of the standard keywords (any case, surrounding spaces and punctuation
ignored) counts. Anything longer is an ordinary message: "please stop calling me at
work" is for a person to read, not an opt-out."""

from __future__ import annotations

from typing import Literal

Action = Literal["opt_out", "opt_in", "help"]

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})
OPT_OUT_TYPES: dict[str, Action] = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}
_STRIP = " \t\r\n.!?,;:'\"()"


def keyword_of(body: str) -> str | None:
    """The keyword the message consists of, upper-cased, or None."""
    word = body.strip(_STRIP).upper()
    if word in OPT_OUT or word in OPT_IN or word in HELP:
        return word
    return None


def classify(body: str, opt_out_type: str | None = None) -> tuple[Action, str] | None:
    """(action, keyword) for a consent or help message, else None."""
    if opt_out_type:
        action = OPT_OUT_TYPES.get(opt_out_type.strip().upper())
        if action is not None:
            return action, keyword_of(body) or opt_out_type.strip().upper()
    word = keyword_of(body)
    if word is None:
        return None
    if word in OPT_OUT:
        return "opt_out", word
    if word in OPT_IN:
        return "opt_in", word
    return "help", word
