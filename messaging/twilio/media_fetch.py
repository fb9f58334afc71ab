"""Fetching the media of an incoming MMS or WhatsApp message, as a job: each item is
downloaded with the account's credentials (Twilio may require them for media) from Twilio
only (its API host, or the configured base URL's), kept in the state folder, and its entry
on the message then points at the stored copy. An item over the size limit, or one Twilio
no longer has, is not kept, and the message says so in a note an agent can read. Network
trouble raises, and the job is retried; items already kept are not fetched again. Two runs
at once (a retry and the reconciler's) each write only what is still pending when they
finish, so neither undoes nor doubles what the other kept."""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import select, update

from gateway.errors import TransientDeliveryError
from gateway.events import Event
from gateway.media import MediaStore, StoredMedia, key_of
from gateway.models import Message
from gateway.runtime import Services
from messaging.twilio.addresses import SMS, WHATSAPP
from messaging.twilio.models import TwilioAccount

FETCH_TIMEOUT_SECONDS = 60.0
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes | None  # None: not kept (see note)
    content_type: str | None = None
    note: str | None = None


def basic_auth(user: str, password: str) -> str:
    """The Authorization header of a request made with an account's SID and auth token."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MB" if count >= 1024 * 1024 else f"{count // 1024} KB"


def allowed_source(url: str, base_url: str) -> bool:
    """Media comes from Twilio: its own hosts over HTTPS, or the configured API base."""
    parts, base = urlsplit(url), urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if parts.scheme == base.scheme and parts.netloc == base.netloc:
        return True
    return parts.scheme == "https" and (host == "twilio.com" or host.endswith(".twilio.com"))


async def download(http: aiohttp.ClientSession, url: str, limit: int, label: str) -> Fetched:
    """One file from Twilio, up to `limit` bytes (a larger one is not kept: see its note).
    Throttling, a server error or network trouble raise TransientDeliveryError (retry)."""
    try:
        async with http.get(url, allow_redirects=True) as response:
            if response.status == 429 or response.status >= 500:
                raise TransientDeliveryError(f"Twilio answered {response.status} for {label}")
            if response.status >= 400:
                note = f"{label} could not be fetched: Twilio answered {response.status}"
                return Fetched(None, note=note)
            declared = response.content_length
            if declared is not None and declared > limit:
                return Fetched(None, note=_too_large(label, declared, limit))
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) > limit:
                    return Fetched(None, note=_too_large(label, None, limit))
            return Fetched(bytes(data), response.headers.get("Content-Type"))
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        raise TransientDeliveryError(f"could not fetch {label}: {type(error).__name__}") from None


def _too_large(label: str, size: int | None, limit: int) -> str:
    shown = f" ({_size(size)})" if size is not None else ""
    return f"{label}{shown} was not kept: it is larger than the {_size(limit)} limit"


async def fetch_message_media(services: Services, message_id: int) -> str:
    """Fetch and keep the message's pending media; returns what happened."""
    async with services.db.transaction() as session:
        message = await session.get(Message, message_id)
        if message is None or message.direction != "inbound":
            return "skipped"
        if message.channel not in (SMS, WHATSAPP):
            return "skipped"
        account_sid = str(((message.meta or {}).get("twilio") or {}).get("account_sid") or "")
        account = await session.scalar(
            select(TwilioAccount).where(
                TwilioAccount.organization_id == message.organization_id,
                TwilioAccount.account_sid == account_sid,
            )
        )
    attachments: list[dict[str, Any]] = [dict(item) for item in message.attachments]
    meta = dict(message.meta or {})
    progress = [dict(item) for item in meta.get("media") or []]
    progress += [{"status": "pending", "note": None}] * (len(attachments) - len(progress))
    store = MediaStore(services.settings.var_dir)
    limit = services.settings.media_max_bytes
    headers = (
        {"Authorization": basic_auth(account.account_sid, account.auth_token)} if account else {}
    )
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
    failure: TransientDeliveryError | None = None
    kept: dict[int, StoredMedia] = {}
    # aiohttp drops the Authorization header when Twilio redirects to its media host.
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as http:
        for index, item in enumerate(attachments):
            if key_of(str(item.get("url", ""))) or progress[index].get("status") != "pending":
                continue
            label = f"Attachment {index + 1} ({item.get('content_type')})"
            if not allowed_source(str(item.get("url", "")), services.settings.twilio_api_base_url):
                progress[index] = {"status": "refused", "note": f"{label} is not on Twilio"}
                continue
            try:
                fetched = await download(http, str(item["url"]), limit, label)
            except TransientDeliveryError as error:
                failure = error
                break
            if fetched.data is None:
                progress[index] = {"status": "refused", "note": fetched.note}
                continue
            content_type = str(item.get("content_type") or fetched.content_type or "")
            extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
            kept[index] = await store.write(
                message.organization_id,
                fetched.data,
                content_type,
                name=f"attachment-{index + 1}{extension}",
            )
            attachments[index] = kept[index].attachment()
            progress[index] = {"status": "stored", "note": None}
    attachments, progress = await _record(services, store, message, attachments, progress, kept)
    await services.events.publish(
        Event(
            "media",
            message.organization_id,
            message.conversation_id,
            {"message_id": message_id, "attachments": attachments, "media": progress},
        )
    )
    if failure is not None:
        raise failure
    return ",".join(item["status"] for item in progress)


async def _record(
    services: Services,
    store: MediaStore,
    message: Message,
    attachments: list[dict[str, Any]],
    progress: list[dict[str, Any]],
    kept: dict[int, StoredMedia],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Write this run's outcome onto the message, as it is now: another run of the job may
    have settled some items since this one read it. Only items still pending take this
    run's outcome (a copy this run kept of an item already stored is removed), so a slower
    run never puts a stored item back to pending nor keeps a second copy."""
    async with services.db.transaction() as session:
        row = (
            await session.execute(
                select(Message.attachments, Message.meta)
                .where(Message.id == message.id)
                .with_for_update()
            )
        ).one()
        now_attachments = [dict(item) for item in row.attachments]
        meta = dict(row.meta or {})
        now_progress = [dict(item) for item in meta.get("media") or []]
        now_progress += [{"status": "pending", "note": None}] * (
            len(now_attachments) - len(now_progress)
        )
        duplicates = []
        for index, outcome in enumerate(progress):
            settled = outcome.get("status") != "pending"
            if settled and now_progress[index].get("status") == "pending":
                now_attachments[index] = attachments[index]
                now_progress[index] = outcome
                if index in kept:
                    store.record(session, message.organization_id, kept[index], origin="inbound")
            elif index in kept:
                duplicates.append(kept[index])
        meta["media"] = now_progress
        await session.execute(
            update(Message)
            .where(Message.id == message.id)
            .values(attachments=now_attachments, meta=meta)
        )
    for duplicate in duplicates:
        await store.discard(message.organization_id, duplicate)
    return now_attachments, now_progress
