"""Which web pages may open a widget socket. Browsers always send `Origin` on a WebSocket
handshake and page scripts cannot forge it, so it tells us which site embeds the widget:
one of the organization's allowed origins, or the gateway's own pages (the demo)."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.origins import DEFAULT_PORTS, normalize_origin


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
