"""The new text of a reply, without the quoted history and the signature. Switchboard's
own marker line (which every outgoing reply carries above its quote) is cut first; then
`mail-parser-reply` recognizes the quoting headers of the common clients in several
languages ("On … wrote:", "-----Original Message-----", "Von: …"). When stripping would
leave nothing, the whole text is kept: losing a customer's words is worse than showing a
quote."""

from __future__ import annotations

import logging
import re

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
    signature = _SIGNATURE.search(reply)
    if signature is not None:
        reply = reply[: signature.start()]
    reply = _DEVICE_LINE.sub("", reply.rstrip()).strip()
    return reply if reply else text.strip()


def _drop_trailing_attribution(text: str) -> str:
    """Clients put "On <date>, <name> wrote:" above the quote they start with our marker."""
    lines = text.rstrip().split("\n")
    while lines and (not lines[-1].strip() or lines[-1].rstrip().endswith(":")):
        lines.pop()
    return "\n".join(lines)
