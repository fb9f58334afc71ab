"""Outgoing webhooks may not reach internal services: loopback, link-local (cloud
metadata), private, unspecified and multicast addresses are refused when an admin registers
an endpoint and again, after DNS resolution, on every attempt, so a DNS answer that changes
later cannot smuggle one in. A failed answer is stored as its status code and standard
reason only, never its body. The operator's SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE=true lets an
on-premises integration through. Names are answered by a table (`TableResolver`): there is
no DNS server to change here, and the check must hold whatever DNS says."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from quart import Quart
from sqlalchemy import func, select

from gateway import webhooks
from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from gateway.settings import Settings
from gateway.webhook_jobs import send_delivery
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from gateway.webhook_targets import TargetRefused, check_target, refusal
from server.app import create_app
from tests.support.api import logged_in
from tests.support.factories import job_services, make_agent
from tests.support.ports import free_port

INTERNAL_TARGETS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:6379/",
    "http://[::1]/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://0.0.0.0/",
    "http://localhost/",
    "http://10.0.0.5:8080/hook",
    "http://192.168.1.10/",
    "http://172.16.3.4/",
    "http://100.64.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
]


class TableResolver(AbstractResolver):
    """DNS answers from a table; each name may answer differently on each question."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        addresses = self.answers[host]
        address = addresses.pop(0) if len(addresses) > 1 else addresses[0]
        ip = ipaddress.ip_address(address)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


class Internal:
    """A service on loopback that must never hear from the webhooks."""

    def __init__(self) -> None:
        self.port = free_port()
        self.calls = 0

    async def answer(self, request: web.Request) -> web.Response:
        self.calls += 1
        return web.Response(status=404, text="INTERNAL-SECRET: redis 7.2, keys: 812")


@pytest.fixture
async def internal() -> AsyncIterator[Internal]:
    service = Internal()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", service.answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", service.port).start()
    yield service
    await runner.cleanup()


async def endpoint_for(db: Database, org: Organization, url: str) -> WebhookEndpoint:
    """An endpoint stored as if registered while its name pointed somewhere public."""
    async with db.transaction() as session:
        endpoint = WebhookEndpoint(
            organization_id=org.id,
            url=url,
            secret=webhooks.new_secret(),
            events=list(webhooks.EVENTS),
            active=True,
        )
        session.add(endpoint)
    return endpoint


async def one_delivery(services: Services, org: Organization) -> WebhookDelivery:
    async with services.db.transaction() as session:
        await webhooks.emit(session, services, org.id, "claimed", {"conversation": {"id": 1}})
    async with services.db.transaction() as session:
        [delivery] = (await session.scalars(select(WebhookDelivery))).all()
    return delivery


async def stored(db: Database, delivery_pk: int) -> WebhookDelivery:
    async with db.transaction() as session:
        row = await session.get(WebhookDelivery, delivery_pk)
        assert row is not None
        return row


# --- the address check -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "169.254.169.254",
        "fe80::1",
        "10.1.2.3",
        "172.31.255.1",
        "192.168.0.1",
        "fd12::1",
        "0.0.0.0",
        "::",
        "224.0.0.251",
        "ff05::2",
        "100.64.1.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::a9fe:a9fe",
        "240.0.0.1",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


# --- registration ----------------------------------------------------------------------------


async def test_an_admin_cannot_register_an_internal_target(
    app: Quart, services: Services, org: Organization
) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, csrf = await logged_in(app, admin)

    for url in INTERNAL_TARGETS:
        answer = await client.post("/api/admin/webhooks", json={"url": url}, headers=csrf)

        assert answer.status_code == 400, url
        body = await answer.get_json()
        assert body["error"] == "webhook_target_refused", url
        assert body["message"].startswith(("Webhooks may not go to", "Write the address"))
    async with services.db.transaction() as session:
        assert await session.scalar(select(func.count(WebhookEndpoint.id))) == 0


async def test_a_host_that_cannot_be_found_is_refused_with_a_clear_message(
    app: Quart, services: Services, org: Organization
) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, csrf = await logged_in(app, admin)

    answer = await client.post(
        "/api/admin/webhooks", json={"url": "https://no-such-host.invalid/in"}, headers=csrf
    )

    assert answer.status_code == 400
    assert (await answer.get_json())["message"] == (
        "The host no-such-host.invalid could not be found; check the webhook URL."
    )


