"""SQLite through aiosqlite with at most one thread hop per statement, and none for a
statement that cannot wait. aiosqlite runs each SQLite connection in a thread of its own
and every call on it is a round trip to that thread; SQLAlchemy's adapter makes four per
statement (open a cursor, execute, fetch the rows, close the cursor), and each wakes the
event loop from another thread. Here a statement is one function run in that thread, which
does the four and hands back the rows with the cursor's description, row count and last
row id; and a statement that cannot wait for a lock runs that function at once in the
caller's thread (`OneHopConnection` says which). A phone turn runs about forty statements,
and all of them run at once unless another program holds the write lock.

It reaches into private parts of aiosqlite (`Connection._execute`, which queues a function
for the connection's thread, and `Connection._conn`, the sqlite3 connection, as
SQLAlchemy's own adapter reaches `_thread`); `one_hop_dbapi()` returns None when they are
missing, and SQLAlchemy's adapter is used as it is."""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

Outcome = tuple[Any, int, int | None, list[Any]]
BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """In the connection's thread: the statement, its rows and what the cursor says."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that holds one statement's outcome; it has no aiosqlite cursor behind it."""

    __slots__ = ("_arraysize", "_outcome")

    def __init__(self, adapt_connection: Any) -> None:  # no cursor to open in the thread
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: Outcome = (None, -1, None, [])
        self._arraysize = 1

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[1]

    @property
    def lastrowid(self) -> Any:
        return self._outcome[2]

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapted = cast(OneHopConnection, self._adapt_connection)
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with adapted._execute_mutex:
            if operation == BEGIN_IMMEDIATE:
                self._outcome = await _take_write_lock(adapted, connection)
                adapted.at_once = True
            elif adapted.at_once:
                self._outcome = _run(connection._conn, operation, parameters, many)
            else:
                self._outcome = await _in_its_thread(connection)(
                    _run, connection._conn, operation, parameters, many
                )
        self._rows = collections.deque(self._outcome[3])


def _in_its_thread(connection: aiosqlite.Connection) -> Callable[..., Awaitable[Outcome]]:
    return cast(Callable[..., Awaitable[Outcome]], connection._execute)


async def _take_write_lock(adapted: OneHopConnection, connection: aiosqlite.Connection) -> Outcome:
    """`BEGIN IMMEDIATE` at once when the write lock is free, the usual case (Switchboard's
    writers take turns before they begin); when another program holds it, in the
    connection's thread, where SQLite's busy handler waits without holding up the loop."""
    raw = connection._conn
    if adapted.patience is None:  # the busy timeout set at connect, read once
        adapted.patience = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    patience = adapted.patience
    raw.execute("PRAGMA busy_timeout=0")
    try:
        return _run(raw, BEGIN_IMMEDIATE, None, False)
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
            raise
    finally:
        raw.execute(f"PRAGMA busy_timeout={patience}")
    return await _in_its_thread(connection)(_run, raw, BEGIN_IMMEDIATE, None, False)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """Statements go to the connection's thread, except in a transaction that runs them
    `at_once`, in the caller's thread, without the round trip there and back: a write
    transaction once `BEGIN IMMEDIATE` has the write lock (nothing up to its end can then
    wait for a lock), and a short read begun with `run_at_once` (a WAL reader waits for no
    one). A commit or rollback always runs at once: in WAL mode neither waits for a lock
    (a commit waits for no reader). `BEGIN IMMEDIATE` runs at once when the lock is free
    and waits for it in the thread otherwise. Only a wait for a lock, or a read long enough
    to hold up the event loop, needs the thread."""

    __slots__ = ("at_once", "patience")
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.at_once = False
        self.patience: int | None = None  # SQLite's busy timeout in ms, once read

    def commit(self) -> None:
        self._end(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._end(sqlite3.Connection.rollback)

    def _end(self, end: Callable[[sqlite3.Connection], None]) -> None:
        self.at_once = False
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            raw = connection._conn
        except ValueError:  # closed: nothing to end
            return
        try:
            end(raw)
        except Exception as error:
            self._handle_exception(error)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        # a write transaction's statements run in the event loop's thread, not the one
        # that opened the connection; they never run at the same time as one in it
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def run_at_once(dbapi_connection: Any) -> None:
    """Run the statements of the transaction about to begin on `dbapi_connection` at once,
    up to its commit or rollback (for a connection of this module; others are left as
    they are)."""
    if isinstance(dbapi_connection, OneHopConnection):
        dbapi_connection.at_once = True


def one_hop_dbapi() -> OneHopDBAPI | None:
    """The adapter for `create_async_engine(..., module=...)`, or None when this version
    of aiosqlite lacks what it needs."""
    if not (hasattr(aiosqlite.Connection, "_execute") and hasattr(aiosqlite.Connection, "_conn")):
        return None
    return OneHopDBAPI(aiosqlite, sqlite3)
