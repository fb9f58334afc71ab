"""Whether a webhook really comes from Twilio. Twilio signs the exact URL it called (with
its query string) followed by the sorted POST parameters, with the auth token of the
account that owns the number (a subaccount's own token for a subaccount's numbers). Behind
a proxy the URL Twilio called is not the one this server sees, so it is rebuilt: from
`SWITCHBOARD_PUBLIC_URL` when set, else from the X-Forwarded-* headers when
`SWITCHBOARD_TRUST_FORWARDED_HEADERS` is on, else from the request itself. The check
itself is the `twilio` library's `RequestValidator`."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator, compare

from gateway.errors import Forbidden
from gateway.settings import Settings

HEADER = "X-Twilio-Signature"
DEFAULT_PORTS = {"http": "80", "https": "443"}
MAX_SIGNATURE_CHARS = 128


class Headers(Protocol):
    def get(self, key: str) -> str | None: ...


def _first(value: str | None) -> str:
    return (value or "").split(",", 1)[0].strip()


def _join(prefix: str, path: str) -> str:
    prefix = prefix.rstrip("/")
    if not prefix or path == prefix or path.startswith(prefix + "/"):
        return path
    return prefix + path


def webhook_url(
    settings: Settings,
    *,
    scheme: str,
    host: str,
    path: str,
    query_string: bytes,
    headers: Headers,
) -> str:
    """The URL Twilio called, as it signed it."""
    query = query_string.decode("latin-1")
    if settings.public_url:
        public = urlsplit(settings.public_url)
        scheme, host, path = public.scheme, public.netloc, _join(public.path, path)
    elif settings.trust_forwarded_headers:
        scheme = _first(headers.get("X-Forwarded-Proto")) or scheme
        host = _first(headers.get("X-Forwarded-Host")) or host
        port = _first(headers.get("X-Forwarded-Port"))
        if port and not host.rsplit("]", 1)[-1].count(":") and port != DEFAULT_PORTS.get(scheme):
            host = f"{host}:{port}"
        path = _join(_first(headers.get("X-Forwarded-Prefix")), path)
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def signature_valid(auth_token: str, url: str, params: Any, signature: str | None) -> bool:
    """True when `signature` is Twilio's for `url` and the form `params` (a multi-dict,
    or a plain mapping of single values) under `auth_token`."""
    if not signature or len(signature) > MAX_SIGNATURE_CHARS or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    # Twilio signs the URL it called, which is the one rebuilt here: one HMAC settles a
    # genuine request. The library's check computes two (the URL with and without its
    # port), so it only runs for the rest, and for a JSON body, signed with its hash.
    if not isinstance(params, str) and compare(validator.compute_signature(url, params), signature):
        return True
    return bool(validator.validate(url, params, signature))


def mismatch() -> Forbidden:
    """The one answer to a signature that does not verify, whatever the request names
    (a registered number or not), so a stranger learns nothing from it."""
    return Forbidden(
        f"the {HEADER} header does not match this request; if Twilio sent it, check "
        "SWITCHBOARD_PUBLIC_URL (Twilio signs the public URL it called)",
        code="bad_signature",
    )
