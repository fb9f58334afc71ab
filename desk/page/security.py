"""The security headers of the agents' pages. The Content-Security-Policy allows scripts,
styles and fonts from the gateway only (no inline script, no eval), live connections to the
gateway's own host, and images from the gateway or `data:`. Customer email HTML is shown
in sandboxed `srcdoc` frames, which inherit this policy, so a remote image in an email can
never load and nothing in it can run. After a login the page goes only to a path on this
gateway (`same_origin_path`; `login.js` applies the same rule in the browser)."""

from __future__ import annotations

import re
from typing import TypeVar
from urllib.parse import urlsplit

from quart import Response
from werkzeug.wrappers import Response as PlainResponse

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def content_security_policy(host: str) -> str:
    sockets = f"ws://{host} wss://{host}" if _HOST.match(host) else ""
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "media-src 'self' data:",
        f"connect-src 'self' {sockets}".strip(),
        "frame-src 'self'",
        "child-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
    return "; ".join(directives)


AnyResponse = TypeVar("AnyResponse", Response, PlainResponse)


def harden(response: AnyResponse, host: str) -> AnyResponse:
    response.headers["Content-Security-Policy"] = content_security_policy(host)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    return response


DEFAULT_LANDING = "/queue"


def same_origin_path(value: str | None) -> str | None:
    """`value` when it is a path on this gateway, as a browser's URL parser will read it;
    None otherwise. Browsers drop tabs and newlines anywhere in a URL and read `\\` as `/`,
    so "/\\t/evil.example" becomes "//evil.example", another host: any control character or
    backslash is refused, then the parsed URL must have no scheme or host and a path that
    starts with exactly one slash."""
    if not value or any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in value):
        return None
    parsed = urlsplit(value)
    if parsed.scheme or parsed.netloc or not value.startswith("/") or value.startswith("//"):
        return None
    return value
