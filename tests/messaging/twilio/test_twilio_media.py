"""MMS and WhatsApp media: every item an incoming message lists is stored as an attachment,
fetched by a job with the account's credentials, kept in the state folder within the size
limit (or noted on the message when refused), and shown only to the organization's
agents. Agents send images too: Twilio fetches them through a signed link that expires."""

from __future__ import annotations

import time
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from quart import Quart
from sqlalchemy import select

from gateway.delivery import deliver_message
from gateway.errors import TransientDeliveryError
from gateway.media import LINK_SALT, internal_url
from gateway.models import MediaFile, Message
from gateway.queues import INTAKE
from gateway.runtime import Services
from messaging.twilio import media_fetch
from messaging.twilio.inbound import FETCH_MEDIA
from messaging.twilio.media_fetch import fetch_message_media
from tests.support.api import logged_in
from tests.support.factories import chat_message, intake_for, make_agent
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    incoming_params,
    path_of,
    post_signed,
    receive,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
TOO_BIG = b"\x00" * (5 * 1024 * 1024 + 1)


class PastSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 7200


async def stored(services: Services, message_id: int) -> Message:
    async with services.db.transaction() as session:
        found = await session.get(Message, message_id)
    assert found is not None
    return found


async def test_mms_media_are_listed_fetched_and_kept_within_the_limit(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    other_org,
    business_number,
) -> None:
    photo = fake_twilio.add_media(account.sid, PNG, "image/png")
    video = fake_twilio.add_media(account.sid, TOO_BIG, "video/mp4")
    params = incoming_params(
        account,
        from_=CUSTOMER,
        to=BUSINESS,
        body="The parcel arrived like this",
        media=[(photo, "image/png"), (video, "video/mp4")],
    )

    answer = await post_signed(
        twilio_app.test_client(), PUBLIC_URL + "/twilio/sms", params, account.token
    )

    assert answer.status_code == 200
    fetch_jobs = [
        job for job in twilio_services.jobs.queue(INTAKE).get_jobs() if job.func_name == FETCH_MEDIA
    ]
    assert len(fetch_jobs) == 1
    message_id = fetch_jobs[0].args[0]
    listed = await stored(twilio_services, message_id)
    assert [item["url"] for item in listed.attachments] == [photo, video]
    assert [item["status"] for item in listed.meta["media"]] == ["pending", "pending"]

    assert await fetch_message_media(twilio_services, message_id) == "stored,refused"

    fetched = await stored(twilio_services, message_id)
    kept, refused = fetched.attachments
    assert kept["url"].startswith("/api/media/") and kept["size"] == len(PNG)
    assert kept["content_type"] == "image/png"
    assert refused["url"] == video  # not kept: still the provider's address
    note = fetched.meta["media"][1]["note"]
    assert "Attachment 2 (video/mp4" in note and "larger than the 5.0 MB limit" in note

    # Only the organization's agents can open it.
    client, _ = await logged_in(twilio_app, await make_agent(twilio_services.db, org))
    outsider, _ = await logged_in(twilio_app, await make_agent(twilio_services.db, other_org))
    shown = await client.get(kept["url"])
    assert shown.status_code == 200 and await shown.get_data() == PNG
    assert shown.headers["Content-Type"] == "image/png"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert (await outsider.get(kept["url"])).status_code == 404
    assert (await twilio_app.test_client().get(kept["url"])).status_code == 401

    # A repeat of the job fetches nothing again.
    before = fake_twilio.attempts
    assert await fetch_message_media(twilio_services, message_id) == "stored,refused"
    assert fake_twilio.attempts == before


async def test_media_twilio_no_longer_has_or_that_is_not_on_twilio_is_noted(
    twilio_services: Services, fake_twilio: FakeTwilio, account: Account, org, business_number
) -> None:
    gone = fake_twilio.add_media(account.sid, PNG, "image/png").rsplit("/", 1)[0] + "/MEgone"
    received = await receive(
        twilio_services,
        org.id,
        account,
        "",
        NumMedia="2",
        MediaUrl0=gone,
        MediaContentType0="image/png",
        MediaUrl1="https://files.example.net/x.png",
        MediaContentType1="image/png",
    )

    assert await fetch_message_media(twilio_services, received.message_id) == "refused,refused"

    notes = [
        item["note"] for item in (await stored(twilio_services, received.message_id)).meta["media"]
    ]
    assert "could not be fetched: Twilio answered 404" in notes[0]
    assert "is not on Twilio" in notes[1]


async def test_an_inconsistent_num_media_keeps_the_text_and_the_media_found(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    business_number: str,
) -> None:
    """A webhook whose NumMedia does not match its MediaUrl fields (or is not a number)
    is stored with its text and whatever media URLs it does carry, never refused."""
    photo = fake_twilio.add_media(account.sid, PNG, "image/png")
    client = twilio_app.test_client()
    cases = [
        ({"NumMedia": "5"}, 0),
        ({"NumMedia": "3", "MediaUrl0": photo, "MediaUrl2": photo + "?2"}, 2),
        ({"NumMedia": "lots", "MediaUrl1": photo, "MediaUrl3": "not a url"}, 1),
        ({"NumMedia": "0", "MediaUrl0": photo}, 1),
    ]
    for number, (fields, found) in enumerate(cases):
        params = incoming_params(
            account, from_=CUSTOMER, to=BUSINESS, body=f"my order {number}", **fields
        )
        answer = await post_signed(client, PUBLIC_URL + "/twilio/sms", params, account.token)
        assert answer.status_code == 200, fields
        async with twilio_services.db.transaction() as session:
            message = (
                await session.scalars(
                    select(Message).where(Message.provider_message_id == params["MessageSid"])
                )
            ).one()
        assert message.text == f"my order {number}"
        assert len(message.attachments) == found, fields
        assert len((message.meta or {}).get("media", [])) == found


