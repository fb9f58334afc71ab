"""A loopback HTTP server that speaks the OpenAI chat-completions API, for tests of the
hosted-model responder and summaries. It runs a real aiohttp server in a thread of its own
(so it keeps answering while a test blocks on a worker process), records every request,
and answers from a script the test writes: text, a tool call, a delay beyond the client's
timeout, an HTTP error, or a body that is not JSON. Unscripted requests get a 500."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.ports import free_port

PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float
    peer: str = ""  # the client's address and port

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def system(self) -> str:
        return next((m["content"] for m in self.messages if m.get("role") == "system"), "")


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    content_type: str = "application/json"


def completion(message: dict[str, Any], finish_reason: str, model: str = "fake-model") -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


@dataclass
class FakeLLM:
    """Start with `with FakeLLM() as llm:`; point the client at `llm.base_url`."""

    api_key: str | None = None  # when set, requests without it get a 401 like the real API
    azure: bool = False  # expect the key in `api-key` and an `api-version` query parameter
    port: int = field(default_factory=free_port)
    requests: list[Recorded] = field(default_factory=list)
    # for each answered request, the seconds from its arrival to its answer: the model's
    # own time, scripted delay and all (a benchmark subtracts it)
    answer_times: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- scripting ---------------------------------------------------------------------

    def answer(self, answer: Answer) -> FakeLLM:
        with self._lock:
            self._script.append(answer)
        return self

    def answer_text(self, text: str, *, delay: float = 0.0) -> FakeLLM:
        message = {"role": "assistant", "content": text}
        return self.answer(Answer(body=completion(message, "stop"), delay=delay))

    def answer_tool_call(
        self, name: str, arguments: dict[str, Any] | str, *, content: str | None = None
    ) -> FakeLLM:
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call = {
            "id": "call_fake1",
            "type": "function",
            "function": {"name": name, "arguments": raw},
        }
        message = {"role": "assistant", "content": content, "tool_calls": [call]}
        return self.answer(Answer(body=completion(message, "tool_calls")))

    def answer_status(self, status: int, message: str = "server error") -> FakeLLM:
        body = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
        return self.answer(Answer(status=status, body=body))

    def answer_raw(self, body: bytes, content_type: str = "application/json") -> FakeLLM:
        return self.answer(Answer(body=body, content_type=content_type))

    def received(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    # --- the server --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        try:
            return await self._answer(request)
        finally:
            with self._lock:
                self.answer_times.append(time.perf_counter() - arrived)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"error": {"message": "body is not JSON"}}, status=400)
        with self._lock:
            self.requests.append(
                Recorded(
                    request.path,
                    dict(request.query),
                    dict(request.headers),
                    body,
                    time.time(),
                    _peer(request),
                )
            )
            scripted = self._script.popleft() if self._script else None
        if self.api_key is not None and not self._authorized(request):
            return web.json_response({"error": {"message": "Incorrect API key"}}, status=401)
        if scripted is None:
            return web.json_response({"error": {"message": "no scripted answer"}}, status=500)
        if scripted.delay:
            assert self._closing is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), scripted.delay)
        return web.Response(
            status=scripted.status, body=scripted.body, content_type=scripted.content_type
        )

    def _authorized(self, request: web.Request) -> bool:
        if self.azure:
            has_version = bool(request.query.get("api-version"))
            return has_version and request.headers.get("api-key") == self.api_key
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_post(PATH, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        loop.run_until_complete(site.start())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def start(self) -> FakeLLM:
        self._thread = threading.Thread(target=self._serve, name="fake-llm", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake chat-completions server did not start")
        return self

    def close(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        closing = self._closing
        if closing is not None:
            loop.call_soon_threadsafe(closing.set)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _peer(request: web.Request) -> str:
    """The client's address and port: the same for requests on one kept connection."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if peer else ""
