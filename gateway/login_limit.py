"""How many login attempts an email address and a client address may make, counted in
Redis so the limit holds across gateway processes. Each attempt counts before the password
is checked (so parallel guesses count too); a successful login clears the email's count and
takes its own attempt back from the client address, so a busy office behind one address
is limited only by its failures. Counts are per fixed window (15 minutes by default)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from redis.asyncio import Redis

from gateway.errors import RateLimited

PREFIX = "switchboard:login"
WINDOW_SECONDS = 15 * 60
PER_EMAIL = 5
PER_ADDRESS = 50


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
        window = int(self.clock() // self.window)
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return f"{PREFIX}:email:{digest}:{window}", f"{PREFIX}:addr:{address}:{window}"

    async def attempt(self, email: str, address: str) -> None:
        """Count one attempt; RateLimited (without checking the password) when over."""
        email_key, address_key = self._keys(email, address)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(email_key)
            pipe.expire(email_key, self.window)
            pipe.incr(address_key)
            pipe.expire(address_key, self.window)
            by_email, _, by_address, _ = await pipe.execute()
        if int(by_email) > self.per_email or int(by_address) > self.per_address:
            raise RateLimited(
                "too many login attempts; wait a few minutes and try again",
                code="too_many_logins",
            )

    async def succeeded(self, email: str, address: str) -> None:
        email_key, address_key = self._keys(email, address)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(email_key)
            pipe.decr(address_key)
            await pipe.execute()

    def retry_after(self) -> int:
        """Seconds until the current window ends."""
        return int(self.window - self.clock() % self.window) + 1
