"""A loopback stand-in for Twilio's REST API, and helpers to sign webhooks like Twilio.

`FakeTwilio` is a real HTTP server (aiohttp, in a thread of its own so that a worker
process and the test's event loop can both reach it) that answers the requests the real
`twilio` library makes: `POST /2010-04-01/Accounts/{sid}/Messages.json` with a Message
resource shaped like Twilio's (201); `Calls.json` (an outgoing call, 201), `Calls/{sid}.json`
(moving or ending a call; refused once the call is over) and a conference participant's
update, keeping every form for the test to read, or an error payload shaped like Twilio's
(`{"code", "message", "more_info", "status"}`), checking HTTP basic auth, the required
parameters and the 1,600-character limit; and media files behind the account's
credentials (with a redirect to the file, as Twilio does). Tests can queue failures
(`fail_next`) and refuse recipients (`refuse`, e.g. error 21610 for an opted-out number).

The signing helpers compute `X-Twilio-Signature` with the real `RequestValidator`."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.support.fake_twilio_calls import CallsAPI, Placed
from tests.support.ports import free_port

API_VERSION = "2010-04-01"
BODY_LIMIT = 1600
# What the tests configure: the public URL Twilio calls, a business number, a customer.
PUBLIC_URL = "https://switchboard.example.test"
BUSINESS = "+15550001111"
CUSTOMER = "+15557654321"


@dataclass(frozen=True, slots=True)
class Account:
    sid: str
    token: str


@dataclass(frozen=True, slots=True)
class Sent:
    """One Message resource the fake accepted."""

    sid: str
    account_sid: str
    params: dict[str, list[str]]
    at: float = field(default_factory=time.monotonic)  # when the fake received it

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    @property
    def media_urls(self) -> list[str]:
        return self.params.get("MediaUrl", [])


@dataclass(frozen=True, slots=True)
class Failure:
    status: int
    code: int
    message: str


@dataclass
class FakeTwilio(CallsAPI):
    port: int = field(default_factory=free_port)
    accounts: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    attempts: int = 0  # every POST to Messages.json, accepted or not
    _script: deque[Failure | None] = field(default_factory=deque)  # None: answer normally
    _refused: dict[str, Failure] = field(default_factory=dict)
    _media: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    calls: list[Placed] = field(default_factory=list)  # outgoing calls placed (agent legs)
    call_updates: list[Placed] = field(default_factory=list)  # moves and hang-ups, by CallSid
    participant_updates: list[Placed] = field(default_factory=list)  # sid: "CF…/label"
    _ended_calls: set[str] = field(default_factory=set)
    _recordings: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    recording_fetches: list[tuple[str, bool]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- set-up ---------------------------------------------------------------------------

    def add_account(self, sid: str | None = None, token: str | None = None) -> Account:
        account = Account(sid or "AC" + secrets.token_hex(16), token or secrets.token_hex(16))
        with self._lock:
            self.accounts[account.sid] = account.token
        return account

    def fail_next(self, status: int, code: int, message: str, times: int = 1) -> None:
        """The next `times` message creations (after any already scripted) fail."""
        with self._lock:
            self._script.extend(Failure(status, code, message) for _ in range(times))

    def pass_next(self, times: int = 1) -> None:
        """The next `times` message creations (after any already scripted) succeed."""
        with self._lock:
            self._script.extend(None for _ in range(times))

    def refuse(self, to: str, code: int = 21610, message: str | None = None) -> None:
        text = message or "Attempt to send to unsubscribed recipient"
        with self._lock:
            self._refused[to] = Failure(400, code, text)

    def add_media(self, account_sid: str, content: bytes, content_type: str) -> str:
        """A media URL of the account (the kind Twilio puts in MediaUrlN)."""
        media_sid = "ME" + secrets.token_hex(16)
        message_sid = "MM" + secrets.token_hex(16)
        with self._lock:
            self._media[media_sid] = (account_sid, content, content_type)
        path = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}"
        return self.base_url + path

    def messages(self) -> list[Sent]:
        with self._lock:
            return list(self.sent)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Sent]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(found := self.messages()) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} REST calls, Twilio got {len(self.messages())}")

    # --- the server ----------------------------------------------------------------------

    def _authorized(self, request: web.Request, account_sid: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        with self._lock:
            token = self.accounts.get(user)
        return user == account_sid and token is not None and secrets.compare_digest(token, password)

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status=status,
        )

    async def _create_message(self, request: web.Request) -> web.Response:
        account_sid = request.match_info["account"]
        form = await request.post()
        params: dict[str, list[str]] = {}
        for key, value in form.items():
            params.setdefault(key, []).append(str(value))
        with self._lock:
            self.attempts += 1
            failure = self._script.popleft() if self._script else None
        if not self._authorized(request, account_sid):
            return self._error(401, 20003, "Authenticate")
        if failure is not None:
            return self._error(failure.status, failure.code, failure.message)
        to = params.get("To", [""])[0]
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not params.get("From") and not params.get("MessagingServiceSid"):
            return self._error(400, 21603, "A 'From' phone number is required.")
        body = params.get("Body", [""])[0]
        if not body and not params.get("MediaUrl"):
            return self._error(400, 21602, "Message body is required.")
        if len(body.encode("utf-16-le")) // 2 > BODY_LIMIT:
            return self._error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        with self._lock:
            refused = self._refused.get(to)
        if refused is not None:
            return self._error(refused.status, refused.code, refused.message)
        prefix = "MM" if params.get("MediaUrl") else "SM"
        sent = Sent(prefix + uuid.uuid4().hex, account_sid, params)
        with self._lock:
            self.sent.append(sent)
        return web.json_response(self._resource(sent), status=201)

    @staticmethod
    def _resource(sent: Sent) -> dict[str, Any]:
        now = email.utils.format_datetime(datetime.now(UTC))
        base = f"/{API_VERSION}/Accounts/{sent.account_sid}/Messages/{sent.sid}"
        pooled = sent.get("MessagingServiceSid") and not sent.get("From")
        return {
            "account_sid": sent.account_sid,
            "api_version": API_VERSION,
            "body": sent.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sent.get("From"),
            "messaging_service_sid": sent.get("MessagingServiceSid"),
            "num_media": str(len(sent.media_urls)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sent.sid,
            "status": "accepted" if pooled else "queued",
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": sent.get("To"),
            "uri": f"{base}.json",
        }

    async def _media_resource(self, request: web.Request) -> web.StreamResponse:
        account_sid, media_sid = request.match_info["account"], request.match_info["media"]
        with self._lock:
            found = self._media.get(media_sid)
        if not self._authorized(request, account_sid):
            return self._error(401, 20003, "Authenticate")
        if found is None or found[0] != account_sid:
            return self._error(404, 20404, "The requested resource was not found")
        raise web.HTTPFound(f"/media-content/{media_sid}")

    async def _media_content(self, request: web.Request) -> web.Response:
        with self._lock:
            found = self._media.get(request.match_info["media"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[1], content_type=found[2])

    def _app(self) -> web.Application:
        app = web.Application()
        accounts = f"/{API_VERSION}/Accounts/{{account}}"
        self._add_call_routes(app, accounts)
        app.router.add_post(f"{accounts}/Messages.json", self._create_message)
        app.router.add_get(f"{accounts}/Messages/{{message}}/Media/{{media}}", self._media_resource)
        app.router.add_get("/media-content/{media}", self._media_content)
        return app

    def start(self) -> FakeTwilio:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._runner = web.AppRunner(self._app(), access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-twilio", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Twilio server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None


@contextmanager
def running_fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    try:
        yield fake
    finally:
        fake.stop()


# --- what Twilio sends us --------------------------------------------------------------


def sign(token: str, url: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """The X-Twilio-Signature Twilio would send for this URL and these POST parameters."""
    return str(RequestValidator(token).compute_signature(url, dict(params)))


def incoming_params(
    account: Account,
    *,
    from_: str,
    to: str,
    body: str = "",
    sid: str | None = None,
    media: Sequence[tuple[str, str]] = (),
    **extra: str,
) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS/MMS/WhatsApp message."""
    message_sid = sid or ("MM" if media else "SM") + uuid.uuid4().hex
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": message_sid,
        "NumMedia": str(len(media)),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": account.sid,
        "From": from_,
        "ApiVersion": API_VERSION,
        **extra,
    }
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    return params


