"""The agents' JSON API over conversations: list, read (history and transitions), and the
actions (claim, reply, manual control, hand back, resolve). Every route is scoped to the
logged-in agent's organization: another organization's conversation answers 404."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import select

from gateway.auth import current_agent, login_required
from gateway.db import Database
from gateway.errors import BadInput
from gateway.inputs import json_object, query_id, text_field
from gateway.models import Conversation, Message
from gateway.openapi import INTEGER, STRING, Param, array, documented, nullable, obj
from gateway.ownership import State
from gateway.web import app_services
from handoff import actions
from handoff.policy.records import latest_decisions, latest_handoffs
from handoff.queue_api.schemas import CONVERSATION_RESULT, CONVERSATION_VIEW
from handoff.queue_api.view import conversation_view
from handoff.queue_api.viewing import viewer_names

api = Blueprint("conversations_api", __name__)
PAGE_SIZE = 50


def _db() -> Database:
    return app_services().services.db


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "state": conversation.state,
        "ownership_version": conversation.ownership_version,
        "assigned_agent_id": conversation.assigned_agent_id,
        "label": conversation.label,
        "handoff_reason": conversation.handoff_reason,
        "rule_hits": conversation.rule_hits,
        "summary": conversation.summary,
        "waiting_since": conversation.waiting_since,
        "ai_paused_until": conversation.ai_paused_until,
        "needs_attention": conversation.needs_attention,
        "attention_reason": conversation.attention_reason,
        "updated_at": conversation.updated_at,
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "author": message.author,
        "agent_id": message.agent_id,
        "channel": message.channel,
        "text": message.text,
        "attachments": message.attachments,
        "delivery_status": message.delivery_status,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "meta": message.meta,
        "created_at": message.created_at,
    }


@api.get("/api/conversations")
@login_required(_db)
@documented(
    "Conversations of the organization, newest first (50 a page)",
    tags=["conversations"],
    query=(
        Param("state", "ai, queued, assigned, manual or resolved"),
        Param("before", "only conversations with a smaller id", INTEGER),
    ),
    response=obj(["conversations"], conversations=array({"type": "object"})),
    errors=(400,),
)
async def list_conversations() -> ResponseReturnValue:
    agent = current_agent()
    state = request.args.get("state")
    if state is not None and state not in {s.value for s in State}:
        raise BadInput(f"unknown state {state!r}")
    before = query_id("before")
    query = select(Conversation).where(Conversation.organization_id == agent.organization_id)
    if state:
        query = query.where(Conversation.state == state)
    if before:
        query = query.where(Conversation.id < before)
    async with _db().transaction() as session:
        rows = (
            await session.scalars(query.order_by(Conversation.id.desc()).limit(PAGE_SIZE))
        ).all()
        handoffs = await latest_handoffs(session, [row.id for row in rows])
    return jsonify(
        {
            "conversations": [
                {**conversation_json(row), "handoff_decision": handoffs.get(row.id)} for row in rows
            ]
        }
    )


@api.get("/api/conversations/<int:conversation_id>")
@login_required(_db)
@documented(
    "The conversation view: conversation, customer, history across channels, notes, "
    "transitions, handoff decisions, reachability and who else is viewing it",
    tags=["conversations"],
    response=CONVERSATION_VIEW,
)
async def show_conversation(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    async with _db().transaction() as session:
        view = await conversation_view(session, agent, conversation_id)
        handoffs = await latest_handoffs(session, [conversation_id])
        view["conversation"]["handoff_decision"] = handoffs.get(conversation_id)
        view["conversation"]["decisions"] = await latest_decisions(session, conversation_id)
        view["viewers"] = await viewer_names(
            session, app_services().services.events.redis, agent, conversation_id
        )
    return jsonify(view)


async def _text_field(name: str, required: bool) -> str | None:
    body = await json_object(required=required)
    return text_field(body, name, required=required)


@api.post("/api/conversations/<int:conversation_id>/claim")
@login_required(_db)
@documented(
    "Claim a waiting conversation; of many racing claims exactly one wins",
    tags=["actions"],
    response=CONVERSATION_RESULT,
    errors=(403, 409),
)
async def claim(conversation_id: int) -> ResponseReturnValue:
    conversation = await actions.claim(app_services().services, current_agent(), conversation_id)
    return jsonify({"conversation": conversation_json(conversation)})


@api.post("/api/conversations/<int:conversation_id>/manual")
@login_required(_db)
@documented(
    "Take manual control: the AI pauses for the review window, restarted by every action",
    tags=["actions"],
    response=CONVERSATION_RESULT,
    errors=(403, 409),
)
async def manual(conversation_id: int) -> ResponseReturnValue:
    conversation = await actions.take_manual_control(
        app_services().services, current_agent(), conversation_id
    )
    return jsonify({"conversation": conversation_json(conversation)})


@api.post("/api/conversations/<int:conversation_id>/reply")
@login_required(_db)
@documented(
    "Reply on the conversation's channel (claims a waiting one, takes manual control of "
    "one the AI handles)",
    tags=["actions"],
    body=obj(["text"], text=STRING, media=array(STRING)),
    response=obj(["message"], message={"type": "object"}),
    status=201,
    errors=(400, 403, 409),
)
async def reply(conversation_id: int) -> ResponseReturnValue:
    body = await json_object()
    text = text_field(body, "text")
    assert text is not None
    media = body.get("media", [])
    if not isinstance(media, list) or not all(isinstance(key, str) for key in media):
        raise BadInput("'media' must be a list of uploaded files' keys (see POST /api/media)")
    message = await actions.reply(
        app_services().services, current_agent(), conversation_id, text, media
    )
    return jsonify({"message": message_json(message)}), 201


@api.post("/api/conversations/<int:conversation_id>/handback")
@login_required(_db)
@documented(
    "Hand the conversation back to the AI, with an optional message to the customer",
    tags=["actions"],
    body=obj(message=nullable(STRING)),
    response=CONVERSATION_RESULT,
    errors=(400, 403, 409),
)
async def hand_back(conversation_id: int) -> ResponseReturnValue:
    text = await _text_field("message", required=False)
    conversation = await actions.hand_back(
        app_services().services, current_agent(), conversation_id, text
    )
    return jsonify({"conversation": conversation_json(conversation)})


@api.post("/api/conversations/<int:conversation_id>/resolve")
@login_required(_db)
@documented(
    "Resolve the conversation, with an optional message to the customer",
    tags=["actions"],
    body=obj(message=nullable(STRING)),
    response=CONVERSATION_RESULT,
    errors=(400, 403, 409),
)
async def resolve(conversation_id: int) -> ResponseReturnValue:
    text = await _text_field("message", required=False)
    conversation = await actions.resolve(
        app_services().services, current_agent(), conversation_id, text
    )
    return jsonify({"conversation": conversation_json(conversation)})
