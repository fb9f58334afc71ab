"""The admins' Twilio numbers page, `/admin/twilio`: the organization's numbers with when
Twilio last reached each, adding one with the webhook URL to paste into Twilio, removing
one, and "Test the webhook URL". Plain HTML and JavaScript over `/api/twilio/numbers`,
framed by the desk's top bar (its scripts and styles are loaded by URL, not imported).
Served as every plug-in page is (`gateway.plugin_pages`): without a session the browser
goes to the login page and back; an agent or a viewer is sent to `/admin`, which answers
them that the page is for admins (403)."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint
from quart.typing import ResponseReturnValue

from gateway.auth import Role
from gateway.plugin_pages import plugin_page, plugin_script

STATIC = Path(__file__).parent / "static"
PATH = "/admin/twilio"
# Close to the desk's own pages' policy (`default-src 'none'`, `data:` images).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

twilio_page = Blueprint("twilio_page", __name__)


@twilio_page.get(PATH)
async def numbers_page() -> ResponseReturnValue:
    return await plugin_page(STATIC, "numbers.html", path=PATH, csp=CSP, role=Role.ADMIN)


@twilio_page.get(f"{PATH}/assets/numbers.js")
async def numbers_script() -> ResponseReturnValue:
    return await plugin_script(STATIC, "numbers.js", csp=CSP)
