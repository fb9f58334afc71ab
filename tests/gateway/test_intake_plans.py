"""Intake's lookup of known senders and their threads finds them through the whole unique
indexes on SQLite: the identities' (organization, kind, address), not by reading every
identity of the organization (a tuple IN searched on the organization alone), then the
conversations' (organization, contact, channel, thread)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text

from gateway import intake_rows as rows
from gateway.db import Database


async def test_the_known_threads_lookup_searches_the_whole_unique_indexes(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'plans.db'}")
    try:
        await db.create_all()
        statements: list[str] = []

        @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def _keep(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
            statements.append(statement)

        async with db.transaction() as session:
            await session.execute(
                rows._KNOWN_THREADS,
                {
                    "organizations": [1],
                    "kinds": ["phone"],
                    "addresses": ["+15550100", "+15550101"],
                    "channels": ["sms"],
                    "threads": ["+15550199"],
                },
            )
            lookup = next(sql for sql in statements if "FROM contact_identities" in sql)
            plan = (
                await session.execute(text("EXPLAIN QUERY PLAN " + lookup.replace("?", "'x'")))
            ).all()
        details = " ".join(str(row[3]) for row in plan)
        assert "organization_id=? AND kind=? AND address=?" in details
        assert "organization_id=? AND contact_id=? AND channel=? AND thread_key=?" in details
    finally:
        await db.dispose()
