"""What agents and admins do about SMS and WhatsApp besides answering: admins list,
register and remove the organization's Twilio numbers (`/api/twilio/numbers`, each with
when Twilio last reached it and the webhook URL to paste into Twilio) and test that URL
(`POST /api/twilio/numbers/check`), and the composer asks how many SMS segments a draft
costs (`POST /api/sms/segments`)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue

from gateway.auth import Role, current_agent, login_required
from gateway.errors import BadInput, NotFound
from gateway.inputs import json_object
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
from messaging.twilio.addresses import is_service_sid, normalize_number
from messaging.twilio.lines import find_for_sending
from messaging.twilio.numbers import add_number, list_numbers, remove_number
from messaging.twilio.segments import LIMITS, segment_info
from messaging.twilio.splitting import split_text
from messaging.twilio.webhook_check import check_webhook
from messaging.twilio.webhook_times import last_webhooks

twilio_admin = Blueprint("twilio_admin", __name__)
MAX_DRAFT_CHARS = 10_000
TAGS = ["twilio"]
NUMBER = schema(
    "TwilioNumber",
    obj(
        ["number", "account_sid", "messaging_service_sid"],
        number={
            **STRING,
            "description": "an E.164 number, whatsapp:+..., or a Messaging Service SID",
        },
        account_sid=STRING,
        messaging_service_sid=nullable(STRING),
        created_at=TIMESTAMP,
        last_webhook_at={
            **nullable(TIMESTAMP),
            "description": "when Twilio last posted an incoming message for it (signed)",
        },
    ),
)
INCOMING_PATH = "/twilio/sms"
SEGMENTS = schema(
    "SmsSegments",
    obj(
        ["encoding", "characters", "units", "segments", "per_segment", "messages"],
        encoding={"type": "string", "enum": list(LIMITS)},
        characters=INTEGER,
        units={**INTEGER, "description": "GSM-7 septets or UCS-2 code units"},
        segments=INTEGER,
        per_segment={**INTEGER, "description": "the capacity of each segment at this length"},
        messages={**INTEGER, "description": "how many messages the draft is sent as"},
    ),
)


def _string(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{name!r} must be a non-empty string")
    return value


@twilio_admin.get("/api/twilio/numbers")
@login_required(role=Role.ADMIN)
@documented(
    "The organization's Twilio numbers (admins)",
    tags=TAGS,
    response=obj(
        ["numbers", "incoming_url", "public_url_set"],
        numbers=array(NUMBER),
        incoming_url={**STRING, "description": "paste into Twilio: A message comes in (POST)"},
        public_url_set={**BOOLEAN, "description": "false: the URL is this machine's own"},
    ),
    errors=(403,),
)
async def numbers() -> ResponseReturnValue:
    services = app_services().services
    found = await list_numbers(database(), current_agent().organization_id)
    times = await last_webhooks(services.events.redis, [number.address for number in found])
    return jsonify(
        {
            "numbers": [
                {**number.to_json(), "last_webhook_at": times.get(number.address)}
                for number in found
            ],
            "incoming_url": services.settings.resolved_public_url + INCOMING_PATH,
            "public_url_set": bool(services.settings.public_url),
        }
    )


@twilio_admin.post("/api/twilio/numbers/check")
@login_required(role=Role.ADMIN)
@documented(
    "Test the webhook URL for one of the organization's numbers (admins)",
    tags=TAGS,
    description="Switchboard posts a correctly signed test request for the number to its own "
    "public webhook URL, as Twilio would; the test creates nothing. `ok` is false for a "
    "failed test (still a 200: the test ran), and `message` says what happened.",
    body=obj(["number"], number=STRING),
    response=obj(["ok", "message"], ok=BOOLEAN, message=STRING),
    errors=(400, 403, 404),
)
async def check() -> ResponseReturnValue:
    raw = (_string(await json_object(), "number") or "").strip()
    address = raw if is_service_sid(raw) else normalize_number(raw)
    async with database().transaction() as session:
        line = await find_for_sending(session, current_agent().organization_id, address, None)
    if line is None:
        raise NotFound(f"{address} is not one of your numbers")
    url = app_services().services.settings.resolved_public_url + INCOMING_PATH
    result = await check_webhook(url, line.address, line.account_sid, line.auth_token)
    return jsonify(result.to_json())


@twilio_admin.post("/api/twilio/numbers")
@login_required(role=Role.ADMIN)
@documented(
    "Register a Twilio number or Messaging Service for the organization (admins)",
    tags=TAGS,
    description="The auth token is stored to verify Twilio's webhooks and to send; it is "
    "never shown again. A number registered anywhere must be removed before it moves.",
    body=obj(
        ["number", "account_sid", "auth_token"],
        number=STRING,
        account_sid=STRING,
        auth_token=STRING,
        messaging_service_sid=nullable(STRING),
    ),
    response=obj(["number"], number=NUMBER),
    status=201,
    errors=(400, 403, 409),
)
async def register() -> ResponseReturnValue:
    organization_id = current_agent().organization_id
    body = await json_object()
    added = await add_number(
        database(),
        organization_id,
        _string(body, "number") or "",
        _string(body, "account_sid") or "",
        _string(body, "auth_token") or "",
        _string(body, "messaging_service_sid", required=False),
    )
    return jsonify({"number": added.to_json()}), 201


@twilio_admin.delete("/api/twilio/numbers/<path:number>")
@login_required(role=Role.ADMIN)
@documented(
    "Remove one of the organization's Twilio numbers (admins)",
    tags=TAGS,
    response=obj(["removed"], removed={**STRING, "description": "the address removed"}),
    errors=(403,),
)
async def unregister(number: str) -> ResponseReturnValue:
    removed = await remove_number(database(), number, current_agent().organization_id)
    return jsonify({"removed": removed})


@twilio_admin.post("/api/sms/segments")
@login_required()
@documented(
    "How many SMS segments and messages a draft costs",
    tags=TAGS,
    body=obj(["text"], text={**STRING, "maxLength": MAX_DRAFT_CHARS}),
    response=SEGMENTS,
    errors=(400,),
)
async def segments() -> ResponseReturnValue:
    text = (await json_object()).get("text")
    if not isinstance(text, str) or len(text) > MAX_DRAFT_CHARS:
        raise BadInput(f"send the draft as 'text', up to {MAX_DRAFT_CHARS} characters")
    return jsonify({**segment_info(text).to_json(), "messages": len(split_text(text))})
