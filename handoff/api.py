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
from gateway.models import Conversation, Message, Transition
from gateway.ownership import State
from gateway.web import app_services
from handoff import actions
from handoff.context import load_context

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
        "delivery_status": message.delivery_status,
        "error_code": message.error_code,
        "meta": message.meta,
        "created_at": message.created_at,
    }


@api.get("/api/conversations")
@login_required(_db)
async def list_conversations() -> ResponseReturnValue:
    agent = current_agent()
    state = request.args.get("state")
    if state is not None and state not in {s.value for s in State}:
        raise BadInput(f"unknown state {state!r}")
    before = request.args.get("before", type=int)
    query = select(Conversation).where(Conversation.organization_id == agent.organization_id)
    if state:
        query = query.where(Conversation.state == state)
    if before:
        query = query.where(Conversation.id < before)
    async with _db().transaction() as session:
        rows = (
            await session.scalars(query.order_by(Conversation.id.desc()).limit(PAGE_SIZE))
        ).all()
    return jsonify({"conversations": [conversation_json(row) for row in rows]})


@api.get("/api/conversations/<int:conversation_id>")
@login_required(_db)
async def show_conversation(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    async with _db().transaction() as session:
        context = await load_context(session, conversation_id, agent.organization_id)
        messages = (
            await session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id)
            )
        ).all()
        transitions = (
            await session.scalars(
                select(Transition)
                .where(Transition.conversation_id == conversation_id)
                .order_by(Transition.id)
            )
        ).all()
    return jsonify(
        {
            "conversation": conversation_json(context.conversation),
            "messages": [message_json(m) for m in messages],
            "transitions": [
                {
                    "from": t.from_state,
                    "to": t.to_state,
                    "actor": t.actor,
                    "reason": t.reason,
                    "rule_hits": t.rule_hits,
                    "at": t.created_at,
                }
                for t in transitions
            ],
        }
    )


async def _text_field(name: str, required: bool) -> str | None:
    body = await request.get_json(silent=True)
    if body is None and not required:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadInput(f"send JSON with a {name!r} string")
    return value


@api.post("/api/conversations/<int:conversation_id>/claim")
@login_required(_db)
async def claim(conversation_id: int) -> ResponseReturnValue:
    conversation = await actions.claim(app_services().services, current_agent(), conversation_id)
    return jsonify({"conversation": conversation_json(conversation)})


@api.post("/api/conversations/<int:conversation_id>/manual")
@login_required(_db)
async def manual(conversation_id: int) -> ResponseReturnValue:
    conversation = await actions.take_manual_control(
        app_services().services, current_agent(), conversation_id
    )
    return jsonify({"conversation": conversation_json(conversation)})


@api.post("/api/conversations/<int:conversation_id>/reply")
@login_required(_db)
async def reply(conversation_id: int) -> ResponseReturnValue:
    text = await _text_field("text", required=True)
    assert text is not None
    message = await actions.reply(app_services().services, current_agent(), conversation_id, text)
    return jsonify({"message": message_json(message)}), 201


@api.post("/api/conversations/<int:conversation_id>/handback")
@login_required(_db)
async def hand_back(conversation_id: int) -> ResponseReturnValue:
    text = await _text_field("message", required=False)
    conversation = await actions.hand_back(
        app_services().services, current_agent(), conversation_id, text
    )
    return jsonify({"conversation": conversation_json(conversation)})


@api.post("/api/conversations/<int:conversation_id>/resolve")
@login_required(_db)
async def resolve(conversation_id: int) -> ResponseReturnValue:
    text = await _text_field("message", required=False)
    conversation = await actions.resolve(
        app_services().services, current_agent(), conversation_id, text
    )
    return jsonify({"conversation": conversation_json(conversation)})
