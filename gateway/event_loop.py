"""The event loop Switchboard's long-running processes run on: uvloop's, built on libuv,
in the gateway (Hypercorn's `uvloop` worker class), the job worker and the reconciler. A
turn of a caller's conversation is mostly small exchanges with the database and Redis,
each a socket written and read through the loop, and uvloop does that part in C. Tests
run the same code on asyncio's own loop (pytest's), so nothing depends on which it is."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")

# Hypercorn's name for a worker on uvloop's loop (`Config.worker_class`)
HYPERCORN_WORKER_CLASS = "uvloop"


def runner() -> asyncio.Runner:
    """An `asyncio.Runner` on uvloop's loop, for a process that runs many coroutines."""
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on uvloop's loop."""
    with runner() as running:
        return running.run(main)
