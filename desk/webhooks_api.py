"""The admins' JSON API over their organization's webhook endpoints: list them, add one
(its signing secret is shown once, in the answer), delete one, read its recent deliveries
and resend one. Only admins may use it; another organization's endpoint or delivery
answers 404.

A resend sends the same delivery again (same delivery id and payload, so a receiver that
already processed it can tell), from a fresh set of attempts. Only a finished delivery
(delivered or failed) can be resent: one still on its way would be sent twice."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import Role, current_agent, login_required
from gateway.errors import BadInput, Conflict, NotFound
from gateway.inputs import json_object
from gateway.models import Agent
from gateway.openapi import (
    BOOLEAN,
    INTEGER,
    STRING,
    TIMESTAMP,
    array,
    documented,
    nullable,
    obj,
    schema,
)
from gateway.web import app_services, database
from gateway.webhook_tables import WebhookDelivery, WebhookEndpoint
from gateway.webhook_targets import check_target
from gateway.webhooks import EVENTS, new_secret, resend, validate_events, validate_url

webhooks_api = Blueprint("webhooks_api", __name__)
MAX_ENDPOINTS = 20
DELIVERIES_SHOWN = 50
TAGS = ["webhooks"]
EVENT_NAMES = {"type": "string", "enum": list(EVENTS)}
ENDPOINT = schema(
    "WebhookEndpoint",
    obj(
        ["id", "url", "events", "active"],
        id=INTEGER,
        url=STRING,
        events=array(EVENT_NAMES),
        description=STRING,
        active=BOOLEAN,
        secret_hint=STRING,
        secret={**STRING, "description": "only in the answer to the POST that created it"},
        created_at=TIMESTAMP,
    ),
)
DELIVERY = schema(
    "WebhookDelivery",
    obj(
        ["delivery_id", "event", "status", "attempts"],
        delivery_id=STRING,
        event=EVENT_NAMES,
        status={
            "type": "string",
            "enum": ["pending", "sending", "retrying", "delivered", "failed"],
        },
        attempts=INTEGER,
        response_status=nullable(INTEGER),
        last_error=nullable(STRING),
        created_at=TIMESTAMP,
        delivered_at=nullable(TIMESTAMP),
    ),
)


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "active": endpoint.active,
        "secret_hint": endpoint.secret[:10] + "…",
        "created_at": endpoint.created_at,
    }


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
    }


@webhooks_api.get("/api/admin/webhooks")
@login_required(role=Role.ADMIN)
@documented(
    "List the organization's webhook endpoints (admins)",
    tags=TAGS,
    response=obj(["endpoints"], endpoints=array(ENDPOINT)),
    errors=[403],
)
async def list_endpoints() -> ResponseReturnValue:
    agent = current_agent()
    async with database().transaction() as session:
        rows = (
            await session.scalars(
                select(WebhookEndpoint)
                .where(WebhookEndpoint.organization_id == agent.organization_id)
                .order_by(WebhookEndpoint.id)
            )
        ).all()
    return jsonify({"endpoints": [endpoint_json(row) for row in rows]})


@webhooks_api.post("/api/admin/webhooks")
@login_required(role=Role.ADMIN)
@documented(
    "Add a webhook endpoint (admins); the answer holds its signing secret, shown once",
    tags=TAGS,
    description="`events` defaults to every event. The URL must be http(s), and its host "
    "must be on the public internet: loopback, link-local, private, unspecified and "
    "multicast addresses are refused (also after DNS resolution) unless the operator "
    "set SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE=true.",
    body=obj(["url"], url=STRING, events=array(EVENT_NAMES), description=STRING),
    response=obj(["endpoint"], endpoint=ENDPOINT),
    status=201,
    errors=[400, 403],
)
async def create_endpoint() -> ResponseReturnValue:
    agent = current_agent()
    body = await json_object(
        hint="send a JSON object with 'url' and optionally 'events', 'description'"
    )
    url = validate_url(body.get("url"))
    allow_private = app_services().services.settings.webhooks_allow_private
    await check_target(url, allow_private=allow_private)
    events = validate_events(body.get("events"))
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 200:
        raise BadInput("'description' must be a string of at most 200 characters")
    async with database().transaction() as session:
        existing = await session.scalar(
            select(func.count(WebhookEndpoint.id)).where(
                WebhookEndpoint.organization_id == agent.organization_id
            )
        )
        if (existing or 0) >= MAX_ENDPOINTS:
            raise BadInput(f"an organization may have at most {MAX_ENDPOINTS} webhook endpoints")
        endpoint = WebhookEndpoint(
            organization_id=agent.organization_id,
            url=url,
            secret=new_secret(),
            events=events,
            description=description.strip(),
            active=True,
        )
        session.add(endpoint)
        await session.flush()
    return jsonify({"endpoint": {**endpoint_json(endpoint), "secret": endpoint.secret}}), 201


@webhooks_api.delete("/api/admin/webhooks/<int:endpoint_id>")
@login_required(role=Role.ADMIN)
@documented(
    "Delete a webhook endpoint and its delivery history (admins)",
    tags=TAGS,
    response=obj(["deleted"], deleted=INTEGER),
    errors=[403],
)
async def delete_endpoint(endpoint_id: int) -> ResponseReturnValue:
    agent = current_agent()
    async with database().transaction() as session:
        endpoint = await _owned(session, agent, endpoint_id)
        await session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        )
        await session.delete(endpoint)
    return jsonify({"deleted": endpoint_id})


@webhooks_api.get("/api/admin/webhooks/<int:endpoint_id>/deliveries")
@login_required(role=Role.ADMIN)
@documented(
    f"The endpoint's last {DELIVERIES_SHOWN} deliveries, newest first (admins)",
    tags=TAGS,
    response=obj(["deliveries"], deliveries=array(DELIVERY)),
    errors=[403],
)
async def list_deliveries(endpoint_id: int) -> ResponseReturnValue:
    agent = current_agent()
    async with database().transaction() as session:
        endpoint = await _owned(session, agent, endpoint_id)
        rows = (
            await session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint.id)
                .order_by(WebhookDelivery.id.desc())
                .limit(DELIVERIES_SHOWN)
            )
        ).all()
    return jsonify({"deliveries": [delivery_json(row) for row in rows]})


@webhooks_api.post("/api/admin/webhooks/<int:endpoint_id>/deliveries/<delivery_id>/resend")
@login_required(role=Role.ADMIN)
@documented(
    "Send a delivered or failed delivery again (admins)",
    tags=TAGS,
    description="The same delivery id and payload, from a fresh set of attempts. A delivery "
    "still waiting, being sent or retrying answers 409.",
    response=obj(["delivery"], delivery=DELIVERY),
    errors=[403, 404, 409],
)
async def resend_delivery(endpoint_id: int, delivery_id: str) -> ResponseReturnValue:
    agent = current_agent()
    async with database().transaction() as session:
        endpoint = await _owned(session, agent, endpoint_id)
        delivery = await session.scalar(
            select(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.delivery_id == delivery_id[:36],
            )
        )
        if delivery is None:
            raise NotFound("no such delivery for this webhook endpoint")
        if not endpoint.active:
            raise Conflict("this endpoint is switched off; nothing can be sent to it")
        # Only a finished delivery goes back to pending, so two resends send it once.
        restarted = await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery.id,
                WebhookDelivery.status.in_(("delivered", "failed")),
            )
            .values(status="pending", attempts=0, last_error=None, response_status=None)
            .execution_options(synchronize_session=False)
        )
        if restarted.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("this delivery is already on its way; wait until it has finished")
        await session.refresh(delivery)
        pk, shown = delivery.id, delivery_json(delivery)
    await resend(app_services().services, [pk])
    return jsonify({"delivery": shown})


async def _owned(session: AsyncSession, agent: Agent, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.organization_id == agent.organization_id,
        )
    )
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint
