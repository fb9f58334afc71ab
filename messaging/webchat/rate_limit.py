"""How fast one visitor may send chat messages. The count lives in Redis, so the limit
holds however many gateway processes serve the widget. It is a sliding window estimated
from two fixed one-minute counters (the current one, plus the previous one weighted by how
much of it still lies inside the window): two commands per message, no burst of twice the
limit at a minute boundary."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from gateway.errors import RateLimited

WINDOW_SECONDS = 60
PREFIX = "switchboard:widget-rate"


class VisitorRateLimit:
    def __init__(
        self,
        redis: Redis,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.per_minute = per_minute
        self.clock = clock

    async def hit(self, organization_id: int, visitor_id: str) -> None:
        """Count one message; raises RateLimited when the visitor is over the limit."""
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        key = f"{PREFIX}:{organization_id}:{visitor_id}"
        current, previous = f"{key}:{window}", f"{key}:{window - 1}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(current)
            pipe.expire(current, 2 * WINDOW_SECONDS)
            pipe.get(previous)
            count, _, before = await pipe.execute()
        elapsed = (now % WINDOW_SECONDS) / WINDOW_SECONDS
        estimate = int(count) + int(before or 0) * (1 - elapsed)
        if estimate > self.per_minute:
            raise RateLimited(
                f"you can send up to {self.per_minute} messages a minute; "
                "please wait a moment and try again"
            )
