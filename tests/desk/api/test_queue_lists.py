"""The queue's views over the HTTP API: what each view holds and in which order, keyset
pages that neither skip nor repeat, filters, search by name, phone, email and message
text, the badge counts, and unread marks."""

from __future__ import annotations

from datetime import timedelta

from quart import Quart

from gateway.models import Conversation, Team, utcnow
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.factories import make_agent


async def test_each_view_holds_its_states_in_its_order(app: Quart, services, org) -> None:
    db = services.db
    me, other = await make_agent(db, org), await make_agent(db, org, name="Lee")
    now = utcnow()
    old = await seed_conversation(db, org, waiting_since=now - timedelta(minutes=9))
    new = await seed_conversation(db, org, waiting_since=now - timedelta(minutes=1))
    mine = await seed_conversation(db, org, state="assigned", assignee=me)
    theirs = await seed_conversation(db, org, state="assigned", assignee=other)
    manual_late = await seed_conversation(
        db, org, state="manual", assignee=me, ai_paused_until=now + timedelta(minutes=14)
    )
    manual_soon = await seed_conversation(
        db, org, state="manual", assignee=other, ai_paused_until=now + timedelta(minutes=2)
    )
    ai = await seed_conversation(db, org, state="ai")
    resolved = await seed_conversation(db, org, state="resolved")
    client, _ = await client_for(app, db, me)

    async def ids(view: str) -> list[int]:
        response = await client.get(f"/api/queue/{view}")
        assert response.status_code == 200, await response.get_json()
        return [item["id"] for item in (await response.get_json())["items"]]

    assert await ids("waiting") == [old.conversation_id, new.conversation_id]
    assert set(await ids("mine")) == {mine.conversation_id, manual_late.conversation_id}
    assert set(await ids("assigned")) == {mine.conversation_id, theirs.conversation_id}
    assert await ids("manual") == [manual_soon.conversation_id, manual_late.conversation_id]
    assert await ids("ai") == [ai.conversation_id]
    assert await ids("resolved") == [resolved.conversation_id]
    assert len(await ids("all")) == 8
    assert await ids("needs_attention") == []

    # Needs attention holds every open conversation flagged for a person, whoever owns
    # it (the AI included); a resolved one leaves it.
    async with db.transaction() as session:
        for seeded in (ai, theirs, resolved):
            conversation = await session.get(Conversation, seeded.conversation_id)
            assert conversation is not None
            conversation.needs_attention = True
    assert set(await ids("needs_attention")) == {ai.conversation_id, theirs.conversation_id}

    # Each row says which view it sits in for this agent (a search shows it on each hit).
    body = await (await client.get("/api/queue/all")).get_json()
    assert {item["id"]: item["view"] for item in body["items"]} == {
        old.conversation_id: "waiting",
        new.conversation_id: "waiting",
        mine.conversation_id: "mine",
        manual_late.conversation_id: "mine",
        theirs.conversation_id: "assigned",
        manual_soon.conversation_id: "manual",
        ai.conversation_id: "ai",
        resolved.conversation_id: "resolved",
    }

    counts = (await (await client.get("/api/queue/counts")).get_json())["counts"]
    assert counts == {
        "waiting": 2,
        "mine": 2,
        "assigned": 2,
        "ai": 1,
        "manual": 2,
        "resolved": 1,
        "all": 8,
        "needs_attention": 2,
    }


