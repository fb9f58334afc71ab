"""`switchboard up` as a user runs it: a subprocess on a fresh state folder, starting its
own Redis, worker and gateway, serving the demo, and stopping every child on SIGTERM. Also
the managed Redis on its own: its data survives a stop and start."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from gateway.auth import authenticate
from gateway.db import Database
from gateway.errors import BadInput, ConfigurationError
from gateway.models import Agent, Organization
from gateway.organizations import ensure_demo
from server.redis_server import ManagedRedis
from tests.support.ports import free_port
from tests.support.up import Up, alive, request, require_redis_binary, wait_gone


@pytest.fixture
def redis_binary() -> None:
    require_redis_binary()


@pytest.mark.usefixtures("redis_binary")
def test_up_runs_the_demo_and_stops_every_child(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    up = Up(var_dir, free_port())
    try:
        up.wait_healthy()
        output = up.output()
        login = re.search(r"email:\s+(\S+)\s*\|\s*\n.*password:\s+(\S+)", output)
        assert login, output
        email, password = login.groups()
        assert email == "admin@demo.switchboard.test"
        assert "shown once" in output
        pids = up.pids()
        assert set(pids) == {"up", "redis", "worker", "gateway", "gateway-2", "mail"}
        assert pids["up"] == up.process.pid
        assert all(alive(pid) for pid in pids.values())

        status, page = request(f"{up.url}/")
        assert status == 200
        assert "Northwind" in page

        status, body = request(f"{up.url}/api/login", {"email": email, "password": password})
        assert status == 200, body
        assert json.loads(body)["agent"]["role"] == "admin"
        status, _ = request(f"{up.url}/api/login", {"email": email, "password": "wrong" * 3})
        assert status == 401
    finally:
        code = up.stop()
    assert code == 0, up.output()
    assert wait_gone(pids) == [], up.output()
    assert not (var_dir / "up.pids").exists()
    assert "Traceback" not in up.output()

    again = Up(var_dir, free_port())
    try:
        again.wait_healthy()
        second_output = again.output()
        assert "password:" not in second_output
        assert password not in second_output
        assert "Demo admin: admin@demo.switchboard.test" in second_output
        status, body = request(f"{again.url}/api/login", {"email": email, "password": password})
        assert status == 200, body
        second_pids = again.pids()
    finally:
        code = again.stop()
    assert code == 0, again.output()
    assert wait_gone(second_pids) == []


def wait_for(condition, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


@pytest.mark.usefixtures("redis_binary")
def test_a_dead_child_is_restarted_while_the_others_keep_running(tmp_path: Path) -> None:
    up = Up(tmp_path / "var", free_port())
    try:
        up.wait_healthy()
        before = up.pids()
        spare = f"[{before['gateway-2']}] hypercorn.error: Running on"
        wait_for(lambda: spare in up.output(), "the spare gateway listens", timeout=120)

        os.kill(before["worker"], signal.SIGKILL)
        wait_for(lambda: up.pids()["worker"] != before["worker"], "the worker is restarted")
        os.kill(before["gateway"], signal.SIGKILL)
        # The second gateway shares the socket: the next request is answered at once.
        status, _ = request(f"{up.url}/healthz")
        wait_for(lambda: up.pids()["gateway"] != before["gateway"], "the gateway is restarted")
        after = up.pids()

        assert status == 200
        assert up.process.poll() is None
        assert alive(after["worker"]) and alive(after["gateway"])
        unchanged = ("up", "redis", "gateway-2", "mail")
        assert {name: after[name] for name in unchanged} == {
            name: before[name] for name in unchanged
        }
        assert "the worker process was killed by SIGKILL; restarting it" in up.output()
        assert "the gateway process was killed by SIGKILL; restarting it" in up.output()
    finally:
        code = up.stop()
    assert code == 0, up.output()


@pytest.mark.usefixtures("redis_binary")
def test_a_child_that_keeps_failing_at_start_stops_everything_saying_why(
    tmp_path: Path,
) -> None:
    with socket.socket() as busy:  # the inbound SMTP port is taken: that child cannot start
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        smtp = f"127.0.0.1:{busy.getsockname()[1]}"
        up = Up(tmp_path / "var", free_port(), SWITCHBOARD_INBOUND_SMTP=smtp)
        code = up.process.wait(300)  # five starts of six processes on a busy machine

    assert code == 1, up.output()
    assert "the mail process keeps failing at start" in up.output()
    assert "5 times within 60 s; see its log above for why; stopping everything" in up.output()
    assert not (tmp_path / "var" / "up.pids").exists()


@pytest.mark.usefixtures("redis_binary")
def test_up_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        up = Up(tmp_path / "var", busy.getsockname()[1])
        code = up.process.wait(60)
    assert code == 2
    assert "cannot listen on 127.0.0.1" in up.output()
    assert "Traceback" not in up.output()


@pytest.mark.usefixtures("redis_binary")
def test_managed_redis_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    with ManagedRedis(tmp_path, port=free_port()) as server:
        client = redis.Redis.from_url(server.url)
        client.rpush("rq:queue:example", "job-1")
        client.close()
        pid = server.pid
        assert pid is not None
        assert (tmp_path / "redis.pid").read_text().strip() == str(pid)
    assert wait_gone({"redis": pid}) == []
    assert (tmp_path / "redis.log").exists()

    with ManagedRedis(tmp_path, port=free_port()) as server:
        client = redis.Redis.from_url(server.url)
        assert client.lrange("rq:queue:example", 0, -1) == [b"job-1"]
        client.close()


@pytest.mark.usefixtures("redis_binary")
def test_managed_redis_names_its_log_when_it_cannot_start(tmp_path: Path) -> None:
    with ManagedRedis(tmp_path / "first", port=free_port()) as first:
        assert first.port is not None
        second = ManagedRedis(tmp_path / "second", port=first.port, start_timeout=5)
        with pytest.raises(ConfigurationError, match=r"redis\.log"):
            second.start()


async def test_demo_is_created_once_and_not_half_written(db: Database) -> None:
    async def broken_loader(db: Database, organization_id: int) -> int:
        raise BadInput("faq.md: the file is empty")

    with pytest.raises(BadInput):
        await ensure_demo(db, broken_loader)
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Organization)) == 0
        assert await session.scalar(select(func.count()).select_from(Agent)) == 0

    async def loader(db: Database, organization_id: int) -> int:
        return 7

    credentials = await ensure_demo(db, loader)
    assert credentials is not None
    assert credentials.knowledge_entries == 7
    assert len(credentials.password) >= 10
    agent = await authenticate(db, credentials.email, credentials.password)
    assert agent.role == "admin"
    assert await ensure_demo(db, loader) is None
