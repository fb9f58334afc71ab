"""Email addresses people type (the Cc of an agent's reply): one syntax check for every
place that takes them, so a bad address is refused with a sentence before anything is
claimed or stored. Plain addresses only (`name@shop.example`, no display names), lower-cased,
each once."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.errors import BadInput

_ADDRESS = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
MAX_LENGTH = 254  # RFC 5321's longest path, less the angle brackets


def plain_address(raw: str) -> str:
    address = raw.strip().lower()
    local = address.partition("@")[0]
    if (
        len(address) > MAX_LENGTH
        or not _ADDRESS.match(address)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in address
    ):
        shown = raw.strip()[:80] or "an empty entry"
        raise BadInput(f"“{shown}” is not an email address like name@example.com")
    return address


def copy_list(raw: Sequence[str], limit: int) -> list[str]:
    """The addresses to copy a reply to, checked; at most `limit` of them."""
    addresses = list(dict.fromkeys(plain_address(item) for item in raw if item.strip()))
    if len(addresses) > limit:
        raise BadInput(f"a reply may copy in at most {limit} addresses (Cc)")
    return addresses
