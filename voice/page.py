"""The calls settings page, `/calls/settings`: every agent sets their phone number and their
"available for calls" switch there; admins also see the URLs to paste into Twilio and edit
the organization's voice settings (greeting, voice, speech model, transfer targets, ring
timeout, attempts, hold message, text-back offer, recording). Plain HTML and JavaScript
over `/api/me/phone` and `/api/admin/voice`; served as every plug-in page is
(`gateway.plugin_pages`), so without a session it sends the browser to the login page and
back."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint
from quart.typing import ResponseReturnValue

from gateway.plugin_pages import plugin_page, plugin_script

STATIC = Path(__file__).parent / "static"
PATH = "/calls/settings"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

voice_page = Blueprint("voice_page", __name__)


@voice_page.get(PATH)
async def settings_page() -> ResponseReturnValue:
    return await plugin_page(STATIC, "settings.html", path=PATH, csp=CSP)


@voice_page.get("/calls/assets/settings.js")
async def settings_script() -> ResponseReturnValue:
    return await plugin_script(STATIC, "settings.js", csp=CSP)
