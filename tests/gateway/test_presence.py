"""Who is online: an agent counts from their heartbeat until it is older than the timeout,
the same for the list the agents' desk shows and the count the handoff policy uses."""

from __future__ import annotations

import time

from gateway import presence
from gateway.runtime import Services
from tests.support.factories import make_agent


async def test_an_agent_counts_until_their_heartbeat_is_too_old(services: Services, org) -> None:
    redis = services.events.redis
    dana, lee = await make_agent(services.db, org), await make_agent(services.db, org, name="Lee")
    assert await presence.count_online(redis, org.id) == 0

    await presence.heartbeat(redis, services.events, org.id, dana.id, dana.name)
    await presence.heartbeat(redis, services.events, org.id, lee.id, lee.name)
    assert await presence.count_online(redis, org.id) == 2

    # Lee's last heartbeat is now just past the timeout
    stale = time.time() - presence.TIMEOUT_SECONDS - 1
    await redis.zadd(presence._key(org.id), {str(lee.id): stale})
    assert await presence.count_online(redis, org.id) == 1
    assert await presence.online_agents(redis, org.id) == [dana.id]


async def test_another_organizations_agents_do_not_count(
    services: Services, org, other_org
) -> None:
    agent = await make_agent(services.db, other_org)
    await presence.heartbeat(services.events.redis, services.events, other_org.id, agent.id, "Kim")
    assert await presence.count_online(services.events.redis, org.id) == 0
