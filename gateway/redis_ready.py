"""Waiting for Redis to be ready at start. A Redis that restarts with data on disk accepts
connections at once but answers every command with "LOADING Redis is loading the dataset
in memory" (`BusyLoadingError`) until its data is back. A process that starts then must not
die of it: the worker, the gateway and `switchboard up` all wait here, for a bounded time,
until `INFO persistence` says `loading:0`, and only then go on."""

from __future__ import annotations

import logging
import time

from redis import Redis
from redis.exceptions import BusyLoadingError, RedisError

from gateway.errors import ConfigurationError

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 120.0  # loading a few hundred MB from disk takes seconds, not minutes
POLL_SECONDS = 0.1


def _loaded(info: dict[str, object]) -> bool:
    return str(info.get("loading", "0")) == "0"


def wait_until_loaded(redis: Redis, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Return once Redis answers and has loaded its data; ConfigurationError, naming
    what was seen last, when that takes longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    said_loading = False
    while True:
        try:
            if _loaded(redis.info("persistence")):
                return
            last = "it is still loading its data"
        except BusyLoadingError:
            last = "it is still loading its data"
        except (RedisError, OSError) as error:
            last = f"it did not answer ({error})"
        if last.startswith("it is still loading") and not said_loading:
            log.info("Redis is loading its data from disk; waiting for it")
            said_loading = True
        if time.monotonic() >= deadline:
            raise ConfigurationError(f"Redis was not ready within {timeout:.0f} s: {last}")
        time.sleep(POLL_SECONDS)


def wait_for_url(url: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        wait_until_loaded(client, timeout)
    finally:
        client.close()
