"""Every TwiML document the builders make parses and keeps the rules: POST everywhere, a
speech model with speechTimeout="auto", posting on silence, hold audio of Say/Pause/Redirect
only, no <Dial> in the whisper; spoken text loses its markup and is escaped."""

from __future__ import annotations

from tests.support import twiml_rules
from voice import twiml
from voice.settings import VoiceSettings

VOICE = twiml.Voice.of(VoiceSettings(hints="refund, order number"))
URL = "https://switchboard.example.test/twilio/voice/turn?c=1&n=2"


def test_every_builder_keeps_the_rules() -> None:
    documents = {
        "call": [
            twiml.ask(VOICE, ["Hello & welcome"], URL),
            twiml.wait_again(VOICE, ["One moment."], URL),
            twiml.wait_again(VOICE, [], URL, pause=1),
            twiml.goodbye(VOICE, ["Goodbye."]),
            twiml.hold_in_conference(
                VOICE,
                ["Please hold."],
                room="sb-1-1",
                dial_done=URL,
                hold=URL,
                events=URL,
                record=URL,
            ),
            twiml.join_caller("sb-1-1"),
        ],
        "hold": [twiml.hold_music(VOICE, ["Please hold."], URL)],
        "whisper": [twiml.whisper(VOICE, ["Call from Ana. Press 1."], URL)],
    }
    for role, made in documents.items():
        for document in made:
            twiml_rules.check(document, role)


def test_spoken_text_is_plain_and_escaped() -> None:
    document = twiml.ask(
        VOICE, ['<speak>Refunds take <break time="1s"/> 5 days & more</speak>'], URL
    )
    root = twiml_rules.check(document)
    assert twiml_rules.spoken(root) == ["Refunds take 5 days & more"]
    assert "&amp;" in document and "<break" not in document
    gather = root.find("Gather")
    assert gather is not None and gather.get("hints") == "refund, order number"


def test_recording_appears_only_when_asked_for() -> None:
    plain = twiml.hold_in_conference(VOICE, [], room="sb-1-1", dial_done=URL, hold=URL, events=URL)
    assert "record" not in plain
    recorded = twiml.hold_in_conference(
        VOICE, [], room="sb-1-1", dial_done=URL, hold=URL, events=URL, record=URL
    )
    conference = twiml_rules.check(recorded).find("Dial/Conference")
    assert conference is not None and conference.get("record") == "record-from-start"


def test_long_text_is_cut_for_the_whisper() -> None:
    assert len(twiml.speakable("word " * 200, twiml.WHISPER_SUMMARY_CHARS)) <= 300
