"""A reply sent with an Idempotency-Key is sent once: a repeat with the same key gets the
first answer and sends nothing, a repeat while the first is still being sent gets 409, the
same key with another reply gets 422, another agent's key of the same value is theirs, and
a refused reply keeps no answer. Without the header every reply is sent. Expired keys are
purged by the reconciler. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import func, select, update

from gateway.models import Agent, IdempotencyKey, Message, Organization, utcnow
from gateway.outbound import queue_outbound
from gateway.queues import OUTBOUND
from gateway.reconciler import LOCK_KEY, reconcile
from gateway.runtime import Services
from handoff import actions
from handoff.routing import route_message
from tests.desk.api.helpers import client_for
from tests.support.api import waiting_conversation
from tests.support.factories import chat_message, intake_for, make_agent

KEY = "5c0d7a52-6a4b-4b0e-9d38-2f4f6a0c1e11"


async def _replies(services: Services, conversation_id: int) -> list[tuple[int, str]]:
    """The agent replies stored for the customer, oldest first."""
    async with services.db.read() as session:
        rows = await session.execute(
            select(Message.id, Message.text)
            .where(Message.conversation_id == conversation_id, Message.author == "agent")
            .order_by(Message.id)
        )
        return [(int(row[0]), str(row[1])) for row in rows]


async def _sent(services: Services, conversation_id: int) -> list[str]:
    """The texts of the agent replies queued for delivery to the customer: each reply
    stored has its one delivery job."""
    replies = await _replies(services, conversation_id)
    queued = [job.args[0] for job in services.jobs.queue(OUTBOUND).get_jobs()]
    assert sorted(queued.count(message_id) for message_id, _ in replies) == [1] * len(replies)
    return [text for _, text in replies]


async def _waiting_for(services: Services, org: Organization, *, visitor: str) -> int:
    """Another customer's conversation, waiting for a person."""
    message = chat_message(org, "a person please", visitor=visitor)
    received = await intake_for(services).receive(message)
    assert await route_message(services, received.message_id) == "queued"
    return received.conversation_id


async def _post(
    client: Any, csrf: dict[str, str], conversation_id: int, text: str, key: str | None = KEY
) -> Any:
    headers = dict(csrf) if key is None else {**csrf, "Idempotency-Key": key}
    return await client.post(
        f"/api/conversations/{conversation_id}/reply", json={"text": text}, headers=headers
    )


