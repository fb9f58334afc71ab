"""Which web pages may open a widget socket. Browsers always send `Origin` on a WebSocket
handshake and page scripts cannot forge it, so it tells us which site embeds the widget:
one of the organization's allowed origins, or the gateway's own pages (the demo)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(value: str) -> str | None:
    """`scheme://host[:port]` in lower case without a default port, or None if `value` is
    not an origin (no scheme or host, or a path, query or credentials attached)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _authority(origin: str) -> str:
    """host[:port] of a normalized origin."""
    return origin.split("://", 1)[1]


def _host_header_authority(host: str, scheme: str) -> str:
    host = host.strip().lower()
    default = f":{DEFAULT_PORTS[scheme]}"
    return host[: -len(default)] if host.endswith(default) else host


def origin_allowed(origin: str | None, host: str | None, allowed_origins: Iterable[str]) -> bool:
    """True when `origin` is one of `allowed_origins` or the gateway itself (`host` is the
    request's Host header). A missing or malformed Origin is refused."""
    if not origin:
        return False
    normalized = normalize_origin(origin)
    if normalized is None:
        return False
    if any(normalize_origin(str(allowed)) == normalized for allowed in allowed_origins):
        return True
    if not host:
        return False
    scheme = normalized.split("://", 1)[0]
    return _authority(normalized) == _host_header_authority(host, scheme)
