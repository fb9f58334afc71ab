"""The agents' media over HTTP: they upload an image to send (`POST /api/media`, the raw
file as the body) and open the media of their organization's conversations
(`GET /api/media/<key>`). Uploads must really be the image type they claim; files that are
not plain images are served as downloads in a sandbox, never rendered as pages. An upload
may be as large as the media limit (`SWITCHBOARD_MEDIA_MAX_BYTES`), while every other body
keeps the app-wide 1 MB cap: Quart fixes a request's body limit when it builds the request,
before any handler runs, so the app factory installs `upload_request_class`, which builds
`POST /api/media` with the media limit."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Request, jsonify, request
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.auth import Role, current_agent, login_required
from gateway.errors import BadInput, MediaTooLarge, NotFound
from gateway.media import INLINE_TYPES, SENDABLE_TYPES, clean_content_type
from gateway.media_routes import media_store, serve
from gateway.openapi import INTEGER, STRING, Param, documented, nullable, obj, schema
from gateway.web import app_services, database

agent_media = Blueprint("agent_media", __name__)
UPLOAD_PATH = "/api/media"

SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
TAGS = ["media"]
UPLOADED = schema(
    "UploadedMedia",
    obj(
        ["key", "url", "content_type", "size"],
        key={**STRING, "description": "for GET /api/media/{key}"},
        url={**STRING, "description": "what a reply's `media` list takes"},
        content_type={"type": "string", "enum": sorted(SIGNATURES)},
        size=INTEGER,
        name=nullable(STRING),
    ),
)


def upload_request_class(limit: int) -> type[Request]:
    """A request class whose body may reach `limit` bytes for an upload to `POST /api/media`;
    every other request keeps the app-wide cap. The app factory installs it."""

    class UploadLimitRequest(Request):
        def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
            upload = method == "POST" and path == UPLOAD_PATH
            if upload:
                kwargs["max_content_length"] = limit
            super().__init__(method, scheme, path, *args, **kwargs)
            if upload:
                self.max_content_length = limit

    return UploadLimitRequest


@agent_media.post(UPLOAD_PATH)
@login_required(role=Role.AGENT)
@documented(
    "Upload an image to send in a reply (agents and admins)",
    tags=TAGS,
    description="The body is the raw file, with its Content-Type; it must really be a "
    "JPEG, PNG or GIF image and no larger than the configured media limit.",
    query=(Param("name", "the file name shown to the customer"),),
    raw_body=sorted(SIGNATURES),
    response=obj(["media"], media=UPLOADED),
    status=201,
    errors=(400, 403, 413),
)
async def upload() -> ResponseReturnValue:
    agent = current_agent()
    content_type = clean_content_type(request.headers.get("Content-Type"))
    if content_type not in SENDABLE_TYPES:
        raise BadInput(
            "upload a JPEG, PNG or GIF image as the request body, with its Content-Type",
            code="unsupported_media",
        )
    limit = app_services().services.settings.media_max_bytes
    too_large = MediaTooLarge(f"files may be at most {limit // 1024} KB")
    try:
        data = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    except RequestEntityTooLarge:
        raise too_large from None
    if not data:
        raise BadInput("the upload is empty")
    if len(data) > limit:
        raise too_large
    if not data.startswith(SIGNATURES[content_type]):
        raise BadInput(f"the file is not a {content_type} image", code="unsupported_media")
    stored = await media_store().save(
        database(),
        agent.organization_id,
        data,
        content_type,
        name=request.args.get("name"),
        origin="upload",
    )
    return jsonify({"media": {"key": stored.key, **stored.attachment()}}), 201


@agent_media.get("/api/media/<key>")
@login_required()
@documented(
    "A file of one of the organization's conversations",
    tags=TAGS,
    description="Plain images are served inline; any other file is served as an "
    "`application/octet-stream` download in a sandbox.",
    raw_response=(*sorted(INLINE_TYPES), "application/octet-stream"),
)
async def show(key: str) -> ResponseReturnValue:
    store = media_store()
    organization_id = current_agent().organization_id
    found = await store.find(database(), organization_id, key)
    if found is None:
        raise NotFound("no such file")
    return await serve(store, organization_id, found)
