"""On PostgreSQL, the messages of known senders on open threads are stored by one
statement outside a transaction (`gateway.intake_statement`): the same rows a transaction
writes, the same answers for every kind of message a batch can hold, and a statement that
fails leaves its messages to the transaction, which fails only the one at fault. Inside a
transaction (a message with its channel's work to do there) the same statement stores a
message on a thread the channel knows, and is undone with the transaction."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as text_statement
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from gateway.intake import Intake, Received
from gateway.messages import Attachment, InboundMessage
from gateway.models import Conversation, Message, Organization
from gateway.runtime import Services
from tests.gateway.test_group_commit import count_transactions
from tests.support.factories import intake_for
from tests.support.routing_jobs import messages_to_route
from tests.support.statements import statements_of

SKIP_ROW_COLUMNS = {"id", "provider_message_id", "created_at", "updated_at"}


def text(org: Organization, sender: str, words: str = "hello", **fields: object) -> InboundMessage:
    return InboundMessage(
        org.id,
        "sms",
        "phone",
        sender,
        words,
        f"SM{uuid.uuid4().hex}",
        thread_key="+15559000",
        **fields,  # type: ignore[arg-type]
    )


async def opened(intake: Intake, org: Organization, senders: list[str]) -> list[Received]:
    """A conversation open for each sender (their first messages, stored one at a time)."""
    return [await intake.receive(text(org, sender)) for sender in senders]


def postgres_only(services: Services) -> None:
    if services.db.dialect != "postgresql":
        pytest.skip("the one-statement intake is PostgreSQL's")


async def test_known_senders_are_stored_without_a_transaction_in_the_rows_one_writes(
    services: Services, org: Organization
) -> None:
    postgres_only(services)
    intake = intake_for(services)
    first = await opened(intake, org, ["+15550001", "+15550002", "+15550003"])
    rich = {
        "html": "<p>hello</p>",
        "attachments": (Attachment("https://media.example/1", "image/png", 12, "a.png"),),
        "meta": {"consent": None, "profile": "Ada"},
        "no_reply": True,
    }
    begun = count_transactions(services)

    stored = await asyncio.gather(
        *(
            intake.receive(text(org, sender, "again", **rich))
            for sender in ["+15550001", "+15550002", "+15550003"]
        )
    )

    assert begun[0] == 0
    assert [item.conversation_id for item in stored] == [item.conversation_id for item in first]
    assert [item.contact_id for item in stored] == [item.contact_id for item in first]
    assert not any(item.duplicate for item in stored)
    async with services.db.transaction() as session:  # the transaction's own way
        written = await intake.receive_in(session, text(org, "+15550001", "again", **rich))
    async with services.db.read() as session:
        by_statement = await session.get(Message, stored[0].message_id)
        by_transaction = await session.get(Message, written.message_id)
        conversation = await session.get(Conversation, stored[1].conversation_id)
        message = await session.get(Message, stored[1].message_id)
    assert by_statement is not None and by_transaction is not None
    columns = [
        column.key for column in Message.__table__.columns if column.key not in SKIP_ROW_COLUMNS
    ]
    assert {key: getattr(by_statement, key) for key in columns} == {
        key: getattr(by_transaction, key) for key in columns
    }
    assert by_statement.attachments == [
        {"url": "https://media.example/1", "content_type": "image/png", "size": 12, "name": "a.png"}
    ]
    assert conversation is not None and message is not None
    assert conversation.last_customer_at == message.created_at
    to_route = messages_to_route(services)
    assert all(to_route[item.message_id] == 1 for item in stored)


async def test_a_batch_of_every_kind_of_message_answers_each_as_a_transaction_would(
    services: Services, org: Organization
) -> None:
    intake = intake_for(services)
    await opened(intake, org, ["+15550001", "+15550002"])
    earlier = text(org, "+15550002", "stored before")
    stored_before = await intake.receive(earlier)
    doubled = text(org, "+15550001", "sent twice at once")
    seen: list[int] = []

    async def within(_session: AsyncSession, received: Received) -> None:
        seen.append(received.message_id)

    batch = [
        intake.receive(text(org, "+15550001", "known")),
        intake.receive(text(org, "+15550009", "a new sender")),
        intake.receive(earlier),  # a provider's retry
        intake.receive(doubled),
        intake.receive(doubled),
        intake.receive(text(org, "+15550002", "with work in its transaction"), within=within),
        intake.receive(text(org, "+15550002", "known, not routed"), route=False),
    ]

    known, new_sender, repeat, copy_one, copy_two, worked, unrouted = await asyncio.gather(*batch)

    assert not known.duplicate and not new_sender.duplicate and not worked.duplicate
    assert repeat.duplicate and repeat.message_id == stored_before.message_id
    assert {copy_one.duplicate, copy_two.duplicate} == {False, True}
    assert copy_one.message_id == copy_two.message_id
    assert seen == [worked.message_id]
    assert new_sender.contact_id not in {known.contact_id, worked.contact_id}
    async with services.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(Message))
    assert count == 2 + 1 + 5  # opened, stored before, and the batch's new ones
    to_route = messages_to_route(services)
    for routed in (known, new_sender, copy_one, worked):
        assert to_route[routed.message_id] == 1
    assert unrouted.message_id not in to_route


async def test_a_failing_statement_leaves_its_messages_to_the_transaction(
    services: Services, org: Organization
) -> None:
    postgres_only(services)
    intake = intake_for(services)
    senders = [f"+1555000{n}" for n in range(5)]
    await opened(intake, org, senders)

    outcomes = await asyncio.gather(
        *(intake.receive(text(org, sender, "fine")) for sender in senders[:4]),
        intake.receive(text(org, senders[4], "a NUL \x00 PostgreSQL cannot keep")),
        return_exceptions=True,
    )

    assert all(isinstance(outcome, Received) for outcome in outcomes[:4])
    assert isinstance(outcomes[4], Exception)
    async with services.db.read() as session:
        texts = (await session.scalars(select(Message.text).where(Message.text == "fine"))).all()
    assert len(texts) == 4


async def test_a_connection_lost_under_the_statement_is_not_handed_to_the_transaction(
    services: Services, org: Organization
) -> None:
    postgres_only(services)
    intake = intake_for(services)
    await opened(intake, org, ["+15550001"])
    outside = create_async_engine(services.db.url, poolclass=NullPool)
    async with outside.connect() as other:  # a restart, or a firewall's idle timeout
        await other.execute(
            text_statement(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await outside.dispose()

    received = await intake.receive(text(org, "+15550001", "after the cut"))

    assert not received.duplicate
    async with services.db.read() as session:
        stored = await session.get(Message, received.message_id)
    assert stored is not None and stored.text == "after the cut"


async def test_in_a_transaction_a_thread_known_takes_one_statement_undone_with_it(
    services: Services, org: Organization
) -> None:
    postgres_only(services)
    intake = intake_for(services)
    [first] = await opened(intake, org, ["+15550001"])
    seen: list[Received] = []

    async def within(_session: AsyncSession, received: Received) -> None:
        seen.append(received)

    known = text(org, "+15550001", "known thread")
    with statements_of(services.db) as statements:
        async with services.db.transaction() as session:
            stored = await intake.receive_in(session, known, within=within, thread_known=True)
    assert len(statements) == 1 and "INSERT INTO messages" in statements[0]
    assert (stored.conversation_id, stored.contact_id) == (first.conversation_id, first.contact_id)
    assert not stored.duplicate and seen == [stored]

    with statements_of(services.db) as statements:  # a provider's retry
        async with services.db.transaction() as session:
            again = await intake.receive_in(session, known, within=within, thread_known=True)
    assert again.duplicate and again.message_id == stored.message_id
    assert len(statements) > 1  # left to the transaction's way, which finds the stored one

    async with services.db.transaction() as session:  # a sender never seen, though said known
        new = await intake.receive_in(
            session, text(org, "+15550002", "first words"), thread_known=True
        )
    assert not new.duplicate and new.contact_id != first.contact_id

    with pytest.raises(RuntimeError):
        async with services.db.transaction() as session:
            await intake.receive_in(session, text(org, "+15550001", "undone"), thread_known=True)
            raise RuntimeError("the channel's work failed")
    async with services.db.read() as session:
        undone = await session.scalar(select(func.count()).where(Message.text == "undone"))
        conversation = await session.get(Conversation, first.conversation_id)
        message = await session.get(Message, stored.message_id)
    assert undone == 0
    assert conversation is not None and message is not None
    assert conversation.last_customer_at == message.created_at  # not the undone one's time
    to_route = messages_to_route(services)
    assert to_route[stored.message_id] == 1 and to_route[new.message_id] == 1