async def test_a_reply_sent_again_with_its_key_is_sent_once(
    app: Quart, services: Services, org: Organization
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await client_for(app, services.db, agent)

    first = await _post(client, csrf, conversation_id, "Your refund is on its way.")
    again = await _post(client, csrf, conversation_id, "Your refund is on its way.")

    assert (first.status_code, again.status_code) == (201, 201)
    assert await again.get_json() == await first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await _sent(services, conversation_id) == ["Your refund is on its way."]


async def test_without_a_key_each_reply_is_sent(
    app: Quart, services: Services, org: Organization
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await client_for(app, services.db, agent)

    for _ in range(2):
        assert (await _post(client, csrf, conversation_id, "Hello?", key=None)).status_code == 201

    assert await _sent(services, conversation_id) == ["Hello?", "Hello?"]


async def _repeat_while_held(
    app: Quart, services: Services, org: Organization, hold: Any
) -> tuple[int, Any, Any, Any]:
    """Post a reply, hold it where `hold(inside, release)` installs its events, post it
    again meanwhile, then let the first go on: the conversation, the agent's client, the
    repeat's answer and the first's."""
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await client_for(app, services.db, agent)
    inside, release = asyncio.Event(), asyncio.Event()
    hold(inside, release)
    first = asyncio.create_task(_post(client, csrf, conversation_id, "One moment please."))
    try:
        await asyncio.wait_for(inside.wait(), 30)
        repeat = await asyncio.wait_for(
            _post(client, csrf, conversation_id, "One moment please."), 30
        )
    finally:
        release.set()
    return conversation_id, (client, csrf), repeat, await first


async def _assert_one_reply_and_a_409(
    services: Services, conversation_id: int, repeat: Any, answered: Any
) -> None:
    assert repeat.status_code == 409
    refusal = await repeat.get_json()
    assert refusal["error"] == "request_in_progress"
    assert refusal["message"].startswith("a request with this Idempotency-Key is still being")
    assert answered.status_code == 201
    assert await _sent(services, conversation_id) == ["One moment please."]


async def test_a_repeat_while_the_first_is_under_way_gets_409_and_one_reply_goes(
    app: Quart, services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hold(inside: asyncio.Event, release: asyncio.Event) -> None:
        claim = actions.claim

        async def held(*args: Any, **kwargs: Any) -> Any:
            claimed = await claim(*args, **kwargs)  # the reply claims the waiting conversation
            inside.set()
            await release.wait()
            return claimed

        monkeypatch.setattr(actions, "claim", held)

    conversation_id, (client, csrf), repeat, answered = await _repeat_while_held(
        app, services, org, hold
    )

    await _assert_one_reply_and_a_409(services, conversation_id, repeat, answered)
    replayed = await _post(client, csrf, conversation_id, "One moment please.")
    assert (replayed.status_code, await replayed.get_json()) == (201, await answered.get_json())


async def test_a_repeat_while_the_first_is_inside_its_transaction_gets_409(
    app: Quart, services: Services, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    if services.db.dialect == "sqlite":
        pytest.skip(
            "on SQLite every request (its login check included) waits for the one writer, "
            "so a repeat arrives only once the first has committed, and gets its answer"
        )

    def hold(inside: asyncio.Event, release: asyncio.Event) -> None:
        store = queue_outbound

        async def held(*args: Any, **kwargs: Any) -> Message:
            message = await store(*args, **kwargs)
            inside.set()  # the reply is stored; its transaction is still open
            await release.wait()
            return message

        monkeypatch.setattr(actions, "queue_outbound", held)

    conversation_id, _, repeat, answered = await _repeat_while_held(app, services, org, hold)

    await _assert_one_reply_and_a_409(services, conversation_id, repeat, answered)


async def test_the_same_key_with_another_reply_is_refused_with_422(
    app: Quart, services: Services, org: Organization
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await client_for(app, services.db, agent)

    assert (await _post(client, csrf, conversation_id, "First answer.")).status_code == 201
    other = await _post(client, csrf, conversation_id, "A different answer.")

    assert other.status_code == 422
    body = await other.get_json()
    assert body["error"] == "idempotency_key_reused"
    assert body["message"] == (
        "this Idempotency-Key was already used for a different request; "
        "send a new key with a new request"
    )
    assert await _sent(services, conversation_id) == ["First answer."]


async def test_another_agent_using_the_same_key_sends_their_own_reply(
    app: Quart, services: Services, org: Organization
) -> None:
    dana = await make_agent(services.db, org, name="Dana")
    sam = await make_agent(services.db, org, name="Sam")
    danas = await waiting_conversation(services, org)
    sams = await _waiting_for(services, org, visitor="visitor-2")
    dana_client, dana_csrf = await client_for(app, services.db, dana)
    sam_client, sam_csrf = await client_for(app, services.db, sam)

    by_dana = await _post(dana_client, dana_csrf, danas, "Dana here.")
    by_sam = await _post(sam_client, sam_csrf, sams, "Sam here.")

    assert (by_dana.status_code, by_sam.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in by_sam.headers
    assert await _sent(services, danas) == ["Dana here."]
    assert await _sent(services, sams) == ["Sam here."]


async def test_a_refused_reply_keeps_no_answer_and_its_key_can_be_sent_again(
    app: Quart, services: Services, org: Organization
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await client_for(app, services.db, agent)

    refused = await _post(client, csrf, conversation_id, "   ")
    fixed = await _post(client, csrf, conversation_id, "Sorry, here it is.")

    assert refused.status_code == 400
    assert fixed.status_code == 201
    assert await _sent(services, conversation_id) == ["Sorry, here it is."]


async def test_a_key_that_is_not_short_visible_text_is_refused(
    app: Quart, services: Services, org: Organization
) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await client_for(app, services.db, agent)

    for key in ("x" * 256, "   "):
        answer = await _post(client, csrf, conversation_id, "Hi", key=key)
        assert answer.status_code == 400
        assert "Idempotency-Key header must hold 1 to 255" in (await answer.get_json())["message"]
    assert await _sent(services, conversation_id) == []


async def _keys(services: Services) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(IdempotencyKey)) or 0)


async def test_keys_expire_after_a_day_and_the_reconciler_purges_them(
    app: Quart, services: Services, org: Organization
) -> None:
    agent: Agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await client_for(app, services.db, agent)
    assert (await _post(client, csrf, conversation_id, "Hello.")).status_code == 201
    assert (await _post(client, csrf, conversation_id, "Hello.", key="kept")).status_code == 201
    await reconcile(services)
    assert await _keys(services) == 2  # not yet expired

    async with services.db.transaction() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == KEY)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    services.jobs.redis.delete(LOCK_KEY)  # the next pass, as a while later
    await reconcile(services)

    assert await _keys(services) == 1
    assert (await _post(client, csrf, conversation_id, "Hello.")).status_code == 201
    assert await _sent(services, conversation_id) == ["Hello.", "Hello.", "Hello."]


async def test_the_api_description_names_the_header_and_its_answers(app: Quart) -> None:
    document = await (await app.test_client().get("/api/openapi.json")).get_json()
    reply = document["paths"]["/api/conversations/{conversation_id}/reply"]["post"]

    [header] = [p for p in reply["parameters"] if p["in"] == "header"]
    assert (header["name"], header["required"]) == ("Idempotency-Key", False)
    assert {"201", "409", "422"} <= set(reply["responses"])
