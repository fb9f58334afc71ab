"""The agents' one JSON API over conversations (`/api/conversations...`): list, read (the
view, older history), and the actions: claim, reply, manual control, hand back, resolve,
notes, reassign, label, read marks. Every route is scoped to the logged-in agent's
organization: another organization's conversation answers 404, checked before the body
or the role is looked at. Conversations and messages are shown by `desk.serializers`."""

from __future__ import annotations

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import conversation_actions as desk_actions
from desk import schemas
from desk.reasons import labelled_decision
from desk.schemas import CONVERSATION_RESULT, CONVERSATION_VIEW
from desk.serializers import conversations_json, message_json, note_json
from desk.view import HISTORY_PAGE, conversation_view, history
from desk.viewing import viewer_names
from gateway import idempotency
from gateway.auth import current_agent, login_required
from gateway.errors import BadInput
from gateway.inputs import json_object, optional_id, query_id, query_int, text_field
from gateway.models import Agent, Conversation, Message
from gateway.openapi import INTEGER, STRING, Param, array, documented, nullable, obj
from gateway.ownership import State
from gateway.web import app_services, database
from handoff import actions
from handoff.context import load_context
from handoff.policy.records import latest_decisions, latest_handoffs

conversations_api = Blueprint("conversations_api", __name__)
PAGE_SIZE = 50


@conversations_api.get("/api/conversations")
@login_required()
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
    async with database().read() as session:
        rows = list(await session.scalars(query.order_by(Conversation.id.desc()).limit(PAGE_SIZE)))
        handoffs = await latest_handoffs(session, [row.id for row in rows])
        shown = await conversations_json(session, rows)
    return jsonify(
        {
            "conversations": [
                {**entry, "handoff_decision": labelled_decision(handoffs.get(entry["id"]))}
                for entry in shown
            ]
        }
    )


