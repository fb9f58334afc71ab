"""RQ queues: their names, the JSON serializer, and enqueueing by job name. Jobs are
module-level functions that take ids. The core enqueues the handoff jobs by their dotted
name, so `gateway` never imports `handoff`. Every network send gets an explicit `Retry`;
`job_failed` marks the conversation "needs attention" once a job has no retries left."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from rq import Callback, Queue, Retry
from rq.serializers import JSONSerializer

# The worker drains these in this order: deliveries first, the AI, then handoff summaries
# (a customer waits for the AI's reply; an agent can read the transcript meanwhile).
OUTBOUND = "switchboard-outbound"
INTAKE = "switchboard-intake"
DEADLINES = "switchboard-deadlines"
AI = "switchboard-ai"
SUMMARIES = "switchboard-summaries"
ALL_QUEUES = (OUTBOUND, INTAKE, DEADLINES, AI, SUMMARIES)

ROUTE_MESSAGE = "handoff.jobs.route_message"
FIRE_DEADLINE = "handoff.jobs.fire_deadline"
DELIVER = "gateway.delivery.deliver"
ON_FINAL_FAILURE = "gateway.delivery.job_failed"

SEND_RETRY = Retry(max=5, interval=[2, 5, 15, 60, 300])

# The job that fetches an inbound message's media, by channel (named, so `gateway` never
# imports a channel): the reconciler re-enqueues it for media a message still lists as
# pending, in `meta["media"]` (one `{"status": ...}` entry per attachment).
FETCH_MEDIA_JOBS: dict[str, str] = {
    "sms": "messaging.twilio.jobs.fetch_media",
    "whatsapp": "messaging.twilio.jobs.fetch_media",
}


@dataclass(frozen=True, slots=True)
class JobRef:
    id: str


class JobQueue:
    """Thin wrapper over RQ: named queues on one Redis connection, JSON-serialized."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._queues = {
            name: Queue(name, connection=redis, serializer=JSONSerializer) for name in ALL_QUEUES
        }

    def queue(self, name: str) -> Queue:
        return self._queues[name]

    def enqueue(
        self,
        queue: str,
        job: str,
        *args: Any,
        at: datetime | None = None,
        retry: Retry | None = None,
        job_id: str | None = None,
        conversation_id: int | None = None,
    ) -> JobRef:
        options: dict[str, Any] = {
            "retry": retry,
            "job_id": job_id,
            "on_failure": Callback(ON_FINAL_FAILURE),
            "meta": {"conversation_id": conversation_id} if conversation_id else {},
        }
        target = self._queues[queue]
        if at is not None:
            rq_job = target.enqueue_at(at, job, *args, **options)
        else:
            rq_job = target.enqueue(job, *args, **options)
        return JobRef(rq_job.id)

    async def enqueue_async(self, queue: str, job: str, *args: Any, **options: Any) -> JobRef:
        """`enqueue` off the event loop (RQ's client is synchronous)."""
        return await asyncio.to_thread(self.enqueue, queue, job, *args, **options)
