"""Readiness of Redis means its data is loaded. A Redis restarting with data on disk
answers INFO at once but refuses data commands (BusyLoadingError) until loaded; the wait
in `gateway.redis_ready` returns only after that, and gives up, saying why, after its
bound."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import BusyLoadingError

from gateway.errors import ConfigurationError
from gateway.redis_ready import wait_until_loaded
from tests.support.loading_redis import start_loading, write_dataset


@pytest.fixture
def loading_redis(tmp_path: Path) -> Iterator[Redis]:
    write_dataset(tmp_path)
    process, port = start_loading(tmp_path, delay_us=300)  # about 6 s of loading
    client = Redis(port=port, socket_timeout=5)
    try:
        yield client
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_answering_info_is_not_ready_and_the_wait_lasts_until_the_data_is_loaded(
    loading_redis: Redis,
) -> None:
    with pytest.raises(BusyLoadingError):
        loading_redis.get("key:1")
    assert loading_redis.info("persistence")["loading"] == 1  # what "INFO answers" meant

    wait_until_loaded(loading_redis, timeout=60)

    assert loading_redis.info("persistence")["loading"] == 0
    assert loading_redis.dbsize() == 20_000


def test_the_wait_is_bounded_and_says_why(loading_redis: Redis) -> None:
    with pytest.raises(ConfigurationError, match="still loading its data"):
        wait_until_loaded(loading_redis, timeout=0.3)
