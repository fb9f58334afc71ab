"""Fifty agents claim one waiting conversation at the same moment through the HTTP API:
exactly one wins, the others get 409, and the audit trail holds one claim. Runs on SQLite
and on PostgreSQL."""

from __future__ import annotations

import asyncio

from quart import Quart
from sqlalchemy import func, select

from gateway.models import Conversation, Transition
from tests.desk.api.helpers import client_for
from tests.support.api import waiting_conversation
from tests.support.factories import make_agent

CLAIMERS = 50


async def test_fifty_concurrent_claims_have_exactly_one_winner(app: Quart, services, org) -> None:
    db = services.db
    conversation_id = await waiting_conversation(services, org)
    agents = [await make_agent(db, org, name=f"Agent {n}") for n in range(CLAIMERS)]
    clients = [await client_for(app, db, agent) for agent in agents]
    start = asyncio.Event()

    async def claim(client, csrf):  # type: ignore[no-untyped-def]
        await start.wait()
        return await client.post(f"/api/conversations/{conversation_id}/claim", headers=csrf)

    tasks = [asyncio.create_task(claim(client, csrf)) for client, csrf in clients]
    await asyncio.sleep(0)
    start.set()
    responses = await asyncio.gather(*tasks)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * (CLAIMERS - 1)
    winner = next(r for r in responses if r.status_code == 200)
    winner_id = (await winner.get_json())["conversation"]["assigned_agent_id"]
    errors = {(await r.get_json())["error"] for r in responses if r.status_code == 409}
    assert errors <= {"not_waiting", "ownership_changed"}
    async with db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        claims = await session.scalar(
            select(func.count()).where(
                Transition.conversation_id == conversation_id, Transition.to_state == "assigned"
            )
        )
    assert conversation is not None
    assert (conversation.state, conversation.assigned_agent_id) == ("assigned", winner_id)
    assert claims == 1
