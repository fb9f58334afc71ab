"""How fast one visitor may send chat messages, and how many new visitor identities one
network address may take. Without the second limit, a sender could open token-less sockets
and get a fresh per-visitor allowance with each. The counts live in Redis, so the limits
hold however many gateway processes serve the widget. Each is a sliding window estimated
from two fixed counters (the current window, plus the previous one weighted by how much of
it still lies inside the window): two commands per hit, no burst of twice the limit at a
window boundary."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from gateway.errors import RateLimited

WINDOW_SECONDS = 60
PREFIX = "switchboard:widget-rate"
NEW_VISITOR_PREFIX = "switchboard:widget-new-visitors"


class SlidingWindow:
    """At most `limit` hits per `window` seconds for each key."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        limit: int,
        window: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window = window
        self.clock = clock

    async def allows(self, key: str) -> bool:
        """Count one hit for `key`; False when it is over the limit."""
        now = self.clock()
        slot = int(now // self.window)
        base = f"{self.prefix}:{key}"
        current, previous = f"{base}:{slot}", f"{base}:{slot - 1}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(current)
            pipe.expire(current, 2 * self.window)
            pipe.get(previous)
            count, _, before = await pipe.execute()
        elapsed = (now % self.window) / self.window
        return int(count) + int(before or 0) * (1 - elapsed) <= self.limit


class VisitorRateLimit:
    def __init__(
        self,
        redis: Redis,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.window = SlidingWindow(redis, PREFIX, per_minute, WINDOW_SECONDS, clock=clock)

    async def hit(self, organization_id: int, visitor_id: str) -> None:
        """Count one message; raises RateLimited when the visitor is over the limit."""
        if not await self.window.allows(f"{organization_id}:{visitor_id}"):
            raise RateLimited(
                f"you can send up to {self.per_minute} messages a minute; "
                "please wait a moment and try again"
            )


class NewVisitorLimit:
    """How many new visitor identities one address may take per hour, per organization.
    Generous, since an office or a mobile network puts many people behind one address."""

    def __init__(
        self, redis: Redis, per_hour: int, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.window = SlidingWindow(redis, NEW_VISITOR_PREFIX, per_hour, 3600, clock=clock)

    async def hit(self, organization_id: int, address: str) -> None:
        if not await self.window.allows(f"{organization_id}:{address}"):
            raise RateLimited(
                "too many new chats were started from your network; please try again later",
                code="too_many_new_visitors",
            )
