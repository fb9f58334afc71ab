"""Recording (off by default, announced and stored when on) and the call's timeline in the
conversation: the call start, the greeting, the caller's lines with their confidence, the
AI's lines and the handoff notice, in order."""

from __future__ import annotations

from gateway.models import Organization
from gateway.runtime import Services
from tests.support.call_simulator import Caller
from tests.support.fake_twilio import PUBLIC_URL, post_signed
from tests.voice.conftest import set_voice
from tests.voice.helpers import the_call, transcript


async def test_recording_is_off_unless_asked_for_then_announced_and_stored(
    caller: Caller, voice_services: Services, org: Organization, worker: None
) -> None:
    await caller.dial_in()
    await caller.say("I want to talk to a person")
    assert not any("record" in hop.document for hop in caller.hops)

    await set_voice(voice_services, org, record_calls=True)
    second = Caller(caller.client, caller.account, "+15557650000", caller.to)
    assert "This call may be recorded." in await second.dial_in()
    await second.say("I want to talk to a person")
    hold = second.hops[-1].document
    assert 'record="record-from-start"' in hold and "/twilio/voice/recording?c=" in hold
    call_id = int(hold.split("/twilio/voice/recording?c=")[1].split('"')[0])
    form = second.params(
        RecordingSid="RE" + "1" * 32,
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1",
        RecordingStatus="completed",
        RecordingDuration="37",
    )
    url = f"{PUBLIC_URL}/twilio/voice/recording?c={call_id}"
    assert (await post_signed(second.client, url, form, second.account.token)).status_code == 200
    from sqlalchemy import select

    from voice.models import VoiceCall

    async with voice_services.db.transaction() as session:
        call = await session.get(VoiceCall, call_id)
        first = (await session.execute(select(VoiceCall).order_by(VoiceCall.id))).scalars().first()
    assert call is not None and call.recording_seconds == 37
    assert (call.recording_sid or "").startswith("RE") and call.recording_url
    assert first is not None and first.recording_sid is None


async def test_the_timeline_keeps_the_call_in_order(
    caller: Caller, voice_services: Services, worker: None
) -> None:
    await caller.dial_in()
    await caller.say("How long does shipping take?", confidence="0.88")
    await caller.say("I want to talk to a person")
    _, conversation = await the_call(voice_services)
    lines = [
        (message.author, message.notice or message.meta.get("voice"), message.text[:30])
        for message in await transcript(voice_services, conversation.id)
    ]
    authors = [author for author, _, _ in lines]
    assert authors[:5] == ["customer", "system", "customer", "ai", "customer"]
    assert lines[0][2] == "" and lines[1][1] == "greeting"  # the call's start, then the greeting
    assert ("system", "handoff") in [(author, notice) for author, notice, _ in lines[5:]]
    messages = await transcript(voice_services, conversation.id)
    assert messages[2].meta["confidence"] == 0.88
    assert all(m.delivery_status in ("received", "delivered") for m in messages)
