"""Receiving a message whose sender waits on the line for the answer (a caller on the
phone): the message is routed in the transaction that stores it, and the AI's reply runs
at once in this process (`Services.answer_now`, installed by the composition root) instead
of waiting for the routing and AI jobs in turn. The reply runs as a task beside the
request, which may wait for that task for as long as its budget allows (and then on the
conversation's live events as before), so a slow model still gets the caller a filler in
time. The task starts the moment the commit that owes the AI this turn is made, before
that commit's other follow-ups (the message's live event, a trip to Redis), which run
beside it. A reply ready within the budget is spoken in the transaction that stores it
(`gateway.on_the_line`).

When the channel knows the conversation the message joins (a call's), the AI's reply is
started before the message is even stored (`AnswerNow.foresee`): the model's request goes
out at once and storing and routing the message run while the model thinks. Routing still
decides. The early reply is used only when routing owes the AI this turn under the
ownership version the reply was started under; otherwise it is dropped, its request
cancelled, and the turn is answered as before. An early reply computed already by the time
routing decides is stored in the message's own transaction (`AnswerNow.answer_in`): the
turn commits once.

When routing, or storing the reply with it, fails there, the transaction is undone with
the message, which is stored again alone and left to the routing job, as any other
channel's message is.

Without an installed `answer_now` (a worker, a test's bare services) the message takes the
job path unchanged. `drain` lets the turns still running finish when the gateway stops."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit
from gateway.intake import Intake, Received, WithinIntake
from gateway.messages import InboundMessage
from gateway.on_the_line import OnTheLine
from gateway.runtime import AiTurn, RoutingFailed, Services

# How long a request waits past its budget for a reply that took the line to commit.
COMMIT_GRACE = 5.0

T = TypeVar("T")
_running: set[asyncio.Task[Any]] = set()


@dataclass(frozen=True, slots=True)
class Answering:
    """A stored message, and the task answering it when this request started one."""

    received: Received
    task: asyncio.Task[None] | None
    line: OnTheLine | None = None

    async def wait(self, seconds: float) -> str | None:
        """Wait up to `seconds` for the answer to be stored (at once if there is no task);
        returns the request's whole answer when the reply was spoken on the line, as soon
        as that is committed."""
        if self.task is None:  # answered in the message's own transaction, if at all
            return None if self.line is None else self.line.answer
        if self.line is None:
            await asyncio.wait({self.task}, timeout=seconds)
            return None
        either: set[asyncio.Future[Any]] = {self.task, self.line.spoken}
        await asyncio.wait(either, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        if self.line.hang_up() and not self.task.done():  # a reply took the line
            await asyncio.wait(either, timeout=COMMIT_GRACE, return_when=asyncio.FIRST_COMPLETED)
        return self.line.answer


async def receive_and_answer(
    services: Services,
    intake: Intake,
    inbound: InboundMessage,
    line: OnTheLine | None = None,
    *,
    within: WithinIntake | None = None,
    conversation_id: int | None = None,
) -> Answering:
    """Store the message once (with the channel's own work `within` its transaction) and
    route it there; for a new message the AI owes a turn to, start that turn (spoken on
    `line` while its request waits). With a `line` and the `conversation_id` the message
    joins, the AI's reply starts first, so the model works while the message is stored."""
    answer_now = services.answer_now
    if answer_now is None:
        return Answering(await intake.receive(inbound, within=within), None)
    foreseen = None
    if line is not None and conversation_id is not None:
        foreseen = await answer_now.foresee(services, conversation_id, inbound.text)
    answering: list[asyncio.Task[None]] = []

    def start_answering(turn: AiTurn) -> None:
        """At the commit that owes the AI this turn, before the commit's other follow-ups
        (the message's live event, a trip to Redis), which then run beside the answer."""
        early = foreseen if foreseen is not None and foreseen.serves(turn) else None
        if foreseen is not None and early is None:
            foreseen.drop()
        answering.append(beside(answer_now.answer(services, turn, line, early)))

    async def store_and_route(session: AsyncSession, received: Received) -> None:
        if within is not None:
            await within(session, received)
        if received.duplicate:  # a repeat: the first delivery of this message answers it
            return
        turn = await answer_now.route(
            session, services, received.message_id, received.conversation_id
        )
        if turn is None:
            return
        if foreseen is not None and foreseen.ready_for(turn):  # no second transaction
            await answer_now.answer_in(session, services, turn, line, foreseen)
        else:  # only if this commits: a shared one that failed runs again
            after_commit(session, lambda: start_answering(turn), first=True)

    try:
        received = await intake.receive(
            inbound, within=store_and_route, route=False, thread_known=conversation_id is not None
        )
    except RoutingFailed:  # undone with the message: stored again alone, routed by its job
        if foreseen is not None:
            foreseen.drop()
        return Answering(await intake.receive(inbound, within=within), None)
    except BaseException:
        if foreseen is not None and not answering:  # a started answer owns it
            foreseen.drop()
        raise
    if not answering:  # answered with the message (spoken by its commit), or not the AI's
        if foreseen is not None:
            foreseen.drop()  # nothing to stop if it was used: it was done
        return Answering(received, None, line)
    return Answering(received, answering[0], line)


def beside(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run `work` as a task beside the request (which need not wait for it), finished by
    `drain` when the gateway stops."""
    task = asyncio.create_task(work)
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


async def drain(seconds: float) -> None:
    """Wait up to `seconds` for the turns still being answered."""
    if _running:
        await asyncio.wait(set(_running), timeout=seconds)
