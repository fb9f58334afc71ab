"""A caller's turn on PostgreSQL, held to its statements: each is a round trip the caller
waits through, so a change that adds one shows here. The turn reads the call with the
answer already given to the request, reads the AI's question (the conversation with its
history), stores the words in one statement, routes them (the claim brings the policy's
facts and marks the AI's turn owed), and stores the reply with the answer it is spoken in
(the reply's claim of the turn brings the facts too): nine statements, in one transaction
when the reply is ready by the time routing decides (`tests/voice/test_answer_now.py`),
else in two. A call's start and its status callbacks read the call, its account and its
organization once."""

from __future__ import annotations

import pytest
from quart import Quart

from gateway.runtime import Services
from gateway.web import EXTENSION
from tests.support.call_simulator import Caller
from tests.support.statements import commits_of, statements_of


async def test_a_callers_turn_runs_nine_statements_on_postgresql(
    caller: Caller, voice_services: Services, voice_app: Quart
) -> None:
    if voice_services.db.dialect != "postgresql":
        pytest.skip("SQLite's statements take no round trips")
    gateway_db = voice_app.extensions[EXTENSION].services.db
    await caller.dial_in()
    await caller.say("Do you ship abroad?")  # the knowledge index is built by now

    with statements_of(gateway_db) as statements:
        heard = await caller.say("How long does shipping take?")

    assert any("working day" in line for line in heard), heard
    expected = [
        "SELECT voice_calls.id",  # the call, and the answer this request was given
        "SELECT conversations.id",  # the AI's question: the context and the history
        "WITH input AS",  # the words, stored by one statement
        "UPDATE messages SET routed_at",  # routing's claim, with the policy's facts; it
        "INSERT INTO handoff_decisions",  # marks the AI's turn owed
        "UPDATE messages SET ai_turn_version",  # the reply's claim, with its facts
        "INSERT INTO handoff_decisions",
        "INSERT INTO messages",  # the reply
        "INSERT INTO voice_answers",  # kept as the answer to this request
    ]
    assert len(statements) == len(expected), statements
    for statement, start in zip(statements, expected, strict=True):
        assert statement.lstrip().startswith(start), (start, statement[:200])


def _reads_of_the_call(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "FROM voice_calls" in statement]


async def test_a_calls_start_reads_the_call_once(
    caller: Caller, voice_services: Services, voice_app: Quart
) -> None:
    gateway_db = voice_app.extensions[EXTENSION].services.db
    with statements_of(gateway_db) as statements:
        heard = await caller.dial_in()

    assert heard, "the caller hears the greeting"
    reads = _reads_of_the_call(statements)
    assert len(reads) == 1, reads  # with its account and organization, after the insert
    assert "JOIN twilio_accounts" in reads[0], reads[0]


async def test_a_status_callback_finds_its_call_by_one_statement(
    caller: Caller, voice_services: Services, voice_app: Quart
) -> None:
    gateway_db = voice_app.extensions[EXTENSION].services.db
    await caller.dial_in()
    with statements_of(gateway_db) as statements, commits_of(gateway_db) as commits:
        assert await caller.status("in-progress", 1) == 200

    reads = _reads_of_the_call(statements)
    assert len(reads) == 1, reads
    assert "WHERE voice_calls.call_sid" in reads[0], reads[0]
    assert len(commits) == 1  # the status's own: the read takes no transaction
