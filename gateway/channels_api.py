"""What the agents' pages learn about the channels from the server rather than from tables
of their own: `GET /api/channels` (for integrations and the admin page: each channel's
name, labels and capabilities, and the settings admins manage per channel), and the same
list for the desk's `/channels.js`, the script its pages load before their own, so a label
is there before the first list is drawn. Nothing here is private: no login is needed."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart.typing import ResponseReturnValue

from gateway.openapi import BOOLEAN, INTEGER, STRING, array, documented, nullable, obj, schema
from gateway.web import app_services

channels_api = Blueprint("channels_api", __name__)

CHANNEL = schema(
    "Channel",
    obj(
        ["name", "label", "short", "phrase", "accepts_media", "max_attachments"],
        name={**STRING, "description": "the channel's name in every other answer"},
        label={**STRING, "description": "as a list shows it, e.g. Web chat"},
        short={**STRING, "description": "a badge of a few letters, e.g. WEB"},
        phrase={**STRING, "description": "inside a sentence, e.g. web chat"},
        accepts_media=BOOLEAN,
        max_attachments=INTEGER,
        max_text_chars=nullable(INTEGER),
        max_cc={**INTEGER, "description": "addresses a reply may copy in (Cc); 0: none"},
    ),
)
ADMIN_SETTING = schema(
    "ChannelAdminSetting",
    obj(
        ["label", "description", "api", "page"],
        label=STRING,
        description=STRING,
        api=STRING,
        page={**nullable(STRING), "description": "the page admins manage it on, if any"},
    ),
)


def channel_list() -> list[dict[str, Any]]:
    """Each channel's name, labels and capabilities (the desk's pages load it as a script,
    `/channels.js`)."""
    return [spec.to_json() for spec in app_services().services.channels.specs()]


def admin_pages() -> list[dict[str, str]]:
    """The channels' own settings pages (a label and a path), for the admins' top bar."""
    settings = app_services().services.channels.admin_settings
    return [{"label": found.label, "page": found.page} for found in settings if found.page]


def _described() -> dict[str, Any]:
    channels = app_services().services.channels
    return {
        "channels": channel_list(),
        "admin_settings": [setting.to_json() for setting in channels.admin_settings],
    }


@channels_api.get("/api/channels")
@documented(
    "The channels this gateway serves, with their labels and capabilities",
    tags=["channels"],
    response=obj(
        ["channels", "admin_settings"],
        channels=array(CHANNEL),
        admin_settings=array(ADMIN_SETTING),
    ),
    auth=False,
)
async def channels() -> ResponseReturnValue:
    return jsonify(_described())
