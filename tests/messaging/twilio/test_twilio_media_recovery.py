"""MMS media survive a crash between storing the message and enqueueing its fetch: the
reconciler finds the items still pending after its grace period and enqueues the channel's
own fetch job, which keeps them as a fresh fetch would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from gateway.models import Message, utcnow
from gateway.queues import FETCH_MEDIA_JOBS, INTAKE
from gateway.reconciler import LOCK_KEY, MEDIA_GRACE, reconcile
from gateway.runtime import Services
from messaging.twilio.addresses import SMS, WHATSAPP
from messaging.twilio.inbound import FETCH_MEDIA, parse_webhook
from messaging.twilio.media_fetch import fetch_message_media
from tests.support.factories import intake_for
from tests.support.fake_twilio import BUSINESS, CUSTOMER, Account, FakeTwilio, incoming_params

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_the_reconciler_names_the_channels_own_fetch_job() -> None:
    assert FETCH_MEDIA_JOBS[SMS] == FETCH_MEDIA_JOBS[WHATSAPP] == FETCH_MEDIA


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
