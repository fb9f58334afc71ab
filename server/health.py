"""What `GET /healthz` says about the channels: when each channel plug-in last accepted a
request posted to its endpoints (a provider's webhook, such as Twilio's for an incoming
SMS or a call). The time is kept in one Redis hash, so whichever gateway process answers
/healthz knows what the others received; a plug-in that has received nothing since Redis
was last emptied shows `null`. Only times are shown: no number, account or secret."""

from __future__ import annotations

from collections.abc import Mapping

from quart import Quart, Response, request
from redis.asyncio import Redis

from gateway.time_notes import note_time
from gateway.web import app_services
from messaging.twilio.webhook_check import CHECK_HEADER

LAST_WEBHOOK_KEY = "switchboard:last-webhook"


async def channel_states(redis: Redis, plugins: list[str]) -> dict[str, dict[str, object]]:
    """Each plug-in with endpoints, and when it last accepted a webhook."""
    stored = await redis.hgetall(LAST_WEBHOOK_KEY)
    times = {_text(key): _text(value) for key, value in stored.items()}
    return {plugin: {"last_webhook_received": times.get(plugin)} for plugin in plugins}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def install(app: Quart, plugin_blueprints: Mapping[str, str]) -> None:
    """Note the time of each webhook a plug-in's blueprint accepts (once a second per
    process however many webhooks it takes: the time is kept to the second)."""

    @app.after_request
    async def note_webhook(response: Response) -> Response:
        plugin = plugin_blueprints.get((request.blueprint or "").split(".", 1)[0])
        if CHECK_HEADER in response.headers:
            return response  # an admin's test of the webhook URL, not a provider's webhook
        if plugin is not None and request.method == "POST" and response.status_code < 400:
            redis = app_services().services.events.redis
            await note_time(redis, LAST_WEBHOOK_KEY, plugin, every_seconds=1.0)
        return response