def status_params(sent: Sent, status: str, error_code: str | None = None) -> dict[str, str]:
    """The form of a status callback for a message the fake accepted."""
    params = {
        "SmsSid": sent.sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": sent.get("To") or "",
        "MessageSid": sent.sid,
        "AccountSid": sent.account_sid,
        "From": sent.get("From") or "",
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        params["ErrorCode"] = error_code
    return params


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def post_signed(
    client: Any,
    url: str,
    params: Mapping[str, str],
    token: str,
    *,
    signed_params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """POST `params` to the app's test client as Twilio would call `url` (the public URL
    Twilio was configured with), signed with `token` over `signed_params` (default:
    the same parameters)."""
    signature = sign(token, url, signed_params if signed_params is not None else params)
    return await client.post(
        path_of(url),
        form=dict(params),
        headers={"X-Twilio-Signature": signature, **(headers or {})},
    )


# --- conversations for the channel's tests ------------------------------------------------


async def receive(
    services: Any,
    organization_id: int,
    account: Account,
    body: str,
    *,
    channel: str = "sms",
    from_: str = CUSTOMER,
    to: str = BUSINESS,
    **extra: str,
) -> Any:
    """Take an incoming message through the channel's parser and intake, as the webhook
    does after verifying it; returns intake's `Received`."""
    from messaging.twilio.inbound import parse_webhook
    from messaging.twilio.inbound import receive as receive_verified
    from tests.support.factories import intake_for

    prefix = "whatsapp:" if channel == "whatsapp" else ""
    params = incoming_params(account, from_=prefix + from_, to=prefix + to, body=body, **extra)
    inbound = parse_webhook(channel, organization_id, params)
    return await receive_verified(services, intake_for(services), inbound)


async def messages_in(services: Any, conversation_id: int) -> list[Any]:
    from sqlalchemy import select

    from gateway.models import Message

    async with services.db.transaction() as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return list(rows.all())


# --- a worker process that talks to the fake -----------------------------------------------


def worker_settings(fake: FakeTwilio, var_dir: str) -> dict[str, str]:
    """Environment for a worker process that sends through `fake`."""
    return {
        "SWITCHBOARD_TWILIO_API_BASE_URL": fake.base_url,
        "SWITCHBOARD_PUBLIC_URL": PUBLIC_URL,
        "SWITCHBOARD_VAR_DIR": var_dir,
    }


def run_worker_burst(database_url: str, redis_url: str, env: Mapping[str, str]) -> str:
    """A worker that runs until the queues are empty; returns its log."""
    import subprocess
    import sys

    from tests.support.worker import START, worker_env

    done = subprocess.run(
        [sys.executable, "-c", START, "burst", "60"],
        env=worker_env(database_url, redis_url, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


@contextmanager
def worker_running(database_url: str, redis_url: str, env: Mapping[str, str]) -> Iterator[None]:
    """A long-running worker (with its scheduler, which runs RQ's retries)."""
    import subprocess
    import sys

    from tests.support.worker import START, worker_env

    process = subprocess.Popen(
        [sys.executable, "-c", START, "forever", "0.5"],
        env=worker_env(database_url, redis_url, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
