"""A search of several words, one of them an identifier (four digits or more), looks the
names and texts up by that word first and keeps those containing the whole term: it finds
exactly what the whole term finds, also when the word is in more rows than it narrows
down (then the whole term is looked up as usual), and the page is read from the matches
without looking them up again. On PostgreSQL a number's digits are looked up in the index
of digit runs (migration 0022), which must index exactly the sequences the search asks
for, and what it finds is still decided by the whole term."""

from __future__ import annotations

import pytest
from quart import Quart
from sqlalchemy import literal, select, text
from sqlalchemy.dialects import postgresql

from bench.queue_seed import seed_conversations
from desk import search
from desk.search import _lookups, digit_grams, few_matches, identifier_word, search_condition
from gateway.db import Database
from gateway.models import Conversation
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.factories import make_agent, make_org


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


async def test_a_search_binds_its_own_values_to_the_statement_of_its_shape(
    services, org, monkeypatch
) -> None:
    """The lookups' statement is built once for each shape of term; the next term of that
    shape finds its own matches through it, not the first term's."""
    db = services.db
    grace = await seed_conversation(db, org, name="Grace Hopper 48213")
    alan = await seed_conversation(db, org, name="Alan Turing 51234", text="order 51234")
    built = []
    build = search._built

    def counted(found, dialect):
        built.append(found.term)
        return build(found, dialect)

    monkeypatch.setattr(search, "_built", counted)
    monkeypatch.setattr(search, "_FEW_MATCHES_STATEMENTS", {})
    assert await found_by_lookups(db, org.id, "Hopper 48213") == ({grace.contact_id}, set())
    assert await found_by_lookups(db, org.id, "Turing 51234") == ({alan.contact_id}, set())
    assert await found_by_lookups(db, org.id, "order 51234") == (set(), {alan.conversation_id})
    assert built == ["Hopper 48213"]


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


@pytest.mark.parametrize(
    ("word", "grams"),
    [
        ("500017", ["0001", "0017", "5000"]),
        ("ORD-500017", ["0001", "0017", "5000"]),
        ("2024-11-30", ["2024"]),  # the other runs are too short to be indexed
        ("12-34-56", []),
        ("1234/5678", ["1234", "5678"]),
        ("00000", ["0000"]),
        ("١٢٣٤٥", []),  # digits of another script: not in the index, nor looked up in it
    ],
)
def test_the_digit_sequences_of_a_word(word: str, grams: list[str]) -> None:
    assert digit_grams(word) == grams


TEXTS = (
    "Where is my order 500017? ref 12-3456 and 99",
    "1500017x and 2024-11-30",
    "no digits at all",
    "٤٥٦٧٨ 1234 abc 12345678901234",
    "5000 0001 0017",
)


