"""The admins' Twilio numbers page, `/admin/twilio`: the organization's numbers with when
Twilio last reached each, adding one with the webhook URL to paste into Twilio, removing
one, and "Test the webhook URL". Plain HTML and JavaScript over `/api/twilio/numbers`,
framed by the desk's top bar (its scripts and styles are loaded by URL, not imported).
Without a session the browser goes to the login page and back; an agent or a viewer is
sent to `/admin`, which answers them that the page is for admins (403)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from quart import Blueprint, Response, redirect, request, send_from_directory
from quart.typing import ResponseReturnValue
from werkzeug.wrappers.response import Response as WerkzeugResponse

from gateway.auth import COOKIE, Role, has_role, resolve_session
from gateway.web import app_services

STATIC = Path(__file__).parent / "static"
PATH = "/admin/twilio"
AnyResponse = TypeVar("AnyResponse", Response, WerkzeugResponse)

twilio_page = Blueprint("twilio_page", __name__)


def _harden(response: AnyResponse) -> AnyResponse:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


@twilio_page.get(PATH)
async def numbers_page() -> ResponseReturnValue:
    token = request.cookies.get(COOKIE)
    found = await resolve_session(app_services().services.db, token) if token else None
    if found is None:
        return _harden(redirect(f"/login?next={PATH}"))
    if not has_role(found[0], Role.ADMIN):
        return _harden(redirect("/admin"))  # the desk's answer: this page is for admins
    page: Response = await send_from_directory(STATIC, "numbers.html", mimetype="text/html")
    return _harden(page)


@twilio_page.get(f"{PATH}/assets/numbers.js")
async def numbers_script() -> ResponseReturnValue:
    script: Response = await send_from_directory(STATIC, "numbers.js", mimetype="text/javascript")
    return _harden(script)
