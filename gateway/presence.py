"""Who of an organization's agents is online, kept in Redis so every gateway process sees
the same answer. A page sends a heartbeat every few seconds; an agent whose last heartbeat
is older than the timeout counts as offline. Coming online is announced as a live event."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from gateway.events import Event, EventPublisher

TIMEOUT_SECONDS = 30


def _key(organization_id: int) -> str:
    return f"switchboard:presence:{organization_id}"


async def heartbeat(
    redis: Redis, events: EventPublisher, organization_id: int, agent_id: int, name: str
) -> None:
    now = time.time()
    key = _key(organization_id)
    previous = await redis.zscore(key, str(agent_id))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(key, {str(agent_id): now})
        pipe.zremrangebyscore(key, 0, now - TIMEOUT_SECONDS)
        pipe.expire(key, TIMEOUT_SECONDS * 4)
        await pipe.execute()
    if previous is None or previous < now - TIMEOUT_SECONDS:
        await events.publish(
            Event(
                "presence",
                organization_id,
                None,
                {"agent_id": agent_id, "name": name, "online": True},
            )
        )


async def online_agents(redis: Redis, organization_id: int) -> list[int]:
    since = time.time() - TIMEOUT_SECONDS
    members = await redis.zrangebyscore(_key(organization_id), since, "+inf")
    return sorted(int(member) for member in members if isinstance(member, bytes | str))


async def count_online(redis: Redis, organization_id: int) -> int:
    """How many agents are online (the handoff policy needs no more)."""
    return int(await redis.zcount(_key(organization_id), time.time() - TIMEOUT_SECONDS, "+inf"))


async def leave(
    redis: Redis, events: EventPublisher, organization_id: int, agent_id: int, name: str
) -> None:
    """The agent closed the last page that sent heartbeats: offline now, not at timeout."""
    if await redis.zrem(_key(organization_id), str(agent_id)):
        await events.publish(
            Event(
                "presence",
                organization_id,
                None,
                {"agent_id": agent_id, "name": name, "online": False},
            )
        )
