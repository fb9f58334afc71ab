"""RQ queues: their names, the JSON serializer, and enqueueing by job name. Jobs are
module-level functions that take ids. The core enqueues the handoff jobs by their dotted
name, so `gateway` never imports `handoff`. Every network send gets an explicit `Retry`;
`job_failed` marks the conversation "needs attention" once a job has no retries left."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue, Retry
from rq.job import Job, JobStatus
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
# The messages stored together, routed by one job: (message id, conversation id) pairs.
ROUTE_MESSAGES = "handoff.jobs.route_messages"
ANSWER_MESSAGE = "handoff.jobs.answer_message"  # the AI's turn for one routed message
FIRE_DEADLINE = "handoff.jobs.fire_deadline"
DELIVER = "gateway.delivery.deliver"
DELIVER_WEBHOOK = "gateway.webhook_jobs.deliver_webhook"
ON_FINAL_FAILURE = "gateway.delivery.job_failed"

SEND_RETRY = Retry(max=5, interval=[2, 5, 15, 60, 300])

# Redis holds only what it must. Nothing reads a job's return value (the database holds
# every outcome), so a finished job leaves nothing behind; RQ's default would keep each
# job and its result stream for 500 s, about 5 KB per job, three jobs per message. A job
# that failed for good is kept a week for whoever investigates (the message and its
# conversation are marked in the database either way).
RESULT_TTL = 0
FAILURE_TTL = 7 * 24 * 3600


# Jobs named after the row they work on, so the reconciler can ask Redis whether a row's
# job still exists (see `gateway.lost_jobs`) instead of waiting out every retry back-off.
# Routing and deadlines too: under a backlog, a message waiting in the queue for longer than
# the reconciler's grace must not get another job on every pass.
KEYED_JOBS = {
    DELIVER: "deliver",
    DELIVER_WEBHOOK: "webhook",
    ROUTE_MESSAGE: "route",
    ANSWER_MESSAGE: "answer",
    FIRE_DEADLINE: "deadline",
}
# A job that is queued, waiting for its time, or waiting for another job is still coming.
WAITING_STATES = frozenset(
    {JobStatus.CREATED, JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
)


def keyed_job_id(job: str, row_id: int) -> str:
    """The id of the one job that works on a row (`deliver-42`, `webhook-7`)."""
    return f"{KEYED_JOBS[job]}-{row_id}"


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
        self._groups: dict[asyncio.AbstractEventLoop, _Group] = {}

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
        pipeline: Pipeline | None = None,
    ) -> JobRef:
        """Queue one job; with `pipeline`, it reaches Redis when the pipeline runs."""
        if job_id is None and job in KEYED_JOBS and args:
            job_id = keyed_job_id(job, int(args[0]))
        options: dict[str, Any] = {
            "result_ttl": RESULT_TTL,
            "failure_ttl": FAILURE_TTL,
            "retry": retry,
            "job_id": job_id,
            "on_failure": Callback(ON_FINAL_FAILURE),
            "meta": {"conversation_id": conversation_id} if conversation_id else {},
        }
        target = self._queues[queue]
        if at is not None:
            rq_job = target.enqueue_at(at, job, *args, **options)
        else:
            rq_job = target.enqueue(job, *args, pipeline=pipeline, **options)
        return JobRef(rq_job.id)

    def waiting(self, job_ids: list[str]) -> set[str]:
        """Which of these jobs still exist in Redis and wait to run. A job missing (lost in
        a Redis restart), finished, failed, or started by a worker that never moved its row
        on, is not waiting. Nor is a job still marked queued that is in no queue: a worker
        killed between taking it off the queue and marking it started leaves it so."""
        found = Job.fetch_many(job_ids, connection=self.redis, serializer=JSONSerializer)
        waiting = [
            job
            for job in found
            if job is not None and job.get_status(refresh=False) in WAITING_STATES
        ]
        queued = [job for job in waiting if job.get_status(refresh=False) == JobStatus.QUEUED]
        with self.redis.pipeline(transaction=False) as pipeline:
            for job in queued:
                queue = Queue(job.origin, connection=self.redis)
                pipeline.lpos(queue.key, job.id)
                pipeline.lpos(queue.intermediate_queue_key, job.id)  # a worker is taking it
            positions = pipeline.execute() if queued else []
        places = zip(positions[::2], positions[1::2], strict=True)  # (queue, being taken)
        lost = {job.id for job, place in zip(queued, places, strict=True) if place == (None, None)}
        return {job.id for job in waiting if job.id not in lost}

    async def enqueue_async(self, queue: str, job: str, *args: Any, **options: Any) -> JobRef:
        """`enqueue` off the event loop (RQ's client is synchronous). Jobs queued while an
        earlier group is on its way to Redis go together: one thread, one pipeline (a
        batch of messages stored together queues its routing jobs at once)."""
        if options.get("at") is not None:
            return await asyncio.to_thread(self.enqueue, queue, job, *args, **options)
        loop = asyncio.get_running_loop()
        group = self._groups.get(loop)
        if group is None:
            self._groups = {loop: (group := _Group())}  # one loop at a time uses a queue
        request = _Request(queue, job, args, options, loop.create_future())
        group.waiting.append(request)
        if group.sender is None or group.sender.done():
            group.sender = asyncio.create_task(self._send(group))
        return await request.answer

    async def _send(self, group: _Group) -> None:
        while group.waiting:
            requests, group.waiting = group.waiting, []
            try:
                refs = await asyncio.to_thread(self._enqueue_together, requests)
            except Exception as error:
                for request in requests:
                    if not request.answer.done():
                        request.answer.set_exception(error)
            else:
                for request, ref in zip(requests, refs, strict=True):
                    if not request.answer.done():
                        request.answer.set_result(ref)

    def _enqueue_together(self, requests: list[_Request]) -> list[JobRef]:
        with self.redis.pipeline() as pipe:
            refs = [
                self.enqueue(item.queue, item.job, *item.args, pipeline=pipe, **item.options)
                for item in requests
            ]
            pipe.execute()
        return refs


@dataclass(slots=True)
class _Request:
    queue: str
    job: str
    args: tuple[Any, ...]
    options: dict[str, Any]
    answer: asyncio.Future[JobRef]


@dataclass(slots=True)
class _Group:
    """The jobs waiting for the group now on its way, and the task sending them."""

    waiting: list[_Request] = field(default_factory=list)
    sender: asyncio.Task[None] | None = None
