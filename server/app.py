"""The Quart app factory: it wires the services, the channels of every plug-in
(`server.plugins`) with their blueprints, and the core's, handoff's and the agents' pages'
blueprints. Feature imports stay inside `create_app`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from quart import Quart, jsonify, send_from_directory
from quart.json.provider import DefaultJSONProvider
from quart.typing import ResponseReturnValue
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import text

from gateway import auth, turns
from gateway.channels import ChannelRegistry
from gateway.db import Database, PoolSize
from gateway.events import EventHub, EventPublisher
from gateway.inputs import install as install_inputs
from gateway.intake import Intake
from gateway.plugins import ChannelPlugin, build_registry
from gateway.queues import JobQueue
from gateway.runtime import Services, close_services, settle_heap
from gateway.settings import Settings
from gateway.web import EXTENSION, AppServices, app_services, install_error_handlers
from handoff.answer_now import AnsweringNow
from server.health import channel_states
from server.health import install as install_health
from server.metrics import install as install_metrics
from server.plugins import PLUGINS

STATIC = Path(__file__).parent / "static"
DRAIN_SECONDS = 10.0  # as long as a turn may keep a caller waiting, then the jobs take over
log = logging.getLogger(__name__)


class IsoJSONProvider(DefaultJSONProvider):
    """Datetimes as ISO 8601 (with their UTC offset) rather than HTTP dates."""

    @staticmethod
    def default(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        return DefaultJSONProvider.default(value)


def create_app(settings: Settings, plugins: Sequence[ChannelPlugin] = PLUGINS) -> Quart:
    from desk import blueprints as desk_blueprints
    from desk import upload_request_class
    from gateway.channels_api import channels_api
    from gateway.media_routes import media
    from gateway.openapi import openapi

    app = Quart(__name__, static_folder=None)
    app.json = IsoJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.request_class = upload_request_class(settings.media_max_bytes)  # media uploads only
    app.config["SWITCHBOARD_SETTINGS"] = settings
    install_error_handlers(app)
    install_inputs(app)  # before any route: ids in routes are checked

    @app.before_serving
    async def start_services() -> None:
        redis_url = settings.require_redis_url()
        settings.require_secret_key()
        async_redis = AsyncRedis.from_url(redis_url)
        events = EventPublisher(async_redis)
        db = Database(
            settings.resolved_database_url,
            echo=settings.sql_echo,
            background_checkpoints=True,
            pool=PoolSize(
                settings.database_pool_size,
                settings.database_max_overflow,
                settings.database_pool_timeout_seconds,
            ),
        )
        jobs = JobQueue(Redis.from_url(redis_url))
        services = Services(settings, db, jobs, events, ChannelRegistry(), AnsweringNow())
        services.channels = build_registry(plugins, services)
        app.extensions[EXTENSION] = AppServices(
            services=services, intake=Intake(db, jobs, events), hub=EventHub(async_redis)
        )
        await asyncio.to_thread(auth.warm_up)
        settle_heap()

    @app.after_serving
    async def stop_services() -> None:
        await turns.drain(DRAIN_SECONDS)  # callers' turns still being answered
        state: AppServices = app.extensions.pop(EXTENSION)
        await state.hub.close()
        await close_services(state.services)

    plugin_names: list[str] = []  # the plug-ins with endpoints, filled in below

    @app.get("/healthz")
    async def healthz() -> ResponseReturnValue:
        services = app_services().services
        checks: dict[str, str] = {}
        try:
            async with services.db.transaction() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            await services.events.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        healthy = all(value == "ok" for value in checks.values())
        channels = None
        if healthy:
            channels = await channel_states(services.events.redis, sorted(set(plugin_names)))
            for plugin in plugins:
                if plugin.health is not None:
                    state = channels.setdefault(plugin.name, {})
                    state.update(await plugin.health(services))
        return jsonify(
            {"status": "ok" if healthy else "degraded", **checks, "channels": channels}
        ), 200 if healthy else 503

    @app.get("/")
    async def demo_page() -> ResponseReturnValue:
        return await send_from_directory(STATIC, "demo.html")

    @app.get("/favicon.ico")
    async def favicon() -> ResponseReturnValue:
        return await send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml")

    app.register_blueprint(openapi)
    for blueprint in desk_blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(media)
    app.register_blueprint(channels_api)
    plugin_blueprints = {}
    for plugin in plugins:
        for blueprint in plugin.blueprints():
            app.register_blueprint(blueprint)
            plugin_blueprints[blueprint.name] = plugin.name
    install_metrics(app, settings, plugin_blueprints)
    install_health(app, plugin_blueprints)
    plugin_names.extend(plugin_blueprints.values())
    return app
