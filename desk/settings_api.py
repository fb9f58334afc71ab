"""The admins' settings API: `GET /api/admin/settings` shows the organization's settings
with their defaults filled in, the handoff levels' presets (as edited), the level in force
on each channel and the choices the page offers; `PUT /api/admin/settings` changes some of
them, checked by `handoff.policy.validation`. Admins only; other roles get 403."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import Role, current_agent, login_required
from gateway.errors import NotFound
from gateway.inputs import json_body
from gateway.models import Organization
from gateway.openapi import STRING, array, dataclass_schema, documented, obj, schema
from gateway.org_settings import OrganizationSettings
from gateway.web import app_services, database
from handoff.policy.config import OUTSIDE_HOURS_CHOICES, policy_settings
from handoff.policy.hours import DAYS
from handoff.policy.levels import Level, Preset, presets_json, validate_overrides
from handoff.policy.topics import BUILTIN
from handoff.policy.validation import validate_update

settings_api = Blueprint("settings_api", __name__)
TAGS = ["settings"]
LEVEL_NAME = {"type": "string", "enum": [level.value for level in Level]}
SETTINGS = schema("OrganizationSettings", dataclass_schema(OrganizationSettings))
SETTINGS_CHANGE = {
    **dataclass_schema(OrganizationSettings, required=False),
    "additionalProperties": False,
    "minProperties": 1,
}
PRESET = dataclass_schema(Preset)
SETTINGS_VIEW = schema(
    "SettingsView",
    obj(
        ["settings", "levels", "channel_levels_in_force", "choices"],
        settings=SETTINGS,
        levels={
            "type": "object",
            "description": "every handoff level by name, its preset as edited",
            "additionalProperties": obj(
                ["description", "values", "defaults", "edited"],
                description=STRING,
                values=PRESET,
                defaults=PRESET,
                edited=array(STRING),
            ),
        },
        channel_levels_in_force={
            "type": "object",
            "description": "the handoff level that applies on each channel",
            "additionalProperties": LEVEL_NAME,
        },
        choices=obj(
            [
                "handoff_level",
                "outside_hours",
                "restricted_topics",
                "business_hours_days",
                "channels",
            ],
            handoff_level=array(LEVEL_NAME),
            outside_hours=array(STRING),
            restricted_topics={"type": "object", "additionalProperties": STRING},
            business_hours_days=array(STRING),
            channels=array(STRING),
        ),
    ),
)


def _channels() -> list[str]:
    return app_services().services.channels.names()


def settings_json(stored: dict[str, Any] | None) -> dict[str, Any]:
    settings = OrganizationSettings.from_json(stored)
    try:
        overrides = validate_overrides(settings.level_presets)
    except ValueError:
        overrides = {}
    return {
        "settings": asdict(settings),
        "levels": presets_json(overrides),
        "channel_levels_in_force": {
            channel: policy_settings(settings, channel).level.value for channel in _channels()
        },
        "choices": {
            "handoff_level": [level.value for level in Level],
            "outside_hours": list(OUTSIDE_HOURS_CHOICES),
            "restricted_topics": {name: topic.label for name, topic in BUILTIN.items()},
            "business_hours_days": list(DAYS),
            "channels": _channels(),
        },
    }


async def _organization(session: AsyncSession, organization_id: int) -> Organization:
    organization = await session.scalar(
        select(Organization).where(Organization.id == organization_id)
    )
    if organization is None:
        raise NotFound("no such organization")
    return organization


@settings_api.get("/api/admin/settings")
@login_required(role=Role.ADMIN)
@documented(
    "The organization's settings with defaults filled in, the levels' presets and the "
    "choices the settings page offers (admins)",
    tags=TAGS,
    response=SETTINGS_VIEW,
    errors=(403,),
)
async def show_settings() -> ResponseReturnValue:
    admin = current_agent()
    async with database().transaction() as session:
        organization = await _organization(session, admin.organization_id)
        stored = dict(organization.settings or {})
    return jsonify(settings_json(stored))


@settings_api.put("/api/admin/settings")
@login_required(role=Role.ADMIN)
@documented(
    "Change some of the organization's settings (admins); answers as the GET does",
    tags=TAGS,
    description="Send only the settings to change. An unknown setting or a bad value "
    "answers 400 naming the first problem, and nothing is stored.",
    body=SETTINGS_CHANGE,
    response=SETTINGS_VIEW,
    errors=(400, 403),
)
async def change_settings() -> ResponseReturnValue:
    admin = current_agent()
    body = await json_body(required=False)
    async with database().transaction() as session:
        organization = await _organization(session, admin.organization_id)
        stored = validate_update(body, dict(organization.settings or {}), _channels())
        organization.settings = stored  # a new dict, so the JSON column is written
    return jsonify(settings_json(stored))
