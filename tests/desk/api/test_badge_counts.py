"""The badge counts are kept by triggers on `conversations` and folded by the reconciler:
after any change to a conversation (a new one, a change of state, owner, team, label,
channel or flag, a deletion), with and without folds between, each badge equals a count of
the conversations themselves, for every filter; a fold keeps the sums and never loses a
change committed while it runs; and a database migrated from before the triggers counts
the conversations it already had."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from alembic import command
from quart import Quart
from sqlalchemy import delete, func, insert, select

from gateway.conversation_counts import FOLD_AFTER, fold
from gateway.db import Database
from gateway.migrate import alembic_config, upgrade
from gateway.models import (
    Agent,
    Contact,
    Conversation,
    ConversationCount,
    Message,
    Organization,
    Team,
)
from gateway.reconciler import reconcile
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.factories import make_agent, make_org

STATES = ("queued", "ai", "assigned", "manual", "resolved")
OPEN = ("queued", "ai", "assigned", "manual")
WORKED = ("queued", "assigned", "manual")
CHANNELS = ("webchat", "sms", "email")
LABELS = (None, "refund", "vip")


@dataclass(frozen=True)
class Desk:
    org: Organization
    agents: list[Agent]
    teams: list[int | None]


async def expected(db: Database, agent: Agent, query: dict[str, str]) -> dict[str, int]:
    """The badges as a count of the conversations themselves."""
    found = dict.fromkeys(
        ("waiting", "mine", "assigned", "ai", "manual", "resolved", "all", "needs_attention"), 0
    )
    async with db.read() as session:
        rows = await session.execute(
            select(
                Conversation.state,
                Conversation.assigned_agent_id,
                Conversation.needs_attention,
                Conversation.channel,
                Conversation.team_id,
                Conversation.label,
            ).where(Conversation.organization_id == agent.organization_id)
        )
        for state, assignee, flagged, channel, team, label in rows:
            if query.get("channel", channel) != channel:
                continue
            if "team_id" in query and int(query["team_id"]) != team:
                continue
            if query.get("label", label) != label:
                continue
            found["all"] += 1
            found["waiting" if state == "queued" else state] += 1
            found["mine"] += state in WORKED and assignee == agent.id
            found["needs_attention"] += state in OPEN and flagged
    return found


def queries(desk: Desk) -> list[dict[str, str]]:
    return [
        {},
        {"channel": "sms"},
        {"label": "refund"},
        *({"team_id": str(team)} for team in desk.teams if team is not None),
        {"channel": "email", "label": "vip"},
    ]


async def assert_badges_match(client, db: Database, desk: Desk, agent: Agent) -> None:
    for query in queries(desk):
        response = await client.get("/api/queue/counts", query_string=query)
        assert response.status_code == 200, await response.get_json()
        assert (await response.get_json())["counts"] == await expected(db, agent, query), query


async def a_desk(db: Database, org: Organization) -> Desk:
    agents = [await make_agent(db, org, name=name) for name in ("Dana", "Eli", "Sam")]
    async with db.transaction() as session:
        teams = [Team(organization_id=org.id, name=name) for name in ("Billing", "Shipping")]
        session.add_all(teams)
        await session.flush()
        return Desk(org, agents, [None, *(team.id for team in teams)])


async def change_some(db: Database, desk: Desk, rng: random.Random, count: int) -> None:
    """A few random changes, each in a transaction of its own or several together."""
    async with db.transaction() as session:
        ids = list(
            await session.scalars(
                select(Conversation.id).where(Conversation.organization_id == desk.org.id)
            )
        )
    for _ in range(count):
        async with db.transaction() as session:
            for conversation_id in rng.sample(ids, rng.randint(1, 3)):
                conversation = await session.get(Conversation, conversation_id)
                assert conversation is not None
                change = rng.choice(("state", "owner", "team", "label", "channel", "flag"))
                if change == "state":
                    conversation.state = rng.choice(STATES)
                elif change == "owner":
                    owner = rng.choice([None, *desk.agents])
                    conversation.assigned_agent_id = owner.id if owner else None
                elif change == "team":
                    conversation.team_id = rng.choice(desk.teams)
                elif change == "label":
                    conversation.label = rng.choice(LABELS)
                elif change == "channel":
                    conversation.channel = rng.choice(CHANNELS)
                else:
                    conversation.needs_attention = not conversation.needs_attention
                conversation.summary = "touched"  # a column the badges do not count


async def test_the_badges_follow_every_change_to_a_conversation(
    app: Quart, services, org, other_org
) -> None:
    db = services.db
    rng = random.Random(20)
    desk = await a_desk(db, org)
    for _ in range(30):
        owner = rng.choice(desk.agents)
        await seed_conversation(
            db,
            rng.choice([org, org, other_org]),
            state=rng.choice(STATES),
            channel=rng.choice(CHANNELS),
            assignee=owner if rng.random() < 0.5 else None,
            team_id=rng.choice(desk.teams),
            label=rng.choice(LABELS),
        )
    me = desk.agents[0]
    client, _ = await client_for(app, db, me)
    await assert_badges_match(client, db, desk, me)

    for step in range(6):
        await change_some(db, desk, rng, 8)
        if step % 2:
            assert await fold(db, after=1) > 0
        await assert_badges_match(client, db, desk, me)

    # A deleted conversation leaves its badges too.
    async with db.transaction() as session:
        gone = await session.scalar(
            select(Conversation.id).where(Conversation.organization_id == org.id).limit(1)
        )
        await session.execute(delete(Message).where(Message.conversation_id == gone))
        await session.execute(delete(Conversation).where(Conversation.id == gone))
    await assert_badges_match(client, db, desk, me)


async def test_a_fold_keeps_the_sums_in_one_row_per_combination(app: Quart, services, org) -> None:
    db = services.db
    desk = await a_desk(db, org)
    rng = random.Random(3)
    for _ in range(12):
        await seed_conversation(db, org, state=rng.choice(STATES), label=rng.choice(LABELS))
    await change_some(db, desk, rng, 10)
    me = desk.agents[0]
    client, _ = await client_for(app, db, me)
    before = await (await client.get("/api/queue/counts")).get_json()

    assert await fold(db) == 0  # fewer rows than FOLD_AFTER: left for later
    written = await count_rows(db)
    assert await fold(db, after=1) == written
    combinations = await distinct_combinations(db)
    assert await count_rows(db) == combinations
    assert await fold(db, after=1) == 0  # nothing written since
    assert (await (await client.get("/api/queue/counts")).get_json())["counts"] == before["counts"]
    await assert_badges_match(client, db, desk, me)


async def test_a_change_committed_while_a_fold_runs_is_not_lost(app: Quart, services, org) -> None:
    db = services.db
    desk = await a_desk(db, org)
    seeded = [await seed_conversation(db, org, state="queued") for _ in range(3)]
    me = desk.agents[0]
    client, _ = await client_for(app, db, me)
    claimed = asyncio.Event()
    release = asyncio.Event()

    async def claim_and_hold() -> None:
        async with db.transaction() as session:
            conversation = await session.get(Conversation, seeded[0].conversation_id)
            assert conversation is not None
            conversation.state, conversation.assigned_agent_id = "assigned", me.id
            await session.flush()  # the trigger's rows are written, not yet committed
            claimed.set()
            await release.wait()

    holder = asyncio.create_task(claim_and_hold())
    await claimed.wait()
    folding = asyncio.create_task(fold(db, after=1))
    if db.dialect == "postgresql":
        # The fold does not wait for the open transaction; its rows stay for the next.
        assert await asyncio.wait_for(folding, 10) > 0
        release.set()
    else:  # SQLite takes one writer at a time: the fold runs after the claim commits
        release.set()
        await folding
    await holder

    counts = (await (await client.get("/api/queue/counts")).get_json())["counts"]
    assert (counts["waiting"], counts["assigned"], counts["mine"]) == (2, 1, 1)
    await fold(db, after=1)
    await assert_badges_match(client, db, desk, me)


async def test_a_database_from_before_the_counts_counts_its_conversations(
    database_url: str,
) -> None:
    url = database_url
    await asyncio.to_thread(upgrade, url, "0019")
    db = Database(url)
    try:
        org = await make_org(db)
        await insert_conversations(db, org, ["queued", "queued", "ai", "resolved"])
        await asyncio.to_thread(upgrade, url)
        assert await sums_by_state(db, org) == {"queued": 2, "ai": 1, "resolved": 1}
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0019")
        await asyncio.to_thread(upgrade, url)
        assert await sums_by_state(db, org) == {"queued": 2, "ai": 1, "resolved": 1}
    finally:
        await db.dispose()


async def insert_conversations(db: Database, org: Organization, states: list[str]) -> None:
    """Bare conversations of one customer, one per state given, in one statement."""
    async with db.transaction() as session:
        contact = Contact(organization_id=org.id, name="Many Threads")
        session.add(contact)
        await session.flush()
        await session.execute(
            insert(Conversation),
            [
                {
                    "organization_id": org.id,
                    "contact_id": contact.id,
                    "channel": "email",
                    "thread_key": str(n),
                    "address_kind": "email",
                    "address": "many@example.test",
                    "state": state,
                }
                for n, state in enumerate(states)
            ],
        )


async def sums_by_state(db: Database, org: Organization) -> dict[str, int]:
    async with db.read() as session:
        rows = await session.execute(
            select(ConversationCount.state, func.sum(ConversationCount.delta))
            .where(ConversationCount.organization_id == org.id)
            .group_by(ConversationCount.state)
        )
        return {state: int(total) for state, total in rows}


async def count_rows(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationCount)) or 0)


async def distinct_combinations(db: Database) -> int:
    columns = (
        Conversation.organization_id,
        Conversation.state,
        Conversation.channel,
        Conversation.team_id,
        Conversation.label,
        Conversation.assigned_agent_id,
        Conversation.needs_attention,
    )
    async with db.read() as session:
        found = select(*columns).group_by(*columns).subquery()
        return int(await session.scalar(select(func.count()).select_from(found)) or 0)


async def test_the_reconciler_folds_once_many_changes_gathered(services, org) -> None:
    db = services.db
    await insert_conversations(db, org, ["resolved" if n % 2 else "ai" for n in range(FOLD_AFTER)])
    assert await count_rows(db) == FOLD_AFTER

    await reconcile(services)

    assert await count_rows(db) == 2
    assert await sums_by_state(db, org) == {"ai": FOLD_AFTER // 2, "resolved": FOLD_AFTER // 2}
