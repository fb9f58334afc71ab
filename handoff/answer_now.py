"""The turn of a customer who waits on the line: routing, in the transaction that stores
their message, and, when the policy gives the message to the AI, the AI's reply, run at once
in the process that took the message instead of through the routing and AI jobs one after
the other (each a queue hop a caller would hear as silence). The composition root installs
`AnsweringNow` on the gateway's services; a channel reaches it through `gateway.turns`.

Nothing is less durable than the job path. Routing commits with the message or, if it
fails, is undone alone and left to the routing job. The AI's turn is owed on the message
(`Message.ai_turn_version`) from that commit: when answering here fails, the AI's job takes
it, and if this process dies first, the reconciler does. A reply ready while the caller's
request waits is spoken on its line (`gateway.on_the_line`): stored as delivered with the
request's answer, so no delivery job and no further transaction touch it."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit, savepoint
from gateway.events import Event
from gateway.on_the_line import OnTheLine
from gateway.queues import AI, ANSWER_MESSAGE, INTAKE, ROUTE_MESSAGE
from gateway.runtime import AiTurn, Services
from handoff.ai.turn import compute_reply, store_reply
from handoff.routing import decide_route_in

log = logging.getLogger(__name__)


class AnsweringNow:
    """handoff's `gateway.runtime.AnswerNow`."""

    async def route(
        self, session: AsyncSession, services: Services, message_id: int, conversation_id: int
    ) -> AiTurn | None:
        try:
            async with savepoint(session):
                routed = await decide_route_in(session, services, message_id)
        except Exception:
            log.exception("routing message %s at once failed; the routing job takes it", message_id)
            after_commit(
                session,
                lambda: services.jobs.enqueue_async(
                    INTAKE, ROUTE_MESSAGE, message_id, conversation_id=conversation_id
                ),
            )
            return None
        if routed.conversation_id is None or routed.version is None:
            return None
        assert routed.organization_id is not None
        return AiTurn(message_id, routed.conversation_id, routed.version, routed.organization_id)

    async def answer(self, services: Services, turn: AiTurn, line: OnTheLine | None) -> None:
        try:
            await _answer(services, turn, line)
        except Exception:
            log.exception(
                "the AI's turn for message %s failed; it goes to the job queue", turn.message_id
            )
            await services.jobs.enqueue_async(
                AI,
                ANSWER_MESSAGE,
                turn.message_id,
                turn.conversation_id,
                turn.version,
                conversation_id=turn.conversation_id,
            )


async def _answer(services: Services, turn: AiTurn, line: OnTheLine | None) -> None:
    reply = await compute_reply(services, turn.conversation_id, turn.version)
    if reply is None:
        return
    stored = await store_reply(
        services, turn.conversation_id, turn.version, reply, turn.message_id, line
    )
    if stored is None:
        return
    # a request still waiting on the conversation's events needs no delivery job; the live
    # pages see a reply spoken on the line as delivered
    spoken = line is not None and line.answer is not None
    await services.events.publish(
        Event(
            "delivery",
            turn.organization_id,
            turn.conversation_id,
            {"message_id": stored, "status": "delivered" if spoken else "pending", "error": None},
        )
    )
