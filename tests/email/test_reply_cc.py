"""The Cc of an agent's email reply over the HTTP API: left out, the reply keeps the
customer's Cc; given, the outgoing mail (caught by a real SMTP peer) carries exactly the
agent's list; a malformed address, too many addresses, or a Cc on a channel that takes
none is refused with a clear 400 and nothing is claimed or stored."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from quart import Quart
from sqlalchemy import select

from email_channel.ingest import MailIntake
from gateway.db import Database
from gateway.delivery import deliver_message
from gateway.models import Conversation, Message, Organization
from gateway.runtime import Services
from tests.desk.api.helpers import client_for, seed_conversation
from tests.email.helpers import email_services, support_mailbox
from tests.support.factories import make_agent
from tests.support.smtp_sink import SmtpSink


def customer_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Carol <carol@customer.example>"
    message["To"] = "support@shop.example"
    message["Cc"] = "bob@customer.example, support+c1.0000000000@shop.example"
    message["Subject"] = "Order 1234"
    message["Message-ID"] = "<cc-1@customer.example>"
    message.set_content("Where is my order?")
    return bytes(message)


async def email_conversation(services: Services, org: Organization) -> int:
    mailbox = await support_mailbox(services.db, org)
    received = await MailIntake(services).ingest(mailbox, customer_mail())
    assert received.conversation_id is not None
    return received.conversation_id


async def rows(db: Database, conversation_id: int) -> list[Message]:
    async with db.transaction() as session:
        found = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return list(found.all())


@pytest.mark.parametrize(
    ("cc", "expected"),
    [
        (None, ("bob@customer.example",)),  # the conversation's Cc, our own address left out
        (["Dan@Partner.example", " ", "dan@partner.example"], ("dan@partner.example",)),
        ([], ()),
    ],
    ids=["kept", "edited", "removed"],
)
async def test_the_reply_carries_the_conversations_cc_or_the_agents_own(
    app: Quart,
    services: Services,
    org: Organization,
    tmp_path: Path,
    cc: list[str] | None,
    expected: tuple[str, ...],
) -> None:
    agent = await make_agent(services.db, org)
    with SmtpSink() as sink:
        async with email_services(
            services.db, services.settings.redis_url or "", tmp_path, smtp_url=sink.url
        ) as mailing:
            conversation_id = await email_conversation(mailing, org)
            client, csrf = await client_for(app, services.db, agent)
            body: dict[str, object] = {"text": "It left today."}
            if cc is not None:
                body["cc"] = cc
            response = await client.post(
                f"/api/conversations/{conversation_id}/reply", json=body, headers=csrf
            )
            assert response.status_code == 201, await response.get_json()
            message_id = (await response.get_json())["message"]["id"]
            assert await deliver_message(mailing, message_id) == "sent"
            (sent,) = await sink.wait_for(1)
    copied = tuple(
        address.strip() for address in str(sent.message.get("Cc") or "").split(",") if address
    )
    assert copied == expected
    assert sent.recipients == ("carol@customer.example", *expected)


@pytest.mark.parametrize(
    ("cc", "says"),
    [
        (["bob@customer.example", "not an address"], "“not an address” is not an email address"),
        (["Bob <bob@customer.example>"], "is not an email address"),
        ([f"person{n}@customer.example" for n in range(11)], "at most 10 addresses"),
        ("bob@customer.example", "'cc' must be a list of email addresses"),
    ],
    ids=["malformed", "display name", "too many", "not a list"],
)
async def test_a_bad_cc_is_refused_and_nothing_is_claimed_or_stored(
    app: Quart, services: Services, org: Organization, cc: object, says: str
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await email_conversation(services, org)
    before = [m.id for m in await rows(services.db, conversation_id)]
    client, csrf = await client_for(app, services.db, agent)

    response = await client.post(
        f"/api/conversations/{conversation_id}/reply",
        json={"text": "It left today.", "cc": cc},
        headers=csrf,
    )

    assert response.status_code == 400
    assert says in (await response.get_json())["message"]
    assert [m.id for m in await rows(services.db, conversation_id)] == before
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None and conversation.state == "ai"


async def test_a_cc_on_a_channel_that_takes_none_is_refused(
    app: Quart, services: Services, org: Organization
) -> None:
    agent = await make_agent(services.db, org)
    seeded = await seed_conversation(services.db, org)  # web chat, waiting
    client, csrf = await client_for(app, services.db, agent)

    response = await client.post(
        f"/api/conversations/{seeded.conversation_id}/reply",
        json={"text": "Hello", "cc": ["bob@customer.example"]},
        headers=csrf,
    )

    assert response.status_code == 400
    assert "cannot copy anyone in" in (await response.get_json())["message"]
    assert [m.id for m in await rows(services.db, seeded.conversation_id)] == [seeded.message_id]
