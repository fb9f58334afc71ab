"""The admins' notice templates: `GET /api/admin/notices` lists every customer notice
with its name, when it is sent, each channel's default and the organization's own
wording; `POST /api/admin/notices/preview` renders a text with sample values (nothing
stored); `PUT /api/admin/notices` sets or resets the wording of one notice on one channel
(or on all channels, "*"). One template changes at a time, under a lock on the
organization's row, so two admins editing different notices both keep their edits.
Admins only."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk.notice_labels import ANY_CHANNEL_LABEL, check_text, kind_entry
from gateway.auth import Role, current_agent, login_required
from gateway.errors import BadInput, NotFound
from gateway.inputs import json_object
from gateway.models import Organization, utcnow
from gateway.openapi import STRING, array, documented, nullable, obj
from gateway.org_settings import OrganizationSettings
from gateway.web import app_services, database
from handoff.expected_wait import wait_sentence
from handoff.notice_templates import ANY_CHANNEL, DEFAULTS, PLACEHOLDERS, default_for, render
from handoff.policy.hours import parse_schedule

notices_api = Blueprint("notices_api", __name__)
TAGS = ["settings"]
SAMPLE_WAIT_SECONDS = 4 * 60
TEXT_BY_CHANNEL = {"type": "object", "additionalProperties": STRING}
NOTICES_VIEW = obj(
    ["kinds", "channels", "placeholders", "defaults", "templates", "samples"],
    kinds=array(obj(["kind", "label", "when", "placeholders"])),
    channels=array(obj(["name", "label"], name=STRING, label=STRING)),
    placeholders=TEXT_BY_CHANNEL,
    defaults={"type": "object", "additionalProperties": TEXT_BY_CHANNEL},
    templates={"type": "object", "additionalProperties": TEXT_BY_CHANNEL},
    samples=TEXT_BY_CHANNEL,
)
CHOICE = obj(["kind", "channel"], kind=STRING, channel=STRING)


def _channel_names() -> list[str]:
    return app_services().services.channels.names()


def _kind_and_channel(body: dict[str, Any]) -> tuple[str, str]:
    kind, channel = body.get("kind"), body.get("channel")
    if not isinstance(kind, str) or kind not in DEFAULTS:
        raise BadInput("Pick a notice from the list.")
    if channel != ANY_CHANNEL and channel not in _channel_names():
        raise BadInput("Pick a channel from the list.")
    return kind, str(channel)


async def _organization(session: AsyncSession, *, lock: bool = False) -> Organization:
    query = select(Organization).where(Organization.id == current_agent().organization_id)
    organization = await session.scalar(query.with_for_update() if lock else query)
    if organization is None:
        raise NotFound("no such organization")
    return organization


def _samples(organization: Organization) -> dict[str, str]:
    """Values a preview fills in: the admin's own name, the organization's, and when the
    organization's schedule next opens (a Monday morning if it has none)."""
    settings = OrganizationSettings.from_json(organization.settings)
    opening = "Monday at 09:00"
    try:
        schedule = parse_schedule(settings.business_hours, settings.time_zone)
    except ValueError:
        schedule = None
    now = utcnow()
    if schedule is not None and not schedule.always_open:
        found = schedule.next_opening(now)
        if found is not None:
            opening = schedule.describe(found, now)
    return {
        "agent": current_agent().name,
        "business": organization.name,
        "wait": wait_sentence(SAMPLE_WAIT_SECONDS),
        "next_opening": opening,
    }


def _view(organization: Organization) -> dict[str, Any]:
    registry = app_services().services.channels
    specs = registry.specs()
    stored = OrganizationSettings.from_json(organization.settings).notice_templates or {}
    return {
        "kinds": [kind_entry(kind) for kind in DEFAULTS],
        "channels": [
            *({"name": spec.name, "label": spec.label} for spec in specs),
            {"name": ANY_CHANNEL, "label": ANY_CHANNEL_LABEL},
        ],
        "placeholders": dict(PLACEHOLDERS),
        "defaults": {
            kind: {
                **{spec.name: default_for(kind, spec.notices) for spec in specs},
                ANY_CHANNEL: DEFAULTS[kind],
            }
            for kind in DEFAULTS
        },
        "templates": {
            kind: dict(by_channel)
            for kind, by_channel in stored.items()
            if kind in DEFAULTS and isinstance(by_channel, dict)
        },
        "samples": _samples(organization),
    }


@notices_api.get("/api/admin/notices")
@login_required(role=Role.ADMIN)
@documented(
    "Every customer notice: its name, when it is sent, the defaults per channel and the "
    "organization's own wording (admins)",
    tags=TAGS,
    response=NOTICES_VIEW,
    errors=(403,),
)
async def list_notices() -> ResponseReturnValue:
    async with database().transaction() as session:
        organization = await _organization(session)
        return jsonify(_view(organization))


@notices_api.post("/api/admin/notices/preview")
@login_required(role=Role.ADMIN)
@documented(
    "A notice text as the customer would read it, with sample values (admins); nothing is stored",
    tags=TAGS,
    body=obj(["kind", "channel", "text"], kind=STRING, channel=STRING, text=STRING),
    response=obj(["text"], text=STRING),
    errors=(400, 403),
)
async def preview_notice() -> ResponseReturnValue:
    body = await json_object()
    _kind_and_channel(body)
    text = check_text(body.get("text"))
    async with database().transaction() as session:
        samples = _samples(await _organization(session))
    return jsonify({"text": render(text, samples)})


@notices_api.put("/api/admin/notices")
@login_required(role=Role.ADMIN)
@documented(
    'Set the wording of one notice on one channel, or on all channels with "*"; a null '
    "text goes back to the default (admins). Answers as the GET does.",
    tags=TAGS,
    body=obj(["kind", "channel", "text"], kind=STRING, channel=STRING, text=nullable(STRING)),
    response=NOTICES_VIEW,
    errors=(400, 403),
)
async def change_notice() -> ResponseReturnValue:
    body = await json_object()
    kind, channel = _kind_and_channel(body)
    text = None if body.get("text") is None else check_text(body.get("text"))
    async with database().transaction() as session:
        organization = await _organization(session, lock=True)
        settings = dict(organization.settings or {})
        templates = {
            key: dict(value)
            for key, value in (settings.get("notice_templates") or {}).items()
            if isinstance(value, dict)
        }
        own = templates.get(kind, {})
        if text is None:
            own.pop(channel, None)
        else:
            own[channel] = text
        if own:
            templates[kind] = own
        else:
            templates.pop(kind, None)
        settings["notice_templates"] = templates
        organization.settings = settings  # a new dict, so the JSON column is written
        return jsonify(_view(organization))
