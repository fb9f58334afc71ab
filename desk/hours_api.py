"""The admins' business-hours helpers for the weekly editor: the time zones to pick from
(`GET /api/admin/time-zones`) and the live preview of a schedule not yet saved
(`POST /api/admin/business-hours/preview`: open or closed now and the next change, in
words, or a 400 saying what is wrong with it). Saving goes through the settings API.
Admins only."""

from __future__ import annotations

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue

from desk.hours_preview import checked_schedule, preview, zone_choices
from gateway.auth import Role, login_required
from gateway.inputs import json_object
from gateway.models import utcnow
from gateway.openapi import BOOLEAN, STRING, array, documented, obj

hours_api = Blueprint("hours_api", __name__)
TAGS = ["settings"]
HOURS = {
    "type": "object",
    "description": '{mon: [["09:00", "17:00"]], ...}; a day absent or empty is closed; '
    "an empty object means always open",
    "additionalProperties": array(array(STRING)),
}


@hours_api.get("/api/admin/time-zones")
@login_required(role=Role.ADMIN)
@documented(
    "The time zones an admin picks from, each with its current UTC offset (admins)",
    tags=TAGS,
    response=obj(["zones"], zones=array(obj(["name", "label"], name=STRING, label=STRING))),
    errors=(403,),
)
async def time_zones() -> ResponseReturnValue:
    return jsonify({"zones": zone_choices(utcnow())})


@hours_api.post("/api/admin/business-hours/preview")
@login_required(role=Role.ADMIN)
@documented(
    "Whether a schedule would be open now and when that changes next, in words (admins)",
    tags=TAGS,
    description="Nothing is stored. A schedule the settings would refuse answers 400 "
    "with the problem in words.",
    body=obj(["business_hours", "time_zone"], business_hours=HOURS, time_zone=STRING),
    response=obj(["open_now", "text"], open_now=BOOLEAN, text=STRING),
    errors=(400, 403),
)
async def preview_hours() -> ResponseReturnValue:
    body = await json_object()
    schedule = checked_schedule(body.get("business_hours"), body.get("time_zone"))
    return jsonify(preview(schedule, utcnow()))
