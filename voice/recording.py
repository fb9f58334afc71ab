"""A call's recording, when the organization records calls. The recording status callback
keeps Twilio's RecordingSid, RecordingUrl and length on the call and enqueues
`voice.jobs.fetch_recording` (never downloading inside the webhook); the job fetches the
audio as MP3 with the account's credentials, from Twilio only, through the same download
path as MMS media (`messaging.twilio.media_fetch`), and keeps it in the organization's
media store. It enters the conversation as a system line carrying the audio as an
attachment, which the desk plays from `/api/media/<key>` (served only to the same
organization's agents). The line's provider id is the RecordingSid, so the audio is kept
once however often the callback or the job repeats (two runs at once keep one file);
network trouble raises, and RQ retries the job with back-off; a recording Twilio will not
give (gone, too large) leaves a line saying so instead."""

from __future__ import annotations

import aiohttp
from rq import Retry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import insert_ignoring_conflict
from gateway.events import Event
from gateway.media import MediaStore, StoredMedia, key_of
from gateway.models import Message, utcnow
from gateway.queues import INTAKE
from gateway.runtime import Services
from messaging.twilio.media_fetch import allowed_source, basic_auth, download
from voice.calls import CallView, view
from voice.models import VoiceCall

FETCH_RECORDING = "voice.jobs.fetch_recording"
FETCH_RETRY = Retry(max=5, interval=[5, 30, 120, 600, 1800])
FETCH_TIMEOUT_SECONDS = 120.0
MAX_BYTES = 64 * 1024 * 1024  # four and a half hours of Twilio's 32 kbit/s MP3
LABEL = "The call's recording"
CHANNEL = "voice"


def provider_id(recording_sid: str) -> str:
    return f"recording:{recording_sid}"


async def enqueue(services: Services, found: CallView) -> None:
    await services.jobs.enqueue_async(
        INTAKE,
        FETCH_RECORDING,
        found.call.id,
        retry=FETCH_RETRY,
        conversation_id=found.call.conversation_id,
    )


def _mp3(url: str) -> str:
    """Twilio's RecordingUrl has no extension; `.mp3` asks for MP3 (a browser plays it)."""
    return url if "." in url.rsplit("/", 1)[-1] else url + ".mp3"


async def fetch(services: Services, call_id: int) -> str:
    """Fetch and keep the call's recording; returns what happened."""
    found = await view(services.db, call_id)
    if found is None or not found.call.recording_sid or not found.call.recording_url:
        return "skipped"
    call = found.call
    assert call.recording_sid is not None and call.recording_url is not None
    if await _kept(services, call):
        return "already kept"
    url = _mp3(call.recording_url)
    if not allowed_source(url, services.settings.twilio_api_base_url):
        return await _keep(services, found, None, f"{LABEL} is not on Twilio, so it was not kept")
    auth = {"Authorization": basic_auth(found.account_sid, found.auth_token)}
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout, headers=auth) as http:
        fetched = await download(http, url, MAX_BYTES, LABEL)  # raises to be retried
    if fetched.data is None:
        return await _keep(services, found, None, fetched.note)
    stored = await MediaStore(services.settings.var_dir).write(
        call.organization_id, fetched.data, "audio/mpeg", name=f"call-{call.id}-recording.mp3"
    )
    return await _keep(services, found, stored, None)


async def _kept(services: Services, call: VoiceCall) -> bool:
    assert call.recording_sid is not None
    async with services.db.transaction() as session:
        found = await session.scalar(
            select(Message.id).where(
                Message.organization_id == call.organization_id,
                Message.channel == CHANNEL,
                Message.provider_message_id == provider_id(call.recording_sid),
            )
        )
    return found is not None


async def _keep(
    services: Services, found: CallView, stored: StoredMedia | None, note: str | None
) -> str:
    """The recording's line in the conversation (with the audio, or the note why not)."""
    call = found.call
    assert call.recording_sid is not None
    seconds = call.recording_seconds
    text = f"Call recording ({seconds} s)" if seconds is not None else "Call recording"
    attachments = [stored.attachment()] if stored is not None else []
    now = utcnow()
    async with services.db.transaction() as session:
        created = await insert_ignoring_conflict(
            session,
            Message,
            {
                "organization_id": call.organization_id,
                "conversation_id": call.conversation_id,
                "direction": "outbound",
                "author": "system",
                "channel": CHANNEL,
                "text": note or text,
                "attachments": attachments,
                "meta": {"voice": "recording", "call_sid": call.call_sid, "seconds": seconds},
                "provider_message_id": provider_id(call.recording_sid),
                "delivery_status": "delivered",
                "created_at": now,
                "updated_at": now,
            },
            ("organization_id", "channel", "provider_message_id"),
        )
        if created is not None and stored is not None:
            MediaStore.record(session, call.organization_id, stored, origin="inbound")
    if created is None:  # another run kept it meanwhile: this run's copy goes
        if stored is not None:
            await MediaStore(services.settings.var_dir).discard(call.organization_id, stored)
        return "already kept"
    await services.events.publish(
        Event(
            "call",
            call.organization_id,
            call.conversation_id,
            {"call_id": call.id, "phase": call.phase, "recording": bool(attachments)},
        )
    )
    return "kept" if attachments else "not kept"


async def audio_urls(session: AsyncSession, calls: list[VoiceCall]) -> dict[int, str]:
    """The kept recordings' playable URLs (`/api/media/<key>`), by call id."""
    wanted = {provider_id(c.recording_sid): c.id for c in calls if c.recording_sid}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Message.provider_message_id, Message.attachments).where(
            Message.organization_id == calls[0].organization_id,
            Message.channel == CHANNEL,
            Message.provider_message_id.in_(list(wanted)),
        )
    )
    found = {}
    for provider, attachments in rows.all():
        for item in attachments or []:
            url = str(item.get("url", "")) if isinstance(item, dict) else ""
            if key_of(url):
                found[wanted[provider]] = url
    return found
