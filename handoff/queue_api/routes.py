"""The queue page's JSON routes: the views (Waiting, Mine, AI active, Manual review,
Resolved, ...) with filters, search and keyset pages; the badge counts; the labels in use;
older history; and the actions notes, reassign, label and read. Every route that takes a
conversation id first checks that the conversation is the agent's organization's (404
otherwise), before it looks at the body or the role."""

from __future__ import annotations

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import select

from gateway.auth import current_agent, login_required
from gateway.db import Database
from gateway.errors import BadInput
from gateway.inputs import json_object, optional_id, query_id, query_int, text_field
from gateway.models import Agent, Conversation, utcnow
from gateway.openapi import INTEGER, STRING, Param, array, documented, nullable, obj
from gateway.web import app_services
from handoff.context import load_context
from handoff.queue_api import conversation_actions as actions
from handoff.queue_api import schemas
from handoff.queue_api.counts import COUNT_CAP, counts
from handoff.queue_api.listing import DEFAULT_PAGE, MAX_PAGE, VIEWS, Filters, list_page
from handoff.queue_api.view import HISTORY_PAGE, conversation_json, history, note_json

queue_api = Blueprint("queue_api", __name__)

FILTER_PARAMS = (
    Param("channel", "only this channel (a name that GET /api/channels lists)"),
    Param("team_id", "only this team's conversations", INTEGER),
    Param("label", "only conversations with this label"),
)


def _db() -> Database:
    return app_services().services.db


async def visible(agent: Agent, conversation_id: int) -> None:
    """NotFound unless the conversation belongs to the agent's organization."""
    async with _db().transaction() as session:
        await load_context(session, conversation_id, agent.organization_id)


def _filters() -> Filters:
    channel = request.args.get("channel") or None
    if channel is not None and (len(channel) > 32 or not channel.replace("_", "").isalnum()):
        raise BadInput(f"unknown channel {channel!r}")
    return Filters(
        channel=channel,
        team_id=query_id("team_id"),
        label=request.args.get("label") or None,
        query=request.args.get("q") or None,
    )


@queue_api.get("/api/queue/<view>")
@login_required(_db)
@documented(
    "One page of a queue view",
    tags=["queue"],
    description=(
        "Views: waiting (oldest first), mine, assigned, ai, manual (least review time left "
        "first), resolved, all (newest activity first). Pass next_cursor back as cursor for "
        "the next page; it is null on the last one."
    ),
    query=(
        *FILTER_PARAMS,
        Param("q", "search: customer name, phone, email, or message text (2+ characters)"),
        Param("cursor", "next_cursor of the previous page"),
        Param("limit", f"page size, 1 to 100 (default {DEFAULT_PAGE})", INTEGER),
    ),
    response=schemas.QUEUE_PAGE,
    errors=(400,),
)
async def queue_view(view: str) -> ResponseReturnValue:
    if view not in VIEWS:
        raise BadInput(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    agent = current_agent()
    filters = _filters()
    limit = query_int("limit", minimum=1, maximum=MAX_PAGE)
    async with _db().transaction() as session:
        page = await list_page(
            session,
            agent,
            view,
            filters,
            cursor=request.args.get("cursor"),
            limit=DEFAULT_PAGE if limit is None else limit,
        )
    return jsonify(
        {
            "view": view,
            "items": page.items,
            "next_cursor": page.next_cursor,
            "time_zone": agent.time_zone,
            "server_time": utcnow(),
        }
    )


@queue_api.get("/api/queue/counts")
@login_required(_db)
@documented(
    "The badge counts of every view, in one query",
    description=(
        "Waiting, Mine, Assigned and Manual are exact. AI active, Resolved, needs_attention "
        'and all stop at `cap`; the views that did are listed in `capped` (show "10,000+").'
    ),
    tags=["queue"],
    query=FILTER_PARAMS,
    response=schemas.COUNTS,
    errors=(400,),
)
async def queue_counts() -> ResponseReturnValue:
    filters = _filters()
    if filters.query:
        raise BadInput("counts take channel, team_id and label filters, not a search")
    async with _db().transaction() as session:
        found = await counts(session, current_agent(), filters)
    return jsonify(
        {
            "counts": found.counts,
            "capped": found.capped,
            "cap": COUNT_CAP,
            "server_time": utcnow(),
        }
    )


@queue_api.get("/api/labels")
@login_required(_db)
@documented(
    "The labels in use in the organization (for the label filter and picker)",
    tags=["queue"],
    response=obj(["labels"], labels=array(STRING)),
)
async def labels() -> ResponseReturnValue:
    async with _db().transaction() as session:
        found = await session.scalars(
            select(Conversation.label)
            .where(
                Conversation.organization_id == current_agent().organization_id,
                Conversation.label.is_not(None),
            )
            .distinct()
            .order_by(Conversation.label)
            .limit(500)
        )
        return jsonify({"labels": [label for label in found if label]})


@queue_api.get("/api/conversations/<int:conversation_id>/messages")
@login_required(_db)
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
    async with _db().transaction() as session:
        context = await load_context(session, conversation_id, agent.organization_id)
        messages, more = await history(
            session,
            agent.organization_id,
            context.conversation.contact_id,
            before=query_id("before"),
            limit=HISTORY_PAGE if limit is None else limit,
        )
    return jsonify({"messages": messages, "has_older_messages": more})


@queue_api.post("/api/conversations/<int:conversation_id>/notes")
@login_required(_db)
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
    note = await actions.add_note(app_services().services, agent, conversation_id, text)
    return jsonify({"note": note_json(note, agent.name)}), 201


@queue_api.post("/api/conversations/<int:conversation_id>/reassign")
@login_required(_db)
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
    conversation = await actions.reassign(
        app_services().services,
        agent,
        conversation_id,
        agent_id=optional_id(body, "agent_id"),
        team_id=optional_id(body, "team_id"),
    )
    return jsonify({"conversation": conversation_json(conversation)})


@queue_api.post("/api/conversations/<int:conversation_id>/label")
@login_required(_db)
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
    conversation = await actions.set_label(
        app_services().services, agent, conversation_id, body["label"]
    )
    return jsonify({"conversation": conversation_json(conversation)})


@queue_api.post("/api/conversations/<int:conversation_id>/read")
@login_required(_db)
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
    mark = await actions.mark_read(app_services().services, agent, conversation_id, message_id)
    return jsonify({"last_read_message_id": mark})