async def test_names_are_checked_after_resolution() -> None:
    rebinding = TableResolver({"hooks.example.test": ["10.0.0.7"]})
    with pytest.raises(TargetRefused, match=r"hooks\.example\.test \(10\.0\.0\.7\)"):
        await check_target("https://hooks.example.test/in", allow_private=False, resolver=rebinding)
    public = TableResolver({"hooks.example.test": ["93.184.215.14"]})
    await check_target("https://hooks.example.test/in", allow_private=False, resolver=public)


@pytest.fixture
async def on_premises_app(services: Services, tmp_path) -> AsyncIterator[Quart]:
    settings = Settings(
        database_url=services.db.url,
        redis_url=services.settings.redis_url,
        secret_key="test-secret",
        var_dir=tmp_path,
        webhooks_allow_private=True,
    )
    application = create_app(settings)
    async with application.test_app():
        yield application


async def test_the_operator_may_allow_private_targets(
    on_premises_app: Quart, services: Services, org: Organization
) -> None:
    admin = await make_agent(services.db, org, role="admin")
    client, csrf = await logged_in(on_premises_app, admin)

    answer = await client.post(
        "/api/admin/webhooks", json={"url": "http://10.0.0.5:8080/hook"}, headers=csrf
    )

    assert answer.status_code == 201


# --- sending ---------------------------------------------------------------------------------


async def test_a_name_that_now_resolves_to_loopback_is_not_called(
    services: Services, org: Organization, internal: Internal
) -> None:
    await endpoint_for(services.db, org, f"http://hooks.example.test:{internal.port}/in")
    delivery = await one_delivery(services, org)
    dns = TableResolver({"hooks.example.test": ["127.0.0.1"]})

    outcome = await send_delivery(services, delivery.id, final_attempt=False, resolver=dns)

    assert outcome == "failed"
    assert internal.calls == 0
    after = await stored(services.db, delivery.id)
    assert after.status == "failed" and after.response_status is None
    assert "a loopback address of this server" in (after.last_error or "")


async def test_a_dns_answer_that_changes_between_check_and_connect_is_caught(
    services: Services, org: Organization, internal: Internal
) -> None:
    """The first question (the check) gets a public address, the connection's own
    question gets loopback: the connection's answer is checked too."""
    await endpoint_for(services.db, org, f"http://hooks.example.test:{internal.port}/in")
    delivery = await one_delivery(services, org)
    dns = TableResolver({"hooks.example.test": ["93.184.215.14", "127.0.0.1"]})

    outcome = await send_delivery(services, delivery.id, final_attempt=False, resolver=dns)

    assert outcome == "failed" and internal.calls == 0
    assert dns.asked == ["hooks.example.test", "hooks.example.test"]


async def test_an_internal_literal_stored_before_the_check_is_not_called(
    services: Services, org: Organization, internal: Internal
) -> None:
    await endpoint_for(services.db, org, f"http://127.0.0.1:{internal.port}/in")
    delivery = await one_delivery(services, org)

    assert await send_delivery(services, delivery.id, final_attempt=False) == "failed"
    assert internal.calls == 0


async def test_a_failed_answer_is_kept_as_its_status_never_its_body(
    db: Database, redis_url: str, org: Organization, internal: Internal, app: Quart
) -> None:
    async with job_services(db, redis_url, webhooks_allow_private=True) as services:
        endpoint = await endpoint_for(db, org, f"http://127.0.0.1:{internal.port}/in")
        delivery = await one_delivery(services, org)

        assert await send_delivery(services, delivery.id, final_attempt=False) == "failed"

    assert internal.calls == 1
    after = await stored(db, delivery.id)
    assert (after.response_status, after.last_error) == (404, "HTTP 404 Not Found")
    admin = await make_agent(db, org, role="admin")
    client, _ = await logged_in(app, admin)
    listed = await client.get(f"/api/admin/webhooks/{endpoint.id}/deliveries")
    text = await listed.get_data(as_text=True)
    assert "HTTP 404 Not Found" in text and "INTERNAL-SECRET" not in text
