"""The process's event hub against a real Redis: `subscribe` returns only once Redis has
the subscription, so an event published the moment it returns reaches the listener (the
live socket's `hello` and the page's reload on it rely on this); and a channel no one
listens to any more is given up."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from gateway.events import Event, EventHub, EventPublisher, org_channel


async def test_an_event_published_right_after_subscribing_arrives(redis_url: str) -> None:
    listener, publisher = Redis.from_url(redis_url), Redis.from_url(redis_url)
    hub = EventHub(listener)
    try:
        for organization_id in range(1, 21):
            channel = org_channel(organization_id)
            async with hub.subscribe(channel) as queue:
                # Redis knows of the subscription before subscribe() returned ...
                assert await publisher.pubsub_numsub(channel) == [(channel.encode(), 1)]
                # ... so this event, sent at once on another connection, is not lost.
                sent = Event("state", organization_id, 7, {"state": "queued"})
                await EventPublisher(publisher).publish(sent)
                assert await asyncio.wait_for(queue.get(), 5) == sent
            assert await publisher.pubsub_numsub(channel) == [(channel.encode(), 0)]
    finally:
        await hub.close()
        await listener.aclose()
        await publisher.aclose()


async def test_listeners_of_one_channel_share_its_subscription(redis_url: str) -> None:
    listener, publisher = Redis.from_url(redis_url), Redis.from_url(redis_url)
    hub = EventHub(listener)
    channel = org_channel(3)
    try:
        async with hub.subscribe(channel) as first, hub.subscribe(channel) as second:
            await EventPublisher(publisher).publish(Event("note", 3, None, {"n": 1}))
            assert (await asyncio.wait_for(first.get(), 5)).data == {"n": 1}
            assert (await asyncio.wait_for(second.get(), 5)).data == {"n": 1}
    finally:
        await hub.close()
        await listener.aclose()
        await publisher.aclose()
