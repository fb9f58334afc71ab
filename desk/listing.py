"""The queue's lists: which conversations each view holds, in which order, filtered by
channel, team, label and search, one page at a time. Pages are keyset-paginated on the
view's sort key plus the id (an opaque cursor), so page 1,000 costs what page 1 costs, and
each view's filter and order match an index: `(organization, state, waiting_since)` for
Waiting, `(organization, state, updated_at, id)` for the others, `(organization, assignee,
state)` for Mine (migration 0004); `(organization, updated_at, id)` for All and a search
and `(organization, needs_attention, updated_at, id)` for Needs attention (migration 0013);
the badge counts read `(organization, state, needs_attention, assignee)` alone.

A search looks in every view (an agent searching "48213" from Waiting must find it in
Mine), so each row says which view it sits in for this agent (`view_of`)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from desk.search import Matches, few_matches, search_condition
from desk.serializers import queue_item
from gateway.errors import BadInput
from gateway.inputs import decode_json, parse_id
from gateway.models import Agent, Contact, Conversation, ConversationRead, Message, Team
from gateway.ownership import State

VIEWS = ("waiting", "mine", "assigned", "ai", "manual", "resolved", "all", "needs_attention")
# The states a person or the AI is still working; a resolved conversation keeps its flag
# but leaves Needs attention.
OPEN_STATES = (State.QUEUED.value, State.AI.value, State.ASSIGNED.value, State.MANUAL.value)
MAX_PAGE = 100
DEFAULT_PAGE = 50
PREVIEW_CHARS = 160


@dataclass(frozen=True, slots=True)
class Filters:
    channel: str | None = None
    team_id: int | None = None
    label: str | None = None
    query: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class _Order:
    column: InstrumentedAttribute[Any]
    ascending: bool


_ORDERS = {
    "waiting": _Order(Conversation.waiting_since, ascending=True),
    "manual": _Order(Conversation.ai_paused_until, ascending=True),
}
_DEFAULT_ORDER = _Order(Conversation.updated_at, ascending=False)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def view_condition(view: str, agent: Agent) -> ColumnElement[bool] | None:
    """Which conversations `view` holds for `agent` (None: all of them)."""
    if view == "waiting":
        return Conversation.state == State.QUEUED.value
    if view == "mine":
        return and_(
            Conversation.assigned_agent_id == agent.id,
            Conversation.state.in_([State.ASSIGNED.value, State.MANUAL.value]),
        )
    if view == "assigned":
        return Conversation.state == State.ASSIGNED.value
    if view == "ai":
        return Conversation.state == State.AI.value
    if view == "manual":
        return Conversation.state == State.MANUAL.value
    if view == "resolved":
        return Conversation.state == State.RESOLVED.value
    if view == "needs_attention":
        # `= true`, not `IS true`: PostgreSQL reads an index only for the former.
        return and_(Conversation.state.in_(OPEN_STATES), Conversation.needs_attention == true())
    if view == "all":
        return None
    raise BadInput(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")


def view_of(conversation: Conversation, agent: Agent) -> str:
    """The view `conversation` sits in for `agent` (their own before Manual review)."""
    state = conversation.state
    if state == State.QUEUED.value:
        return "waiting"
    if state in (State.ASSIGNED.value, State.MANUAL.value):
        if conversation.assigned_agent_id == agent.id:
            return "mine"
        return "manual" if state == State.MANUAL.value else "assigned"
    return "ai" if state == State.AI.value else "resolved"


def filter_conditions(
    organization_id: int,
    filters: Filters,
    dialect: str = "sqlite",
    *,
    matches: Matches | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Conversation.organization_id == organization_id]
    if filters.channel:
        conditions.append(Conversation.channel == filters.channel)
    if filters.team_id is not None:
        conditions.append(Conversation.team_id == filters.team_id)
    if filters.label:
        conditions.append(Conversation.label == filters.label)
    if filters.query:
        conditions.append(
            search_condition(organization_id, filters.query, dialect, matches=matches)
        )
    return conditions


def encode_cursor(value: datetime | None, conversation_id: int) -> str:
    raw = json.dumps([value.isoformat() if value else None, conversation_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, conversation_id = decode_json(base64.urlsafe_b64decode(padded.encode()))
        conversation_id = parse_id(conversation_id)
        return (datetime.fromisoformat(value) if value else None), conversation_id
    except (ValueError, TypeError, binascii.Error, BadInput):
        raise BadInput("invalid cursor: pass back next_cursor as it was given") from None


def _after(order: _Order, cursor: str) -> ColumnElement[bool]:
    value, last_id = decode_cursor(cursor)
    if value is None:  # the sort key was empty: continue by id among those
        later = Conversation.id > last_id if order.ascending else Conversation.id < last_id
        return and_(order.column.is_(None), later)
    key = tuple_(order.column, Conversation.id)
    mark = tuple_(literal(value, order.column.type), literal(last_id, Conversation.id.type))
    return key > mark if order.ascending else key < mark


def page_query(
    agent: Agent,
    view: str,
    filters: Filters,
    dialect: str,
    cursor: str | None,
    limit: int,
    *,
    matches: Matches | None = None,
) -> Select[Conversation, str | None, str, str]:
    """The statement for one page of `view` (limit + 1 rows, to tell whether more follow);
    `matches`: a search's few matches, looked up already, to read the page from (see
    desk.search)."""
    order = _ORDERS.get(view, _DEFAULT_ORDER)
    conditions = filter_conditions(agent.organization_id, filters, dialect, matches=matches)
    condition = view_condition(view, agent)
    if condition is not None:
        conditions.append(condition)
    if cursor:
        conditions.append(_after(order, cursor))
    assignee = aliased(Agent)
    key: ColumnElement[Any] = order.column.expression
    if filters.query and dialect == "sqlite":
        # SQLite without statistics would walk the view's index in order and test every
        # conversation against the search (a second at 100,000); the unary + (a no-op on
        # the value) stops that, so it looks up the few matches first and sorts them.
        key = literal_column(f"+conversations.{order.column.key}", order.column.type)
    return (
        select(Conversation, Contact.name, Team.name, assignee.name)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(Team, Team.id == Conversation.team_id)
        .outerjoin(assignee, assignee.id == Conversation.assigned_agent_id)
        .where(*conditions)
        .order_by(
            key.asc() if order.ascending else key.desc(),
            Conversation.id.asc() if order.ascending else Conversation.id.desc(),
        )
        .limit(limit + 1)
    )


async def list_page(
    session: AsyncSession,
    agent: Agent,
    view: str,
    filters: Filters,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> Page:
    """One page of `view` for `agent`, newest or oldest first as the view sorts."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadInput(f"limit must be between 1 and {MAX_PAGE}")
    order = _ORDERS.get(view, _DEFAULT_ORDER)
    dialect = _dialect(session)
    # SQLite has its own way to be read from the matches (the unary + in page_query)
    matches = (
        await few_matches(session, agent.organization_id, filters.query, dialect)
        if filters.query is not None and dialect == "postgresql"
        else None
    )
    query = page_query(agent, view, filters, dialect, cursor, limit, matches=matches)
    rows = (await session.execute(query)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [row[0].id for row in rows]
    last = await last_messages(session, ids)
    read = await read_marks(session, agent.id, ids)
    nameless = [row[0].id for row in rows if row[1] is None and row[0].address_kind == "web"]
    pages = await visitor_pages(session, nameless)
    items = [
        {
            **queue_item(
                conversation,
                contact_name,
                team_name,
                assignee_name,
                last,
                read,
                pages.get(conversation.id),
            ),
            "view": view_of(conversation, agent),
        }
        for conversation, contact_name, team_name, assignee_name in rows
    ]
    next_cursor = None
    if more and rows:
        tail = rows[-1][0]
        next_cursor = encode_cursor(getattr(tail, order.column.key), tail.id)
    return Page(items, next_cursor)


async def last_messages(
    session: AsyncSession, conversation_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The newest message of each conversation, with a short preview of its text."""
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(Message.id))
        .where(Message.conversation_id.in_(conversation_ids))
        .group_by(Message.conversation_id)
    )
    rows = await session.execute(
        select(
            Message.id,
            Message.conversation_id,
            Message.author,
            Message.channel,
            func.substr(Message.text, 1, PREVIEW_CHARS),
            Message.created_at,
        ).where(Message.id.in_(newest))
    )
    return {
        conversation_id: {
            "id": message_id,
            "author": author,
            "channel": channel,
            "preview": preview or "",
            "at": created_at,
        }
        for message_id, conversation_id, author, channel, preview, created_at in rows
    }


async def visitor_pages(session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, str]:
    """The page each nameless web visitor last wrote from (the widget sends its path), to
    call them "Visitor from /products" rather than by their token."""
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(Message.id))
        .where(Message.conversation_id.in_(conversation_ids), Message.author == "customer")
        .group_by(Message.conversation_id)
    )
    rows = await session.execute(
        select(Message.conversation_id, Message.meta).where(Message.id.in_(newest))
    )
    return {
        int(conversation_id): meta["page"]
        for conversation_id, meta in rows
        if isinstance(meta, dict) and isinstance(meta.get("page"), str)
    }


async def read_marks(
    session: AsyncSession, agent_id: int, conversation_ids: Sequence[int]
) -> dict[int, int]:
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(ConversationRead.conversation_id, ConversationRead.last_read_message_id).where(
            ConversationRead.agent_id == agent_id,
            ConversationRead.conversation_id.in_(conversation_ids),
        )
    )
    return {int(conversation_id): int(mark) for conversation_id, mark in rows}
