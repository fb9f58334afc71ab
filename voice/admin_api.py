"""The voice settings API. Admins read and change the organization's voice settings
(`GET`/`PUT /api/admin/voice`; the answer also gives the two URLs to paste into Twilio and
every agent's phone), and each agent keeps their own phone number and "available for
calls" switch (`GET`/`PUT /api/me/phone`). Bad input answers 400 naming the problem, and
nothing is stored."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue
from sqlalchemy import select

from gateway.auth import Role, current_agent, login_required
from gateway.errors import BadInput
from gateway.inputs import json_object
from gateway.models import Agent, Organization, utcnow
from gateway.openapi import BOOLEAN, STRING, array, documented, nullable, obj
from gateway.web import app_services, database
from voice import urls
from voice.models import AgentPhone
from voice.settings import VoiceSettings, is_e164, validated

voice_admin = Blueprint("voice_admin", __name__)
TAGS = ["voice"]
PHONE = obj(
    ["agent_id", "name", "number", "available_for_calls"],
    agent_id={"type": "integer"},
    name=STRING,
    number=nullable(STRING),
    available_for_calls=BOOLEAN,
)
VOICE_VIEW = obj(
    ["settings", "twilio", "agents"],
    settings={"type": "object", "description": "every voice setting, defaults filled in"},
    twilio=obj(["voice_url", "status_callback_url"], voice_url=STRING, status_callback_url=STRING),
    agents=array(PHONE),
)


async def _view(organization_id: int) -> dict[str, Any]:
    settings = app_services().services.settings
    async with database().transaction() as session:
        organization = await session.get(Organization, organization_id)
        assert organization is not None
        rows = await session.execute(
            select(Agent, AgentPhone)
            .outerjoin(AgentPhone, AgentPhone.agent_id == Agent.id)
            .where(Agent.organization_id == organization_id, Agent.active.is_(True))
            .order_by(Agent.name)
        )
        agents = [_phone_json(agent, phone) for agent, phone in rows.all()]
        stored = (organization.settings or {}).get("voice")
    return {
        "settings": VoiceSettings.from_json(stored).to_json(),
        "twilio": {
            "voice_url": urls.url(settings, urls.INCOMING),
            "status_callback_url": urls.url(settings, urls.STATUS),
        },
        "agents": agents,
    }


def _phone_json(agent: Agent, phone: AgentPhone | None) -> dict[str, Any]:
    return {
        "agent_id": agent.id,
        "name": agent.name,
        "number": phone.number if phone is not None else None,
        "available_for_calls": bool(phone.available) if phone is not None else False,
    }


@voice_admin.get("/api/admin/voice")
@login_required(role=Role.ADMIN)
@documented(
    "The organization's voice settings, the URLs to paste into Twilio, and the agents' "
    "phones (admins)",
    tags=TAGS,
    response=VOICE_VIEW,
    errors=(403,),
)
async def show_voice() -> ResponseReturnValue:
    return jsonify(await _view(current_agent().organization_id))


@voice_admin.put("/api/admin/voice")
@login_required(role=Role.ADMIN)
@documented(
    "Change some voice settings (admins); answers as the GET does",
    tags=TAGS,
    description='Send only the settings to change, e.g. {"greeting": "…", '
    '"transfer_targets": [{"agent_id": 3}, {"number": "+15551234567", '
    '"label": "Front desk"}]}. An unknown setting or a bad value answers 400 and '
    "nothing is stored.",
    body={"type": "object", "minProperties": 1},
    response=VOICE_VIEW,
    errors=(400, 403),
)
async def change_voice() -> ResponseReturnValue:
    admin = current_agent()
    body = await json_object(hint="send a JSON object with the voice settings to change")
    if not body:
        raise BadInput("send a JSON object with the voice settings to change")
    async with database().transaction() as session:
        organization = await session.get(Organization, admin.organization_id)
        assert organization is not None
        current = dict((organization.settings or {}).get("voice") or {})
        merged = {**VoiceSettings.from_json(current).to_json(), **body}
        validated(merged)  # raises before anything is stored
        settings = dict(organization.settings or {})
        settings["voice"] = {**current, **body}
        organization.settings = settings  # a new dict, so the JSON column is written
    return jsonify(await _view(admin.organization_id))


@voice_admin.get("/api/me/phone")
@login_required()
@documented(
    "Your phone for warm transfers, and whether you take calls now",
    tags=TAGS,
    response=PHONE,
)
async def my_phone() -> ResponseReturnValue:
    agent = current_agent()
    async with database().transaction() as session:
        phone = await session.get(AgentPhone, agent.id)
        return jsonify(_phone_json(agent, phone))


@voice_admin.put("/api/me/phone")
@login_required(role=Role.AGENT)  # a viewer takes no calls, so has no phone to set
@documented(
    'Set your phone number for warm transfers and your "available for calls" switch',
    tags=TAGS,
    body=obj([], number=nullable(STRING), available_for_calls=BOOLEAN),
    response=PHONE,
    errors=(400, 403),
)
async def set_my_phone() -> ResponseReturnValue:
    agent = current_agent()
    body = await json_object(hint='send {"number": "+1…", "available_for_calls": true}')
    if not set(body) <= {"number", "available_for_calls"}:
        raise BadInput('send {"number": "+1…", "available_for_calls": true}')
    number, available = body.get("number"), body.get("available_for_calls")
    if number is not None and not is_e164(number):
        raise BadInput("the number must be in E.164 form, like +15551234567")
    if available is not None and not isinstance(available, bool):
        raise BadInput("available_for_calls must be true or false")
    async with database().transaction() as session:
        phone = await session.get(AgentPhone, agent.id)
        if phone is None:
            if number is None:
                raise BadInput("add your phone number first")
            phone = AgentPhone(
                agent_id=agent.id,
                organization_id=agent.organization_id,
                number=number,
                available=True if available is None else available,
                updated_at=utcnow(),
            )
            session.add(phone)
        else:
            if number is not None:
                phone.number = number
            if available is not None:
                phone.available = available
        await session.flush()
        return jsonify(_phone_json(agent, phone))
