"""Canned responses: reply texts an admin prepares, each with a shortcut (`/refund`, say)
that agents type in the composer to insert it. Everyone in the organization can list them;
only admins create, change or delete them. Another organization's response is not found."""

from __future__ import annotations

import re
from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import Role, current_agent, login_required, require_role
from gateway.errors import BadInput, Conflict, NotFound
from gateway.inputs import json_body
from gateway.models import Agent, CannedResponse
from gateway.openapi import INTEGER, OK, STRING, TIMESTAMP, array, documented, obj, schema
from gateway.web import database

SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_TITLE_CHARS = 120
MAX_BODY_CHARS = 10_000

canned = Blueprint("canned_responses", __name__)

CANNED = schema(
    "CannedResponse",
    obj(
        ["id", "shortcut", "title", "body"],
        id=INTEGER,
        shortcut={"type": "string", "description": "typed as /shortcut in the composer"},
        title=STRING,
        body=STRING,
        updated_at=TIMESTAMP,
    ),
)
CANNED_INPUT = obj(["shortcut", "title", "body"], shortcut=STRING, title=STRING, body=STRING)


def canned_json(row: CannedResponse) -> dict[str, Any]:
    return {
        "id": row.id,
        "shortcut": row.shortcut,
        "title": row.title,
        "body": row.body,
        "updated_at": row.updated_at,
    }


def _fields(body: Any, *, partial: bool) -> dict[str, str]:
    if not isinstance(body, dict):
        raise BadInput("send a JSON object")
    found: dict[str, str] = {}
    for name in ("shortcut", "title", "body"):
        value = body.get(name)
        if value is None:
            if not partial:
                raise BadInput(f"a canned response needs a {name!r} string")
            continue
        if not isinstance(value, str):
            raise BadInput(f"{name!r} must be a string")
        found[name] = value.strip()
    if "shortcut" in found:
        found["shortcut"] = found["shortcut"].lstrip("/").lower()
        if not SHORTCUT.fullmatch(found["shortcut"]):
            raise BadInput("a shortcut is 1 to 32 lowercase letters, digits, '-' or '_'")
    if "title" in found and not 0 < len(found["title"]) <= MAX_TITLE_CHARS:
        raise BadInput(f"a title has 1 to {MAX_TITLE_CHARS} characters")
    if "body" in found and not 0 < len(found["body"]) <= MAX_BODY_CHARS:
        raise BadInput(f"a body has 1 to {MAX_BODY_CHARS} characters")
    return found


async def _own(session: AsyncSession, agent: Agent, canned_response_id: int) -> CannedResponse:
    row = await session.get(CannedResponse, canned_response_id)
    if row is None or row.organization_id != agent.organization_id:
        raise NotFound("no such canned response")
    return row


async def _shortcut_taken(session: AsyncSession, agent: Agent, shortcut: str, own_id: int) -> None:
    found = await session.scalar(
        select(CannedResponse.id).where(
            CannedResponse.organization_id == agent.organization_id,
            CannedResponse.shortcut == shortcut,
            CannedResponse.id != own_id,
        )
    )
    if found is not None:
        raise Conflict(f"the shortcut /{shortcut} is taken", code="shortcut_taken")


@canned.get("/api/canned-responses")
@login_required()
@documented(
    "The organization's canned responses, by shortcut",
    tags=["canned responses"],
    response=obj(["canned_responses"], canned_responses=array(CANNED)),
)
async def list_canned() -> ResponseReturnValue:
    async with database().transaction() as session:
        rows = await session.scalars(
            select(CannedResponse)
            .where(CannedResponse.organization_id == current_agent().organization_id)
            .order_by(CannedResponse.shortcut)
        )
        return jsonify({"canned_responses": [canned_json(row) for row in rows]})


@canned.post("/api/canned-responses")
@login_required()
@documented(
    "Create a canned response (admins)",
    tags=["canned responses"],
    body=CANNED_INPUT,
    response=obj(["canned_response"], canned_response=CANNED),
    status=201,
    errors=(400, 403, 409),
)
async def create_canned() -> ResponseReturnValue:
    agent = require_role(Role.ADMIN)
    fields = _fields(await json_body(), partial=False)
    try:
        async with database().transaction() as session:
            await _shortcut_taken(session, agent, fields["shortcut"], 0)
            row = CannedResponse(organization_id=agent.organization_id, **fields)
            session.add(row)
            await session.flush()
    except IntegrityError:  # the same shortcut was created concurrently
        taken = f"the shortcut /{fields['shortcut']} is taken"
        raise Conflict(taken, code="shortcut_taken") from None
    return jsonify({"canned_response": canned_json(row)}), 201


@canned.patch("/api/canned-responses/<int:canned_response_id>")
@login_required()
@documented(
    "Change a canned response (admins; send any of the fields)",
    tags=["canned responses"],
    body=obj(shortcut=STRING, title=STRING, body=STRING),
    response=obj(["canned_response"], canned_response=CANNED),
    errors=(400, 403, 409),
)
async def update_canned(canned_response_id: int) -> ResponseReturnValue:
    agent = current_agent()
    async with database().transaction() as session:
        row = await _own(session, agent, canned_response_id)
        require_role(Role.ADMIN, agent)
        fields = _fields(await json_body(), partial=True)
        if "shortcut" in fields:
            await _shortcut_taken(session, agent, fields["shortcut"], row.id)
        for name, value in fields.items():
            setattr(row, name, value)
        await session.flush()
        return jsonify({"canned_response": canned_json(row)})


@canned.delete("/api/canned-responses/<int:canned_response_id>")
@login_required()
@documented(
    "Delete a canned response (admins)",
    tags=["canned responses"],
    response=OK,
    errors=(403,),
)
async def delete_canned(canned_response_id: int) -> ResponseReturnValue:
    agent = current_agent()
    async with database().transaction() as session:
        row = await _own(session, agent, canned_response_id)
        require_role(Role.ADMIN, agent)
        await session.delete(row)
    return jsonify({"ok": True})
