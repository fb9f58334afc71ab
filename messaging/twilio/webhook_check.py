"""The "test the webhook URL" button on the admins' numbers page: Switchboard posts a signed
test request for one of the organization's numbers to its own public webhook URL, as
Twilio would, and says in a sentence what happened.

Why this test rather than checking that the public host resolves and answers: the request
takes Twilio's whole path — DNS, TLS certificate, the proxy in front of Switchboard, the
path — and then the signature check, which fails whenever the public URL Switchboard is
configured with is not exactly the address the request arrived at (a proxy that rewrites
the host, a missing path prefix, http against https). That mismatch is the most common
set-up mistake and a host that merely answers would hide it. The test request carries a
one-time value (`CHECK_FIELD`) that the webhook echoes in `CHECK_HEADER` only after the
signature verified, and it creates nothing: no conversation, no message, no "last webhook"
time. Only Twilio's own servers can prove that Twilio reaches the URL; a server that can
reach itself but is closed to the internet passes this test (the page says so)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import aiohttp
from twilio.request_validator import RequestValidator

from messaging.twilio.addresses import is_service_sid
from messaging.twilio.signature import HEADER

CHECK_FIELD = "SwitchboardCheck"
CHECK_HEADER = "X-Switchboard-Check"
CHECK_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what secrets.token_urlsafe writes
TIMEOUT_SECONDS = 10
MAX_BODY_BYTES = 4096
USER_AGENT = "Switchboard-Webhook-Check/1"


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    message: str

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "message": self.message}


def check_form(address: str, account_sid: str, nonce: str) -> dict[str, str]:
    """The test request's fields: what Twilio posts for the number, with no message."""
    form = {"AccountSid": account_sid, CHECK_FIELD: nonce}
    if is_service_sid(address):
        return {**form, "MessagingServiceSid": address, "To": "", "From": ""}
    return {**form, "To": address, "From": address}


async def check_webhook(url: str, address: str, account_sid: str, auth_token: str) -> CheckResult:
    """Post a signed test request for `address` to `url` and say what happened."""
    nonce = secrets.token_urlsafe(16)
    form = check_form(address, account_sid, nonce)
    headers = {
        HEADER: RequestValidator(auth_token).compute_signature(url, form),
        "User-Agent": USER_AGENT,
    }
    host = urlsplit(url).hostname or url
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(url, data=form, headers=headers, allow_redirects=False) as response,
        ):
            # Switchboard's refusal names its reason; a few bytes of it are enough.
            refused = response.status in (403, 404)
            head = await response.content.read(MAX_BODY_BYTES) if refused else b""
            body = head.decode("utf-8", errors="replace")
            return _answer(url, response.status, response.headers, nonce, body)
    except aiohttp.ClientConnectorDNSError:
        return CheckResult(False, f"The host {host} could not be found (no DNS record).")
    except aiohttp.ClientConnectorCertificateError:
        return CheckResult(
            False,
            f"{host} answered, but its HTTPS certificate is not valid. Twilio refuses such "
            "certificates too.",
        )
    except aiohttp.ClientConnectorError:
        return CheckResult(
            False,
            f"Nothing answered at {host}. Check that Switchboard runs there and that the "
            "port is open.",
        )
    except TimeoutError:
        return CheckResult(False, f"{host} did not answer within {TIMEOUT_SECONDS} seconds.")
    except aiohttp.ClientError:
        return CheckResult(False, f"The connection to {host} broke before it answered.")


def _answer(url: str, status: int, found: Mapping[str, str], nonce: str, body: str) -> CheckResult:
    if status == 200 and found.get(CHECK_HEADER) == nonce:
        return CheckResult(
            True,
            f"It works: a signed test request reached Switchboard at {url} and its signature "
            "checked out, so Twilio's messages to this number will be accepted.",
        )
    if status == 200:
        return CheckResult(False, f"Something answered at {url}, but it is not this Switchboard.")
    if status == 403 and "bad_signature" in body:
        return CheckResult(
            False,
            f"Switchboard answered at {url}, but the signature did not match: the public "
            "URL Switchboard is configured with differs from the address the request "
            "arrived at (a proxy may change the host or the path).",
        )
    if status == 404 and "has registered this number" in body:
        return CheckResult(
            False,
            f"A Switchboard answered at {url}, but not the one this number is registered "
            "on: the public URL points at another installation.",
        )
    if 300 <= status < 400:
        return CheckResult(
            False,
            f"{url} redirects to {found.get('Location', 'another address')}. Twilio signs "
            "the address it calls: give Twilio the final address and set it as "
            "Switchboard's public URL.",
        )
    return CheckResult(
        False, f"{url} answered “{_phrase(status)}”, which is not Switchboard's webhook answer."
    )


def _phrase(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
