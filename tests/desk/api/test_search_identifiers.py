"""A search of several words, one of them an identifier (four digits or more), looks the
names and texts up by that word first and keeps those containing the whole term: it finds
exactly what the whole term finds, also when the word is in more rows than it narrows
down (then the whole term is looked up as usual), and the page is read from the matches
without looking them up again."""

from __future__ import annotations

import pytest
from quart import Quart
from sqlalchemy.dialects import postgresql

from desk import search
from desk.search import _lookups, few_matches, identifier_word
from gateway.db import Database
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.factories import make_agent


@pytest.mark.parametrize(
    ("term", "word"),
    [
        ("Hopper 48213", "48213"),
        ("order 2024-11-30 refund", "2024-11-30"),
        ("ref AB-1234 and 98765", "98765"),  # the most digits
        ("48213", None),  # one word: the whole term is the word
        ("order 123", None),  # too few digits to be rare
        ("Grace Hopper", None),
    ],
)
def test_the_identifier_word_of_a_term(term: str, word: str | None) -> None:
    assert identifier_word(term) == word


async def found_by_lookups(db: Database, organization_id: int, term: str) -> tuple[set, set]:
    async with db.read() as session:
        matches = await few_matches(session, organization_id, term, db.dialect)
    assert matches is not None
    return set(matches.contacts), set(matches.conversations)


async def test_a_term_with_an_identifier_finds_what_the_whole_term_finds(
    app: Quart, services, org, monkeypatch
) -> None:
    db = services.db
    agent = await make_agent(db, org)
    hopper = await seed_conversation(db, org, name="Grace Hopper 48213")
    await seed_conversation(db, org, name="Alan Turing 48213")  # the word, not the term
    await seed_conversation(db, org, name="Grace Hopper 7", text="my order 48213 is late")
    by_text = await seed_conversation(db, org, name="Ada", text="re: HOPPER 48213, refund")
    await seed_conversation(db, org, name="Other Hopper 4821")  # not the word either
    expected = ({hopper.contact_id}, {by_text.conversation_id})

    assert await found_by_lookups(db, org.id, "hopper 48213") == expected
    # The word is in two names and two texts: with room for one, the whole term is
    # looked up instead, and finds the same.
    monkeypatch.setattr(search, "NARROW_ROWS", 1)
    assert await found_by_lookups(db, org.id, "hopper 48213") == expected

    client, _ = await client_for(app, db, agent)
    for narrow_rows in (1, 2_000):
        monkeypatch.setattr(search, "NARROW_ROWS", narrow_rows)
        response = await client.get("/api/queue/all", query_string={"q": "Hopper 48213"})
        assert response.status_code == 200, await response.get_json()
        ids = {item["id"] for item in (await response.get_json())["items"]}
        assert ids == {hopper.conversation_id, by_text.conversation_id}


def test_a_term_with_a_space_looks_up_addresses_only_as_a_phone_number() -> None:
    """No stored address has a space, so "Hopper 48213" reads no address index at all,
    while "+1 555 0100" is still looked up without its spaces."""

    def address_patterns(term: str) -> list[str]:
        lookup = _lookups(1, term, "postgresql").by_address
        compiled = lookup.compile(dialect=postgresql.dialect())
        return [value for value in compiled.params.values() if isinstance(value, str)]

    assert address_patterns("Hopper 48213") == []
    assert address_patterns("+1 555 0100") == ["%+15550100%"]
    assert address_patterns("ada@example.test") == ["%ada@example.test%"]
