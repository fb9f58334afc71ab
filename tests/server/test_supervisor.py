"""The supervisor behind `switchboard up`, on real child processes: a child that dies is
started again (with a log line) while the others keep running, the back-off grows while
it keeps dying at start, and a child that keeps failing at start makes it give up with an
error naming the child and how it ended."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from server.supervisor import Child, GaveUp, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
FAILER = [sys.executable, "-c", "raise SystemExit(3)"]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def launcher(command: list[str], into: list[subprocess.Popen[bytes]]):  # type: ignore[no-untyped-def]
    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command)
        into.append(process)
        return process

    return start


def run_until(supervisor: Supervisor, done, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the supervisor did not get there in time"
        supervisor.check()
        time.sleep(0.02)


def test_a_killed_child_is_restarted_while_the_others_keep_running(
    started: list[subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    worker = Child("worker", launcher(SLEEPER, started))
    gateway = Child("gateway", launcher(SLEEPER, started))
    supervisor = Supervisor([worker, gateway], backoff=[0.05])
    for child in (worker, gateway):
        supervisor.start(child)
    assert worker.process is not None and gateway.process is not None
    first_worker, gateway_pid = worker.process.pid, gateway.process.pid

    with caplog.at_level(logging.WARNING):
        os.kill(first_worker, signal.SIGKILL)
        run_until(supervisor, lambda: worker.restarts == 1)

    assert worker.process.pid != first_worker and worker.process.poll() is None
    assert gateway.process.pid == gateway_pid and gateway.process.poll() is None
    assert "the worker process was killed by SIGKILL; restarting it" in caplog.text


def test_the_back_off_grows_while_a_child_keeps_dying_at_start(
    started: list[subprocess.Popen[bytes]],
) -> None:
    now = [0.0]
    failing = Child("worker", launcher(FAILER, started))
    supervisor = Supervisor(
        [failing], backoff=[0.5, 1.0, 2.0], max_start_failures=10, clock=lambda: now[0]
    )
    supervisor.start(failing)
    delays = []
    for _ in range(4):
        assert failing.process is not None
        failing.process.wait()
        supervisor.check()
        assert failing.restart_at is not None
        delays.append(failing.restart_at - now[0])
        now[0] = failing.restart_at
        supervisor.check()
    assert delays == [1.0, 2.0, 2.0, 2.0]


def test_a_child_that_keeps_failing_at_start_stops_everything_saying_why(
    started: list[subprocess.Popen[bytes]],
) -> None:
    failing = Child("worker", launcher(FAILER, started))
    steady = Child("gateway", launcher(SLEEPER, started))
    supervisor = Supervisor([failing, steady], backoff=[0.01])
    supervisor.start(failing)
    supervisor.start(steady)

    with pytest.raises(GaveUp) as gave_up:
        run_until(supervisor, lambda: False)

    assert str(gave_up.value).startswith(
        "the worker process keeps failing at start: it exited (exit code 3), 5 times within 60 s"
    )
    assert failing.restarts == 4
