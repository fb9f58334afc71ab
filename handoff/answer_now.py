"""The turn of a customer who waits on the line: routing and, when the policy gives the
message to the AI, the AI's reply, run at once in the process that took the message instead
of through the routing and AI jobs one after the other (each a queue hop a caller would
hear as silence). The composition root installs `answer_now` on the gateway's services; a
channel reaches it through `gateway.turns`.

Nothing is less durable than the job path: the message is committed before this runs and
its routing job waits in the queue as a safety net; routing is claimed once per message, so
whichever comes first routes it. When the model fails here, the AI's turn goes to the job
queue (nothing of it was stored yet, so it cannot be sent twice)."""

from __future__ import annotations

import logging

from gateway.events import Event
from gateway.queues import AI, ANSWER_MESSAGE
from gateway.runtime import Services
from handoff.ai.turn import compute_reply, store_reply
from handoff.routing import decide_route

log = logging.getLogger(__name__)


async def answer_now(services: Services, message_id: int) -> None:
    """Route one committed inbound message and, when it is the AI's, store its reply."""
    routed = await decide_route(services, message_id)
    conversation_id, version = routed.conversation_id, routed.version
    if conversation_id is None or version is None:
        return
    try:
        reply = await compute_reply(services, conversation_id, version)
    except Exception:
        log.exception("the AI's turn for message %s failed; it goes to the job queue", message_id)
        await services.jobs.enqueue_async(
            AI,
            ANSWER_MESSAGE,
            message_id,
            conversation_id,
            version,
            conversation_id=conversation_id,
        )
        return
    if reply is None:
        return
    stored = await store_reply(services, conversation_id, version, reply, message_id)
    if stored is not None and routed.organization_id is not None:
        # the caller's request waits on the conversation's events, not on the delivery job
        await services.events.publish(
            Event(
                "delivery",
                routed.organization_id,
                conversation_id,
                {"message_id": stored, "status": "pending", "error": None},
            )
        )
