"""When Twilio last reached each registered number: the time of the last correctly signed
incoming-message webhook per number (or Messaging Service), kept in one Redis hash so
every gateway process sees what the others received. `server.health` keeps the same kind
of time per channel; the admins' numbers page needs it per number, to tell which number's
webhook is set up and which is not. A failure to note the time is logged, never raised:
the webhook itself was accepted and stored."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

KEY = "switchboard:twilio:last-webhook"
log = logging.getLogger(__name__)


async def note_webhook(redis: Redis, address: str) -> None:
    try:
        await redis.hset(KEY, address, datetime.now(UTC).isoformat(timespec="seconds"))
    except RedisError as error:
        log.warning("could not note the time of %s's webhook (%s)", address, error)


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
