"""The new text of a reply, without the quoted history and the signature. Switchboard's
own marker line (which every outgoing reply carries above its quote) is cut first; then
`mail-parser-reply` recognizes the quoting headers of the common clients in several
languages ("On … wrote:", "-----Original Message-----", "Von: …"). Where it finds none but
a "…:" line is followed by a `>` quote, `quotequail` gets a second look: it knows reply
headers of other languages and clients ("Em … escreveu:", "El … escribió:") and tells a
reply from a forward; only a reply's quote is cut on its word. When stripping would leave
nothing, the whole text is kept: losing a customer's words is worse than showing a
quote."""

from __future__ import annotations

import logging
import re

import quotequail
from mailparser_reply import EmailReplyParser

log = logging.getLogger(__name__)

MARKER = "-- Please write your reply above this line --"
LANGUAGES = ["en", "de", "fr", "it", "nl", "sv", "da", "pl", "es"]
_MARKER_LINE = re.compile(r"^[>\s]*" + re.escape(MARKER) + r".*$", re.MULTILINE)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
# The one-line signatures phones and mail apps add under the text.
_DEVICE_LINE = re.compile(
    r"\n\s*(Sent from my [\w .-]+|Sent from Mail for Windows[\w .-]*|Get Outlook for [\w .-]+"
    r"|Von meinem [\w .-]+ gesendet|Envoyé de mon [\w .-]+)\s*$",
    re.IGNORECASE,
)
_parser = EmailReplyParser(languages=LANGUAGES)
# A line ending in ":" and then (blank lines aside) a ">" quote: an attribution line.
HEAD_LINES, HEAD_CHARS = 300, 20_000
_ATTRIBUTED_QUOTE = re.compile(r":[ \t]*\n(?:[ \t]*\n)*[ \t]*>")


def new_text(text: str) -> str:
    """The part of `text` the sender wrote now."""
    text = text.replace("\r\n", "\n")
    marker = _MARKER_LINE.search(text)
    if marker is not None:
        text = text[: marker.start()]
        text = _drop_trailing_attribution(text)
    try:
        reply = _parser.parse_reply(text=text)
    except Exception:
        log.debug("quote stripping failed; keeping the whole text", exc_info=True)
        reply = text
    if reply.strip() == text.strip():
        reply = _reply_top(text) or reply
    signature = _SIGNATURE.search(reply)
    if signature is not None:
        reply = reply[: signature.start()]
    reply = _DEVICE_LINE.sub("", reply.rstrip()).strip()
    return reply if reply else text.strip()


def _reply_top(text: str) -> str | None:
    """What quotequail finds above a reply's quote in the first lines (None: no reply
    quote there, or a forward). Only tried when an attribution line is there: it costs as
    much as the parse."""
    # quotequail's time grows faster than the text: it reads the head only, where a
    # reply's own text and attribution line are (a hostile mail cannot make it crawl).
    head = "\n".join(text.split("\n", HEAD_LINES)[:HEAD_LINES])[:HEAD_CHARS]
    if not _ATTRIBUTED_QUOTE.search(head):
        return None
    try:
        found = quotequail.unwrap(head)
    except Exception:
        log.debug("quotequail could not read the text; keeping it", exc_info=True)
        return None
    if not found or found.get("type") != "reply":
        return None
    top = str(found.get("text_top") or "").strip()
    return top or None


def _drop_trailing_attribution(text: str) -> str:
    """Clients put "On <date>, <name> wrote:" above the quote they start with our marker."""
    lines = text.rstrip().split("\n")
    while lines and (not lines[-1].strip() or lines[-1].rstrip().endswith(":")):
        lines.pop()
    return "\n".join(lines)
