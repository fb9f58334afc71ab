"""Media for providers: they fetch an outgoing image through a signed, expiring public link
(`GET /media/<token>`). Files that are not plain images are served as downloads in a
sandbox, never rendered as pages (`serve`, which the agents' media routes use too)."""

from __future__ import annotations

from quart import Blueprint, Response, send_file
from quart.typing import ResponseReturnValue

from gateway.errors import NotFound
from gateway.media import INLINE_TYPES, MediaStore, StoredMedia, key_from_link
from gateway.web import app_services, database

media = Blueprint("media", __name__)


def media_store() -> MediaStore:
    return MediaStore(app_services().services.settings.var_dir)


@media.get("/media/<token>")
async def public(token: str) -> ResponseReturnValue:
    key = key_from_link(app_services().services.settings, token)
    if key is None:
        raise NotFound("this link is not valid or has expired")
    store = media_store()
    organization_id = await store.organization_of(database(), key)
    found = None if organization_id is None else await store.find(database(), organization_id, key)
    if organization_id is None or found is None:
        raise NotFound("no such file")
    return await serve(store, organization_id, found)


async def serve(store: MediaStore, organization_id: int, found: StoredMedia) -> Response:
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
