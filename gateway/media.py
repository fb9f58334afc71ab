"""Media files in the state folder (`<var_dir>/media/<organization>/…`), with a row each in
`media_files`. Inside Switchboard a file is known by its internal URL (`/api/media/<key>`),
which only the organization's logged-in agents can open; a provider that must fetch a file
to send it (Twilio, for an MMS) gets a signed link on the public URL that expires. How many
images one outgoing message may carry is the channel's own declaration."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels import ChannelSpec
from gateway.db import Database
from gateway.errors import BadInput
from gateway.models import MediaFile
from gateway.settings import Settings

INTERNAL_PREFIX = "/api/media/"
PUBLIC_PREFIX = "/media/"
LINK_SALT = "switchboard.media-link"
LINK_MAX_AGE_SECONDS = 3600
SENDABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
# served as themselves (a sandboxed image, or audio such as a call's recording for the
# desk's player); anything else is a download
INLINE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "audio/mpeg", "audio/wav"}
)
_KEY = re.compile(r"[0-9a-f]{32}")
_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


@dataclass(frozen=True, slots=True)
class StoredMedia:
    key: str
    content_type: str
    size: int
    name: str | None

    @property
    def url(self) -> str:
        return internal_url(self.key)

    def attachment(self) -> dict[str, Any]:
        """The entry a message keeps in its `attachments` list."""
        return {
            "url": self.url,
            "content_type": self.content_type,
            "size": self.size,
            "name": self.name,
        }


def internal_url(key: str) -> str:
    return INTERNAL_PREFIX + key


def key_of(url: str) -> str | None:
    """The key of an internal media URL, or None for any other URL."""
    if not url.startswith(INTERNAL_PREFIX):
        return None
    key = url[len(INTERNAL_PREFIX) :]
    return key if _KEY.fullmatch(key) else None


def clean_content_type(raw: str | None) -> str:
    value = (raw or "").split(";", 1)[0].strip().lower()
    return value if _TYPE.fullmatch(value) else "application/octet-stream"


def clean_name(raw: str | None) -> str | None:
    if not raw:
        return None
    name = Path(raw.replace("\\", "/")).name.strip()
    name = "".join(char for char in name if char.isprintable() and char not in "\"';")
    return name[:255] or None


class MediaStore:
    def __init__(self, var_dir: Path) -> None:
        self.root = var_dir / "media"

    def path_for(self, organization_id: int, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError("not a media key")
        return self.root / str(organization_id) / key[:2] / key

    async def save(
        self,
        db: Database,
        organization_id: int,
        data: bytes,
        content_type: str | None,
        *,
        name: str | None = None,
        origin: str,
    ) -> StoredMedia:
        """Write the file, then its row (a crash in between leaves a stray file, never
        a row without its file)."""
        stored = await self.write(organization_id, data, content_type, name=name)
        async with db.transaction() as session:
            self.record(session, organization_id, stored, origin=origin)
        return stored

    async def write(
        self, organization_id: int, data: bytes, content_type: str | None, *, name: str | None
    ) -> StoredMedia:
        """Only the file: `record` adds its row in the caller's own transaction (so a
        channel can commit it together with the message that refers to it)."""
        key = secrets.token_hex(16)
        stored = StoredMedia(key, clean_content_type(content_type), len(data), clean_name(name))
        await asyncio.to_thread(self._write, self.path_for(organization_id, key), data)
        return stored

    @staticmethod
    def record(
        session: AsyncSession, organization_id: int, stored: StoredMedia, *, origin: str
    ) -> None:
        session.add(
            MediaFile(
                organization_id=organization_id,
                key=stored.key,
                content_type=stored.content_type,
                size=stored.size,
                name=stored.name,
                origin=origin,
            )
        )

    async def discard(self, organization_id: int, stored: StoredMedia) -> None:
        """Remove a file `write` kept that no row will name (another run recorded its own
        copy of the same item first)."""
        await asyncio.to_thread(self.path_for(organization_id, stored.key).unlink, missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, path)

    async def find(self, db: Database, organization_id: int, key: str) -> StoredMedia | None:
        """The organization's file under `key`; another organization's key is not found."""
        if not _KEY.fullmatch(key):
            return None
        async with db.transaction() as session:
            row = await session.scalar(
                select(MediaFile).where(
                    MediaFile.organization_id == organization_id, MediaFile.key == key
                )
            )
        if row is None:
            return None
        return StoredMedia(row.key, row.content_type, row.size, row.name)

    async def organization_of(self, db: Database, key: str) -> int | None:
        if not _KEY.fullmatch(key):
            return None
        async with db.transaction() as session:
            found = await session.scalar(
                select(MediaFile.organization_id).where(MediaFile.key == key)
            )
        return None if found is None else int(found)


def _links(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.require_secret_key(), salt=LINK_SALT)


def public_link(settings: Settings, key: str) -> str:
    """A URL on the public address that serves the file to anyone for an hour."""
    token = _links(settings).dumps(key)
    return f"{settings.resolved_public_url}{PUBLIC_PREFIX}{token}"


def key_from_link(settings: Settings, token: str) -> str | None:
    """The key a public link names; None when it is forged or expired."""
    try:
        key = _links(settings).loads(token, max_age=LINK_MAX_AGE_SECONDS)
    except BadData:
        return None
    return key if isinstance(key, str) and _KEY.fullmatch(key) else None


async def outbound_attachments(
    store: MediaStore, db: Database, organization_id: int, keys: list[str], channel: ChannelSpec
) -> list[dict[str, Any]]:
    """The attachment entries for an agent's reply on `channel`, from uploaded files' keys.
    A channel that declares no media, more images than it takes, unknown keys (or another
    organization's) and types a message cannot carry are refused."""
    if not channel.accepts_media:
        raise BadInput(
            f"images cannot be sent on the {channel.name} channel", code="media_not_supported"
        )
    if len(keys) > channel.max_attachments:
        raise BadInput(f"a message can carry at most {channel.max_attachments} images")
    entries = []
    for key in dict.fromkeys(keys):
        found = await store.find(db, organization_id, key) if isinstance(key, str) else None
        if found is None:
            raise BadInput(f"no uploaded file {key!r}; upload it first", code="unknown_media")
        if found.content_type not in SENDABLE_TYPES:
            raise BadInput(
                f"{found.content_type} files cannot be sent; use JPEG, PNG or GIF images",
                code="unsupported_media",
            )
        entries.append(found.attachment())
    return entries
