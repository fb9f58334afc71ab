"""How many login attempts an email address and a client address may make, counted in
Redis so the limit holds across gateway processes. Each attempt counts before the password
is checked (so parallel guesses count too); a successful login clears the email's count and
takes its own attempt back from the client address, so a busy office behind one address
is limited only by its failures; a refused attempt is not counted. The window slides (15
minutes by default): each key is a sorted set of attempt times, so no window boundary lets
a burst of twice the limit through, and an attempt is forgotten a window after it was made."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable

from redis.asyncio import Redis

from gateway.errors import RateLimited

PREFIX = "switchboard:login"
WINDOW_SECONDS = 15 * 60
PER_EMAIL = 5
PER_ADDRESS = 50


class TooManyLogins(RateLimited):
    """Refused before the password is checked; `retry_after` is when one more may come."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "too many login attempts; wait a few minutes and try again", code="too_many_logins"
        )
        self.retry_after = retry_after


class LoginLimit:
    def __init__(
        self,
        redis: Redis,
        *,
        per_email: int = PER_EMAIL,
        per_address: int = PER_ADDRESS,
        window_seconds: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.per_email = per_email
        self.per_address = per_address
        self.window = window_seconds
        self.clock = clock

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return f"{PREFIX}:email:{digest}", f"{PREFIX}:addr:{address}"

    async def attempt(self, email: str, address: str) -> None:
        """Count one attempt; TooManyLogins (without checking the password) when over."""
        now = self.clock()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        counts: list[int] = []
        oldest: list[float] = []
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(email, address):
                pipe.zremrangebyscore(key, "-inf", now - self.window)
                pipe.zadd(key, {member: now})
                pipe.zcard(key)
                pipe.zrange(key, 0, 0, withscores=True)
                pipe.expire(key, self.window)
            results = await pipe.execute()
        for offset in (0, 5):
            counts.append(int(results[offset + 2]))
            oldest.append(float(results[offset + 3][0][1]) if results[offset + 3] else now)
        limits = (self.per_email, self.per_address)
        over = [
            first
            for count, limit, first in zip(counts, limits, oldest, strict=True)
            if count > limit
        ]
        if over:
            # A refused attempt is not kept: the sets stay small however hard someone
            # hammers, and the account opens again a window after its earliest attempt.
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in self._keys(email, address):
                    pipe.zrem(key, member)
                await pipe.execute()
            frees_at = max(over) + self.window
            raise TooManyLogins(max(1, math.ceil(frees_at - now)))

    async def succeeded(self, email: str, address: str) -> None:
        email_key, address_key = self._keys(email, address)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(email_key)
            pipe.zpopmax(address_key)  # this login's own attempt, the latest
            await pipe.execute()
