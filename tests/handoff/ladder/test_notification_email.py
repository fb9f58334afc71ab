"""Notification emails on a real SMTP server (aiosmtpd on loopback): what a reminder and an
escalation say, logging in, a temporary refusal raised for RQ to retry, a permanent one
marking the conversation, a stale notice not sent, and the SMTP URL's forms."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import update

from gateway.db import Database
from gateway.errors import ConfigurationError, TransientDeliveryError
from gateway.mail import SmtpTarget, smtp_target
from gateway.models import Conversation
from gateway.runtime import Services
from gateway.settings import load_settings
from handoff import actions
from handoff.notify_email import ESCALATION, REMINDER, send
from tests.support.factories import job_services, make_agent, make_org
from tests.support.queued import queued_conversation
from tests.support.smtp_sink import SmtpSink

PUBLIC_URL = "https://support.example.test"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
async def mailing(db: Database, redis_url: str, sink: SmtpSink) -> AsyncIterator[Services]:
    async with job_services(
        db, redis_url, smtp_url=sink.url, public_url=PUBLIC_URL, mail_from="desk@acme.test"
    ) as services:
        yield services


async def waiting(services: Services, summary: str | None = None) -> tuple[int, int]:
    """A queued conversation of a new organization: (its id, its ownership version)."""
    org = await make_org(services.db, None)
    conversation_id = await queued_conversation(services, org)
    async with services.db.transaction() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(summary=summary)
        )
        row = await session.get(Conversation, conversation_id)
        assert row is not None
        return conversation_id, row.ownership_version


async def test_a_reminder_names_the_wait_the_reason_the_summary_and_the_link(
    mailing: Services, sink: SmtpSink
) -> None:
    conversation_id, version = await waiting(mailing, "Order 1042 arrived broken; wants a refund.")

    outcome = await send(mailing, conversation_id, version, REMINDER, 2, 3, "tess@acme.test")

    assert outcome == "sent"
    [mail] = sink.messages
    assert mail.recipients == ("tess@acme.test",)
    assert mail.sender == "desk@acme.test"
    assert (
        mail.subject.startswith("Waiting ") and f"conversation #{conversation_id}" in mail.subject
    )
    assert "(reminder 2 of 3)" in mail.text
    assert "Order 1042 arrived broken; wants a refund." in mail.text
    assert "Why it was handed off: the customer asked for a person" in mail.text
    assert f"{PUBLIC_URL}/queue/conversations/{conversation_id}" in mail.text
    assert mail.message["X-Switchboard-Conversation"] == str(conversation_id)
    assert mail.message["Auto-Submitted"] == "auto-generated"  # RFC 3834: no auto-answers


async def test_an_escalation_says_so_and_copes_without_a_summary(
    mailing: Services, sink: SmtpSink
) -> None:
    conversation_id, version = await waiting(mailing, summary=None)

    assert (
        await send(mailing, conversation_id, version, ESCALATION, 1, 1, "ada@acme.test") == "sent"
    )

    [mail] = sink.messages
    assert mail.subject.startswith("Escalation: conversation #") and "unclaimed" in mail.subject
    assert "(no summary yet)" in mail.text and "reminded" in mail.text


async def test_a_notice_that_went_stale_is_not_sent(mailing: Services, sink: SmtpSink) -> None:
    org = await make_org(mailing.db, None)
    agent = await make_agent(mailing.db, org)
    conversation_id = await queued_conversation(mailing, org)
    async with mailing.db.transaction() as session:
        row = await session.get(Conversation, conversation_id)
        assert row is not None
        version = row.ownership_version
    await actions.claim(mailing, agent, conversation_id)

    assert (
        await send(mailing, conversation_id, version, REMINDER, 1, 3, "tess@acme.test") == "stale"
    )
    assert sink.messages == []


async def test_a_temporary_refusal_raises_for_a_retry_and_the_retry_delivers(
    db: Database, redis_url: str
) -> None:
    with SmtpSink(refuse_first=1) as sink:
        async with job_services(db, redis_url, smtp_url=sink.url) as services:
            conversation_id, version = await waiting(services)

            with pytest.raises(TransientDeliveryError) as refused:
                await send(services, conversation_id, version, REMINDER, 1, 3, "tess@acme.test")
            assert refused.value.provider_code == "451"
            assert await send(services, conversation_id, version, REMINDER, 1, 3, "tess@acme.test")

            assert (sink.refused, len(sink.messages)) == (1, 1)


async def test_a_permanent_refusal_marks_the_conversation_for_attention(
    db: Database, redis_url: str
) -> None:
    with SmtpSink(refuse_first=1, refusal="550 5.7.1 Mailbox unavailable") as sink:
        async with job_services(db, redis_url, smtp_url=sink.url) as services:
            conversation_id, version = await waiting(services)

            outcome = await send(services, conversation_id, version, REMINDER, 1, 3, "x@acme.test")

            async with services.db.transaction() as session:
                row = await session.get(Conversation, conversation_id)
    assert outcome == "refused" and sink.messages == []
    assert row is not None and row.needs_attention
    assert "550" in (row.attention_reason or "") and "x@acme.test" in (row.attention_reason or "")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_it_logs_in_when_the_url_has_credentials(db: Database, redis_url: str) -> None:
    with SmtpSink(login=("mailer", "s3cret/pw")) as sink:
        good = sink.url.replace("s3cret/pw", "s3cret%2Fpw")
        async with job_services(db, redis_url, smtp_url=good) as services:
            conversation_id, version = await waiting(services)
            assert await send(services, conversation_id, version, REMINDER, 1, 3, "t@acme.test")
        bad = good.replace("s3cret%2Fpw", "wrong")
        async with job_services(db, redis_url, smtp_url=bad) as services:
            assert await send(
                services, conversation_id, version, REMINDER, 1, 3, "t@acme.test"
            ) == ("refused")
    assert len(sink.messages) == 1


def test_the_smtp_url_forms() -> None:
    assert smtp_target("smtp://relay.example.test") == SmtpTarget(
        "relay.example.test", 25, None, None, use_tls=False, start_tls=None
    )
    assert smtp_target("smtp://u%40x:p%3Aw@relay:587?starttls=true") == SmtpTarget(
        "relay", 587, "u@x", "p:w", use_tls=False, start_tls=True
    )
    assert smtp_target("smtp://relay:2525?starttls=false").start_tls is False
    assert smtp_target("smtps://relay") == SmtpTarget(
        "relay", 465, None, None, use_tls=True, start_tls=False
    )
    with pytest.raises(ConfigurationError, match="starttls"):
        smtp_target("smtp://relay?starttls=maybe")


def test_a_bad_smtp_url_fails_at_start_without_showing_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWITCHBOARD_SMTP_URL", "http://mailer:hunter2@relay")

    with pytest.raises(ConfigurationError) as failed:
        load_settings()

    assert "SWITCHBOARD_SMTP_URL" in failed.value.message
    assert "hunter2" not in failed.value.message and "hunter2" not in str(failed.value)
