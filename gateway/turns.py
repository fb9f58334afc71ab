"""Receiving a message whose sender waits on the line for the answer (a caller on the
phone): the message goes through intake as always, then its routing and the AI's reply run
at once in this process (`Services.answer_now`, installed by the composition root) instead
of waiting for the routing and AI jobs in turn. It runs as a task beside the request, which
may wait for that task for as long as its budget allows (and then on the conversation's
live events as before), so a slow model still gets the caller a filler in time.

The routing job is still queued, held back by `SAFETY_NET`: if this process dies before it
routes the message, the job does it; if this process routed it first, the job finds it
routed. Without an installed `answer_now` (a worker, a test's bare services) the message
takes the job path unchanged. `drain` lets the turns still running finish when the gateway
stops."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from gateway.intake import Intake, Received
from gateway.messages import InboundMessage
from gateway.queues import INTAKE, ROUTE_MESSAGE
from gateway.runtime import AnswerNow, Services

log = logging.getLogger(__name__)

SAFETY_NET = timedelta(seconds=10)


_running: set[asyncio.Task[None]] = set()


@dataclass(frozen=True, slots=True)
class Answering:
    """A stored message, and the task answering it when this request started one."""

    received: Received
    task: asyncio.Task[None] | None

    async def wait(self, seconds: float) -> None:
        """Wait up to `seconds` for the answer to be stored (at once if there is no task)."""
        if self.task is not None:
            await asyncio.wait({self.task}, timeout=seconds)


async def receive_and_answer(
    services: Services, intake: Intake, inbound: InboundMessage
) -> Answering:
    """Store the message once and, for a new one, start routing it and the AI's answer."""
    answer = services.answer_now
    if answer is None:
        return Answering(await intake.receive(inbound), None)
    received = await intake.receive(inbound, route_after=SAFETY_NET)
    if received.duplicate:  # a repeat: the first delivery of this message answers it
        return Answering(received, None)
    task = asyncio.create_task(_answer(services, answer, received))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return Answering(received, task)


async def _answer(services: Services, answer: AnswerNow, received: Received) -> None:
    try:
        await answer(services, received.message_id)
    except Exception:
        log.exception("answering message %s at once failed; the jobs take it", received.message_id)
        await services.jobs.enqueue_async(
            INTAKE, ROUTE_MESSAGE, received.message_id, conversation_id=received.conversation_id
        )


async def drain(seconds: float) -> None:
    """Wait up to `seconds` for the turns still being answered."""
    if _running:
        await asyncio.wait(set(_running), timeout=seconds)
