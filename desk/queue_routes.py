"""The queue page's lists: the views (Waiting, Mine, AI active, Manual review, Resolved,
Needs attention, All) with filters, search and keyset pages; the badge counts; the labels
in use. Routes about one conversation are in `desk.conversations`."""

from __future__ import annotations

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import select

from desk import schemas
from desk.counts import counts
from desk.listing import DEFAULT_PAGE, MAX_PAGE, VIEWS, Filters, list_page
from gateway.auth import current_agent, login_required
from gateway.errors import BadInput
from gateway.inputs import query_id, query_int
from gateway.models import Conversation, utcnow
from gateway.openapi import INTEGER, STRING, Param, array, documented, obj
from gateway.web import database

queue_api = Blueprint("queue_api", __name__)

FILTER_PARAMS = (
    Param("channel", "only this channel (a name that GET /api/channels lists)"),
    Param("team_id", "only this team's conversations", INTEGER),
    Param("label", "only conversations with this label"),
)


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
@login_required()
@documented(
    "One page of a queue view",
    tags=["queue"],
    description=(
        "Views: waiting (oldest first), mine, assigned, ai, manual (least review time left "
        "first), resolved, needs_attention (open conversations flagged for a person, "
        "whoever owns them), all (newest activity first; the page searches here). Each "
        "item's `view` says which view it sits in for you. Pass next_cursor back as cursor "
        "for the next page; it is null on the last one."
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
    async with database().read() as session:
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
@login_required()
@documented(
    "The badge counts of every view",
    description="Exact counts, filtered by channel, team and label as the lists are.",
    tags=["queue"],
    query=FILTER_PARAMS,
    response=schemas.COUNTS,
    errors=(400,),
)
async def queue_counts() -> ResponseReturnValue:
    filters = _filters()
    if filters.query:
        raise BadInput("counts take channel, team_id and label filters, not a search")
    async with database().read(quick=True) as session:
        found = await counts(session, current_agent(), filters)
    return jsonify({"counts": found, "server_time": utcnow()})


@queue_api.get("/api/labels")
@login_required()
@documented(
    "The labels in use in the organization (for the label filter and picker)",
    tags=["queue"],
    response=obj(["labels"], labels=array(STRING)),
)
async def labels() -> ResponseReturnValue:
    async with database().read() as session:
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
