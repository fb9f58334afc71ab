"""Several gateway processes on one port, each accepting on a socket of its own.

Hypercorn's own multi-process run binds one socket and hands it to every worker. An
asyncio worker then takes every connection waiting on it each time it wakes, so a burst of
new connections (a load balancer opening its pool, a client's keep-alive connections)
mostly lands on whichever worker woke first, and stays there: measured with 16 keep-alive
connections and 2 workers, one worker stored 4,148 messages and the other 52. Here each
worker binds its own socket with `SO_REUSEPORT`, and the kernel spreads new connections
over the sockets. A worker listens before its app starts, so a connection the kernel gives
it meanwhile waits rather than being refused.

The parent only watches: when any worker stops (a crash, or the signal to stop: SIGINT or
SIGTERM), the others are told to stop too and its exit code is returned, as Hypercorn's
run does. SIGHUP starts every worker again, with the code and `.env` as they are now: the
new workers listen first, then the old ones finish what they hold and stop, so the port
never stops listening (a connection still waiting in an old worker's queue as it closes
is reset, as at any restart of a `SO_REUSEPORT` socket). If a new worker cannot start
(its code does not load, or it does not listen within two minutes), the old ones keep
serving. A parent killed outright takes its workers with it (on Linux)."""

from __future__ import annotations

import importlib
import logging
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import wait
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.synchronize import Event, Semaphore
from types import FrameType

from hypercorn.asyncio.run import asyncio_worker, uvloop_worker
from hypercorn.config import Config

from gateway import event_loop
from server.redis_server import die_with_parent

log = logging.getLogger(__name__)

STOP_SECONDS = 30.0  # a worker's graceful stop (its own timeout is shorter)
START_SECONDS = 120.0  # a new worker's start, on SIGHUP, before the old ones stop


@dataclass
class _Generation:
    """Workers started together, told to stop together."""

    workers: list[SpawnProcess]
    stop: Event
    ready: Semaphore  # released by each worker once it listens

    @classmethod
    def start(cls, context: SpawnContext, config: Config) -> _Generation:
        stop, ready = context.Event(), context.Semaphore(0)
        # The workers inherit "ignore SIGINT": the parent alone decides when they stop.
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        workers = [
            context.Process(target=_serve, args=(config, stop, ready))
            for _ in range(config.workers)
        ]
        for worker in workers:
            worker.start()
        signal.signal(signal.SIGINT, handler)
        return cls(workers, stop, ready)

    def listening(self) -> bool:
        """True once every worker has loaded the app's code and listens; False if one
        ended first or took too long."""
        deadline = time.monotonic() + START_SECONDS
        for _ in self.workers:
            while not self.ready.acquire(timeout=0.2):
                if time.monotonic() > deadline or not all(w.is_alive() for w in self.workers):
                    return False
        return True

    def stopped(self) -> int:
        """Stop every worker (ending those that take too long); the first error."""
        self.stop.set()
        for worker in self.workers:
            worker.join(STOP_SECONDS)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        codes = [worker.exitcode or 0 for worker in self.workers]
        return next((code for code in codes if code != 0), 0)


def run_workers(config: Config) -> int:
    """Serve `config.application_path` with `config.workers` processes (at least 2)."""
    if config.workers < 2:
        raise ValueError("run_workers is for two or more workers")
    context = get_context("spawn")
    asked: list[str] = []
    wake, woken = socket.socketpair()

    def asking(what: str) -> Callable[[int, FrameType | None], None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            asked.append(what)
            wake.send(b"\0")

        return handler

    signal.signal(signal.SIGINT, asking("stop"))
    signal.signal(signal.SIGTERM, asking("stop"))
    signal.signal(signal.SIGHUP, asking("start again"))
    serving = _Generation.start(context, config)
    try:
        while True:
            ready = wait([*(worker.sentinel for worker in serving.workers), woken])
            if "stop" in asked or ready != [woken]:  # or a worker ended
                return serving.stopped()
            woken.recv(1024)
            asked.clear()
            fresh = _Generation.start(context, config)
            if not fresh.listening():
                log.error("the workers started again did not come up; the others keep serving")
                fresh.stopped()
                continue
            code, serving = serving.stopped(), fresh
            if code != 0:
                log.warning("a worker stopped with %s on its way out", code)
    finally:
        wake.close()
        woken.close()


def _serve(config: Config, stop: Event, ready: Semaphore) -> None:
    """One worker: it loads the app's code, binds and listens on its own socket, then
    starts the app."""
    die_with_parent()
    importlib.import_module(config.application_path.partition(":")[0])
    sockets = config.create_sockets()
    for sock in sockets.insecure_sockets + sockets.secure_sockets:
        sock.listen(config.backlog)
    ready.release()
    on_uvloop = config.worker_class == event_loop.HYPERCORN_WORKER_CLASS
    worker = uvloop_worker if on_uvloop else asyncio_worker
    worker(config, sockets=sockets, shutdown_event=stop)
