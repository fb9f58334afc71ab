"""Several gateway processes on one port (`server.serving`, behind `switchboard serve
--workers N`), as real processes: connections opened together are spread over the workers
instead of all landing on one, the signal to stop stops every worker cleanly, SIGHUP
starts them again (and keeps the old ones when the new code does not load), a worker that
dies stops the others (the parent then exits with an error), and none outlives a parent
killed outright. Then the whole gateway: `switchboard serve --workers 2` on the test's
database and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.db import Database
from tests.support.ports import free_port, wait_for_port
from tests.support.up import wait_gone
from tests.support.worker import gateway_env

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 16


def serve_command(port: int, application: str = "tests.support.pid_app:app") -> list[str]:
    program = (
        "from hypercorn.config import Config\n"
        "from server.serving import run_workers\n"
        "config = Config()\n"
        f"config.bind = ['127.0.0.1:{port}']\n"
        f"config.application_path = {application!r}\n"
        "config.workers = 2\n"
        "config.worker_class = 'uvloop'\n"  # as `switchboard serve` sets it
        "raise SystemExit(run_workers(config))\n"
    )
    return [sys.executable, "-c", program]


@contextlib.contextmanager
def process_group(command: list[str], **options: Any) -> Iterator[subprocess.Popen[bytes]]:
    """`command` started in a process group of its own, all of it killed at the end,
    whatever happened to the parent."""
    parent = subprocess.Popen(command, start_new_session=True, **options)
    try:
        yield parent
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    with process_group(serve_command(port), cwd=ROOT) as parent:
        assert wait_for_port(port, timeout=30), "the workers did not listen"
        yield parent, port


async def pids_of_connections(port: int) -> list[int]:
    """The serving process of each of CONNECTIONS keep-alive connections opened at once."""
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def ask() -> int:
            async with session.get(f"http://127.0.0.1:{port}/") as response:
                return int(await response.text())

        return list(await asyncio.gather(*(ask() for _ in range(CONNECTIONS))))


def workers_of(port: int) -> set[int]:
    """Both workers' process ids (a worker listens from its start, before it answers)."""
    deadline = time.monotonic() + 30
    seen: set[int] = set()
    while len(seen) < 2 and time.monotonic() < deadline:
        seen |= set(asyncio.run(pids_of_connections(port)))
    return seen


def gone(pids: set[int]) -> bool:
    """True once none of these processes runs any more (within 30 s)."""
    return not wait_gone({str(pid): pid for pid in pids}, timeout=30)


def test_connections_opened_together_are_spread_over_the_workers(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    parent, port = served
    workers = workers_of(port)
    assert len(workers) == 2 and parent.pid not in workers

    for _ in range(3):  # each time: 16 new connections at once, as a client's pool opens
        by_worker = asyncio.run(pids_of_connections(port))
        counts = [by_worker.count(pid) for pid in workers]
        assert min(counts) >= 1, f"the connections landed {counts} on the two workers"


async def test_the_workers_run_on_uvloops_event_loop(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    _parent, port = served
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/") as response,
    ):
        assert response.headers["X-Event-Loop"] == "uvloop.Loop"


def test_the_signal_to_stop_stops_every_worker(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    parent, port = served
    workers = workers_of(port)

    parent.send_signal(signal.SIGTERM)

    assert parent.wait(timeout=30) == 0
    assert gone(workers)


def test_sighup_starts_the_workers_again_and_they_serve(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    parent, port = served
    before = workers_of(port)

    parent.send_signal(signal.SIGHUP)

    assert gone(before)
    after = workers_of(port)
    assert len(after) == 2 and not after & before
    assert parent.poll() is None
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 0
    assert gone(after)


def test_sighup_keeps_the_workers_serving_when_the_new_code_does_not_load(
    tmp_path: Path,
) -> None:
    app = tmp_path / "reloadable.py"
    working = (ROOT / "tests" / "support" / "pid_app.py").read_text()
    app.write_text(working)
    port, log = free_port(), tmp_path / "serving.log"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    with (
        log.open("wb") as output,
        process_group(
            serve_command(port, "reloadable:app"), cwd=ROOT, env=env, stderr=output
        ) as parent,
    ):
        assert wait_for_port(port, timeout=30)
        before = workers_of(port)

        app.write_text("raise RuntimeError('this code does not load')\n")
        parent.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while "did not come up" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)

        assert parent.poll() is None
        assert set(asyncio.run(pids_of_connections(port))) == before

        app.write_text(working)
        parent.send_signal(signal.SIGHUP)
        assert gone(before)
        assert not workers_of(port) & before


def test_workers_do_not_outlive_a_parent_killed_outright(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    parent, port = served
    workers = workers_of(port)

    parent.kill()

    parent.wait(timeout=30)
    assert gone(workers)


def test_a_worker_that_dies_stops_the_other(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    parent, port = served
    workers = workers_of(port)
    dead, other = sorted(workers)

    os.kill(dead, signal.SIGKILL)

    assert parent.wait(timeout=30) != 0
    assert gone({other})


async def healthy(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as answer:
            return answer.status == 200
    except aiohttp.ClientError:
        return False


def worker_processes(parent: int) -> list[int]:
    """The children of `parent` serving requests (not multiprocessing's resource tracker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in command and b"resource_tracker" not in command:
            found.append(int(stat.parent.name))
    return found


async def test_switchboard_serve_runs_that_many_gateway_workers_on_its_port(
    db: Database, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = gateway_env(db.url, redis_url, port, tmp_path)
    log = tmp_path / "gateway.log"
    command = [sys.executable, "-m", "server.cli", "serve", "--workers", "2"]
    with (
        log.open("wb") as output,
        process_group(
            command,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        ) as parent,
    ):
        deadline = time.monotonic() + 60
        while not (await healthy(url) and len(worker_processes(parent.pid)) == 2):
            assert parent.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no healthy gateway:\n{log.read_text()}"
            await asyncio.sleep(0.1)
        workers = set(worker_processes(parent.pid))

        parent.send_signal(signal.SIGTERM)

        assert await asyncio.to_thread(parent.wait, 30) == 0, log.read_text()
        assert await asyncio.to_thread(gone, workers)
