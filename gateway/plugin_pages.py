"""Web pages a channel plug-in serves itself (the Twilio numbers page, the calls settings
page), served alike: without a session the browser goes to the login page and back; a
session without the page's role goes to `/admin`, which answers that the page is for
admins; every answer carries the page's own Content-Security-Policy and the same hardening
headers. Also the one page head the agents' pages share: whoever serves those pages (the
desk) provides it, and a page that is framed by their top bar puts `<!-- page head -->`
where it goes, so a plug-in's page loads the same styles and scripts without importing
the desk. Kept apart from `gateway.web` because it needs `gateway.auth`, which imports
`gateway.web`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from flask.sansio.app import App
from quart import Response, current_app, redirect, request, send_from_directory
from quart.typing import ResponseReturnValue
from werkzeug.wrappers.response import Response as WerkzeugResponse

from gateway.auth import COOKIE, Role, has_role, resolve_session
from gateway.web import app_services

AnyResponse = TypeVar("AnyResponse", Response, WerkzeugResponse)
PAGE_HEAD = "<!-- page head -->"
_HEAD_EXTENSION = "switchboard.page_head"


def provide_page_head(app: App, head: str) -> None:
    """Set the lines every agents' page starts its head with (its styles and scripts)."""
    app.extensions[_HEAD_EXTENSION] = head


@lru_cache(maxsize=64)
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def html_page(path: Path) -> Response:
    """The page at `path` with the shared head in place of its marker (if it has one)."""
    head = current_app.extensions.get(_HEAD_EXTENSION, "")
    return Response(_read(path).replace(PAGE_HEAD, head.strip(), 1), mimetype="text/html")


def harden(response: AnyResponse, csp: str) -> AnyResponse:
    """The page's policy, and nothing a browser may sniff, frame, cache or refer on."""
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


async def plugin_page(
    static: Path, name: str, *, path: str, csp: str, role: Role = Role.VIEWER
) -> ResponseReturnValue:
    """The HTML page `name` of `static`, served at `path` to a session with `role`."""
    token = request.cookies.get(COOKIE)
    found = await resolve_session(app_services().services.db, token) if token else None
    if found is None:
        return harden(redirect(f"/login?next={path}"), csp)
    if not has_role(found[0], role):
        return harden(redirect("/admin"), csp)  # the desk's answer: this page is for admins
    return harden(html_page(static / name), csp)


async def plugin_script(static: Path, name: str, *, csp: str) -> ResponseReturnValue:
    """A page's script, with the same headers as the page."""
    script: Response = await send_from_directory(static, name, mimetype="text/javascript")
    return harden(script, csp)