async def test_an_agent_sends_an_image_through_a_signed_expiring_link(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
) -> None:
    received = await receive(twilio_services, org.id, account, "Which cable do I need?")
    client, csrf = await logged_in(twilio_app, await make_agent(twilio_services.db, org))

    upload = await client.post(
        "/api/media?name=cable.png",
        data=PNG,
        headers={**csrf, "Content-Type": "image/png"},
    )
    key = (await upload.get_json())["media"]["key"]
    answer = await client.post(
        f"/api/conversations/{received.conversation_id}/reply",
        json={"text": "This one:", "media": [key]},
        headers=csrf,
    )
    message_id = (await answer.get_json())["message"]["id"]
    assert await deliver_message(twilio_services, message_id) == "queued"

    [sent] = fake_twilio.messages()
    [link] = sent.media_urls
    assert upload.status_code == 201 and answer.status_code == 201
    assert sent.sid.startswith("MM") and sent.get("Body") == "This one:"
    assert link.startswith(PUBLIC_URL + "/media/")
    anyone = twilio_app.test_client()  # Twilio fetches it without a login
    fetched = await anyone.get(path_of(link))
    assert fetched.status_code == 200 and await fetched.get_data() == PNG
    assert (await anyone.get(path_of(link) + "x")).status_code == 404
    two_hours_ago = URLSafeTimedSerializer("test", salt=LINK_SALT, signer=PastSigner)
    assert (await anyone.get(f"/media/{two_hours_ago.dumps(key)}")).status_code == 404


async def test_uploads_and_image_replies_are_checked(
    twilio_app: Quart, twilio_services: Services, account: Account, org, other_org, business_number
) -> None:
    received = await receive(twilio_services, org.id, account, "Hi")
    chat = await intake_for(twilio_services).receive(chat_message(org, "hello from the web"))
    client, csrf = await logged_in(twilio_app, await make_agent(twilio_services.db, org))
    viewer, viewer_csrf = await logged_in(
        twilio_app, await make_agent(twilio_services.db, org, role="viewer")
    )
    outsider, outsider_csrf = await logged_in(
        twilio_app, await make_agent(twilio_services.db, other_org)
    )
    foreign = await outsider.post(
        "/api/media", data=PNG, headers={**outsider_csrf, "Content-Type": "image/png"}
    )
    foreign_key = (await foreign.get_json())["media"]["key"]
    mine = await client.post("/api/media", data=PNG, headers={**csrf, "Content-Type": "image/png"})
    key = (await mine.get_json())["media"]["key"]

    async def reply(conversation_id: int, media: list[str]) -> tuple[int, str]:
        answer = await client.post(
            f"/api/conversations/{conversation_id}/reply",
            json={"text": "see attached", "media": media},
            headers=csrf,
        )
        return answer.status_code, (await answer.get_json()).get("error", "")

    answers = {
        "not a png": await client.post(
            "/api/media", data=b"<html>", headers={**csrf, "Content-Type": "image/png"}
        ),
        "html": await client.post(
            "/api/media", data=b"<html>", headers={**csrf, "Content-Type": "text/html"}
        ),
        "viewer": await viewer.post(
            "/api/media", data=PNG, headers={**viewer_csrf, "Content-Type": "image/png"}
        ),
    }
    assert {name: a.status_code for name, a in answers.items()} == {
        "not a png": 400,
        "html": 400,
        "viewer": 403,
    }
    assert await reply(received.conversation_id, [foreign_key]) == (400, "unknown_media")
    assert await reply(chat.conversation_id, [key]) == (400, "media_not_supported")
    assert await reply(received.conversation_id, [key]) == (201, "")


@pytest.mark.parametrize("second_attempt", ["fails", "succeeds"])
async def test_a_fetch_run_twice_at_once_keeps_the_copy_the_other_stored(
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
    monkeypatch,
    second_attempt: str,
) -> None:
    """Two runs of one message's fetch job (a retry and the reconciler's, say) both read the
    photo as pending; one stores it while the other is still downloading. The slower run
    neither puts the photo back to pending (its attempt failed) nor keeps a second copy."""
    photo = fake_twilio.add_media(account.sid, PNG, "image/png")
    received = await receive(
        twilio_services, org.id, account, "", MediaUrl0=photo, MediaContentType0="image/png"
    )
    real = media_fetch.download
    calls = 0

    async def download(*args: Any) -> media_fetch.Fetched:
        nonlocal calls
        calls += 1
        if calls == 1:  # this run has read the message: the other runs whole meanwhile
            assert await fetch_message_media(twilio_services, received.message_id) == "stored"
            if second_attempt == "fails":
                raise TransientDeliveryError("Twilio answered 503 for Attachment 1")
        return await real(*args)

    monkeypatch.setattr(media_fetch, "download", download)
    try:
        await fetch_message_media(twilio_services, received.message_id)
    except TransientDeliveryError:
        assert second_attempt == "fails"

    message = await stored(twilio_services, received.message_id)
    assert [item["status"] for item in message.meta["media"]] == ["stored"]
    [kept] = message.attachments
    async with twilio_services.db.transaction() as session:
        keys = list(await session.scalars(select(MediaFile.key)))
    assert [kept["url"]] == [internal_url(key) for key in keys]
    folder = twilio_services.settings.var_dir / "media"
    assert len([path for path in folder.rglob("*") if path.is_file()]) == 1
