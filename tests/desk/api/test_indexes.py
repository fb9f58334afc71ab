"""The migrations build the indexes the queue relies on: the views' keyset orders on both
databases, and on PostgreSQL the trigram indexes that make substring search fast (pg_trgm
ships with PostgreSQL's contrib, which the test server has); the planner uses them, for
the All and Needs attention views and a search across every view too."""

from __future__ import annotations

from sqlalchemy import select, text

from bench.queue_seed import seed_conversations
from desk.listing import Filters, page_query
from desk.search import FEW_MATCHES, Matches, few_matches
from gateway.db import Database
from gateway.models import Agent, Contact
from tests.support.factories import make_agent, make_org

PLANNED_CONVERSATIONS = 2_000

QUEUE_INDEXES = {
    "ix_conversations_queue",
    "ix_conversations_recent",
    "ix_conversations_attention",
    "ix_conversations_contact",
    "ix_conversations_activity",
    "ix_conversations_assignee",
    "ix_conversations_counts",
    "ix_messages_organization",
    "ix_transitions_organization_time",
    "ix_conversation_notes_conversation",
}
TRIGRAM_INDEXES = {
    "ix_messages_text_trgm",
    "ix_contacts_name_trgm",
    "ix_contact_identities_address_trgm",
    "ix_messages_text_digits",  # not trigrams: four-digit sequences (migration 0022)
    "ix_contacts_name_digits",
}


async def index_names(db: Database) -> set[str]:
    query = (
        "SELECT indexname FROM pg_indexes"
        if db.dialect == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'index'"
    )
    async with db.transaction() as session:
        return {row[0] for row in await session.execute(text(query))}


async def test_the_queue_indexes_exist(db: Database) -> None:
    names = await index_names(db)
    assert names >= QUEUE_INDEXES
    if db.dialect == "postgresql":
        assert names >= TRIGRAM_INDEXES
    else:
        assert not names & TRIGRAM_INDEXES


async def test_substring_search_can_use_the_trigram_index(db: Database) -> None:
    if db.dialect != "postgresql":
        assert db.dialect == "sqlite"  # SQLite scans with LIKE; nothing to plan
        return
    async with db.transaction() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in await session.execute(
                text("EXPLAIN SELECT id FROM messages WHERE text ILIKE '%parcel%'")
            )
        )
    assert "ix_messages_text_trgm" in plan


# (view, filters, the indexes either of which makes the plan a range read)
PLANNED = [
    ("all", Filters(), {"ix_conversations_recent"}),
    ("all", Filters(query="48213"), {"ix_conversations_recent"}),
    ("needs_attention", Filters(), {"ix_conversations_attention", "ix_conversations_counts"}),
]


async def query_plan(
    db: Database, view: str, filters: Filters, *, matches: Matches | None = None
) -> str:
    async with db.transaction() as session:
        agent = await session.scalar(select(Agent))
        assert agent is not None
        dialect = session.bind.dialect
        statement = page_query(agent, view, filters, db.dialect, None, 50, matches=matches)
        sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN" if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN"
        rows = await session.execute(text(f"{explain} {sql}"))
        return "\n".join(str(row[-1]) for row in rows)


OTHERS = (  # the conversation view's list of the customer's conversations (desk.view)
    "SELECT id FROM conversations WHERE organization_id = {org} AND contact_id = {contact} "
    "ORDER BY updated_at DESC"
)


async def test_the_all_and_needs_attention_views_read_an_index(db: Database) -> None:
    """On a desk with some thousands of conversations, 1 % flagged, and the planner's
    statistics gathered (on empty tables every plan looks as cheap as any other)."""
    org = await make_org(db)
    agent = await make_agent(db, org)
    await seed_conversations(db, org.id, PLANNED_CONVERSATIONS, [agent.id])
    if db.dialect == "postgresql":  # its autovacuum gathers statistics; SQLite has none
        async with db.transaction() as session:  # until someone runs ANALYZE
            await session.execute(text("ANALYZE"))
    for view, filters, indexes in PLANNED:
        plan = await query_plan(db, view, filters)
        if db.dialect == "sqlite" and filters.query:
            # LIKE scans the customers and texts (see desk.search); each conversation is
            # tested from an index, never by reading every row.
            indexes = {"ix_conversations_contact"}
        assert any(index in plan for index in indexes), (view, plan)
        if db.dialect == "postgresql":
            assert "Seq Scan on conversations" not in plan, (view, plan)
        else:  # a SEARCH reads a range of the index; a SCAN would read every conversation
            assert "SEARCH conversations USING" in plan, (view, plan)
            assert "SCAN conversations" not in plan, (view, plan)
    explain = "EXPLAIN" if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN"
    async with db.transaction() as session:
        rows = await session.execute(text(f"{explain} {OTHERS.format(org=org.id, contact=1)}"))
        plan = "\n".join(str(row[-1]) for row in rows)
    assert "ix_conversations_contact" in plan, plan


async def test_a_search_with_few_matches_is_read_from_them(db: Database) -> None:
    """A name matches one customer; "order" is in most messages. The first is read from its
    matches (on PostgreSQL the planner otherwise walks every conversation in the view's
    order); either way of reading finds the same conversations."""
    org = await make_org(db)
    agent = await make_agent(db, org)
    await seed_conversations(db, org.id, PLANNED_CONVERSATIONS, [agent.id])
    if db.dialect == "postgresql":
        async with db.transaction() as session:
            await session.execute(text("ANALYZE"))
    async with db.transaction() as session:
        name = await session.scalar(select(Contact.name).order_by(Contact.id.desc()).limit(1))
        assert name is not None
        matches = await few_matches(session, org.id, name, db.dialect)
        assert matches is not None and len(matches.contacts) == 1
        assert await few_matches(session, org.id, "order", db.dialect) is None  # > FEW_MATCHES
        found = []
        for matches_or_none in (matches, None):
            statement = page_query(
                agent, "all", Filters(query=name), db.dialect, None, 50, matches=matches_or_none
            )
            found.append([row[0].id for row in (await session.execute(statement)).all()])
        assert found[0] == found[1] and found[0]
    assert PLANNED_CONVERSATIONS * 3 * 3 // 5 > FEW_MATCHES * 2  # "order": 3 texts of 5
    if db.dialect == "postgresql":
        plan = await query_plan(db, "all", Filters(query=name), matches=matches)
        # the matches were looked up; their conversations are read by the customer's id,
        # with no walk of the order
        assert "ix_conversations_contact" in plan, plan
        assert "ix_conversations_recent" not in plan and "Seq Scan on conversations" not in plan
