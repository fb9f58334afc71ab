"""`switchboard up` as a subprocess, the way a user runs it, for tests: its output, its
health, the processes it started, and the login it prints once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.ports import free_port

START_TIMEOUT = 90.0  # a fresh start migrates, then starts six Python processes


class Up:
    """One `switchboard up` subprocess, its output in a file."""

    def __init__(self, var_dir: Path, port: int, **settings: str) -> None:
        self.var_dir, self.port = var_dir, port
        self.log = var_dir.parent / f"up-{time.monotonic_ns()}.log"
        env = {
            key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")
        }
        self.smtp_port = free_port()
        env.update(
            SWITCHBOARD_VAR_DIR=str(var_dir),
            SWITCHBOARD_INBOUND_SMTP=f"127.0.0.1:{self.smtp_port}",
            PYTHONUNBUFFERED="1",
        )
        env.update(settings)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "up", "--port", str(port)],
                env=env,
                cwd=var_dir.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`up` exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if json.load(response)["status"] == "ok" and "is running at" in self.output():
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.2)
        pytest.fail(f"no healthy gateway within {START_TIMEOUT} s:\n{self.output()}")

    def pids(self) -> dict[str, int]:
        data = json.loads((self.var_dir / "up.pids").read_text())
        return {name: int(pid) for name, pid in data.items() if pid is not None}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"`up` did not stop within 60 s:\n{self.output()}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def wait_gone(pids: dict[str, int], timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids.values()):
        time.sleep(0.1)
    return [name for name, pid in pids.items() if alive(pid)]


def request(url: str, body: dict[str, str] | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def printed_login(output: str) -> tuple[str, str] | None:
    """The demo admin's email and password from `up`'s output, if it printed them."""
    found = re.search(r"email:\s+(\S+)\s*\|\s*\n.*password:\s+(\S+)", output)
    return None if found is None else (found.group(1), found.group(2))


def require_redis_binary() -> None:
    """Skip (locally) or fail (in CI) when no redis-server can be found for `up`."""
    from server.redis_server import find_redis_server

    try:
        find_redis_server()
    except Exception as error:
        if os.environ.get("CI"):
            pytest.fail(f"{error} (required in CI)", pytrace=False)
        pytest.skip(str(error))
