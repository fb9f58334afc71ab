"""`GET /metrics` against the running app with real Redis and databases, and a real worker
process writing to a multiprocess folder: the token is required; a signed Twilio webhook,
a refused one, a handoff, a claim, the AI's sent reply, a live socket and a reconciler
pass move their series by exactly what happened; the queues' depth is read from Redis at
scrape time; and random paths all fall in one series instead of one each."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import update

from gateway.db import Database
from gateway.models import Message, utcnow
from gateway.queues import INTAKE
from gateway.reconciler import LOCK_KEY, reconcile
from gateway.runtime import Services
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from handoff.policy.base import EXPLICIT_REQUEST
from server.app import create_app
from server.metrics import exposition
from server.worker import build_channels
from tests.desk.api.helpers import client_for
from tests.support.api import logged_in
from tests.support.factories import chat_message, intake_for, job_services, make_agent
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    incoming_params,
    post_signed,
    run_worker_burst,
    worker_settings,
)
from tests.support.twilio_fixtures import account, fake_twilio, register_business_number

__all__ = ["account", "fake_twilio"]

TOKEN = "scrape-me-4f1c9a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
INBOUND = PUBLIC_URL + "/twilio/sms"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return parse((await response.get_data()).decode())


@pytest.fixture
async def metered(
    db: Database, redis_url: str, fake_twilio: FakeTwilio, tmp_path: Path
) -> AsyncIterator[Services]:
    async with job_services(
        db,
        redis_url,
        public_url=PUBLIC_URL,
        twilio_api_base_url=fake_twilio.base_url,
        var_dir=tmp_path,
        metrics_token=TOKEN,
    ) as services:
        services.channels = build_channels(services)
        yield services


@pytest.fixture
async def app(metered: Services) -> AsyncIterator[Quart]:
    application = create_app(metered.settings)
    async with application.test_app():
        yield application


@pytest.fixture
def worker_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "worker-metrics"
    folder.mkdir()
    return folder


async def test_the_token_is_required_and_without_one_there_is_no_endpoint(
    app: Quart, metered: Services
) -> None:
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert TOKEN not in (await refused.get_data()).decode()
    assert (await client.get("/metrics", headers=AUTH)).status_code == 200

    untokened = create_app(metered.settings.model_copy(update={"metrics_token": None}))
    async with untokened.test_app():
        assert (await untokened.test_client().get("/metrics", headers=AUTH)).status_code == 404


async def test_random_paths_share_one_series(app: Quart) -> None:
    client = app.test_client()
    await scrape(client)  # the scrape's own series exist from here on
    assert (await client.get("/random/1")).status_code == 404
    before = await scrape(client)
    for number in range(2, 7):
        assert (await client.get(f"/random/{number}23?x={number}")).status_code == 404
    after = await scrape(client)
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    name = "switchboard_http_requests_total"
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 5
    assert set(after) == set(before)  # five more paths, not one new series
    assert not [key for key in after if any("random" in label for _, label in key[1])]


async def test_webhooks_messages_queues_handoff_claim_and_delivery_are_counted(
    app: Quart,
    metered: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    redis_url: str,
    tmp_path: Path,
    worker_folder: Path,
) -> None:
    await register_business_number(metered, org, account)
    await load_knowledge(metered.db, org.id, demo_knowledge_paths())
    client = app.test_client()
    before = await scrape(client)

    question = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Opening hours?")
    assert (await post_signed(client, INBOUND, question, account.token)).status_code == 200
    forged = incoming_params(account, from_=CUSTOMER, to=BUSINESS, body="Forged")
    assert (await post_signed(client, INBOUND, forged, "not-the-token")).status_code == 403
    middle = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(middle, name, **labels) - value(before, name, **labels)

    assert moved("switchboard_channel_webhooks_total", plugin="twilio", outcome="accepted") == 1
    assert moved("switchboard_channel_webhooks_total", plugin="twilio", outcome="refused") == 1
    assert moved("switchboard_messages_received_total", channel="sms") == 1
    route = {"route": "/twilio/sms", "method": "POST"}
    assert moved("switchboard_http_requests_total", **route, status="200") == 1
    assert moved("switchboard_http_requests_total", **route, status="403") == 1
    assert moved("switchboard_http_request_duration_seconds_count", **route) == 2
    assert value(middle, "switchboard_queue_depth", queue="switchboard-intake") == 1
    assert value(middle, "switchboard_queue_oldest_job_age_seconds", queue="switchboard-intake") > 0

    # The worker routes it, the AI answers and Twilio takes the reply; then a person is asked
    # for. The worker's series are in its multiprocess folder.
    env = {
        **worker_settings(fake_twilio, str(tmp_path)),
        "PROMETHEUS_MULTIPROC_DIR": str(worker_folder),
    }
    run_worker_burst(metered.db.url, redis_url, env)
    person = incoming_params(
        account, from_=CUSTOMER, to=BUSINESS, body="I want to talk to a person"
    )
    assert (await post_signed(client, INBOUND, person, account.token)).status_code == 200
    run_worker_burst(metered.db.url, redis_url, env)
    worker = parse(exposition(metered.jobs.redis, str(worker_folder)).decode())
    sent = len(fake_twilio.messages())  # the AI's answer and the handoff notice
    assert sent >= 2  # each taken by Twilio's API as "queued", its answer to a send
    assert value(worker, "switchboard_deliveries_total", channel="sms", state="queued") == sent
    assert value(worker, "switchboard_handoffs_total", rule=EXPLICIT_REQUEST) == 1
    assert value(worker, "switchboard_queue_depth", queue="switchboard-intake") == 0

    # An agent claims it in the gateway: one wait is measured.
    agent = await make_agent(metered.db, org, name="Dana")
    agent_client, csrf = await logged_in(app, agent)
    [waiting] = (await (await agent_client.get("/api/conversations")).get_json())["conversations"]
    claimed = await agent_client.post(f"/api/conversations/{waiting['id']}/claim", headers=csrf)
    assert claimed.status_code == 200
    after = await scrape(client)
    assert (
        value(after, "switchboard_time_to_claim_seconds_count")
        - value(before, "switchboard_time_to_claim_seconds_count")
        == 1
    )


def open_sockets(samples: Samples) -> float:
    return sum(v for (name, _), v in samples.items() if name == "switchboard_live_sockets")


async def test_an_open_live_socket_is_counted_until_it_closes(
    app: Quart, metered: Services, org
) -> None:
    client = app.test_client()
    before = open_sockets(await scrape(client))
    agent_client, _ = await client_for(app, metered.db, await make_agent(metered.db, org))
    async with agent_client.websocket("/api/live", headers={"Origin": "http://localhost"}) as ws:
        assert json.loads(await asyncio.wait_for(ws.receive(), 5.0))["type"] == "hello"
        assert open_sockets(await scrape(client)) == before + 1
    assert open_sockets(await scrape(client)) == before


async def test_a_reconciler_pass_and_what_it_re_enqueued_are_counted(
    app: Quart, metered: Services, org
) -> None:
    client = app.test_client()
    before = await scrape(client)
    received = await intake_for(metered).receive(chat_message(org, "Is anyone there?"))
    metered.jobs.queue(INTAKE).empty()  # the routing job was lost
    async with metered.db.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.id == received.message_id)
            .values(created_at=utcnow() - timedelta(minutes=5))
        )
    metered.jobs.redis.delete(LOCK_KEY)

    counts = await reconcile(metered)

    after = await scrape(client)
    assert counts["messages"] == 1
    sweeps = "switchboard_reconciler_sweeps_total"
    assert value(after, sweeps) - value(before, sweeps) == 1
    again = "switchboard_reconciler_reenqueued_total"
    assert value(after, again, kind="messages") - value(before, again, kind="messages") == 1
    assert value(after, "switchboard_queue_depth", queue=INTAKE) == 1
