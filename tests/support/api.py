"""Helpers for tests of the agents' API: a logged-in client, a conversation waiting for a
person."""

from __future__ import annotations

from quart import Quart
from quart.testing import QuartClient

from gateway.models import Agent, Organization
from gateway.runtime import Services
from handoff.routing import route_message
from tests.support.factories import PASSWORD, chat_message, intake_for


async def logged_in(app: Quart, agent: Agent) -> tuple[QuartClient, dict[str, str]]:
    client = app.test_client()
    response = await client.post("/api/login", json={"email": agent.email, "password": PASSWORD})
    assert response.status_code == 200, await response.get_json()
    body = await response.get_json()
    return client, {"X-CSRF-Token": body["csrf_token"]}


async def waiting_conversation(services: Services, org: Organization) -> int:
    received = await intake_for(services).receive(chat_message(org, "talk to a human please"))
    assert await route_message(services, received.message_id) == "queued"
    return received.conversation_id
