"""When Twilio last reached each registered number: the time of the last correctly signed
incoming-message webhook per number (or Messaging Service), kept in one Redis hash so
every gateway process sees what the others received. `server.health` keeps the same kind
of time per channel; the admins' numbers page needs it per number, to tell which number's
webhook is set up and which is not. A failure to note the time is logged, never raised:
the webhook itself was accepted and stored."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from redis.asyncio import Redis
from redis.exceptions import RedisError

KEY = "switchboard:twilio:last-webhook"
NOTE_EVERY_SECONDS = 10.0
_NOTED_ENTRIES = 10_000
# per Redis client (one per process in production; tests build one per test)
_noted: WeakKeyDictionary[Redis, dict[str, float]] = WeakKeyDictionary()
log = logging.getLogger(__name__)


async def note_webhook(redis: Redis, address: str) -> None:
    """Note that Twilio reached `address` now, at most once per NOTE_EVERY_SECONDS in this
    process: a burst of messages (or Twilio's retries) costs one Redis write, not one each,
    and the page says "just now" for anything under a minute anyway."""
    now, noted = time.monotonic(), _noted.setdefault(redis, {})
    if now - noted.get(address, -NOTE_EVERY_SECONDS) < NOTE_EVERY_SECONDS:
        return
    if len(noted) >= _NOTED_ENTRIES:
        noted.clear()
    noted[address] = now  # before the await: concurrent requests skip the write
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
