"""The calls part of the loopback Twilio API (`FakeTwilio` mixes it in): `POST
Calls.json` places an outgoing call (201, a `CA…` SID), `Calls/{sid}.json` moves or ends one
(once the call is over, ended by the test or by such an update, Twilio refuses: error 21220
to move it, 404 with error 20404 to end it again), and a conference participant's update;
every form the fake accepts is kept for the test to read. A call
recording's media (`Recordings/{RE…}.mp3`) is served only with the account's credentials,
and each fetch of it is counted."""

from __future__ import annotations

import email.utils
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

API_VERSION = "2010-04-01"


@dataclass(frozen=True, slots=True)
class Placed:
    """One call request the fake accepted: the call's SID and the form it was sent."""

    sid: str
    account_sid: str
    params: dict[str, list[str]]

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default


class CallsAPI:
    port: int
    calls: list[Placed]
    call_updates: list[Placed]
    participant_updates: list[Placed]
    _ended_calls: set[str]
    _recordings: dict[str, tuple[str, bytes]]  # RE… -> (account, MP3 bytes)
    recording_fetches: list[tuple[str, bool]]  # (RE…, whether the account's auth came with it)
    _lock: threading.Lock
    # provided by FakeTwilio, which mixes this class in
    _authorized: Callable[[web.Request, str], bool]
    _error: Callable[[int, int, str], web.Response]

    def placed_calls(self) -> list[Placed]:
        with self._lock:
            return list(self.calls)

    def updates_of(self, call_sid: str) -> list[Placed]:
        with self._lock:
            return [update for update in self.call_updates if update.sid == call_sid]

    def end_call(self, call_sid: str) -> None:
        """The call is over at Twilio's end: moving it now fails with error 21220, ending it
        with 20404."""
        with self._lock:
            self._ended_calls.add(call_sid)

    def add_recording(self, account_sid: str, audio: bytes) -> tuple[str, str]:
        """A finished recording of the account: its SID and the RecordingUrl Twilio
        reports (no extension; `.mp3` is appended to fetch it as MP3)."""
        sid = "RE" + secrets.token_hex(16)
        with self._lock:
            self._recordings[sid] = (account_sid, audio)
        base = f"http://127.0.0.1:{self.port}"
        return sid, f"{base}/{API_VERSION}/Accounts/{account_sid}/Recordings/{sid}"

    def wait_for_calls(self, count: int, timeout: float = 30.0) -> list[Placed]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(found := self.placed_calls()) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} calls placed, Twilio got {len(self.calls)}")

    @staticmethod
    async def _form(request: web.Request) -> dict[str, list[str]]:
        form = await request.post()
        params: dict[str, list[str]] = {}
        for key, value in form.items():
            params.setdefault(key, []).append(str(value))
        return params

    @staticmethod
    def _call_resource(
        sid: str, account_sid: str, params: dict[str, list[str]], status: str
    ) -> dict[str, Any]:
        now = email.utils.format_datetime(datetime.now(UTC))
        return {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "from": params.get("From", [None])[0],
            "to": params.get("To", [None])[0],
            "sid": sid,
            "status": status,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}.json",
        }

    async def _create_call(self, request: web.Request) -> web.Response:
        account_sid = request.match_info["account"]
        if not self._authorized(request, account_sid):
            return self._error(401, 20003, "Authenticate")
        params = await self._form(request)
        if not params.get("To"):
            return self._error(400, 21201, "No 'To' number is specified")
        if not params.get("From"):
            return self._error(400, 21213, "No 'From' number is specified")
        if not params.get("Url") and not params.get("Twiml"):
            return self._error(400, 21205, "Url parameter is required.")
        placed = Placed("CA" + uuid.uuid4().hex, account_sid, params)
        with self._lock:
            self.calls.append(placed)
        return web.json_response(
            self._call_resource(placed.sid, account_sid, params, "queued"), status=201
        )

    async def _update_call(self, request: web.Request) -> web.Response:
        account_sid, call_sid = request.match_info["account"], request.match_info["call"]
        if not self._authorized(request, account_sid):
            return self._error(401, 20003, "Authenticate")
        params = await self._form(request)
        status = params.get("Status", ["in-progress"])[0]
        with self._lock:
            ended = call_sid in self._ended_calls
            if not ended:
                self.call_updates.append(Placed(call_sid, account_sid, params))
                if status in ("completed", "canceled"):
                    self._ended_calls.add(call_sid)
        if ended and "Status" in params:
            # What Twilio answers to ending a call that is over (seen in pipecat-ai/pipecat
            # issue 2145, which pipecat then took as "already ended").
            path = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{call_sid}.json"
            return self._error(404, 20404, f"The requested resource {path} was not found")
        if ended:
            return self._error(400, 21220, "Call is not in-progress. Cannot redirect.")
        return web.json_response(self._call_resource(call_sid, account_sid, params, status))

    async def _update_participant(self, request: web.Request) -> web.Response:
        account_sid = request.match_info["account"]
        if not self._authorized(request, account_sid):
            return self._error(401, 20003, "Authenticate")
        params = await self._form(request)
        conference, participant = request.match_info["conference"], request.match_info["who"]
        with self._lock:
            self.participant_updates.append(
                Placed(f"{conference}/{participant}", account_sid, params)
            )
        return web.json_response(
            {
                "account_sid": account_sid,
                "conference_sid": conference,
                "call_sid": participant,
                "hold": params.get("Hold", ["false"])[0] == "true",
                "status": "connected",
            }
        )

    async def _recording(self, request: web.Request) -> web.Response:
        account_sid, name = request.match_info["account"], request.match_info["recording"]
        sid, _, extension = name.partition(".")
        authorized = self._authorized(request, account_sid)
        with self._lock:
            self.recording_fetches.append((sid, authorized))
            found = self._recordings.get(sid)
        if not authorized:
            return self._error(401, 20003, "Authenticate")
        if found is None or found[0] != account_sid or extension not in ("mp3", ""):
            return self._error(404, 20404, "The requested resource was not found")
        return web.Response(body=found[1], content_type="audio/mpeg")

    def _add_call_routes(self, app: web.Application, accounts: str) -> None:
        app.router.add_get(f"{accounts}/Recordings/{{recording}}", self._recording)
        app.router.add_post(f"{accounts}/Calls.json", self._create_call)
        app.router.add_post(f"{accounts}/Calls/{{call}}.json", self._update_call)
        app.router.add_post(
            f"{accounts}/Conferences/{{conference}}/Participants/{{who}}.json",
            self._update_participant,
        )
