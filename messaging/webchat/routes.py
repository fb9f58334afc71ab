"""The web chat edge: the widget script, the widget's WebSocket and the demo page's key.
The script is the one `widget_script` joined from its parts at start-up, served with a
five-minute public cache and revalidated by its ETag. The socket handshake checks the
widget key and the page's origin before anything else; `VisitorSocket` serves the
connection from there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from quart import Blueprint, Response, jsonify, request, websocket
from quart.typing import ResponseReturnValue

from gateway.errors import NotFound
from gateway.origins import normalize_origin
from gateway.settings import Settings
from gateway.web import app_services
from messaging.webchat import frames, store
from messaging.webchat.origins import origin_allowed
from messaging.webchat.visitor_socket import VisitorSocket
from messaging.webchat.widget_script import WIDGET

SCRIPT_CACHE_SECONDS = 300

webchat = Blueprint("webchat", __name__)


@webchat.get("/widget.js")
async def widget_script() -> ResponseReturnValue:
    # The headers a static file gets (what this script had when it was one file), with
    # conditional and range requests answered from the bytes joined at start-up.
    response = Response(WIDGET.body, mimetype="application/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = SCRIPT_CACHE_SECONDS
    response.expires = datetime.now(UTC) + timedelta(seconds=SCRIPT_CACHE_SECONDS)
    response.last_modified = WIDGET.last_modified
    response.set_etag(WIDGET.etag)
    return await response.make_conditional(
        request, accept_ranges=True, complete_length=len(WIDGET.body)
    )


@webchat.get("/demo/widget-key")
async def demo_widget_key() -> ResponseReturnValue:
    key = await store.demo_widget_key(app_services().services.db)
    if key is None:
        raise NotFound("there is no demo organization; `switchboard up` creates one")
    return jsonify({"widget_key": key})


@webchat.websocket("/widget/ws")
async def widget_socket() -> None:
    state = app_services()
    await websocket.accept()
    widget = await store.find_widget(state.services.db, websocket.args.get("key", ""))
    if widget is None:
        await _refuse(
            frames.CLOSE_UNKNOWN_KEY,
            "unknown_widget_key",
            "this widget key is not known; check the data-key of the script tag",
        )
        return
    allowed = [*widget.allowed_origins, *_own_origins(state.services.settings)]
    if not origin_allowed(websocket.headers.get("Origin"), websocket.headers.get("Host"), allowed):
        await _refuse(
            frames.CLOSE_ORIGIN,
            "origin_not_allowed",
            "this website is not allowed to use this chat widget",
        )
        return
    await VisitorSocket(websocket, state, widget).run()


async def _refuse(close_code: int, code: str, message: str) -> None:
    await websocket.send_json(frames.error(code, message))
    await websocket.close(close_code)


def _own_origins(settings: Settings) -> list[str]:
    """The gateway's public address also counts as its own origin (behind a proxy the
    Host header may be an internal name)."""
    if not settings.public_url:
        return []
    parts = urlsplit(settings.public_url)
    origin = normalize_origin(f"{parts.scheme}://{parts.netloc}")
    return [] if origin is None else [origin]
