"""Reading a raw mail with the standard `email` package (policy `default`) without ever
failing: every header and body part is read defensively, and what could not be read is
listed in `problems` instead of raising. `read_mail` returns the raw pieces (headers,
text, HTML, attachments, the delivery-status part of a bounce); quote stripping,
classification and threading build on it."""

from __future__ import annotations

import email
import email.header
import email.utils
from dataclasses import dataclass, field
from email import policy
from email.message import Message

MAX_PARTS = 500  # a mail bomb of nested parts stops here


@dataclass(frozen=True, slots=True)
class RawAttachment:
    name: str | None
    content_type: str
    data: bytes
    content_id: str | None = None


@dataclass
class MailParts:
    """What could be read of one raw mail."""

    message: Message
    text: str = ""
    html: str | None = None
    attachments: list[RawAttachment] = field(default_factory=list)
    delivery_status: list[dict[str, str]] = field(default_factory=list)
    returned_headers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    is_report: bool = False
    # Each header is parsed once: policy `default` parses on every access, and that
    # dominated the cost of reading a mail.
    _seen: dict[str, list[str]] = field(default_factory=dict)

    def header(self, name: str) -> str:
        values = self.headers(name)
        return values[0] if values else ""

    def headers(self, name: str) -> list[str]:
        key = name.lower()
        if key not in self._seen:
            self._seen[key] = all_headers(self.message, name)
        return self._seen[key]


def header(message: Message, name: str) -> str:
    """One header as text ('' when absent); a malformed one falls back to its raw value."""
    values = all_headers(message, name)
    return values[0] if values else ""


def all_headers(message: Message, name: str) -> list[str]:
    try:
        return [str(value) for value in (message.get_all(name) or [])]
    except Exception:
        return [
            _decode_raw(value) for key, value in _raw_items(message) if key.lower() == name.lower()
        ]


def _raw_items(message: Message) -> list[tuple[str, str]]:
    try:
        return [(key, str(value)) for key, value in message.raw_items()]
    except Exception:
        return []


def _decode_raw(value: str) -> str:
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value.encode("utf-8", "replace").decode("utf-8", "replace")


def read_mail(raw: bytes) -> MailParts:
    message = email.message_from_bytes(raw, policy=policy.default)
    parts = MailParts(message)
    parts.is_report = message.get_content_type() == "multipart/report"
    texts: list[str] = []
    for count, part in enumerate(message.walk()):
        if count >= MAX_PARTS:
            parts.problems.append(f"more than {MAX_PARTS} parts: the rest was not read")
            break
        try:
            _read_part(part, parts, texts)
        except Exception as exc:
            parts.problems.append(f"a {_content_type(part)} part could not be read: {exc}")
    parts.text = "\n\n".join(text for text in texts if text.strip())
    for defect in getattr(message, "defects", [])[:10]:
        parts.problems.append(type(defect).__name__)
    return parts


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _read_part(part: Message, parts: MailParts, texts: list[str]) -> None:
    kind = _content_type(part)
    if kind == "message/delivery-status":
        parts.is_report = True
        parts.delivery_status.extend(_status_fields(part))
        return
    if kind in ("message/rfc822", "text/rfc822-headers") and not parts.returned_headers:
        parts.returned_headers = _returned_headers(part)
    if part.is_multipart():
        return
    disposition = _disposition(part)
    name = _filename(part)
    if kind in ("text/plain", "text/html") and disposition != "attachment" and not name:
        body = _text_of(part)
        if kind == "text/plain":
            texts.append(body)
        elif parts.html is None:
            parts.html = body
        return
    if _in_rfc822(part, parts):
        return
    data = part.get_payload(decode=True)
    content_id = header(part, "Content-ID").strip().strip("<>") or None
    parts.attachments.append(
        RawAttachment(name, kind, data if isinstance(data, bytes) else b"", content_id)
    )


def _in_rfc822(part: Message, parts: MailParts) -> bool:
    # Parts inside a returned message (a bounce's copy of our mail) are not the sender's.
    return bool(parts.returned_headers) and parts.is_report


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return str(name) if name else None


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception:  # noqa: S110 - an unknown charset or broken encoding: decode by hand
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
        return payload.decode(charset, "replace")
    except (LookupError, Exception):
        return payload.decode("utf-8", "replace")


def _status_fields(part: Message) -> list[dict[str, str]]:
    """The per-recipient blocks of a delivery-status part (RFC 3464), as lowercase keys."""
    blocks: list[dict[str, str]] = []
    payload = part.get_payload()
    if isinstance(payload, list):
        for block in payload:
            if isinstance(block, Message):
                blocks.append({key.lower(): str(value) for key, value in _raw_items(block)})
    elif isinstance(payload, str):
        for chunk in payload.replace("\r\n", "\n").split("\n\n"):
            fields: dict[str, str] = {}
            for line in chunk.splitlines():
                key, sep, value = line.partition(":")
                if sep and not line[:1].isspace():
                    fields[key.strip().lower()] = value.strip()
            if fields:
                blocks.append(fields)
    return blocks


def _returned_headers(part: Message) -> dict[str, str]:
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        return {key.lower(): str(value) for key, value in _raw_items(inner[0])}
    if isinstance(inner, str):
        parsed = email.message_from_string(inner, policy=policy.compat32)
        return {key.lower(): str(value) for key, value in parsed.items()}
    return {}


def addresses(parts: MailParts, *names: str) -> list[tuple[str, str]]:
    """(display name, lowercased address) pairs from the named headers, malformed ones
    skipped."""
    found: list[tuple[str, str]] = []
    for name in names:
        values = parts.headers(name)
        for display, address in email.utils.getaddresses(values):
            address = address.strip().lower()
            if "@" in address and " " not in address:
                found.append((display.strip(), address))
    return found


def message_ids(value: str) -> list[str]:
    """The `<id>` tokens of a Message-ID, In-Reply-To or References header, in order."""
    found: list[str] = []
    for chunk in value.replace("\r", " ").replace("\n", " ").split("<")[1:]:
        token = chunk.split(">", 1)[0].strip()
        if token and " " not in token and len(token) <= 900:
            found.append(token)
    return found
