"""Why a mail did not reach the customer, in words a support agent understands, built from
what mail servers report: the SMTP reply code (550, 451) and the enhanced status code of
RFC 3463 (5.1.1, 4.2.2) that most servers put in front of their text. Used for both ways a
failure comes back: a server refusing the mail while we send it (`gateway.mail` raises it
with the server's answer), and a bounce reported later in a delivery status notification
(its `Status` and `Diagnostic-Code`). The sentence is stored as the message's
`error_message` and the server's own text as `error_detail`, which the desk shows only
behind a disclosure, as it does for every channel."""

from __future__ import annotations

import re

from gateway.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

# "550 5.1.1", "550-5.1.1" or "5.1.1" alone: a reply code, then an enhanced status code.
_CODES = re.compile(r"(?:\b([245]\d\d)[ -])?\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY = re.compile(r"\b([245]\d\d)\b")

# The enhanced codes worth their own sentence, by subject and detail (the class, 4 or 5,
# only says whether it may pass). The others read as their subject's, or the general one.
EXACT = {
    "1.1": "the address does not exist",
    "1.2": "the address's domain does not exist or takes no mail",
    "1.3": "the address is not a valid email address",
    "1.10": "the address's domain takes no mail",
    "2.1": "the customer's mailbox is disabled",
    "2.2": "the customer's mailbox is full",
    "2.3": "the message is too large for the customer's mailbox",
    "3.4": "the message is too large for the receiving mail server",
    "4.4": "the address's domain has no mail server",
    "7.8": "our mail server did not accept our login, so an admin needs to check the "
    "outgoing mail settings",
}
SUBJECTS = {
    "7": "the receiving mail server refused it under its policy (for example as spam, or "
    "as not authorised to send from our address)",
}
GENERAL = "the receiving mail server refused it"
LATER = "the receiving mail server could not take it for now"
UNREACHABLE = "our mail server could not be reached"
NO_SERVER = "no outgoing mail server is set up, so an admin needs to set one up"
# Reply codes that say enough without an enhanced code.
REPLIES = {
    "530": EXACT["7.8"],
    "535": EXACT["7.8"],
    "552": "the message is too large, or the customer's mailbox is full",
    "553": EXACT["1.3"],
}


def codes(text: str, reply: str | None = None) -> tuple[str | None, str | None]:
    """The reply code and enhanced status code in a server's text ("550 5.1.1 <a@b>: …"),
    each None when absent. With several answers in it, the one for `reply` is taken."""
    found = [(m.group(1), ".".join(m.group(2, 3, 4))) for m in _CODES.finditer(text)]
    for code, enhanced in found:
        if reply is None or code == reply:
            return code or reply, enhanced
    if found:
        return reply or found[0][0], found[0][1]
    plain = _REPLY.search(text)
    return reply or (plain.group(1) if plain else None), None


def sentence(reply: str | None, enhanced: str | None) -> str:
    """What happened, in words: from the enhanced code when there is one, else from the
    reply code. A temporary answer (4xx, 4.x.x) is worded alike, as it is retried: the
    desk says "Retrying…" meanwhile and shows this only once every try failed."""
    temporary = (enhanced or reply or "").startswith("4")
    if enhanced is not None:
        subject_detail = enhanced.split(".", 1)[1]
        known = EXACT.get(subject_detail)
        if known is None and not temporary:  # a temporary policy answer: greylisting, say
            known = SUBJECTS.get(subject_detail.split(".")[0])
    else:
        known = REPLIES.get(reply or "")
    return known or (LATER if temporary else GENERAL)


def translated(error: DeliveryError) -> DeliveryError:
    """A refusal from the mail transport as the desk shows it: the sentence as its message,
    what the server said as its detail, the same code (the server's reply code)."""
    raw = error.message.removeprefix("the mail server answered ")
    code = error.provider_code
    if code == "no_smtp":
        words = NO_SERVER
    elif code is None:  # no answer at all: the connection failed or timed out
        words = UNREACHABLE
    else:
        words = sentence(*codes(raw, code))
    kind = TransientDeliveryError if isinstance(error, TransientDeliveryError) else None
    return (kind or PermanentDeliveryError)(words, provider_code=code, detail=raw)


def bounce_sentence(status: str | None, diagnostic: str) -> str:
    """A delivery status notification's failure in words, from its Status (the enhanced
    code) and the reply code in its Diagnostic-Code."""
    reply, enhanced = codes(diagnostic)
    return sentence(reply, status or enhanced)
