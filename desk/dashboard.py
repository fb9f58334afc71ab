"""The admins' dashboard, computed from the audit trail (`transitions`) over the last N
days, with days counted in the admin's time zone: handoffs per day by reason (the rule that
fired, else the stated reason; `reason_labels` says each in words) and by channel; the
median time from entering the queue to being claimed; the median handle time (from a
person taking the conversation until it leaves human hands); and the share of new
conversations the AI resolved alone: no person touched them and an AI answer reached the
customer."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk.reasons import rule_words
from gateway.auth import Role, current_agent, login_required
from gateway.inputs import query_int
from gateway.models import Agent, Conversation, Message, Transition, utcnow
from gateway.openapi import (
    INTEGER,
    NUMBER,
    STRING,
    TIMESTAMP,
    Param,
    array,
    documented,
    nullable,
    obj,
    schema,
)
from gateway.web import database

HUMAN = frozenset({"assigned", "manual"})
TOUCHED = ("queued", "assigned", "manual")
# Delivery states of a message that left for the customer (accepted by the provider or
# further along).
REACHED = ("queued", "sent", "delivered", "read")
MAX_DAYS = 90

dashboard = Blueprint("dashboard", __name__)

DASHBOARD = schema(
    "Dashboard",
    obj(
        ["days", "time_zone", "handoffs_per_day"],
        days=INTEGER,
        time_zone=STRING,
        since=TIMESTAMP,
        handoffs_per_day=array(
            obj(
                ["date", "total", "by_reason", "by_channel"],
                date={"type": "string", "format": "date"},
                total=INTEGER,
                by_reason={"type": "object", "additionalProperties": INTEGER},
                by_channel={"type": "object", "additionalProperties": INTEGER},
            )
        ),
        reasons=array(STRING),
        reason_labels={
            "type": "object",
            "additionalProperties": STRING,
            "description": "each reason of `reasons` in words, for the legend",
        },
        channels=array(STRING),
        claims=INTEGER,
        median_time_to_claim_seconds=nullable(NUMBER),
        handled=INTEGER,
        median_handle_time_seconds=nullable(NUMBER),
        conversations=INTEGER,
        ai_alone=INTEGER,
        ai_resolved_share=nullable({"type": "number", "minimum": 0, "maximum": 1}),
    ),
)


def reason_of(reason: str, rule_hits: list[Any]) -> str:
    for hit in rule_hits or ():
        if isinstance(hit, dict) and hit.get("fired", True) and hit.get("rule"):
            return str(hit["rule"])
    return reason or "unknown"


@dataclass
class _Durations:
    claims: list[float] = field(default_factory=list)
    handles: list[float] = field(default_factory=list)


def durations(rows: list[tuple[int, str, str, datetime]]) -> _Durations:
    """Claim and handle times from transitions ordered by conversation, then time."""
    found = _Durations()
    current: int | None = None
    queued_at: datetime | None = None
    human_since: datetime | None = None
    for conversation_id, source, target, at in rows:
        if conversation_id != current:
            current, queued_at, human_since = conversation_id, None, None
        if source == "queued" and target == "assigned" and queued_at is not None:
            found.claims.append((at - queued_at).total_seconds())
        if target in HUMAN and source not in HUMAN:
            human_since = at
        if source in HUMAN and target not in HUMAN and human_since is not None:
            found.handles.append((at - human_since).total_seconds())
            human_since = None
        queued_at = at if target == "queued" else None
    return found


async def build(session: AsyncSession, agent: Agent, days: int) -> dict[str, Any]:
    zone = ZoneInfo(agent.time_zone)
    today = utcnow().astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), zone)
    org = agent.organization_id
    handoffs = await session.execute(
        select(Transition.created_at, Transition.reason, Transition.rule_hits, Conversation.channel)
        .join(Conversation, Conversation.id == Transition.conversation_id)
        .where(
            Transition.organization_id == org,
            Transition.created_at >= since,
            Transition.to_state == "queued",
        )
    )
    per_day: dict[str, dict[str, Counter[str]]] = defaultdict(
        lambda: {"reason": Counter(), "channel": Counter()}
    )
    for at, reason, rule_hits, channel in handoffs:
        day = per_day[at.astimezone(zone).date().isoformat()]
        day["reason"][reason_of(reason, rule_hits)] += 1
        day["channel"][channel] += 1
    moves = await session.execute(
        select(
            Transition.conversation_id,
            Transition.from_state,
            Transition.to_state,
            Transition.created_at,
        )
        .where(Transition.organization_id == org, Transition.created_at >= since)
        .order_by(Transition.conversation_id, Transition.id)
    )
    times = durations([tuple(row) for row in moves])  # type: ignore[misc]
    touched = exists().where(
        and_(Transition.conversation_id == Conversation.id, Transition.to_state.in_(TOUCHED))
    )
    # "Resolved by the AI alone": no person took part, and an AI answer reached the
    # customer (a conversation whose only AI reply failed to send was not resolved).
    answered = exists().where(
        and_(
            Message.conversation_id == Conversation.id,
            Message.author == "ai",
            Message.delivery_status.in_(REACHED),
        )
    )
    total, ai_alone = (
        await session.execute(
            select(func.count(), func.count().filter(and_(~touched, answered))).where(
                Conversation.organization_id == org, Conversation.created_at >= since
            )
        )
    ).one()
    dates = [(first + timedelta(days=n)).isoformat() for n in range(days)]
    series = []
    for date in dates:
        day = per_day.get(date, {"reason": Counter(), "channel": Counter()})
        series.append(
            {
                "date": date,
                "total": sum(day["channel"].values()),
                "by_reason": dict(day["reason"]),
                "by_channel": dict(day["channel"]),
            }
        )
    return {
        "days": days,
        "time_zone": agent.time_zone,
        "since": since,
        "handoffs_per_day": series,
        "reasons": sorted({r for day in per_day.values() for r in day["reason"]}),
        "reason_labels": {r: rule_words(r) for day in per_day.values() for r in day["reason"]},
        "channels": sorted({c for day in per_day.values() for c in day["channel"]}),
        "claims": len(times.claims),
        "median_time_to_claim_seconds": statistics.median(times.claims) if times.claims else None,
        "handled": len(times.handles),
        "median_handle_time_seconds": statistics.median(times.handles) if times.handles else None,
        "conversations": int(total),
        "ai_alone": int(ai_alone),
        "ai_resolved_share": int(ai_alone) / int(total) if total else None,
    }


@dashboard.get("/api/dashboard")
@login_required(role=Role.ADMIN)
@documented(
    "The admins' dashboard figures over the last N days (admins)",
    tags=["dashboard"],
    query=(Param("days", f"1 to {MAX_DAYS} (default 14)", INTEGER),),
    response=DASHBOARD,
    errors=(400, 403),
)
async def dashboard_data() -> ResponseReturnValue:
    agent = current_agent()
    days = query_int("days", minimum=1, maximum=MAX_DAYS)
    async with database().transaction() as session:
        return jsonify(await build(session, agent, 14 if days is None else days))
