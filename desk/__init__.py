"""The desk: the agents' and admins' web, over the core (`gateway`) and the handoff logic
(`handoff`), and nothing above them. Logins and accounts, people and teams, the one
conversation API, the queue's lists and counts, canned responses, the dashboard, the
organization's settings, knowledge base and outgoing webhooks, the agents' media, the live
socket and event stream, and the pages (`desk.page`). A channel's own admin routes
(Twilio numbers, voice settings) stay in the channel's package.

The composition root registers `blueprints()` and installs `upload_request_class`."""

from __future__ import annotations

from quart import Blueprint

from desk.media_api import upload_request_class

__all__ = ["blueprints", "upload_request_class"]


def blueprints() -> tuple[Blueprint, ...]:
    from desk.accounts import accounts
    from desk.canned import canned
    from desk.conversations import conversations_api
    from desk.dashboard import dashboard
    from desk.delivery_actions import delivery_api
    from desk.hours_api import hours_api
    from desk.knowledge_api import knowledge_api
    from desk.live_api import live
    from desk.live_socket import live_socket
    from desk.media_api import agent_media
    from desk.notices_api import notices_api
    from desk.page.routes import queue_page
    from desk.people import people_api
    from desk.queue_routes import queue_api
    from desk.settings_api import settings_api
    from desk.teams import teams_api
    from desk.webhooks_api import webhooks_api
    from desk.widget_api import widget_api

    return (
        accounts,
        people_api,
        teams_api,
        queue_api,
        canned,
        dashboard,
        live_socket,
        conversations_api,
        delivery_api,
        live,
        queue_page,
        settings_api,
        agent_media,
        webhooks_api,
        hours_api,
        notices_api,
        widget_api,
        knowledge_api,
    )
