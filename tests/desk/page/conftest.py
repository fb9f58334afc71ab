"""Fixtures for the queue page's browser tests: the system running as a user runs it
(`switchboard serve` and `switchboard worker` as separate processes) on the test's own
database (SQLite or PostgreSQL) and Redis, with a demo organization whose review window is
a few seconds long, and an admin to log in as."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.db import Database
from gateway.models import Agent, Organization
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from tests.support.factories import make_agent, make_org
from tests.support.ports import free_port
from tests.support.worker import gateway_env, running_worker

REVIEW_WINDOW_SECONDS = 4
START_TIMEOUT = 30.0


@dataclass
class RunningSystem:
    url: str
    db: Database
    redis_url: str
    org: Organization
    admin: Agent
    log: Path


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the gateway exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if json.load(response)["status"] == "ok":
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.1)
    pytest.fail(f"no healthy gateway within {START_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture
async def running_gateway(
    db: Database, redis_url: str, tmp_path: Path
) -> AsyncIterator[RunningSystem]:
    """A gateway process (`switchboard serve`) on the test's database and Redis. The
    organization is the demo one (slug `demo`, so the demo page `/` embeds its widget),
    with the demo knowledge base and a review window of REVIEW_WINDOW_SECONDS."""
    org = await make_org(db, "demo", review_window_seconds=REVIEW_WINDOW_SECONDS)
    await load_knowledge(db, org.id, demo_knowledge_paths())
    admin = await make_agent(db, org, role="admin", name="Dana Admin")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = gateway_env(db.url, redis_url, port, tmp_path)
    log = tmp_path / "gateway.log"
    with log.open("wb") as output:
        gateway = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, gateway, log)
        yield RunningSystem(url, db, redis_url, org, admin, log)
    finally:
        gateway.terminate()
        try:
            gateway.wait(timeout=15)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()


@pytest.fixture
def running_system(running_gateway: RunningSystem) -> Iterator[RunningSystem]:
    """The gateway and a worker process (AI replies, notices, deliveries, deadlines)."""
    system = running_gateway
    with running_worker(system.db.url, system.redis_url, reconcile_every=0.5):
        yield system