async def test_a_waiting_item_carries_what_the_row_shows(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    seeded = await seed_conversation(
        db, org, channel="sms", name="Grace Hopper", address="+15550001111", text="where is it?"
    )
    client, _ = await client_for(app, db, agent)

    body = await (await client.get("/api/queue/waiting")).get_json()

    (item,) = body["items"]
    assert item["channel"] == "sms"
    assert item["customer"]["display_name"] == "Grace Hopper"
    assert item["customer"]["address"] == "+15550001111"
    assert item["handoff_reason"] == "the customer asked for a person"
    assert item["summary_line"] == "Wants a refund for order 42."
    assert item["last_message"]["preview"] == "where is it?"
    assert item["last_message"]["id"] == seeded.message_id
    assert item["unread"] is True
    assert item["waiting_since"].endswith("+00:00")
    assert body["time_zone"] == "UTC" and body["next_cursor"] is None


async def test_pages_follow_the_cursor_without_gaps_or_repeats(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    now = utcnow()
    same_time = now - timedelta(minutes=5)
    expected = []
    for index in range(7):  # several share one waiting_since: the id breaks the tie
        at = same_time if index < 4 else now - timedelta(minutes=4 - index / 10)
        expected.append((await seed_conversation(db, org, waiting_since=at)).conversation_id)
    client, _ = await client_for(app, db, agent)

    seen, cursor, pages = [], None, 0
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = await (await client.get(f"/api/queue/waiting{query}")).get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == expected
    assert pages == 3
    bad = await client.get("/api/queue/waiting?cursor=not-a-cursor")
    assert bad.status_code == 400


async def test_newest_activity_first_pages_descend(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    now = utcnow()
    made = [
        (await seed_conversation(db, org, state="ai", updated_at=now - timedelta(minutes=n)))
        for n in range(5)
    ]
    client, _ = await client_for(app, db, agent)
    first = await (await client.get("/api/queue/ai?limit=2")).get_json()
    second = await (
        await client.get(f"/api/queue/ai?limit=2&cursor={first['next_cursor']}")
    ).get_json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == [m.conversation_id for m in made[:4]]


async def test_filters_by_channel_team_and_label(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    async with db.transaction() as session:
        team = Team(organization_id=org.id, name="Billing")
        session.add(team)
    sms = await seed_conversation(db, org, channel="sms", label="refund")
    billing = await seed_conversation(db, org, channel="email", team_id=team.id)
    await seed_conversation(db, org, channel="webchat")
    client, _ = await client_for(app, db, agent)

    async def ids(query: str) -> list[int]:
        body = await (await client.get(f"/api/queue/waiting?{query}")).get_json()
        return [item["id"] for item in body["items"]]

    assert await ids("channel=sms") == [sms.conversation_id]
    assert await ids(f"team_id={team.id}") == [billing.conversation_id]
    assert await ids("label=refund") == [sms.conversation_id]
    counts = await (await client.get("/api/queue/counts?channel=email")).get_json()
    assert counts["counts"]["waiting"] == 1
    assert (await client.get("/api/queue/waiting?team_id=abc")).status_code == 400
    assert (await client.get("/api/queue/nonsense")).status_code == 400


async def test_search_finds_name_phone_email_and_message_text(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    by_name = await seed_conversation(db, org, name="Katherine Johnson")
    by_phone = await seed_conversation(db, org, channel="sms", address="+15551234567")
    by_email = await seed_conversation(db, org, channel="email", address="marie@curie.example")
    by_text = await seed_conversation(db, org, text="My parcel 100% never arrived")
    await seed_conversation(db, org, name="Nobody", text="unrelated")
    client, _ = await client_for(app, db, agent)

    async def found(term: str) -> set[int]:
        response = await client.get("/api/queue/all", query_string={"q": term})
        assert response.status_code == 200, await response.get_json()
        return {item["id"] for item in (await response.get_json())["items"]}

    assert await found("katherine") == {by_name.conversation_id}
    assert await found("555 123-4567") == {by_phone.conversation_id}
    assert await found("CURIE.example") == {by_email.conversation_id}
    assert await found("parcel") == {by_text.conversation_id}
    assert await found("100%") == {by_text.conversation_id}  # % is a literal, not a wildcard
    assert await found("zzz-nothing") == set()
    assert (await client.get("/api/queue/all?q=a")).status_code == 400


async def test_search_never_reaches_another_organization(
    app: Quart, services, org, other_org
) -> None:
    db = services.db
    agent = await make_agent(db, org)
    await seed_conversation(db, other_org, name="Secret Customer", text="secret text")
    client, _ = await client_for(app, db, agent)

    for term in ("Secret Customer", "secret text"):
        body = await (await client.get("/api/queue/all", query_string={"q": term})).get_json()
        assert body["items"] == []
    counts = await (await client.get("/api/queue/counts")).get_json()
    assert counts["counts"]["all"] == 0


async def test_reading_a_conversation_clears_its_unread_mark(app: Quart, services, org) -> None:
    db = services.db
    agent = await make_agent(db, org)
    seeded = await seed_conversation(db, org)
    client, csrf = await client_for(app, db, agent)

    response = await client.post(f"/api/conversations/{seeded.conversation_id}/read", headers=csrf)
    (item,) = (await (await client.get("/api/queue/waiting")).get_json())["items"]

    assert (await response.get_json())["last_read_message_id"] == seeded.message_id
    assert item["unread"] is False
    again = await client.post(
        f"/api/conversations/{seeded.conversation_id}/read", json={"message_id": 0}, headers=csrf
    )
    assert (await again.get_json())["last_read_message_id"] == seeded.message_id  # never back
