"""The migrations build the indexes the queue relies on: the views' keyset orders on both
databases, and on PostgreSQL the trigram indexes that make substring search fast (pg_trgm
ships with PostgreSQL's contrib, which the test server has); the planner uses them."""

from __future__ import annotations

from sqlalchemy import text

from gateway.db import Database

QUEUE_INDEXES = {
    "ix_conversations_queue",
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
