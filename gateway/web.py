"""What request handlers share: the per-process services (`AppServices`, created when the
server starts and reached with `app_services()`), and the translation of Switchboard errors
into JSON answers with a clear message."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from quart import Quart, current_app, jsonify
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from gateway.db import Database
from gateway.errors import SwitchboardError
from gateway.events import EventHub
from gateway.intake import Intake
from gateway.runtime import Services

log = logging.getLogger(__name__)
EXTENSION = "switchboard"


@dataclass
class AppServices:
    services: Services
    intake: Intake
    hub: EventHub


def app_services() -> AppServices:
    state: AppServices = current_app.extensions[EXTENSION]
    return state


def database() -> Database:
    """The database of the app serving this request."""
    return app_services().services.db


def install_error_handlers(app: Quart) -> None:
    @app.errorhandler(SwitchboardError)
    async def _switchboard_error(error: SwitchboardError) -> ResponseReturnValue:
        if error.status >= 500:
            log.exception("request failed", exc_info=error)
        return jsonify(error.to_json()), error.status

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> ResponseReturnValue:
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify({"error": code, "message": error.description}), error.code or 500
