"""Child processes for the benchmarks that drive a running gateway: the environment a
gateway or worker reads its settings from, a process group of its own with its output in a
log file (stopped with SIGTERM, then SIGKILL), hypercorn serving an app on a free loopback
port (with the CPU time its processes used so far), a job worker, and waiting until the
gateway answers its health check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiohttp

from tests.support.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_groups: dict[int, int] = {}  # a served port -> the process group serving it
START_WORKER = (
    "from gateway.settings import load_settings; from server.worker import run_worker; "
    "run_worker(load_settings())"
)


def gateway_env(database_url: str, redis_url: str, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        SWITCHBOARD_DATABASE_URL=database_url,
        SWITCHBOARD_REDIS_URL=redis_url,
        SWITCHBOARD_SECRET_KEY=secrets.token_urlsafe(32),
        SWITCHBOARD_VAR_DIR=str(var_dir),
        SWITCHBOARD_LOG_LEVEL="WARNING",
        # Every message still pays the limiter's Redis round trip; it just never refuses.
        SWITCHBOARD_WIDGET_MESSAGES_PER_MINUTE="1000000",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def _stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, to the process group we started (hypercorn's spawned worker
    and RQ's forked scheduler live in it too)."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever the leader left behind
        return


def log_tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-30:])
    return "(no log)"


@contextlib.contextmanager
def child(name: str, command: Sequence[str], env: dict[str, str], log_path: Path) -> Iterator[int]:
    """`command` as a process group of its own, its output in `log_path`; yields the
    group's id."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            env=env,
            cwd=log_path.parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    try:
        yield process.pid
        if process.poll() is not None:
            raise RuntimeError(f"the {name} exited early:\n{log_tail(log_path)}")
    finally:
        _stop_group(process)


@contextlib.contextmanager
def hypercorn(
    app_path: str, env: dict[str, str], log_path: Path, workers: int = 1, timeout: float = 30
) -> Iterator[int]:
    """`app_path` served by Hypercorn with `workers` workers on a free loopback port, as
    `switchboard serve --workers N` serves the gateway (`bench.serve`); yields the port."""
    port = free_port()
    command = [sys.executable, "-m", "bench.serve", "--workers", str(workers)]
    command += ["--bind", f"127.0.0.1:{port}", app_path]
    with child(app_path, command, env, log_path) as group:
        if not wait_for_port(port, timeout=timeout):
            raise RuntimeError(f"{app_path} did not listen on {port}:\n{log_tail(log_path)}")
        _groups[port] = group
        try:
            yield port
        finally:
            del _groups[port]


def cpu_seconds(port: int) -> float:
    """The CPU time (user and system) that the processes serving `port` (started by
    `hypercorn`) have used so far, read from Linux's /proc."""
    group, ticks = _groups[port], 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # after the name: state, ppid, pgrp, ..., utime, stime
                ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


@contextlib.contextmanager
def worker(env: dict[str, str], log_path: Path) -> Iterator[None]:
    """A job worker (`server.worker.run_worker`) configured by `env`."""
    with child("worker", [sys.executable, "-c", START_WORKER], env, log_path):
        yield


async def wait_healthy(port: int, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the gateway did not become healthy:\n{log_tail(log_path)}")
