"""Twilio's REST API, through the `twilio` library and its aiohttp client. Each call gets
a session of its own, closed afterwards, because RQ runs every job on a fresh event loop
and a pool must not outlive its loop. The base URL comes from the settings (Twilio's by
default; a regional edge or a local sandbox otherwise). Vendor errors are translated here:
network failures, timeouts, 429 and 5xx are transient (worth retrying); other 4xx answers
are permanent and carry Twilio's error code."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from messaging.twilio.errors import describe

log = logging.getLogger(__name__)
REST_TIMEOUT_SECONDS = 20.0
# The client reads TWILIO_EDGE / TWILIO_REGION from its environment mapping (os.environ
# when the mapping is empty); a mapping of our own keeps the configured base URL exact.
_NO_ENVIRONMENT = {"SWITCHBOARD_TWILIO": "1"}


@dataclass(frozen=True, slots=True)
class Credentials:
    account_sid: str
    auth_token: str

    def __repr__(self) -> str:
        return f"Credentials({self.account_sid!r})"


@dataclass(frozen=True, slots=True)
class Created:
    sid: str
    status: str


def translate(error: TwilioRestException | TwilioServiceException) -> Exception:
    """The Switchboard error for a Twilio error answer."""
    status = int(error.status or 0)
    code = str(error.code) if error.code not in (None, "") else str(status)
    if isinstance(error, TwilioRestException):
        raw = str(error.msg).removeprefix("Unable to create record: ")
    else:
        raw = str(error.detail or error.title)
    if status == 429 or status >= 500:
        return TransientDeliveryError(f"Twilio answered {status}: {raw}", provider_code=code)
    return PermanentDeliveryError(describe(code, str(raw)), provider_code=code)


async def create_message(
    base_url: str,
    credentials: Credentials,
    *,
    to: str,
    from_: str | None,
    body: str,
    media_urls: Sequence[str] = (),
    status_callback: str | None = None,
    messaging_service_sid: str | None = None,
) -> Created:
    """POST one Message resource; returns its SID and Twilio's first status."""
    http = AsyncTwilioHttpClient(pool_connections=False)
    timeout = aiohttp.ClientTimeout(total=REST_TIMEOUT_SECONDS)
    arguments: dict[str, Any] = {
        "to": to,
        "from_": from_ or values.unset,
        "body": body or values.unset,
        "media_url": list(media_urls) or values.unset,
        "status_callback": status_callback or values.unset,
        "messaging_service_sid": messaging_service_sid or values.unset,
    }
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            http.session = session
            client = Client(
                credentials.account_sid,
                credentials.auth_token,
                http_client=http,
                environment=_NO_ENVIRONMENT,
            )
            client.api.base_url = base_url
            message = await client.messages.create_async(**arguments)
    except (TwilioRestException, TwilioServiceException) as error:
        raise translate(error) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        log.warning("Twilio REST call failed: %s", type(error).__name__)
        raise TransientDeliveryError(
            f"could not reach Twilio: {type(error).__name__} {error}".strip()
        ) from None
    if not message.sid:
        raise TransientDeliveryError("Twilio answered without a message SID")
    return Created(sid=str(message.sid), status=str(message.status or "queued"))
