"""Signed tokens in addresses and bodies. Replies go to `local+<conversation>.<mac>@domain`
and our envelope sender is `local+b<message>.<mac>@domain` (VERP), so a reply finds its
conversation and a bounce its exact outbound message even when a relay rewrote the
Message-ID. The MAC (HMAC-SHA256 under the secret key, 10 hex digits) means a guessed or
altered number is ignored. The same conversation token sits in a body marker `{#SB:…#}`
for relays that also drop the plus address."""

from __future__ import annotations

import hashlib
import hmac
import re

_TOKEN = re.compile(r"^(?P<kind>[cb])(?P<number>\d{1,18})\.(?P<mac>[0-9a-f]{10})$")
_MARKER = re.compile(r"\{#SB:(c\d{1,18}\.[0-9a-f]{10})#\}")


def _mac(secret: str, kind: str, number: int) -> str:
    digest = hmac.new(secret.encode(), f"email:{kind}{number}".encode(), hashlib.sha256)
    return digest.hexdigest()[:10]


def token(secret: str, kind: str, number: int) -> str:
    return f"{kind}{number}.{_mac(secret, kind, number)}"


def plus_address(mailbox: str, secret: str, kind: str, number: int) -> str:
    local, _, domain = mailbox.partition("@")
    return f"{local.split('+', 1)[0]}+{token(secret, kind, number)}@{domain}"


def read_token(secret: str, value: str, kind: str) -> int | None:
    """The number in a valid token of `kind`, or None (absent, malformed or forged)."""
    found = _TOKEN.match(value.strip().lower())
    if found is None or found["kind"] != kind:
        return None
    number = int(found["number"])
    if not hmac.compare_digest(found["mac"], _mac(secret, kind, number)):
        return None
    return number


def token_in_address(secret: str, address: str, kind: str) -> int | None:
    local = address.partition("@")[0]
    if "+" not in local:
        return None
    return read_token(secret, local.split("+", 1)[1], kind)


def base_address(address: str) -> str:
    """`support+c12.ab@shop.example` → `support@shop.example`."""
    local, _, domain = address.lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def body_marker(secret: str, conversation_id: int) -> str:
    return "{#SB:" + token(secret, "c", conversation_id) + "#}"


def marker_in(secret: str, text: str) -> int | None:
    for found in _MARKER.finditer(text):
        number = read_token(secret, found.group(1), "c")
        if number is not None:
            return number
    return None
