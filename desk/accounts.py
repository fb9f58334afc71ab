"""Login, logout, "who am I", the agent's own settings (time zone) and password change, as a
JSON API. The session cookie is HttpOnly, SameSite=Lax, and Secure whenever the public URL
is HTTPS. Logins are rate-limited per email and per client address (`LoginLimit`); the
login body must be JSON, which a cross-site form cannot send. Changing the password ends
the agent's other sessions."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from quart import Blueprint, g, jsonify, request
from quart.typing import ResponseReturnValue

from gateway.auth import (
    COOKIE,
    SESSION_LIFETIME,
    authenticate,
    close_agent_sessions,
    close_session,
    current_agent,
    login_required,
    open_session,
)
from gateway.errors import BadInput
from gateway.inputs import json_object
from gateway.login_limit import LoginLimit, TooManyLogins
from gateway.models import Agent
from gateway.openapi import OK, STRING, TIMESTAMP, documented, obj, schema
from gateway.organizations import validate_password
from gateway.passwords import hash_password, verify_password
from gateway.web import app_services, database

AGENT = schema(
    "Agent",
    obj(
        ["id", "name", "email", "role", "organization_id", "time_zone"],
        id={"type": "integer"},
        name=STRING,
        email=STRING,
        role={"type": "string", "enum": ["viewer", "agent", "admin"]},
        organization_id={"type": "integer"},
        time_zone={"type": "string", "description": "IANA zone, e.g. Europe/Berlin"},
        created_at=TIMESTAMP,
    ),
)
SESSION = obj(["agent", "csrf_token"], agent=AGENT, csrf_token=STRING)

accounts = Blueprint("accounts", __name__)


def public_agent(agent: Agent) -> dict[str, object]:
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "role": agent.role,
        "organization_id": agent.organization_id,
        "time_zone": agent.time_zone,
    }


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(value: object) -> str:
    if not isinstance(value, str) or value not in _time_zones():
        raise BadInput(f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin")
    return value


@accounts.post("/api/login")
@documented(
    "Log in; sets the session cookie and returns the CSRF token for writes",
    tags=["accounts"],
    body=obj(["email", "password"], email=STRING, password=STRING),
    response=SESSION,
    errors=(400, 401, 429),
    auth=False,
)
async def login() -> ResponseReturnValue:
    body = await json_object(hint="send JSON with an email and a password")
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise BadInput("send JSON with an email and a password")
    limit = LoginLimit(app_services().services.events.redis)
    address = request.remote_addr or "unknown"
    try:
        await limit.attempt(email, address)
    except TooManyLogins as exc:
        return jsonify(exc.to_json()), 429, {"Retry-After": str(exc.retry_after)}
    agent = await authenticate(database(), email, password)
    await limit.succeeded(email, address)
    token, csrf = await open_session(database(), agent)
    response = jsonify({"agent": public_agent(agent), "csrf_token": csrf})
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=app_services().services.settings.resolved_public_url.startswith("https://"),
        path="/",
    )
    return response


@accounts.post("/api/logout")
@login_required()
@documented("Log out (ends this session)", tags=["accounts"], response=OK)
async def logout() -> ResponseReturnValue:
    await close_session(database(), app_services().services.events, request.cookies[COOKIE])
    response = jsonify({"ok": True})
    response.delete_cookie(COOKIE, path="/")
    return response


@accounts.get("/api/me")
@login_required()
@documented("The logged-in agent and the session's CSRF token", tags=["accounts"], response=SESSION)
async def me() -> ResponseReturnValue:
    return jsonify({"agent": public_agent(current_agent()), "csrf_token": g.csrf_token})


@accounts.patch("/api/me")
@login_required()
@documented(
    "Change the agent's own settings (time zone)",
    tags=["accounts"],
    body=obj(["time_zone"], time_zone=STRING),
    response=obj(["agent"], agent=AGENT),
    errors=(400,),
)
async def update_me() -> ResponseReturnValue:
    body = await json_object(hint="send JSON with a 'time_zone'")
    if "time_zone" not in body:
        raise BadInput("send JSON with a 'time_zone'")
    zone = validate_time_zone(body["time_zone"])
    async with database().transaction() as session:
        agent = await session.get(Agent, current_agent().id)
        assert agent is not None
        agent.time_zone = zone
    return jsonify({"agent": public_agent(agent)})


@accounts.post("/api/password")
@login_required()
@documented(
    "Change the agent's own password; ends the agent's other sessions",
    tags=["accounts"],
    body=obj(["current_password", "new_password"], current_password=STRING, new_password=STRING),
    response=OK,
    errors=(400, 429),
)
async def change_password() -> ResponseReturnValue:
    body = await json_object(hint="send JSON with current_password and new_password")
    current, new = body.get("current_password"), body.get("new_password")
    if not isinstance(current, str) or not isinstance(new, str):
        raise BadInput("send JSON with current_password and new_password")
    validate_password(new)
    if new == current:
        raise BadInput("the new password must differ from the current one")
    limit = LoginLimit(app_services().services.events.redis)
    await limit.attempt(current_agent().email, request.remote_addr or "unknown")
    async with database().transaction() as session:
        agent = await session.get(Agent, current_agent().id)
        assert agent is not None
        if not verify_password(agent.password_hash, current):
            raise BadInput("the current password is wrong", code="wrong_password")
        agent.password_hash = hash_password(new)
    await limit.succeeded(agent.email, request.remote_addr or "unknown")
    await close_agent_sessions(
        database(), app_services().services.events, agent, keep_token=request.cookies[COOKIE]
    )
    return jsonify({"ok": True})
