"""What a `switchboard` subcommand needs from the core, wherever it is declared: a handler
takes the settings and the parsed arguments and returns the exit status, and
`run_with_db` runs one piece of async database work with its own engine (a command runs
once, outside any server, so it opens and disposes of its connections itself)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.db import Database
from gateway.settings import Settings

T = TypeVar("T")

CommandHandler = Callable[[Settings, argparse.Namespace], int]


def run_with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        db = Database(settings.resolved_database_url, echo=settings.sql_echo)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())