@conversations_api.get("/api/conversations/<int:conversation_id>")
@login_required()
@documented(
    "The conversation view: conversation, customer, history across channels, notes, "
    "transitions, handoff decisions, reachability and who else is viewing it",
    tags=["conversations"],
    response=CONVERSATION_VIEW,
)
async def show_conversation(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    async with database().read() as session:
        view = await conversation_view(session, agent, conversation_id)
        handoffs = await latest_handoffs(session, [conversation_id])
        view["conversation"]["handoff_decision"] = labelled_decision(handoffs.get(conversation_id))
        view["conversation"]["decisions"] = [
            labelled_decision(decision)
            for decision in await latest_decisions(session, conversation_id)
        ]
        view["viewers"] = await viewer_names(
            session, app_services().services.events.redis, agent, conversation_id
        )
    return jsonify(view)


async def _answer(conversation: Conversation) -> ResponseReturnValue:
    """An action's answer: the conversation as it is now, with its team's and assignee's
    names."""
    async with database().read() as session:
        (shown,) = await conversations_json(session, [conversation])
    return jsonify({"conversation": shown})


async def _text_field(name: str, required: bool) -> str | None:
    body = await json_object(required=required)
    return text_field(body, name, required=required)


@conversations_api.post("/api/conversations/<int:conversation_id>/claim")
@login_required()
@documented(
    "Claim a waiting conversation; of many racing claims exactly one wins",
    tags=["actions"],
    response=CONVERSATION_RESULT,
    errors=(403, 409),
)
async def claim(conversation_id: int) -> ResponseReturnValue:
    conversation = await actions.claim(app_services().services, current_agent(), conversation_id)
    return await _answer(conversation)


@conversations_api.post("/api/conversations/<int:conversation_id>/manual")
@login_required()
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
    return await _answer(conversation)


@conversations_api.post("/api/conversations/<int:conversation_id>/reply")
@login_required()
@documented(
    "Reply on the conversation's channel (claims a waiting one, takes manual control of "
    "one the AI handles)",
    tags=["actions"],
    body=obj(
        ["text"],
        text=STRING,
        media=array(STRING),
        cc={
            **array(STRING),
            "description": "addresses to copy in, where the channel takes them (its max_cc); "
            "left out: the conversation's own Cc",
        },
    ),
    headers=(
        Param(
            idempotency.HEADER,
            "optional, a new random value (such as a UUID) for each reply: a repeat with "
            "the same key within 24 hours sends nothing and gets the first answer again "
            "(with Idempotent-Replayed: true); while the first is still being processed, "
            "409; with a different body, 422",
        ),
    ),
    response=obj(["message"], message={"type": "object"}),
    status=201,
    errors=(400, 403, 409, 422),
)
async def reply(conversation_id: int) -> ResponseReturnValue:
    body = await json_object()
    text = text_field(body, "text")
    assert text is not None
    media = body.get("media", [])
    if not isinstance(media, list) or not all(isinstance(key, str) for key in media):
        raise BadInput("'media' must be a list of uploaded files' keys (see POST /api/media)")
    cc = body.get("cc")
    if cc is not None and (
        not isinstance(cc, list) or not all(isinstance(address, str) for address in cc)
    ):
        raise BadInput("'cc' must be a list of email addresses")
    agent, services = current_agent(), app_services().services
    key = idempotency.key_from(request.headers.get(idempotency.HEADER))
    if key is None:
        message = await actions.reply(services, agent, conversation_id, text, media, cc)
        return jsonify({"message": message_json(message, agent.name)}), 201
    digest = idempotency.fingerprint(request.method, request.path, body)
    claimed = await idempotency.claim(services.db, agent, key, digest)
    if isinstance(claimed, idempotency.Kept):
        return idempotency.replay(claimed)

    async def keep(session: AsyncSession, message: Message) -> None:
        shown = {"message": message_json(message, agent.name)}
        await idempotency.keep(session, claimed, 201, shown)

    try:
        message = await actions.reply(
            services, agent, conversation_id, text, media, cc, before_commit=keep
        )
    except BaseException:
        await idempotency.let_go(services.db, claimed)
        raise
    return jsonify({"message": message_json(message, agent.name)}), 201


@conversations_api.post("/api/conversations/<int:conversation_id>/handback")
@login_required()
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
    return await _answer(conversation)


@conversations_api.post("/api/conversations/<int:conversation_id>/resolve")
@login_required()
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
    return await _answer(conversation)


async def visible(agent: Agent, conversation_id: int) -> None:
    """NotFound unless the conversation belongs to the agent's organization."""
    async with database().read() as session:
        await load_context(session, conversation_id, agent.organization_id)


@conversations_api.get("/api/conversations/<int:conversation_id>/messages")
@login_required()
@documented(
    "Older history of the customer, across channels",
    tags=["conversations"],
    query=(
        Param("before", "only messages older than this message id", INTEGER),
        Param("limit", f"1 to {HISTORY_PAGE} (default {HISTORY_PAGE})", INTEGER),
    ),
    response=schemas.HISTORY_PAGE,
    errors=(400,),
)
async def older_messages(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    limit = query_int("limit", minimum=1, maximum=HISTORY_PAGE)
    async with database().read() as session:
        context = await load_context(session, conversation_id, agent.organization_id)
        messages, more = await history(
            session,
            agent.organization_id,
            context.conversation.contact_id,
            before=query_id("before"),
            limit=HISTORY_PAGE if limit is None else limit,
        )
    return jsonify({"messages": messages, "has_older_messages": more})


@conversations_api.post("/api/conversations/<int:conversation_id>/notes")
@login_required()
@documented(
    "Write an internal note (never sent to the customer)",
    tags=["actions"],
    body=obj(["text"], text=STRING),
    response=obj(["note"], note=schemas.NOTE),
    status=201,
    errors=(400, 403),
)
async def add_note(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    await visible(agent, conversation_id)
    text = text_field(await json_object(), "text")
    assert text is not None
    note = await desk_actions.add_note(app_services().services, agent, conversation_id, text)
    return jsonify({"note": note_json(note, agent.name)}), 201


@conversations_api.post("/api/conversations/<int:conversation_id>/reassign")
@login_required()
@documented(
    "Reassign to an agent, a team, or both",
    tags=["actions"],
    description=(
        "To an agent: the conversation becomes assigned to them (from waiting, assigned or "
        "manual) and the customer is told who joined. To a team only: an assigned "
        "conversation goes back to Waiting for that team; otherwise the team is recorded. "
        "Agents may reassign waiting conversations and their own; admins any."
    ),
    body=obj(agent_id=nullable(INTEGER), team_id=nullable(INTEGER)),
    response=schemas.CONVERSATION_RESULT,
    errors=(400, 403, 409),
)
async def reassign(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    await visible(agent, conversation_id)
    body = await json_object()
    conversation = await desk_actions.reassign(
        app_services().services,
        agent,
        conversation_id,
        agent_id=optional_id(body, "agent_id"),
        team_id=optional_id(body, "team_id"),
    )
    return await _answer(conversation)


@conversations_api.post("/api/conversations/<int:conversation_id>/label")
@login_required()
@documented(
    "Set or clear the workflow label",
    tags=["actions"],
    body=obj(["label"], label=nullable(STRING)),
    response=schemas.CONVERSATION_RESULT,
    errors=(400, 403),
)
async def set_label(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    await visible(agent, conversation_id)
    body = await json_object()
    if "label" not in body or not isinstance(body["label"], str | None):
        raise BadInput("send JSON with a 'label' string (or null to clear it)")
    conversation = await desk_actions.set_label(
        app_services().services, agent, conversation_id, body["label"]
    )
    return await _answer(conversation)


@conversations_api.post("/api/conversations/<int:conversation_id>/read")
@login_required()
@documented(
    "Mark the conversation read (up to a message, default its newest)",
    tags=["conversations"],
    body=obj(message_id=nullable(INTEGER)),
    response=obj(["last_read_message_id"], last_read_message_id=INTEGER),
    errors=(400,),
)
async def mark_read(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    await visible(agent, conversation_id)
    message_id = optional_id(await json_object(required=False), "message_id", minimum=0)
    mark = await desk_actions.mark_read(app_services().services, agent, conversation_id, message_id)
    return jsonify({"last_read_message_id": mark})
