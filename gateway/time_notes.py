"""When something last happened, kept in a Redis hash every process can read (a webhook's
last arrival, per channel plug-in or per number), written at most once per interval by each
process: a burst costs one Redis write, not one per request. A failure to write is logged,
never raised: what happened was already accepted."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from redis.asyncio import Redis
from redis.exceptions import RedisError

_MAX_ENTRIES = 10_000
# per Redis client and hash (one client per process in production; tests build one per test)
_noted: WeakKeyDictionary[Redis, dict[tuple[str, str], float]] = WeakKeyDictionary()
log = logging.getLogger(__name__)


async def note_time(redis: Redis, key: str, name: str, every_seconds: float) -> None:
    """Set `name` in the hash `key` to now (ISO 8601, to the second), unless this process
    did so less than `every_seconds` ago."""
    now, noted = time.monotonic(), _noted.setdefault(redis, {})
    if now - noted.get((key, name), -every_seconds) < every_seconds:
        return
    if len(noted) >= _MAX_ENTRIES:
        noted.clear()
    noted[(key, name)] = now  # before the await: concurrent requests skip the write
    try:
        await redis.hset(key, name, datetime.now(UTC).isoformat(timespec="seconds"))
    except RedisError as error:
        log.warning("could not note the time of %s in %s (%s)", name, key, error)
