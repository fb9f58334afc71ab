"""Media over HTTP: agents upload an image to send (`POST /api/media`, the raw file as the
body) and open the media of their organization's conversations (`GET /api/media/<key>`);
providers fetch an outgoing image through a signed, expiring public link
(`GET /media/<token>`). Uploads must really be the image type they claim; files that are
not plain images are served as downloads in a sandbox, never rendered as pages."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request, send_file
from quart.typing import ResponseReturnValue

from gateway.auth import current_agent, login_required
from gateway.db import Database
from gateway.errors import BadInput, Forbidden, NotFound
from gateway.media import (
    INLINE_TYPES,
    SENDABLE_TYPES,
    MediaStore,
    StoredMedia,
    clean_content_type,
    key_from_link,
)
from gateway.web import app_services

media = Blueprint("media", __name__)

SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def _db() -> Database:
    return app_services().services.db


def _store() -> MediaStore:
    return MediaStore(app_services().services.settings.var_dir)


@media.post("/api/media")
@login_required(_db)
async def upload() -> ResponseReturnValue:
    agent = current_agent()
    if agent.role not in ("agent", "admin"):
        raise Forbidden(f"a {agent.role} cannot upload files")
    content_type = clean_content_type(request.headers.get("Content-Type"))
    if content_type not in SENDABLE_TYPES:
        raise BadInput(
            "upload a JPEG, PNG or GIF image as the request body, with its Content-Type",
            code="unsupported_media",
        )
    data = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    limit = app_services().services.settings.media_max_bytes
    if not data:
        raise BadInput("the upload is empty")
    if len(data) > limit:
        raise BadInput(f"files may be at most {limit // 1024} KB", code="media_too_large")
    if not data.startswith(SIGNATURES[content_type]):
        raise BadInput(f"the file is not a {content_type} image", code="unsupported_media")
    stored = await _store().save(
        _db(),
        agent.organization_id,
        data,
        content_type,
        name=request.args.get("name"),
        origin="upload",
    )
    return jsonify({"media": {"key": stored.key, **stored.attachment()}}), 201


@media.get("/api/media/<key>")
@login_required(_db)
async def show(key: str) -> ResponseReturnValue:
    store = _store()
    organization_id = current_agent().organization_id
    found = await store.find(_db(), organization_id, key)
    if found is None:
        raise NotFound("no such file")
    return await _serve(store, organization_id, found)


@media.get("/media/<token>")
async def public(token: str) -> ResponseReturnValue:
    key = key_from_link(app_services().services.settings, token)
    if key is None:
        raise NotFound("this link is not valid or has expired")
    store = _store()
    organization_id = await store.organization_of(_db(), key)
    found = None if organization_id is None else await store.find(_db(), organization_id, key)
    if organization_id is None or found is None:
        raise NotFound("no such file")
    return await _serve(store, organization_id, found)


async def _serve(store: MediaStore, organization_id: int, found: StoredMedia) -> Response:
    path = store.path_for(organization_id, found.key)
    if not path.exists():
        raise NotFound("the file is missing from the state folder")
    inline = found.content_type in INLINE_TYPES
    response = await send_file(
        path,
        mimetype=found.content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        attachment_filename=found.name or found.key,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
