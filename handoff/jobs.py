"""The RQ entry points of `handoff`: module-level functions that take ids and run their
async body on a fresh event loop (see `gateway.runtime.run_job`)."""

from __future__ import annotations

from gateway.runtime import run_job
from handoff.ai.turn import ai_turn
from handoff.deadline_actions import fire
from handoff.routing import route_message as route
from handoff.routing import route_messages as route_together


def route_message(message_id: int) -> str:
    return run_job(lambda services: route(services, message_id))


def route_messages(messages: list[list[int]]) -> list[str]:
    return run_job(lambda services: route_together(services, messages))


def answer_message(message_id: int, conversation_id: int, version: int) -> int | None:
    return run_job(lambda services: ai_turn(services, conversation_id, version, message_id))


def fire_deadline(deadline_id: int) -> str:
    return run_job(lambda services: fire(services, deadline_id))
