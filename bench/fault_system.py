"""The system the fault benchmark (`bench.faults`) runs against: `switchboard up` as a
user runs it, on a fresh state folder, with the loopback Twilio API and a loopback webhook
receiver; the demo organization given a Twilio number and a webhook endpoint; and the
managed Redis's footprint after an AOF rewrite."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from aiohttp import web
from redis import Redis
from sqlalchemy import select

from gateway.db import Database
from gateway.models import Organization
from gateway.webhook_tables import WebhookEndpoint
from gateway.webhooks import DELIVERY_HEADER, new_secret
from messaging.twilio.numbers import add_number
from tests.support.fake_twilio import BUSINESS, Account, FakeTwilio
from tests.support.ports import free_port

START_TIMEOUT = 90.0


class Receiver:
    """The integration's end of the outgoing webhooks: counts delivery ids."""

    def __init__(self) -> None:
        self.port = free_port()
        self.ids: Counter[str] = Counter()
        self.runner: web.AppRunner | None = None

    async def hook(self, request: web.Request) -> web.Response:
        await request.read()
        self.ids[request.headers.get(DELIVERY_HEADER, "")] += 1
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class Up:
    """`switchboard up` as a user runs it, in its own process group."""

    def __init__(self, var_dir: Path, port: int, env: dict[str, str]) -> None:
        self.var_dir, self.port = var_dir, port
        self.log = var_dir.parent / "up.log"
        command = Path(sys.executable).parent / "switchboard"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(command), "up", "--port", str(port)],
                env=env,
                cwd=var_dir.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self) -> dict[str, int]:
        data = json.loads((self.var_dir / "up.pids").read_text())
        return {name: int(pid) for name, pid in data.items() if pid is not None}

    def redis_url(self) -> str:
        # redis-server shows itself as "redis-server 127.0.0.1:PORT"
        title = Path(f"/proc/{self.pids()['redis']}/cmdline").read_text(errors="replace")
        found = re.search(r"127\.0\.0\.1:(\d+)", title)
        assert found is not None, title
        return f"redis://127.0.0.1:{found.group(1)}/0"

    async def wait_running(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while "is running at" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"`switchboard up` did not start:\n{self.output()[-4000:]}")
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def environment(var_dir: Path, port: int, fake: FakeTwilio) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
    env.update(
        SWITCHBOARD_VAR_DIR=str(var_dir),
        SWITCHBOARD_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SWITCHBOARD_TWILIO_API_BASE_URL=fake.base_url,
        SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE="true",
        SWITCHBOARD_WEBHOOK_RETRY_INTERVALS="[1, 2, 5, 10]",
        SWITCHBOARD_INBOUND_SMTP=f"127.0.0.1:{free_port()}",
        SWITCHBOARD_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


async def set_up_demo(db: Database, account: Account, receiver: Receiver) -> int:
    async with db.transaction() as session:
        org_id = await session.scalar(select(Organization.id).where(Organization.slug == "demo"))
    assert org_id is not None, "`up` created no demo organization"
    await add_number(db, org_id, BUSINESS, account.sid, account.token)
    async with db.transaction() as session:
        session.add(
            WebhookEndpoint(
                organization_id=org_id,
                url=f"http://127.0.0.1:{receiver.port}/hook",
                secret=new_secret(),
                events=["message"],
                active=True,
            )
        )
    return org_id


def redis_footprint(url: str, var_dir: Path) -> tuple[int, int]:
    """Redis's memory and its folder's size, after an AOF rewrite (as Redis itself would
    do once the file passes its rewrite threshold)."""
    redis = Redis.from_url(url)
    try:
        redis.bgrewriteaof()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            persistence = redis.info("persistence")
            if (
                not persistence["aof_rewrite_in_progress"]
                and not (persistence["aof_rewrite_scheduled"])
            ):
                break
            time.sleep(0.1)
        memory = int(redis.info("memory")["used_memory"])
    finally:
        redis.close()
    folder = sum(path.stat().st_size for path in (var_dir / "redis").rglob("*") if path.is_file())
    return memory, folder
