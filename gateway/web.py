"""What request handlers share: the per-process services (`AppServices`, created when the
server starts and reached with `app_services()`), and the translation of Switchboard errors
into JSON answers with a clear message."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from quart import Quart, current_app, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from werkzeug.exceptions import HTTPException

from gateway.db import Database
from gateway.errors import SwitchboardError
from gateway.events import EventHub
from gateway.intake import Intake
from gateway.runtime import Services

log = logging.getLogger(__name__)
EXTENSION = "switchboard"
RETRY_AFTER_SECONDS = 5


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

    @app.errorhandler(SQLAlchemyTimeout)
    async def _database_busy(error: SQLAlchemyTimeout) -> ResponseReturnValue:
        # Every pooled connection stayed taken past the pool's timeout. Intake is idempotent
        # on the provider's id, so a sender told to come back stores the message once.
        log.warning("no database connection came free in time: %s", error)
        body = {"error": "busy", "message": "Switchboard is busy; please try again shortly."}
        return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> ResponseReturnValue:
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify({"error": code, "message": error.description}), error.code or 500
