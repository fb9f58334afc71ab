"""Which messages the routing jobs waiting in Redis will route: a message stored alone has
a job of its own (`route-<id>`), messages stored together share one."""

from __future__ import annotations

from collections import Counter

from gateway.queues import INTAKE, ROUTE_MESSAGE, ROUTE_MESSAGES
from gateway.runtime import Services


def messages_to_route(services: Services) -> Counter[int]:
    """Each message with a routing job waiting, and how many jobs name it."""
    named: Counter[int] = Counter()
    for job in services.jobs.queue(INTAKE).get_jobs():
        if job.func_name == ROUTE_MESSAGE:
            named[int(job.args[0])] += 1
        elif job.func_name == ROUTE_MESSAGES:
            named.update(int(message_id) for message_id, _ in job.args[0])
    return named
