"""What a draft costs as SMS (GSM-7 or UCS-2 segments), for the composer, and how a long
text is cut for Twilio's 1,600-character limit."""

from __future__ import annotations

import pytest
from quart import Quart

from gateway.runtime import Services
from messaging.twilio.segments import segment_info
from messaging.twilio.splitting import split_text, units
from tests.support.api import logged_in
from tests.support.factories import make_agent


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # an extension character takes two septets
        ("€" * 81, "GSM-7", 2),
        ("a" * 152 + "€", "GSM-7", 1),
        ("a" * 159 + "€", "GSM-7", 2),  # and never straddles two segments
        ("ж" * 70, "UCS-2", 1),
        ("ж" * 71, "UCS-2", 2),
        ("a" * 100 + "ç", "UCS-2", 2),  # one character outside GSM-7 switches the whole text
        ("😀" * 35, "UCS-2", 1),
        ("😀" * 36, "UCS-2", 2),
        ("😀" * 67, "UCS-2", 3),  # 33 pairs per 67-unit segment
    ],
)
def test_segment_counts(text: str, encoding: str, segments: int) -> None:
    info = segment_info(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_long_texts_are_cut_at_sentence_ends_then_words_then_characters() -> None:
    sentences = "".join(f"Sentence {n} ends here. " for n in range(200))
    one_sentence = "word " * 700
    emoji = "😀" * 1000

    by_sentence = split_text(sentences)
    by_word = split_text(one_sentence)
    by_character = split_text(emoji)

    assert all(part.endswith("ends here.") for part in by_sentence)
    assert " ".join(by_sentence) == sentences.strip()
    assert all(part.endswith("word") for part in by_word)
    assert "".join(by_character) == emoji
    assert all(units(part) <= 1600 for part in by_sentence + by_word + by_character)
    assert split_text("short") == ["short"] and split_text("   ") == []


async def test_the_composer_asks_for_a_drafts_segments(
    twilio_app: Quart, twilio_services: Services, org
) -> None:
    client, csrf = await logged_in(twilio_app, await make_agent(twilio_services.db, org))

    answer = await client.post("/api/sms/segments", json={"text": "Привет! " * 30}, headers=csrf)
    anonymous = await twilio_app.test_client().post("/api/sms/segments", json={"text": "hi"})

    assert answer.status_code == 200
    assert await answer.get_json() == {
        "encoding": "UCS-2",
        "characters": 240,
        "units": 240,
        "segments": 4,
        "per_segment": 67,
        "messages": 1,
    }
    assert anonymous.status_code == 401
