"""Twilio's REST API, through the `twilio` library and its aiohttp client. Each call gets
a session of its own, closed afterwards: the same code runs in the gateway's event loop and
in a worker's, which is replaced after a failed job, and a pool must not outlive its loop.
The base URL comes from the settings (Twilio's by default; a regional edge or a local
sandbox otherwise). Vendor errors are translated here: network failures, timeouts, 429 and
5xx are transient (worth retrying); other 4xx answers are permanent and carry Twilio's
error code. Messages (SMS, WhatsApp) and calls (the voice channel's agent legs and call
moves) both go through here."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from messaging.twilio.errors import reference, sentence

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
    return PermanentDeliveryError(
        sentence(code, "Twilio refused the message"),
        provider_code=code,
        detail=reference(code, str(raw)),
    )


@contextlib.asynccontextmanager
async def _client(base_url: str, credentials: Credentials) -> AsyncIterator[Client]:
    """A client on a session of its own, with vendor errors translated."""
    http = AsyncTwilioHttpClient(pool_connections=False)
    timeout = aiohttp.ClientTimeout(total=REST_TIMEOUT_SECONDS)
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
            yield client
    except (TwilioRestException, TwilioServiceException) as error:
        raise translate(error) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        log.warning("Twilio REST call failed: %s", type(error).__name__)
        raise TransientDeliveryError(
            f"could not reach Twilio: {type(error).__name__} {error}".strip()
        ) from None


def _given(value: Any) -> Any:
    return values.unset if value is None or value == [] or value == "" else value


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
    async with _client(base_url, credentials) as client:
        message = await client.messages.create_async(
            to=to,
            from_=_given(from_),
            body=_given(body),
            media_url=_given(list(media_urls)),
            status_callback=_given(status_callback),
            messaging_service_sid=_given(messaging_service_sid),
        )
    if not message.sid:
        raise TransientDeliveryError("Twilio answered without a message SID")
    return Created(sid=str(message.sid), status=str(message.status or "queued"))


CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


async def create_call(
    base_url: str,
    credentials: Credentials,
    *,
    to: str,
    from_: str,
    url: str,
    status_callback: str,
    ring_seconds: int,
    amd_callback: str | None = None,
) -> Created:
    """Place an outgoing call whose TwiML comes from `url` (POST), with every progress
    event posted to `status_callback` and, when `amd_callback` is given, answering
    machine detection running in the background (AsyncAmd)."""
    async with _client(base_url, credentials) as client:
        call = await client.calls.create_async(
            to=to,
            from_=from_,
            url=url,
            method="POST",
            timeout=ring_seconds,
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=CALL_EVENTS,
            machine_detection="Enable" if amd_callback else values.unset,
            async_amd="true" if amd_callback else values.unset,
            async_amd_status_callback=_given(amd_callback),
            async_amd_status_callback_method="POST" if amd_callback else values.unset,
        )
    if not call.sid:
        raise TransientDeliveryError("Twilio answered without a call SID")
    return Created(sid=str(call.sid), status=str(call.status or "queued"))


async def update_call(
    base_url: str,
    credentials: Credentials,
    call_sid: str,
    *,
    url: str | None = None,
    status: str | None = None,
) -> Created:
    """Move a live call to new TwiML (`url`, POST), or end it (`status` "canceled" for a
    call still ringing, "completed" for one in progress)."""
    async with _client(base_url, credentials) as client:
        call = await client.calls(call_sid).update_async(
            url=_given(url),
            method="POST" if url else values.unset,
            status=_given(status),
        )
    return Created(sid=str(call.sid or call_sid), status=str(call.status or ""))


async def update_participant(
    base_url: str,
    credentials: Credentials,
    conference_sid: str,
    participant: str,
    *,
    hold: bool | None = None,
    hold_url: str | None = None,
    announce_url: str | None = None,
) -> None:
    """Put a conference participant (by CallSid or label) on hold or back, or play it an
    announcement."""
    async with _client(base_url, credentials) as client:
        await (
            client.conferences(conference_sid)
            .participants(participant)
            .update_async(
                hold=values.unset if hold is None else hold,
                hold_url=_given(hold_url),
                hold_method="POST" if hold_url else values.unset,
                announce_url=_given(announce_url),
                announce_method="POST" if announce_url else values.unset,
            )
        )
