"""Several gateway processes on one port, each accepting on a socket of its own.

Hypercorn's own multi-process run binds one socket and hands it to every worker. An
asyncio worker then takes every connection waiting on it each time it wakes, so a burst of
new connections (a load balancer opening its pool, a client's keep-alive connections)
mostly lands on whichever worker woke first, and stays there: measured with 16 keep-alive
connections and 2 workers, one worker stored 4,148 messages and the other 52. Here each
worker binds its own socket with `SO_REUSEPORT`, and the kernel spreads new connections
over the sockets.

The parent only watches: when any worker stops (a crash, or the signal to stop: SIGINT,
SIGTERM or SIGHUP), the others are told to stop too and its exit code is returned, as
Hypercorn's run does. A parent killed outright takes its workers with it (on Linux)."""

from __future__ import annotations

import signal
from multiprocessing import get_context
from multiprocessing.connection import wait
from multiprocessing.synchronize import Event
from types import FrameType

from hypercorn.asyncio.run import asyncio_worker
from hypercorn.config import Config

from server.redis_server import die_with_parent

STOP_SECONDS = 30.0  # a worker's graceful stop (its own timeout is shorter)


def run_workers(config: Config) -> int:
    """Serve `config.application_path` with `config.workers` processes (at least 2)."""
    if config.workers < 2:
        raise ValueError("run_workers is for two or more workers")
    context = get_context("spawn")
    stop = context.Event()
    # The workers inherit "ignore SIGINT": the parent alone decides when they stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    workers = [context.Process(target=_serve, args=(config, stop)) for _ in range(config.workers)]
    for worker in workers:  # no sockets given: each worker binds its own (SO_REUSEPORT)
        worker.start()

    def stop_all(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), stop_all)
    wait([worker.sentinel for worker in workers])
    stop.set()
    for worker in workers:
        worker.join(STOP_SECONDS)
        if worker.is_alive():
            worker.terminate()
            worker.join()
    codes = [worker.exitcode or 0 for worker in workers]
    return next((code for code in codes if code != 0), 0)


def _serve(config: Config, stop: Event) -> None:
    """One worker: it binds its own socket, as no sockets are given."""
    die_with_parent()
    asyncio_worker(config, shutdown_event=stop)
