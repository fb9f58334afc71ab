"""A stand-in for Twilio's REST API on loopback, for trying calls on one machine without a
Twilio account (`switchboard call`). Point the gateway at it with
`SWITCHBOARD_TWILIO_API_BASE_URL=http://127.0.0.1:8089`: the calls it places to agents,
the moves and hang-ups of calls, and the texts it sends arrive here as events for the
phone simulator, which plays the phones. It answers like Twilio (a resource with a SID);
it does not check credentials, since it exists only on the developer's machine."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from aiohttp import web

PREFIX = "/2010-04-01/Accounts/{account}"


@dataclass(frozen=True, slots=True)
class Happened:
    """One REST request the gateway made: `kind` is "call" (a call placed), "update" (a
    call moved or ended) or "sms"; `sid` is the call's or message's SID."""

    kind: str
    sid: str
    params: dict[str, str]


@dataclass
class PhoneSandbox:
    port: int = 8089
    events: asyncio.Queue[Happened] = field(default_factory=asyncio.Queue)
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _form(self, request: web.Request) -> dict[str, str]:
        return {key: str(value) for key, value in (await request.post()).items()}

    async def _create_call(self, request: web.Request) -> web.Response:
        params = await self._form(request)
        if not params.get("To") or not params.get("Url"):
            return web.json_response(
                {"code": 21205, "message": "To and Url are required"}, status=400
            )
        sid = "CA" + uuid.uuid4().hex
        await self.events.put(Happened("call", sid, params))
        return web.json_response({"sid": sid, "status": "queued", "to": params["To"]}, status=201)

    async def _update_call(self, request: web.Request) -> web.Response:
        sid = request.match_info["call"]
        params = await self._form(request)
        await self.events.put(Happened("update", sid, params))
        return web.json_response({"sid": sid, "status": params.get("Status", "in-progress")})

    async def _message(self, request: web.Request) -> web.Response:
        params = await self._form(request)
        sid = "SM" + uuid.uuid4().hex
        await self.events.put(Happened("sms", sid, params))
        return web.json_response(
            {"sid": sid, "status": "queued", "to": params.get("To")}, status=201
        )

    async def _participant(self, request: web.Request) -> web.Response:
        return web.json_response({"call_sid": request.match_info["who"], "status": "connected"})

    async def start(self) -> PhoneSandbox:
        app = web.Application()
        app.router.add_post(f"{PREFIX}/Calls.json", self._create_call)
        app.router.add_post(f"{PREFIX}/Calls/{{call}}.json", self._update_call)
        app.router.add_post(f"{PREFIX}/Messages.json", self._message)
        app.router.add_post(
            f"{PREFIX}/Conferences/{{conference}}/Participants/{{who}}.json", self._participant
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
