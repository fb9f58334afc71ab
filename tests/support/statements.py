"""Counting what a piece of work asks the database: the statements a `Database` runs
while a block runs, for tests that hold a hot path to its round trips."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from gateway.db import Database


@contextmanager
def statements_of(db: Database) -> Iterator[list[str]]:
    """The statements `db` runs meanwhile (not the transactions' BEGIN)."""
    seen: list[str] = []

    def keep(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", keep)


@contextmanager
def commits_of(db: Database) -> Iterator[list[None]]:
    """One item for each transaction `db` commits meanwhile."""
    seen: list[None] = []

    def keep(_conn: object) -> None:
        seen.append(None)

    event.listen(db.engine.sync_engine, "commit", keep)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "commit", keep)