async def test_postgresql_indexes_the_digit_sequences_the_search_looks_up(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the index of digit runs is PostgreSQL's")
    async with db.transaction() as session:
        for value in TEXTS:
            indexed = await session.scalar(select(text("digit_grams(:value)")), {"value": value})
            assert sorted(set(indexed)) == digit_grams(value), value


async def test_a_number_deep_in_a_long_run_of_digits_is_found(services, org) -> None:
    """A message of 100,000 digits (the longest text intake takes) is indexed whole: a
    number from its end is found by its sequences."""
    db = services.db
    digits = "".join(str(n % 10) for n in range(99_990)) + "8675309123"
    long_run = await seed_conversation(db, org, name="Long", text=digits)
    await seed_conversation(db, org, name="Short", text="8675 309")
    assert await _search_of(db, org.id, "86753091") == {long_run.conversation_id}


async def _search_of(db: Database, organization_id: int, term: str) -> set[int]:
    """The conversations the lookups find, read from their matches."""
    async with db.read() as session:
        matches = await few_matches(session, organization_id, term, db.dialect)
        assert matches is not None
        found = await session.scalars(
            select(Conversation.id).where(
                Conversation.organization_id == organization_id,
                search_condition(organization_id, term, db.dialect, matches=matches),
            )
        )
        return set(found)


async def _whole_term_of(db: Database, organization_id: int, term: str) -> set[int]:
    """The conversations the whole term finds, looked up without narrowing."""
    async with db.read() as session:
        found = await session.scalars(
            select(Conversation.id).where(
                Conversation.organization_id == organization_id,
                search_condition(organization_id, term, db.dialect),
            )
        )
        return set(found)


async def test_a_number_finds_what_its_whole_term_finds(services, org) -> None:
    db = services.db
    grace = await seed_conversation(db, org, name="Grace Hopper 500017")
    longer = await seed_conversation(db, org, name="Ada 1500017", text="hi")
    by_text = await seed_conversation(db, org, name="Alan", text="Where is my order 500017?")
    # every four-digit sequence of the number, but not the number: not found
    katherine = await seed_conversation(db, org, name="Katherine", text="codes 5000 0001 0017")
    marie = await seed_conversation(db, org, name="Marie 50017", text="order 5000-17")
    expected = {grace.conversation_id, longer.conversation_id, by_text.conversation_id}

    assert await _search_of(db, org.id, "500017") == expected
    assert await _whole_term_of(db, org.id, "500017") == expected
    assert await _search_of(db, org.id, "Hopper 500017") == {grace.conversation_id}
    assert await _search_of(db, org.id, "order 500017") == {by_text.conversation_id}
    assert await _search_of(db, org.id, "00017") == expected  # four digits of a longer run
    assert await _search_of(db, org.id, "0017") == {
        *expected,
        katherine.conversation_id,
        marie.conversation_id,
    }


async def test_postgresql_looks_a_number_up_in_the_index_of_digit_runs(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the index of digit runs is PostgreSQL's")
    org = await make_org(db)
    agent = await make_agent(db, org)
    await seed_conversations(db, org.id, 2_000, [agent.id])  # names "Grace Hopper 1234"
    found = _lookups(org.id, "Hopper 1500", db.dialect, narrow=True)
    plans = []
    async with db.transaction() as session:
        await session.execute(text("ANALYZE"))
        # as the search runs, its values bound: in a plan made for any values
        await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        connection = await session.connection()
        for name, lookup in (("by_name", found.by_name), ("by_text", found.by_text)):
            compiled = lookup.compile(dialect=connection.dialect)
            values = ", ".join(
                str(
                    literal(compiled.params[key], compiled.binds[key].type).compile(
                        dialect=connection.dialect, compile_kwargs={"literal_binds": True}
                    )
                )
                for key in compiled.positiontup or ()
            )
            await connection.exec_driver_sql(f"PREPARE {name} AS {compiled}")
            rows = await connection.exec_driver_sql(f"EXPLAIN EXECUTE {name}({values})")
            plans.append("\n".join(row[0] for row in rows))
    assert "ix_contacts_name_digits" in plans[0], plans[0]
    assert "ix_messages_text_digits" in plans[1], plans[1]


async def test_postgresql_keeps_no_statistics_of_the_digit_sequences(db: Database) -> None:
    """Statistics of the sequences would have the planner plan each number's search anew
    (a lookup took 0.8 ms against 0.4 at 10,000 conversations)."""
    if db.dialect != "postgresql":
        pytest.skip("the index of digit runs is PostgreSQL's")
    async with db.transaction() as session:
        targets = dict(
            (
                await session.execute(
                    text(
                        "SELECT attrelid::regclass::text, attstattarget FROM pg_attribute "
                        "WHERE attrelid IN ('ix_messages_text_digits'::regclass, "
                        "'ix_contacts_name_digits'::regclass)"
                    )
                )
            ).all()
        )
    assert targets == {"ix_messages_text_digits": 0, "ix_contacts_name_digits": 0}
