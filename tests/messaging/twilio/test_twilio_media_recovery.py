"""MMS media survive a crash between storing the message and enqueueing its fetch: the
reconciler finds the items still pending after its grace period and enqueues the channel's
own fetch job, which keeps them as a fresh fetch would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from gateway.messages import Attachment, InboundMessage
from gateway.models import Message, Organization, utcnow
from gateway.queues import INTAKE
from gateway.reconciler import LOCK_KEY, reconcile
from gateway.runtime import Services
from messaging.twilio.addresses import SMS, WHATSAPP
from messaging.twilio.inbound import FETCH_MEDIA, parse_webhook
from messaging.twilio.media_fetch import fetch_message_media
from messaging.twilio.media_sweep import MEDIA_GIVE_UP, MEDIA_GRACE, MEDIA_SWEEP
from messaging.twilio.plugin import TWILIO
from tests.support.factories import chat_message, intake_for, sms_message
from tests.support.fake_twilio import BUSINESS, CUSTOMER, Account, FakeTwilio, incoming_params

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_the_plugin_declares_its_fetch_job_and_the_sweep_that_re_enqueues_it() -> None:
    assert {channel.name for channel in TWILIO.channels} == {SMS, WHATSAPP}
    assert FETCH_MEDIA in TWILIO.jobs and MEDIA_SWEEP in TWILIO.sweeps


async def test_media_whose_fetch_was_never_enqueued_are_fetched_after_a_reconcile(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    photo = fake_twilio.add_media(account.sid, PNG, "image/png")
    params = incoming_params(account, from_=CUSTOMER, to=BUSINESS, media=[(photo, "image/png")])
    # Stored by intake, then the process died before `after_receive` enqueued the fetch.
    received = await intake_for(twilio_services).receive(parse_webhook(SMS, org.id, params))
    stale = utcnow() - MEDIA_GRACE - timedelta(minutes=1)
    async with twilio_services.db.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.id == received.message_id)
            .values(created_at=stale, updated_at=stale, routed_at=stale)
        )
    twilio_services.jobs.redis.flushdb()

    assert (await reconcile(twilio_services))["media"] == 1
    [job] = [j for j in twilio_services.jobs.queue(INTAKE).get_jobs() if j.func_name == FETCH_MEDIA]
    assert job.args == [received.message_id]
    assert await fetch_message_media(twilio_services, job.args[0]) == "stored"

    async with twilio_services.db.transaction() as session:
        message = await session.get(Message, received.message_id)
        assert message is not None
        await session.execute(  # even long after, a kept item is never fetched again
            update(Message).where(Message.id == message.id).values(updated_at=stale)
        )
    [kept] = message.attachments
    assert kept["url"].startswith("/api/media/") and kept["size"] == len(PNG)
    twilio_services.jobs.redis.delete(LOCK_KEY)
    assert (await reconcile(twilio_services))["media"] == 0


def with_media(org: Organization, sid: str, statuses: list[str]) -> InboundMessage:
    """A message with media as a channel that fetches media in a job stores it."""
    return sms_message(
        org,
        "see the photo",
        sid=sid,
        attachments=tuple(
            Attachment(url=f"https://api.twilio.com/media/{sid}/{i}", content_type="image/png")
            for i in range(len(statuses))
        ),
        meta={"media": [{"status": status, "note": None} for status in statuses]},
    )


async def test_media_still_pending_after_the_grace_is_fetched_again_once(
    services: Services, org
) -> None:
    intake = intake_for(services)
    lost = await intake.receive(with_media(org, "MMlost", ["stored", "pending"]))
    done = await intake.receive(with_media(org, "MMdone", ["stored", "refused"]))
    recent = await intake.receive(with_media(org, "MMrecent", ["pending"]))
    ancient = await intake.receive(with_media(org, "MMancient", ["pending"]))
    chat = await intake.receive(chat_message(org, "pending", visitor="pending"))
    stale = utcnow() - MEDIA_GRACE - timedelta(minutes=1)
    async with services.db.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.id.in_([lost.message_id, done.message_id, chat.message_id]))
            .values(created_at=stale, updated_at=stale, routed_at=stale)
        )
        await session.execute(
            update(Message)
            .where(Message.id.in_([recent.message_id, ancient.message_id]))
            .values(routed_at=stale)
        )
        too_old = utcnow() - MEDIA_GIVE_UP - timedelta(minutes=1)
        await session.execute(
            update(Message)
            .where(Message.id == ancient.message_id)
            .values(created_at=too_old, updated_at=too_old)
        )
    services.jobs.redis.flushdb()

    counts = await reconcile(services)
    services.jobs.redis.delete(LOCK_KEY)
    again = await reconcile(services)  # the next pass: the message was just touched

    assert counts["media"] == 1 and again["media"] == 0
    [job] = services.jobs.queue(INTAKE).get_jobs()
    assert (job.func_name, job.args) == (FETCH_MEDIA, [lost.message_id])
    assert job.meta["conversation_id"] == lost.conversation_id
