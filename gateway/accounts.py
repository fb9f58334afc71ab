"""Login, logout and "who am I" for agents, as a JSON API. The session cookie is HttpOnly,
SameSite=Lax, and Secure whenever the public URL is HTTPS."""

from __future__ import annotations

from quart import Blueprint, g, jsonify, request
from quart.typing import ResponseReturnValue

from gateway.auth import (
    COOKIE,
    SESSION_LIFETIME,
    authenticate,
    close_session,
    current_agent,
    login_required,
    open_session,
)
from gateway.db import Database
from gateway.errors import BadInput
from gateway.models import Agent
from gateway.web import app_services

accounts = Blueprint("accounts", __name__)


def _db() -> Database:
    return app_services().services.db


def public_agent(agent: Agent) -> dict[str, object]:
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "role": agent.role,
        "organization_id": agent.organization_id,
    }


@accounts.post("/api/login")
async def login() -> ResponseReturnValue:
    body = await request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(email, str) or not isinstance(password, str):
        raise BadInput("send JSON with an email and a password")
    agent = await authenticate(_db(), email, password)
    token, csrf = await open_session(_db(), agent)
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
@login_required(_db)
async def logout() -> ResponseReturnValue:
    await close_session(_db(), request.cookies[COOKIE])
    response = jsonify({"ok": True})
    response.delete_cookie(COOKIE, path="/")
    return response


@accounts.get("/api/me")
@login_required(_db)
async def me() -> ResponseReturnValue:
    return jsonify({"agent": public_agent(current_agent()), "csrf_token": g.csrf_token})
