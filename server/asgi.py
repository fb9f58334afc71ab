"""The ASGI application for an external server, built from the environment at import:
`hypercorn server.asgi:app -w 4 -b 0.0.0.0:8080` (what `switchboard serve --workers N`
runs). Each server worker process imports it and so builds its own app and connections;
logging is set up from SWITCHBOARD_LOG_LEVEL unless the server configured it already."""

from __future__ import annotations

from gateway.settings import load_settings
from server.app import create_app
from server.cli import configure_logging

settings = load_settings()
configure_logging(settings.log_level)
app = create_app(settings)
