"""The turn of a customer who waits on the line: routing, in the transaction that stores
their message, and, when the policy gives the message to the AI, the AI's reply, run at once
in the process that took the message instead of through the routing and AI jobs one after
the other (each a queue hop a caller would hear as silence). The composition root installs
`AnsweringNow` on the gateway's services; a channel reaches it through `gateway.turns`.

Nothing is less durable than the job path. Routing commits with the message or, if it
fails, is undone with it, and the message is stored again alone for the routing job
(`gateway.turns`). The AI's turn is owed on the message
(`Message.ai_turn_version`) from that commit: when answering here fails, the AI's job takes
it, and if this process dies first, the reconciler does. A reply ready while the caller's
request waits is spoken on its line (`gateway.on_the_line`): stored as delivered with the
request's answer, so no delivery job and no further transaction touch it.

`foresee` starts the reply before the message is stored, from the conversation's history
and the customer's words, so the model works while intake and routing do; `gateway.turns`
drops it unless routing owes the AI that turn under the version it was started under.
When it is computed by the time routing decides, `answer_in` stores it in the
transaction that routed the message."""

from __future__ import annotations

import asyncio
import logging
from asyncio import FIRST_COMPLETED
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import on_the_wire
from gateway.db import after_commit
from gateway.events import Event
from gateway.on_the_line import OnTheLine
from gateway.queues import AI, ANSWER_MESSAGE
from gateway.runtime import AiTurn, Foreseen, RoutingFailed, Services
from gateway.turns import beside
from handoff.ai.llm_client import llm_config
from handoff.ai.responder import ResponderReply, Turn
from handoff.ai.turn import (
    answer_question,
    compute_reply,
    read_question,
    store_reply,
    store_reply_in,
)
from handoff.routing import decide_route_in

log = logging.getLogger(__name__)

# At most this long the message waits for the early reply's request to go out (a reply that
# must first build its organization's knowledge index, say).
ASKED_WITHIN = 0.05  # seconds


class AnsweringNow:
    """handoff's `gateway.runtime.AnswerNow`."""

    async def route(
        self, session: AsyncSession, services: Services, message_id: int, conversation_id: int
    ) -> AiTurn | None:
        try:
            routed = await decide_route_in(session, services, message_id)
        except Exception as error:
            log.exception(
                "routing a message of conversation %s at once failed; it is stored again "
                "for the routing job",
                conversation_id,
            )
            raise RoutingFailed from error
        if routed.conversation_id is None or routed.version is None:
            return None
        assert routed.organization_id is not None
        return AiTurn(message_id, routed.conversation_id, routed.version, routed.organization_id)

    async def foresee(self, services: Services, conversation_id: int, text: str) -> Foreseen | None:
        said = Turn("customer", text)
        try:
            question = await read_question(services, conversation_id, None, said)
        except Exception:  # the turn is answered as if nothing had been started
            log.exception(
                "starting the AI's reply early failed on conversation %s", conversation_id
            )
            return None
        if question is None:
            return None
        with on_the_wire.watching() as asked:
            reply = asyncio.ensure_future(answer_question(services, question))
        if llm_config(services.settings, question.settings) is not None:
            # the model's request goes out before the message's statements, which on
            # SQLite run without giving the event loop a turn; the offline responder asks
            # no one, and its reads run beside the message's
            either: set[asyncio.Future[Any]] = {asked, reply}
            await asyncio.wait(either, timeout=ASKED_WITHIN, return_when=FIRST_COMPLETED)
        return Foreseen(conversation_id, question.version, reply)

    async def answer_in(
        self,
        session: AsyncSession,
        services: Services,
        turn: AiTurn,
        line: OnTheLine | None,
        foreseen: Foreseen,
    ) -> None:
        reply = foreseen.reply.result()
        try:
            stored = await store_reply_in(
                session, services, turn.conversation_id, turn.version, reply, turn.message_id, line
            )
        except Exception as error:
            log.exception(
                "storing the AI's reply with its message in conversation %s failed; the "
                "message is stored again for the routing job",
                turn.conversation_id,
            )
            raise RoutingFailed from error
        if stored is not None:  # told once committed, while the request gets its answer
            after_commit(session, lambda: beside(_tell(services, _delivery(turn, stored, line))))

    async def answer(
        self,
        services: Services,
        turn: AiTurn,
        line: OnTheLine | None,
        foreseen: Foreseen | None = None,
    ) -> None:
        try:
            await _answer(services, turn, line, foreseen)
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


async def _answer(
    services: Services, turn: AiTurn, line: OnTheLine | None, foreseen: Foreseen | None
) -> None:
    if foreseen is not None:  # started before routing, for this very turn
        reply: ResponderReply | None = await foreseen.reply
    else:
        reply = await compute_reply(services, turn.conversation_id, turn.version)
    if reply is None:
        return
    stored = await store_reply(
        services, turn.conversation_id, turn.version, reply, turn.message_id, line
    )
    if stored is not None:
        await services.events.publish(_delivery(turn, stored, line))


async def _tell(services: Services, event: Event) -> None:
    try:
        await services.events.publish(event)
    except (RedisError, OSError) as error:  # the pages show the reply on their next load
        log.warning("the live pages were not told of a stored reply: %s", error)


def _delivery(turn: AiTurn, stored: int, line: OnTheLine | None) -> Event:
    """The live pages' news of the stored reply: a request still waiting on the
    conversation's events needs no delivery job, so a reply spoken on the line is
    delivered."""
    spoken = line is not None and line.answer is not None
    return Event(
        "delivery",
        turn.organization_id,
        turn.conversation_id,
        {"message_id": stored, "status": "delivered" if spoken else "pending", "error": None},
    )
