"""The calls settings page, `/calls/settings`: every agent sets their phone number and their
"available for calls" switch there; admins also see the URLs to paste into Twilio and edit
the organization's voice settings (greeting, voice, speech model, transfer targets, ring
timeout, attempts, hold message, text-back offer, recording). Plain HTML and JavaScript
over `/api/me/phone` and `/api/admin/voice`; without a session it sends the browser to the
login page and back."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from quart import Blueprint, Response, redirect, request, send_from_directory
from quart.typing import ResponseReturnValue
from werkzeug.wrappers.response import Response as WerkzeugResponse

from gateway.auth import COOKIE, resolve_session
from gateway.web import app_services

STATIC = Path(__file__).parent / "static"
AnyResponse = TypeVar("AnyResponse", Response, WerkzeugResponse)
PATH = "/calls/settings"

voice_page = Blueprint("voice_page", __name__)


def _harden(response: AnyResponse) -> AnyResponse:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


@voice_page.get(PATH)
async def settings_page() -> ResponseReturnValue:
    token = request.cookies.get(COOKIE)
    found = await resolve_session(app_services().services.db, token) if token else None
    if found is None:
        return _harden(redirect(f"/login?next={PATH}"))
    page: Response = await send_from_directory(STATIC, "settings.html", mimetype="text/html")
    return _harden(page)


@voice_page.get("/calls/assets/settings.js")
async def settings_script() -> ResponseReturnValue:
    script: Response = await send_from_directory(STATIC, "settings.js", mimetype="text/javascript")
    return _harden(script)
