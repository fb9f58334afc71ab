"""The page routes: `/login`, `/queue` (with deep links `/queue/conversations/<id>`),
`/admin` with its own pages (`/admin/mailboxes`, `/admin/knowledge`, `/admin/webhooks`)
and `/dashboard`, their assets under `/queue-assets/`, and `/channels.js` (the
channels' names and labels from the server). A page that needs a login redirects to
`/login?next=...` when the session is missing (a `next` that is not a path on this gateway
is dropped, so a login never leads elsewhere); the admin pages answer 403 to agents and
viewers. The pages fetch everything else from the JSON API. The pages with the top bar
share one head, `pages/_head.html` (see `gateway.plugin_pages`), which plug-in pages such
as the Twilio numbers page use too."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from quart import Blueprint, Response, redirect, request, send_from_directory
from quart.typing import ResponseReturnValue
from sqlalchemy import select

from desk.page.security import harden, same_origin_path
from gateway.auth import COOKIE, Role, has_role, resolve_session
from gateway.channels_api import admin_pages, channel_list
from gateway.errors import NotFound
from gateway.models import Agent, Conversation
from gateway.plugin_pages import html_page, provide_page_head
from gateway.web import app_services

PAGES = Path(__file__).parent / "pages"
ASSETS = Path(__file__).parent / "static"
ASSET_CACHE_SECONDS = 300
MAX_ASSET_NAME = 200

queue_page = Blueprint("queue_page", __name__)
queue_page.record_once(
    lambda state: provide_page_head(state.app, (PAGES / "_head.html").read_text("utf-8"))
)


async def _agent() -> Agent | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    found = await resolve_session(app_services().services.db, token)
    return None if found is None else found[0]


async def _page(name: str, status: int = 200) -> ResponseReturnValue:
    response = html_page(PAGES / name)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return harden(response, request.host)


def _to_login() -> ResponseReturnValue:
    target = request.full_path.rstrip("?")
    response = redirect(f"/login?next={quote(target, safe='/')}")
    return harden(response, request.host)


async def _protected(
    name: str, role: Role = Role.VIEWER, conversation_id: int | None = None
) -> ResponseReturnValue:
    agent = await _agent()
    if agent is None:
        return _to_login()
    if not has_role(agent, role):
        return await _page("forbidden.html", status=403)
    if conversation_id is not None and not await _sees(agent, conversation_id):
        return await _page("not_found.html", status=404)
    return await _page(name)


async def _sees(agent: Agent, conversation_id: int) -> bool:
    """Whether the conversation exists in the agent's own organization."""
    async with app_services().services.db.transaction() as session:
        found = await session.scalar(
            select(Conversation.id).where(
                Conversation.id == conversation_id,
                Conversation.organization_id == agent.organization_id,
            )
        )
    return found is not None


@queue_page.get("/login")
async def login_page() -> ResponseReturnValue:
    wanted = request.args.get("next")
    if wanted is not None and same_origin_path(wanted) is None:
        # Not a path on this gateway (an open-redirect attempt): drop it.
        return harden(redirect("/login"), request.host)
    return await _page("login.html")


@queue_page.get("/queue")
@queue_page.get("/queue/conversations/<int:conversation_id>")
async def queue(conversation_id: int | None = None) -> ResponseReturnValue:
    return await _protected("queue.html", conversation_id=conversation_id)


@queue_page.get("/admin")
async def admin() -> ResponseReturnValue:
    return await _protected("admin.html", Role.ADMIN)


@queue_page.get("/admin/mailboxes")
async def mailboxes() -> ResponseReturnValue:
    return await _protected("mailboxes.html", Role.ADMIN)


@queue_page.get("/admin/knowledge")
async def knowledge() -> ResponseReturnValue:
    return await _protected("knowledge.html", Role.ADMIN)


@queue_page.get("/admin/webhooks")
async def webhooks() -> ResponseReturnValue:
    return await _protected("webhooks.html", Role.ADMIN)


@queue_page.get("/dashboard")
async def dashboard() -> ResponseReturnValue:
    return await _protected("dashboard.html", Role.ADMIN)


@queue_page.get("/channels.js")
async def channels_script() -> ResponseReturnValue:
    """The channels and their labels, and the channels' own settings pages (an admin's top
    bar links to them), as a script the pages load before their own."""
    body = (
        f"window.SB_CHANNELS = {json.dumps(channel_list())};\n"
        f"window.SB_ADMIN_PAGES = {json.dumps(admin_pages())};\n"
    )
    response = Response(body, mimetype="application/javascript")
    response.cache_control.max_age = ASSET_CACHE_SECONDS
    return harden(response, request.host)


@queue_page.get("/queue-assets/<path:filename>")
async def asset(filename: str) -> ResponseReturnValue:
    if len(filename) > MAX_ASSET_NAME:  # the file system would refuse the name with an error
        raise NotFound("no such file")
    response: Response = await send_from_directory(
        ASSETS, filename, cache_timeout=ASSET_CACHE_SECONDS
    )
    return harden(response, request.host)
