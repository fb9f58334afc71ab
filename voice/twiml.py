"""Pure TwiML builders: every document the voice routes return is made here, with the
`twilio` library's `VoiceResponse`, from plain values (texts and absolute URLs). Rules
kept everywhere: every URL is posted (`method="POST"`), so one signature check covers all
routes; a `<Gather>` always names its speech model (Twilio refuses speechTimeout="auto"
with the default one) and posts even on silence (`actionOnEmptyResult`), so the
conversation loop never falls through; hold music and announcements hold only Say, Play,
Pause and Redirect; the agent's whisper never holds a `<Dial>` (it runs before the bridge).
Spoken text is plain: anything that looks like markup is removed, and the library escapes
the rest."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse

from voice.settings import VoiceSettings

_TAGS = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"\s+")
MAX_SAY_CHARS = 1500
WHISPER_SUMMARY_CHARS = 300


def speakable(text: str, limit: int = MAX_SAY_CHARS) -> str:
    """Text to read aloud: no SSML or other markup, one line, at most `limit` characters."""
    plain = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Voice:
    """How Switchboard speaks and listens on one organization's calls."""

    tts_voice: str
    language: str
    speech_model: str
    hints: str
    timeout: int

    @classmethod
    def of(cls, settings: VoiceSettings) -> Voice:
        return cls(
            settings.tts_voice,
            settings.language,
            settings.speech_model,
            settings.hints,
            settings.gather_timeout_seconds,
        )


def _say(target: VoiceResponse | Gather, voice: Voice, lines: Sequence[str]) -> None:
    for line in lines:
        text = speakable(line)
        if text:
            target.say(text, voice=voice.tts_voice, language=voice.language)


def _document(response: VoiceResponse) -> str:
    return str(response.to_xml(xml_declaration=True))


def ask(voice: Voice, lines: Sequence[str], action: str) -> str:
    """Say `lines`, then listen for the caller's speech or keys; the result (or silence)
    is posted to `action`."""
    response = VoiceResponse()
    gather = Gather(
        input="speech dtmf",
        action=action,
        method="POST",
        speech_timeout="auto",
        speech_model=voice.speech_model,
        language=voice.language,
        action_on_empty_result=True,
        timeout=voice.timeout,
        num_digits=1,
        hints=voice.hints or None,
    )
    _say(gather, voice, lines)
    response.append(gather)
    return _document(response)


def wait_again(voice: Voice, lines: Sequence[str], url: str, pause: int = 0) -> str:
    """A short filler (or a pause) and a redirect that waits for the reply again."""
    response = VoiceResponse()
    _say(response, voice, lines)
    if pause:
        response.pause(length=pause)
    response.redirect(url, method="POST")
    return _document(response)


def goodbye(voice: Voice, lines: Sequence[str]) -> str:
    response = VoiceResponse()
    _say(response, voice, lines)
    response.hangup()
    return _document(response)


def hold_in_conference(
    voice: Voice,
    lines: Sequence[str],
    *,
    room: str,
    dial_done: str,
    hold: str,
    events: str,
    record: str | None = None,
) -> str:
    """The caller's side of a warm transfer: the notice, then a conference of its own in
    which the caller waits with hold audio until an agent joins."""
    response = VoiceResponse()
    _say(response, voice, lines)
    dial = response.dial(action=dial_done, method="POST")
    extra = {}
    if record is not None:
        extra = {
            "record": "record-from-start",
            "recording_status_callback": record,
            "recording_status_callback_method": "POST",
        }
    dial.conference(
        room,
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        beep=False,
        wait_url=hold,
        wait_method="POST",
        status_callback=events,
        status_callback_method="POST",
        status_callback_event="start end join leave",
        participant_label="customer",
        **extra,
    )
    return _document(response)


def hold_music(voice: Voice, lines: Sequence[str], again: str, pause: int = 8) -> str:
    """What a waiting caller hears (only Say, Pause and Redirect: Twilio allows nothing
    else in hold audio), then the same URL again for the next line."""
    response = VoiceResponse()
    _say(response, voice, lines)
    response.pause(length=pause)
    response.redirect(again, method="POST")
    return _document(response)


def whisper(voice: Voice, lines: Sequence[str], action: str, timeout: int = 6) -> str:
    """What the agent hears before being connected: one key decides (1 takes the call)."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=timeout,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    _say(gather, voice, lines)
    response.append(gather)
    return _document(response)


def join_caller(room: str) -> str:
    """The agent, having pressed 1, joins the caller's conference; when the agent hangs
    up the conference ends and the caller goes back to the AI."""
    response = VoiceResponse()
    dial = response.dial()
    dial.conference(
        room,
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        beep=False,
        participant_label="agent",
    )
    return _document(response)
