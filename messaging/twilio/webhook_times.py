"""When Twilio last reached each registered number: the time of the last correctly signed
incoming-message webhook per number (or Messaging Service), kept in one Redis hash so
every gateway process sees what the others received. `server.health` keeps the same kind
of time per channel; the admins' numbers page needs it per number, to tell which number's
webhook is set up and which is not. The writing is `gateway.time_notes`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.time_notes import note_time

KEY = "switchboard:twilio:last-webhook"
NOTE_EVERY_SECONDS = 10.0
log = logging.getLogger(__name__)


async def note_webhook(redis: Redis, address: str) -> None:
    """Note that Twilio reached `address` now, at most once per NOTE_EVERY_SECONDS in this
    process: the page says "just now" for anything under a minute anyway."""
    await note_time(redis, KEY, address, NOTE_EVERY_SECONDS)


async def last_webhooks(redis: Redis, addresses: Sequence[str]) -> dict[str, str | None]:
    """Each address's last webhook time (ISO 8601), or None when none was received since
    Redis was last emptied (or Redis cannot be read)."""
    if not addresses:
        return {}
    try:
        values = await redis.hmget(KEY, list(addresses))
    except RedisError as error:  # the page still lists the numbers, without the times
        log.warning("could not read the numbers' webhook times (%s)", error)
        return dict.fromkeys(addresses)
    return {
        address: value.decode() if isinstance(value, bytes) else value
        for address, value in zip(addresses, values, strict=True)
    }
