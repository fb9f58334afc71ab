"""An ASGI app that answers every request with the id of the process serving it (and names
the event loop it runs on in a header), for the tests of several server processes on one
port."""

from __future__ import annotations

import asyncio
import os
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = str(os.getpid()).encode()
    loop = type(asyncio.get_running_loop())
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-length", str(len(body)).encode()),
                (b"x-event-loop", f"{loop.__module__}.{loop.__qualname__}".encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
