"""Web origins (`scheme://host[:port]`) in the one normalized form browsers send in the
`Origin` header: lower case, without a default port. Admins' allowed-origin lists and the
widget's handshake check both compare in this form."""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.errors import BadInput

DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(value: str) -> str:
    """The normalized origin, or BadInput saying what is wrong with `value`."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise BadInput(f"invalid origin {value!r}: bad port") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        raise BadInput(f"invalid origin {value!r}: expected e.g. https://shop.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise BadInput(f"invalid origin {value!r}: give only scheme, host and optional port")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def normalize_origin(value: str) -> str | None:
    """The normalized origin, or None when `value` is not one."""
    try:
        return parse_origin(value)
    except BadInput:
        return None
