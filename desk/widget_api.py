"""The admins' web chat widget settings: `GET /api/admin/widget` gives the snippet to
paste into the organization's site (the gateway's public script address and the
organization's widget key) and the websites allowed to embed it; `PUT /api/admin/widget`
replaces that list. Each origin is checked and stored in the one form browsers send in
`Origin`, so the widget's handshake check compares like with like; a bad one answers 400
naming it in words and nothing is stored. Admins only."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import Role, current_agent, login_required
from gateway.errors import BadInput, NotFound
from gateway.inputs import json_object
from gateway.models import Organization
from gateway.openapi import STRING, array, documented, obj
from gateway.origins import parse_origin
from gateway.web import app_services, database

widget_api = Blueprint("widget_api", __name__)
TAGS = ["settings"]
MAX_ORIGINS = 50
MAX_ORIGIN_CHARS = 300
WIDGET_VIEW = obj(
    ["script_url", "widget_key", "snippet", "allowed_origins"],
    script_url=STRING,
    widget_key=STRING,
    snippet=STRING,
    allowed_origins=array(STRING),
)


def _origins(raw: object) -> list[str]:
    if not isinstance(raw, list) or len(raw) > MAX_ORIGINS:
        raise BadInput(f"Give a list of at most {MAX_ORIGINS} websites.")
    found: list[str] = []
    for value in raw:
        if not isinstance(value, str) or not value.strip():
            raise BadInput("Each website needs an address, like https://shop.example.com.")
        shown = value.strip()[:MAX_ORIGIN_CHARS]
        try:
            origin = parse_origin(shown) if len(value) <= MAX_ORIGIN_CHARS else None
        except BadInput:
            origin = None
        if origin is None:
            raise BadInput(
                f"“{shown}” is not a website address the widget can check. Give the scheme "
                "and host only, like https://shop.example.com or http://localhost:8000."
            )
        if origin not in found:
            found.append(origin)
    return found


def _view(organization: Organization) -> dict[str, Any]:
    script = app_services().services.settings.resolved_public_url + "/widget.js"
    return {
        "script_url": script,
        "widget_key": organization.widget_key,
        "snippet": f'<script src="{script}" data-key="{organization.widget_key}" async></script>',
        "allowed_origins": list(organization.allowed_origins or []),
    }


async def _organization(session: AsyncSession, *, lock: bool = False) -> Organization:
    query = select(Organization).where(Organization.id == current_agent().organization_id)
    organization = await session.scalar(query.with_for_update() if lock else query)
    if organization is None:
        raise NotFound("no such organization")
    return organization


@widget_api.get("/api/admin/widget")
@login_required(role=Role.ADMIN)
@documented(
    "The web chat widget's snippet and the websites allowed to embed it (admins)",
    tags=TAGS,
    response=WIDGET_VIEW,
    errors=(403,),
)
async def show_widget() -> ResponseReturnValue:
    async with database().transaction() as session:
        return jsonify(_view(await _organization(session)))


@widget_api.put("/api/admin/widget")
@login_required(role=Role.ADMIN)
@documented(
    "Replace the websites allowed to embed the web chat widget (admins)",
    tags=TAGS,
    body=obj(["allowed_origins"], allowed_origins=array(STRING)),
    response=WIDGET_VIEW,
    errors=(400, 403),
)
async def change_widget() -> ResponseReturnValue:
    body = await json_object()
    origins = _origins(body.get("allowed_origins"))
    async with database().transaction() as session:
        organization = await _organization(session, lock=True)
        organization.allowed_origins = origins
        return jsonify(_view(organization))
