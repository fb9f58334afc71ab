"""Recording (V21): off by default, with no `record` anywhere; when on, announced, the
conference records, and the recording status callback keeps the Sid, URL and length and
enqueues a job (nothing is downloaded inside the webhook). The job fetches the audio with
the account's credentials from the loopback Twilio API, once however often the callback
repeats, and keeps it as the conversation's media: the desk's calls panel gives a playable
URL, served to the organization's own agents only. A fetch job Redis lost is enqueued
again by the channel's sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from quart import Quart
from sqlalchemy import select, update

from gateway.media import MediaStore, key_of
from gateway.models import Agent, Message, Organization, utcnow
from gateway.queues import INTAKE
from gateway.runtime import Services
from tests.support.api import logged_in
from tests.support.call_simulator import Caller
from tests.support.factories import make_agent
from tests.support.fake_twilio import (
    PUBLIC_URL,
    Account,
    FakeTwilio,
    post_signed,
    run_worker_burst,
    worker_running,
    worker_settings,
)
from tests.voice.conftest import set_voice
from tests.voice.helpers import the_call, transcript
from voice.models import VoiceCall
from voice.recording import fetch
from voice.recording_sweep import GRACE, refetch_lost_recordings

AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40  # an MP3's first bytes


async def test_recording_is_off_unless_asked_for(
    caller: Caller, voice_services: Services, fake_twilio: FakeTwilio, worker: None
) -> None:
    assert "recorded" not in " ".join(await caller.dial_in())
    await caller.say("I want to talk to a person")
    assert caller.room is not None
    assert not any("record" in hop.document.lower() for hop in caller.hops)
    [placed] = fake_twilio.wait_for_calls(1)
    assert not any("record" in name.lower() for name in placed.params)


async def _recorded_call(
    caller: Caller, voice_services: Services, org: Organization
) -> tuple[int, str]:
    """A call that reached the conference with recording on: its id and callback URL."""
    await set_voice(voice_services, org, record_calls=True)
    assert "This call may be recorded." in await caller.dial_in()
    await caller.say("I want to talk to a person")
    hold = caller.hops[-1].document
    assert 'record="record-from-start"' in hold and "/twilio/voice/recording?c=" in hold
    call, _ = await the_call(voice_services)
    return call.id, f"{PUBLIC_URL}/twilio/voice/recording?c={call.id}"


async def _recording_lines(services: Services, conversation_id: int) -> list[Message]:
    messages = await transcript(services, conversation_id)
    return [m for m in messages if m.meta.get("voice") == "recording"]


async def _callback(caller: Caller, url: str, form: dict[str, str]) -> int:
    response = await post_signed(caller.client, url, caller.params(**form), caller.account.token)
    return int(response.status_code)


async def test_the_recording_is_fetched_by_a_job_with_the_accounts_credentials(
    caller: Caller,
    voice_app: Quart,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org: Organization,
    other_org: Organization,
    agents: tuple[Agent, Agent],
    redis_url: str,
    tmp_path: Any,
) -> None:
    # no worker runs yet: the call reaches the conference through the policy's job
    call_id, url = await _on_hold_recorded(caller, voice_services, org, fake_twilio, redis_url)
    sid, recording_url = fake_twilio.add_recording(account.sid, AUDIO)
    form = {
        "RecordingSid": sid,
        "RecordingUrl": recording_url,
        "RecordingStatus": "completed",
        "RecordingDuration": "37",
        "RecordingChannels": "1",
        "RecordingSource": "Conference",
    }
    assert await _callback(caller, url, form) == 200
    assert await _callback(caller, url, form) == 200  # Twilio repeats it
    assert fake_twilio.recording_fetches == []  # nothing fetched inside the webhook
    async with voice_services.db.transaction() as session:
        call = await session.get(VoiceCall, call_id)
    assert call is not None and (call.recording_sid, call.recording_seconds) == (sid, 37)
    assert call.recording_url == recording_url
    jobs = [
        job
        for job in voice_services.jobs.queue(INTAKE).get_jobs()
        if job.func_name == "voice.jobs.fetch_recording"
    ]
    assert jobs and all(list(job.args) == [call_id] and job.retries_left == 5 for job in jobs)

    run_worker_burst(voice_services.db.url, redis_url, worker_settings(fake_twilio, str(tmp_path)))
    assert fake_twilio.recording_fetches == [(sid, True)]  # once, with the account's auth
    _, conversation = await the_call(voice_services)
    [line] = await _recording_lines(voice_services, conversation.id)
    assert line.text == "Call recording (37 s)" and line.author == "system"
    [audio] = line.attachments
    assert audio["content_type"] == "audio/mpeg" and audio["size"] == len(AUDIO)

    # The desk's calls panel plays it from this gateway, for this organization only.
    dana, _ = agents
    client, _ = await logged_in(voice_app, dana)
    calls = await (await client.get(f"/api/conversations/{conversation.id}/calls")).get_json()
    [shown] = calls["calls"]
    assert shown["recording_url"] == audio["url"] and shown["recording_seconds"] == 37
    played = await client.get(audio["url"])
    assert played.status_code == 200 and played.mimetype == "audio/mpeg"
    assert await played.get_data() == AUDIO
    stranger = await make_agent(voice_services.db, other_org, name="Stranger")
    other, _ = await logged_in(voice_app, stranger)
    assert (await other.get(audio["url"])).status_code == 404
    assert (await other.get(f"/api/conversations/{conversation.id}/calls")).status_code == 404
    assert (await voice_app.test_client().get(audio["url"])).status_code == 401


async def _on_hold_recorded(
    caller: Caller,
    voice_services: Services,
    org: Organization,
    fake_twilio: FakeTwilio,
    redis_url: str,
) -> tuple[int, str]:
    env = worker_settings(fake_twilio, str(voice_services.settings.var_dir))
    with worker_running(voice_services.db.url, redis_url, env):
        return await _recorded_call(caller, voice_services, org)


async def test_a_recording_twilio_will_not_give_leaves_a_line_saying_so(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org: Organization,
    redis_url: str,
    tmp_path: Any,
) -> None:
    _, url = await _on_hold_recorded(caller, voice_services, org, fake_twilio, redis_url)
    other = fake_twilio.add_account()
    sid, recording_url = fake_twilio.add_recording(other.sid, AUDIO)  # not this account's
    form = {
        "RecordingSid": sid,
        "RecordingUrl": recording_url.replace(other.sid, account.sid),
        "RecordingStatus": "completed",
        "RecordingDuration": "5",
    }
    assert await _callback(caller, url, form) == 200
    run_worker_burst(voice_services.db.url, redis_url, worker_settings(fake_twilio, str(tmp_path)))
    _, conversation = await the_call(voice_services)
    [line] = await _recording_lines(voice_services, conversation.id)
    assert line.attachments == [] and "could not be fetched" in line.text
    async with voice_services.db.transaction() as session:
        kept = (await session.scalars(select(VoiceCall.recording_sid))).all()
    assert kept == [sid]


async def test_a_lost_fetch_job_is_enqueued_again_by_the_sweep(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org: Organization,
    redis_url: str,
    tmp_path: Any,
) -> None:
    _, url = await _on_hold_recorded(caller, voice_services, org, fake_twilio, redis_url)
    sid, recording_url = fake_twilio.add_recording(account.sid, AUDIO)
    form = {"RecordingSid": sid, "RecordingUrl": recording_url, "RecordingStatus": "completed"}
    assert await _callback(caller, url, form) == 200
    voice_services.jobs.queue(INTAKE).empty()  # Redis lost the job
    now = utcnow()
    assert await refetch_lost_recordings(voice_services, now) == 0  # within the grace
    async with voice_services.db.transaction() as session:
        await session.execute(
            update(VoiceCall).values(updated_at=now - GRACE - timedelta(minutes=1))
        )
    assert await refetch_lost_recordings(voice_services, now) == 1
    assert await refetch_lost_recordings(voice_services, now) == 0  # touched: not again
    run_worker_burst(voice_services.db.url, redis_url, worker_settings(fake_twilio, str(tmp_path)))
    _, conversation = await the_call(voice_services)
    [line] = await _recording_lines(voice_services, conversation.id)
    assert line.attachments and fake_twilio.recording_fetches == [(sid, True)]
    later = now + 2 * GRACE
    assert await refetch_lost_recordings(voice_services, later) == 0  # kept: nothing to do


async def test_two_fetch_jobs_at_once_keep_one_copy_of_the_audio(
    caller: Caller,
    voice_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org: Organization,
    redis_url: str,
) -> None:
    """Twilio repeats the callback while the first fetch job runs: two jobs download the
    audio at once. One line in the conversation, and one file in the media folder."""
    call_id, url = await _on_hold_recorded(caller, voice_services, org, fake_twilio, redis_url)
    sid, recording_url = fake_twilio.add_recording(account.sid, AUDIO)
    form = {"RecordingSid": sid, "RecordingUrl": recording_url, "RecordingStatus": "completed"}
    assert await _callback(caller, url, form) == 200
    assert await _callback(caller, url, form) == 200

    done = await asyncio.gather(fetch(voice_services, call_id), fetch(voice_services, call_id))
    assert sorted(done) == ["already kept", "kept"]
    _, conversation = await the_call(voice_services)
    [line] = await _recording_lines(voice_services, conversation.id)
    folder = MediaStore(voice_services.settings.var_dir).root / str(org.id)
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert [path.name for path in files] == [key_of(line.attachments[0]["url"])]
