"""The whole SMS flow through the running app and a real worker process, with the real
`twilio` library calling the loopback Twilio API: an incoming SMS, the AI's reply as a
REST call from the business number, status callbacks, a request for a person, and an
agent's reply from the queue page's API going back to the same number. And a send that
Twilio answers with 503 is retried by the worker with back-off until it goes through."""

from __future__ import annotations

import time

from quart import Quart

from gateway.runtime import Services
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from tests.support.api import logged_in
from tests.support.factories import make_agent
from tests.support.fake_twilio import (
    BUSINESS,
    CUSTOMER,
    PUBLIC_URL,
    Account,
    FakeTwilio,
    incoming_params,
    messages_in,
    post_signed,
    receive,
    run_worker_burst,
    status_params,
    worker_running,
    worker_settings,
)

INBOUND = PUBLIC_URL + "/twilio/sms"


async def test_sms_to_ai_reply_to_a_person_and_back_on_the_same_number(
    twilio_app: Quart,
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
    redis_url: str,
    tmp_path,
) -> None:
    await load_knowledge(twilio_services.db, org.id, demo_knowledge_paths())
    twilio = twilio_app.test_client()
    env = worker_settings(fake_twilio, str(tmp_path))
    database_url = twilio_services.db.url

    # 1. The customer texts the business number; the webhook answers at once.
    question = incoming_params(
        account, from_=CUSTOMER, to=BUSINESS, body="What are your opening hours?"
    )
    assert (await post_signed(twilio, INBOUND, question, account.token)).status_code == 200

    # 2. The worker routes it, the AI answers, and delivery calls Twilio's REST API.
    run_worker_burst(database_url, redis_url, env)
    [answer] = fake_twilio.messages()
    assert (answer.get("From"), answer.get("To")) == (BUSINESS, CUSTOMER)
    assert "Monday" in (answer.get("Body") or "") or "Mon" in (answer.get("Body") or "")

    # 3. Twilio reports progress; the queue page's conversation shows it.
    for status in ("sent", "delivered"):
        callback = status_params(answer, status)
        reply = await post_signed(
            twilio, answer.get("StatusCallback") or "", callback, account.token
        )
        assert reply.status_code == 200
    agent = await make_agent(twilio_services.db, org, name="Dana")
    client, csrf = await logged_in(twilio_app, agent)
    [conversation] = (await (await client.get("/api/conversations")).get_json())["conversations"]
    shown = await (await client.get(f"/api/conversations/{conversation['id']}")).get_json()
    ai_message = next(m for m in shown["messages"] if m["author"] == "ai")
    assert ai_message["delivery_status"] == "delivered"

    # 4. The customer asks for a person: the conversation waits in the queue.
    person = incoming_params(
        account, from_=CUSTOMER, to=BUSINESS, body="I want to talk to a person"
    )
    assert (await post_signed(twilio, INBOUND, person, account.token)).status_code == 200
    run_worker_burst(database_url, redis_url, env)
    listed = await (await client.get("/api/conversations?state=queued")).get_json()
    assert [c["id"] for c in listed["conversations"]] == [conversation["id"]]

    # 5. An agent replies from the queue page; it goes out from the same number.
    replied = await client.post(
        f"/api/conversations/{conversation['id']}/reply",
        json={"text": "Hi, Dana here. How can I help?"},
        headers=csrf,
    )
    assert replied.status_code == 201
    run_worker_burst(database_url, redis_url, env)
    last = fake_twilio.messages()[-1]
    assert last.get("Body") == "Hi, Dana here. How can I help?"
    assert (last.get("From"), last.get("To")) == (BUSINESS, CUSTOMER)
    assert last.get("StatusCallback", "").startswith(PUBLIC_URL + "/twilio/sms/status?part=")
    history = await messages_in(twilio_services, conversation["id"])
    assert [m.author for m in history if m.direction == "inbound"] == ["customer", "customer"]
    assert all(m.delivery_status != "failed" for m in history)


async def test_a_503_from_twilio_is_retried_by_the_worker_with_back_off(
    twilio_services: Services,
    fake_twilio: FakeTwilio,
    account: Account,
    org,
    business_number,
    redis_url: str,
    tmp_path,
) -> None:
    fake_twilio.fail_next(503, 20500, "Service Unavailable")
    received = await receive(twilio_services, org.id, account, "HELP")  # answered by delivery
    started = time.monotonic()

    with worker_running(
        twilio_services.db.url, redis_url, worker_settings(fake_twilio, str(tmp_path))
    ):
        [sent] = fake_twilio.wait_for(1, timeout=60)
        waited = time.monotonic() - started
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            [_, reply] = await messages_in(twilio_services, received.conversation_id)
            if reply.delivery_status == "queued":
                break
            time.sleep(0.1)

    assert fake_twilio.attempts == 2
    assert waited >= 2  # the first retry waits two seconds
    assert reply.delivery_status == "queued" and reply.provider_message_id == sent.sid
