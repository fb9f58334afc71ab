"""A Redis that takes a few seconds to load its data at start, as the managed Redis does
after `switchboard up` has taken thousands of messages: while it loads it accepts
connections and answers INFO, but every data command fails with BusyLoadingError. The
data set is made with DEBUG POPULATE and saved; `key-load-delay` slows the reload down
and a small `loading-process-events-interval-bytes` lets it answer while loading."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import BusyLoadingError

from tests.support.ports import free_port
from tests.support.servers import find_redis_server

KEYS = 20_000


def _server(directory: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    command = [
        find_redis_server(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--logfile", str(directory / "redis.log"),
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def _wait_answering(port: int, timeout: float = 10.0) -> None:
    client = Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                client.info("server")
                return
            except (OSError, BusyLoadingError, ConnectionError):
                time.sleep(0.02)
            except Exception:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server on {port} did not answer")
    finally:
        client.close()


def write_dataset(directory: Path, keys: int = KEYS) -> None:
    """A dump.rdb with `keys` keys in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = _server(directory, port, "--enable-debug-command", "yes")
    try:
        _wait_answering(port)
        client = Redis(port=port)
        client.execute_command("DEBUG", "POPULATE", keys)
        client.save()
        client.close()
    finally:
        process.terminate()
        process.wait(10)


def start_loading(directory: Path, delay_us: int = 100) -> tuple[subprocess.Popen[bytes], int]:
    """Start a Redis on the dataset in `directory` that loads it slowly (about
    keys times delay_us); returns the process and its port once it answers INFO."""
    port = free_port()
    process = _server(
        directory,
        port,
        "--key-load-delay",
        str(delay_us),
        "--loading-process-events-interval-bytes",
        "1024",
    )
    _wait_answering(port)
    return process, port
