"""The widget round trip's baseline server: a bare Quart app whose only route is a WebSocket
that sends every frame straight back. Served by the same hypercorn command as the gateway,
it measures what the server, the WebSocket framing and loopback cost on their own:
`hypercorn bench.echo_app:app`."""

from __future__ import annotations

from quart import Quart, websocket

app = Quart(__name__)


@app.websocket("/ws")
async def echo() -> None:
    await websocket.accept()
    while True:
        await websocket.send(await websocket.receive())
