"""What agents and admins do about SMS and WhatsApp besides answering: admins list,
register and remove the organization's Twilio numbers (`/api/twilio/numbers`), and the
composer asks how many SMS segments a draft costs (`POST /api/sms/segments`)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify, request
from quart.typing import ResponseReturnValue

from gateway.auth import current_agent, login_required
from gateway.db import Database
from gateway.errors import BadInput, Forbidden
from gateway.sms_segments import segment_info
from gateway.web import app_services
from messaging.twilio.numbers import add_number, list_numbers, remove_number
from messaging.twilio.splitting import split_text

twilio_admin = Blueprint("twilio_admin", __name__)
MAX_DRAFT_CHARS = 10_000


def _db() -> Database:
    return app_services().services.db


def _admin_organization() -> int:
    agent = current_agent()
    if agent.role != "admin":
        raise Forbidden("only an admin can manage numbers")
    return agent.organization_id


async def _json() -> dict[str, Any]:
    body = await request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("send a JSON object")
    return body


def _string(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{name!r} must be a non-empty string")
    return value


@twilio_admin.get("/api/twilio/numbers")
@login_required(_db)
async def numbers() -> ResponseReturnValue:
    found = await list_numbers(_db(), _admin_organization())
    return jsonify({"numbers": [number.to_json() for number in found]})


@twilio_admin.post("/api/twilio/numbers")
@login_required(_db)
async def register() -> ResponseReturnValue:
    organization_id = _admin_organization()
    body = await _json()
    added = await add_number(
        _db(),
        organization_id,
        _string(body, "number") or "",
        _string(body, "account_sid") or "",
        _string(body, "auth_token") or "",
        _string(body, "messaging_service_sid", required=False),
    )
    return jsonify({"number": added.to_json()}), 201


@twilio_admin.delete("/api/twilio/numbers/<path:number>")
@login_required(_db)
async def unregister(number: str) -> ResponseReturnValue:
    removed = await remove_number(_db(), number, _admin_organization())
    return jsonify({"removed": removed})


@twilio_admin.post("/api/sms/segments")
@login_required(_db)
async def segments() -> ResponseReturnValue:
    text = (await _json()).get("text")
    if not isinstance(text, str) or len(text) > MAX_DRAFT_CHARS:
        raise BadInput(f"send the draft as 'text', up to {MAX_DRAFT_CHARS} characters")
    return jsonify({**segment_info(text).to_json(), "messages": len(split_text(text))})
