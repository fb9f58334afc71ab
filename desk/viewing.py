"""Who has which conversation open ("also viewing"), and how many live sockets each agent
has, kept in Redis so every gateway process sees the same answer. A view is a sorted-set
member scored with the time of its last refresh; the page's heartbeat refreshes it and an
entry older than the TTL no longer counts, so a crashed process leaves nothing behind for
long. Changes are published to the organization's agents as `viewing` events."""

from __future__ import annotations

import time

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk.agent_events import VIEWING, publish_to_agents
from gateway.events import Event, EventPublisher
from gateway.models import Agent

TTL_SECONDS = 45
PREFIX = "switchboard:viewing"
SOCKETS = "switchboard:agent-sockets"


def _key(organization_id: int, conversation_id: int) -> str:
    return f"{PREFIX}:{organization_id}:{conversation_id}"


async def viewers(redis: Redis, organization_id: int, conversation_id: int) -> list[int]:
    since = time.time() - TTL_SECONDS
    members = await redis.zrangebyscore(_key(organization_id, conversation_id), since, "+inf")
    return sorted(int(member) for member in members if isinstance(member, bytes | str))


async def refresh(redis: Redis, organization_id: int, conversation_id: int, agent_id: int) -> None:
    key = _key(organization_id, conversation_id)
    now = time.time()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(key, {str(agent_id): now})
        pipe.zremrangebyscore(key, 0, now - TTL_SECONDS)
        pipe.expire(key, TTL_SECONDS * 2)
        await pipe.execute()


async def start(
    events: EventPublisher,
    organization_id: int,
    conversation_id: int,
    agent_id: int,
    name: str,
) -> list[int]:
    await refresh(events.redis, organization_id, conversation_id, agent_id)
    return await _announce(events, organization_id, conversation_id, agent_id, name, True)


async def stop(
    events: EventPublisher,
    organization_id: int,
    conversation_id: int,
    agent_id: int,
    name: str,
) -> list[int]:
    await events.redis.zrem(_key(organization_id, conversation_id), str(agent_id))
    return await _announce(events, organization_id, conversation_id, agent_id, name, False)


async def _announce(
    events: EventPublisher,
    organization_id: int,
    conversation_id: int,
    agent_id: int,
    name: str,
    viewing: bool,
) -> list[int]:
    current = await viewers(events.redis, organization_id, conversation_id)
    await publish_to_agents(
        events,
        Event(
            VIEWING,
            organization_id,
            conversation_id,
            {"agent_id": agent_id, "name": name, "viewing": viewing, "viewers": current},
        ),
    )
    return current


async def socket_opened(redis: Redis, organization_id: int, agent_id: int) -> int:
    """Count one more live socket of the agent; returns how many are open."""
    key = f"{SOCKETS}:{organization_id}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(key, str(agent_id), 1)
        pipe.expire(key, 24 * 3600)
        count, _ = await pipe.execute()
    return int(count)


async def socket_closed(redis: Redis, organization_id: int, agent_id: int) -> int:
    """Count one socket fewer; returns how many remain (never below zero)."""
    key = f"{SOCKETS}:{organization_id}"
    remaining = int(await redis.hincrby(key, str(agent_id), -1))
    if remaining <= 0:
        await redis.hdel(key, str(agent_id))
        return 0
    return remaining


async def viewer_names(
    session: AsyncSession, redis: Redis, agent: Agent, conversation_id: int
) -> list[dict[str, object]]:
    """The agents viewing the conversation now, with their names (the caller included)."""
    ids = await viewers(redis, agent.organization_id, conversation_id)
    if not ids:
        return []
    rows = await session.execute(
        select(Agent.id, Agent.name).where(
            Agent.organization_id == agent.organization_id, Agent.id.in_(ids)
        )
    )
    return [{"id": agent_id, "name": name} for agent_id, name in rows]
