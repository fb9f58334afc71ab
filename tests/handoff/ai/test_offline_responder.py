"""The offline responder answers from the organization's knowledge base when retrieval is
confident, admits it does not know otherwise, and handles greetings and thanks itself."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.db import Database
from gateway.models import Organization
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from handoff.ai.offline_responder import (
    DONT_KNOW,
    OfflineResponder,
    catalog_answer,
    plain_text,
    small_talk_reply,
    trim_answer,
)
from handoff.ai.responder import Responder, ResponderRequest, Turn

DEMO_ORG = 1
EMPTY_ORG = 2


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    await db.create_all()
    async with db.transaction() as session:
        session.add_all(
            [
                Organization(id=DEMO_ORG, slug="northwind", name="Northwind", widget_key="k1"),
                Organization(id=EMPTY_ORG, slug="empty", name="Empty", widget_key="k2"),
            ]
        )
    await load_knowledge(db, DEMO_ORG, demo_knowledge_paths())
    yield db
    await db.dispose()


@pytest.fixture
def responder(sqlite_db: Database) -> OfflineResponder:
    return OfflineResponder(sqlite_db)


def ask(text: str, organization_id: int = DEMO_ORG, *earlier: Turn) -> ResponderRequest:
    return ResponderRequest(
        organization_id=organization_id,
        conversation_id=1,
        history=(*earlier, Turn("customer", text)),
        business_name="Northwind Outfitters",
    )


def test_it_implements_the_responder_protocol(responder: OfflineResponder) -> None:
    implementation: Responder = responder
    assert inspect.iscoroutinefunction(implementation.respond)


@pytest.mark.parametrize(
    ("question", "source", "words"),
    [
        ("what are your opening hours", "Opening hours", "Monday to Friday"),
        ("when do you open on sunday", "Opening hours", "Sunday from 11:00"),
        ("how do I return shoes", "Returns policy", "within 30 days"),
        ("Hi, do you ship to Switzerland?", "International shipping", "Switzerland"),
        ("can I pay with PayPal?", "Payment methods", "PayPal"),
        ("how much are the hiking boots", "Trailblazer Hiking Boots", "Price: 159.00."),
    ],
)
async def test_known_questions_are_answered_from_the_knowledge_base(
    responder: OfflineResponder, question: str, source: str, words: str
) -> None:
    reply = await responder.respond(ask(question))
    assert reply.knows
    assert [s.split(":")[0] for s in reply.sources] == [source]
    assert words in reply.text
    assert 0.45 <= reply.confidence <= 1
    assert not reply.wants_human


@pytest.mark.parametrize(
    "question",
    [
        "what's the airspeed of a swallow",
        "what is the capital of norway",
        "can you recommend a restaurant?",
    ],
)
async def test_unknown_questions_get_an_honest_i_dont_know(
    responder: OfflineResponder, question: str
) -> None:
    reply = await responder.respond(ask(question))
    assert not reply.knows
    assert reply.text == DONT_KNOW
    assert reply.sources == ()
    assert reply.confidence < 0.45


@pytest.mark.parametrize("said", ["1", "2", "One.", "two"])
async def test_a_number_alone_is_not_a_question(responder: OfflineResponder, said: str) -> None:
    """On a call a caller says or presses a number; alone it matches whatever entry holds
    it ("1.9 kg", "Nordlys 2 Tent", "within one hour") and answers nothing."""
    reply = await responder.respond(ask(said))
    assert (reply.knows, reply.text) == (False, DONT_KNOW)


async def test_a_catalog_row_is_answered_in_sentences(responder: OfflineResponder) -> None:
    reply = await responder.respond(ask("do you have a tent for two?"))
    assert reply.knows
    assert reply.text.startswith("Nordlys 2 Tent.\nPrice: 299.00.\nSizes: 2 persons.\n")
    assert "name:" not in reply.text and reply.text.endswith(".")


def test_only_a_catalog_row_is_rewritten() -> None:
    assert catalog_answer("Tent", "name: Tent\nprice: 299") == "Tent.\nPrice: 299."
    assert catalog_answer("Returns", "Send it back within 30 days.\nNote: unworn only.") is None
    assert catalog_answer("Tent", "name: Tent") is None  # nothing but its name


async def test_an_organization_without_knowledge_does_not_know(
    responder: OfflineResponder,
) -> None:
    reply = await responder.respond(ask("what are your opening hours", EMPTY_ORG))
    assert (reply.knows, reply.text, reply.confidence) == (False, DONT_KNOW, 0.0)


async def test_the_threshold_decides(sqlite_db: Database) -> None:
    question = ask("what time do you close on saturday?")
    assert (await OfflineResponder(sqlite_db, threshold=0.3).respond(question)).knows
    assert not (await OfflineResponder(sqlite_db, threshold=0.99).respond(question)).knows


async def test_the_last_customer_turn_is_answered(responder: OfflineResponder) -> None:
    request = ask(
        "ok and do you accept apple pay?",
        DEMO_ORG,
        Turn("customer", "how do I return shoes"),
        Turn("ai", "You can return any item within 30 days."),
    )
    request = ResponderRequest(
        request.organization_id,
        request.conversation_id,
        (*request.history, Turn("agent", "what are your opening hours")),
        request.business_name,
    )
    reply = await responder.respond(request)
    assert [source.split(":")[0] for source in reply.sources] == ["Payment methods"]


async def test_a_conversation_without_customer_turns_gets_i_dont_know(
    responder: OfflineResponder,
) -> None:
    request = ResponderRequest(DEMO_ORG, 1, (Turn("system", "opening hours"),), "Northwind")
    reply = await responder.respond(request)
    assert (reply.knows, reply.text) == (False, DONT_KNOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi", "Hi! Welcome to Northwind Outfitters. How can I help you today?"),
        ("Hello there!", "Hi! Welcome to Northwind Outfitters. How can I help you today?"),
        ("good morning", "Hi! Welcome to Northwind Outfitters. How can I help you today?"),
        ("thanks", "You're welcome! Is there anything else I can help you with?"),
        (
            "Thank you so much for your help!",
            "You're welcome! Is there anything else I can help you with?",
        ),
        ("ok, thanks", "You're welcome! Is there anything else I can help you with?"),
    ],
)
async def test_greetings_and_thanks_get_a_short_friendly_answer(
    tmp_path: Path, text: str, expected: str
) -> None:
    # The database is never opened: small talk does not look anything up.
    unused = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/never.db")
    reply = await OfflineResponder(unused).respond(ask(text))
    assert (reply.text, reply.knows, reply.confidence, reply.sources) == (expected, True, 1.0, ())
    await unused.dispose()
    assert not (tmp_path / "missing" / "never.db").exists()


@pytest.mark.parametrize(
    "text", ["hi, what are your opening hours?", "thanks but where is my parcel", "history"]
)
def test_questions_are_not_small_talk(text: str) -> None:
    assert small_talk_reply(text, "Northwind") is None


def test_long_answers_are_cut_at_a_sentence_end() -> None:
    sentence = "Each of these sentences is fifty-one characters. "
    trimmed = trim_answer(sentence * 20)
    assert len(trimmed) <= 600
    assert trimmed == (sentence * (600 // len(sentence))).strip()
    assert trim_answer("Short answer.") == "Short answer."


def test_answers_without_a_sentence_end_are_cut_at_a_word() -> None:
    trimmed = trim_answer("word " * 200)
    assert len(trimmed) <= 600
    assert trimmed.endswith("word…")


def test_markdown_is_turned_into_plain_text() -> None:
    markdown = "### Note\nUse **this** [form](https://example.com/f) or `code`."
    assert plain_text(markdown) == "Note\nUse this form (https://example.com/f) or code."


def test_lines_wrapped_in_the_source_are_joined_but_paragraphs_and_lists_are_kept() -> None:
    markdown = "Open Monday to\nFriday.\n\nSecond paragraph\nwrapped.\n- item one\n- item two"
    assert plain_text(markdown) == (
        "Open Monday to Friday.\n\nSecond paragraph wrapped.\n- item one\n- item two"
    )
