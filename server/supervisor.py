"""Keeping `switchboard up`'s children running, like systemd's `Restart=on-failure`. Each
child (Redis, the worker, the gateway, ...) is started by its own function; when one dies it
is started again after a back-off, with a log line, while the others keep running. A child
that dies soon after starting counts as a failure at start, and the back-off grows with
each one in a row; a child that keeps failing at start (MAX_START_FAILURES within
FAILURE_WINDOW seconds) makes the supervisor give up with an error that says which one and
how it ended, so `up` stops everything instead of looping forever."""

from __future__ import annotations

import logging
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (0.2, 1.0, 2.0, 4.0, 8.0, 15.0)
START_GRACE_SECONDS = 10.0  # dying sooner than this after a start is failing at start
MAX_START_FAILURES = 5
FAILURE_WINDOW_SECONDS = 60.0


class Process(Protocol):
    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...


class GaveUp(Exception):
    """A child keeps failing at start; the message says which and how."""


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited (exit code {returncode})"


@dataclass
class Child:
    """One supervised process: `start()` starts it (and may wait until it is ready)."""

    name: str
    start: Callable[[], Process]
    process: Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    quick_failures: int = 0  # in a row, for the back-off
    failures: deque[float] = field(default_factory=deque)  # times of failures at start
    restart_at: float | None = None
    last_exit: str = ""


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        start_grace: float = START_GRACE_SECONDS,
        max_start_failures: int = MAX_START_FAILURES,
        failure_window: float = FAILURE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = list(children)
        self.backoff = tuple(backoff)
        self.start_grace = start_grace
        self.max_start_failures = max_start_failures
        self.failure_window = failure_window
        self.clock = clock

    def child(self, name: str) -> Child:
        return next(child for child in self.children if child.name == name)

    def start(self, child: Child) -> None:
        child.process = child.start()
        child.started_at = self.clock()
        child.restart_at = None

    def adopt(self, child: Child, process: Process | None) -> None:
        """Supervise a child started elsewhere (the managed Redis, started first)."""
        self.children.append(child)
        child.process = process
        child.started_at = self.clock()

    def check(self) -> list[str]:
        """One pass: notice children that died, start those whose back-off is over.
        Returns the names restarted. Raises GaveUp for a child failing at start."""
        now = self.clock()
        restarted = []
        for child in self.children:
            if child.process is not None and child.restart_at is None:
                code = child.process.poll()
                if code is not None:
                    self._died(child, code, now)
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                log.warning("restarting the %s (restart %d)", child.name, child.restarts)
                self.start(child)
                restarted.append(child.name)
        return restarted

    def _died(self, child: Child, returncode: int, now: float) -> None:
        child.last_exit = how_it_ended(returncode)
        if now - child.started_at < self.start_grace:
            child.quick_failures += 1
            child.failures.append(now)
        else:
            child.quick_failures = 0
        while child.failures and now - child.failures[0] > self.failure_window:
            child.failures.popleft()
        if len(child.failures) >= self.max_start_failures:
            raise GaveUp(
                f"the {child.name} process keeps failing at start: it {child.last_exit}, "
                f"{len(child.failures)} times within {self.failure_window:.0f} s; "
                "see its log above for why"
            )
        delay = self.backoff[min(child.quick_failures, len(self.backoff) - 1)]
        child.restart_at = now + delay
        log.error(
            "the %s process %s; restarting it in %.1f s while the others keep running",
            child.name,
            child.last_exit,
            delay,
        )
