"""What the outgoing-webhook tests share: a loopback HTTP receiver (aiohttp) that checks
every signature with the snippet the README gives receivers, and helpers to register an
endpoint, emit an event and read the deliveries."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from gateway import webhooks
from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from tests.support.ports import free_port

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_verifier() -> Callable[[str, str, bytes], bool]:
    """The receivers' verification snippet, exactly as the README shows it."""
    text = README.read_text()
    match = re.search(r"```python\n(.*?def verify_switchboard.*?)```", text, re.S)
    assert match, "the README lost its webhook verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    return namespace["verify_switchboard"]  # type: ignore[no-any-return]


verify_switchboard = readme_verifier()


@dataclass
class Receiver:
    """An HTTP endpoint on loopback answering scripted statuses (then 200). While `hold`
    is set and not yet released, it keeps every request waiting for its answer."""

    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes, bool]] = field(default_factory=list)
    followed_redirect: bool = False
    down_calls: int = 0
    port: int = field(default_factory=free_port)
    hold: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        valid = verify_switchboard(self.secret, headers.get(webhooks.SIGNATURE_HEADER, ""), body)
        self.requests.append((headers, body, valid))
        if self.hold is not None:
            await self.hold.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": "/elsewhere"})
        return web.Response(status=status, text="thanks" if status < 300 else "no thanks")

    async def down(self, request: web.Request) -> web.Response:
        self.down_calls += 1
        return web.Response(status=500, text="down for maintenance")

    async def elsewhere(self, request: web.Request) -> web.Response:
        self.followed_redirect = True
        return web.Response(text="moved here")


async def add_endpoint(
    db: Database, org: Organization, url: str, events: list[str] | None = None, active=True
) -> WebhookEndpoint:
    async with db.transaction() as session:
        endpoint = WebhookEndpoint(
            organization_id=org.id,
            url=url,
            secret=webhooks.new_secret(),
            events=events or list(webhooks.EVENTS),
            active=active,
        )
        session.add(endpoint)
    return endpoint


async def emit(services: Services, org: Organization, event: str = "claimed") -> int:
    async with services.db.transaction() as session:
        return await webhooks.emit(session, services, org.id, event, {"conversation": {"id": 7}})


async def deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.transaction() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
