"""Database access: one async engine per process and event loop, and a `transaction()`
context that commits, then runs the actions registered with `after_commit` (enqueueing
jobs, publishing events): nothing leaves the process before the rows it refers to exist.

SQLite is the embedded default. It runs in WAL mode and every transaction starts with
`BEGIN IMMEDIATE`, so a read lock never has to be upgraded (which fails at once); a
session from `read()` only reads, with a plain BEGIN beside the writer, and waits for no
one. Within a process, SQLite transactions also take turns on an asyncio lock: waiters
queue in order instead of sleeping in SQLite's busy handler, whose back-off (sleeps growing
to 100 ms) ruins latency under load. Across processes (several gateway workers, the job
worker) the turn is a lock on a file beside the database, which a waiting process gets the
moment it is free; the busy timeout stays as the backstop for any other program writing
the file."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from redis.exceptions import RedisError
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.pool import NullPool

from gateway.models import Base
from gateway.sqlite_checkpoints import Checkpointer
from gateway.sqlite_driver import BEGIN_IMMEDIATE, OneHopDBAPI, one_hop_dbapi, run_at_once

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[object] | None]
_AFTER_COMMIT = "switchboard.after_commit"
_READ_ONLY = "switchboard_read_only"
_QUICK = "switchboard_quick"


class ReadSession(Session):
    """The sessions of `Database.read()`: their own class, so the checks below run for
    them alone (a `do_orm_execute` listener on every session would cost each statement
    of the process an extra object)."""


@event.listens_for(ReadSession, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    if not state.is_select:
        raise RuntimeError("a session from Database.read() only reads")


@event.listens_for(ReadSession, "before_flush")
def _refuse_flushes(_session: Session, *_args: object) -> None:
    raise RuntimeError("a session from Database.read() only reads")


def _configure_sqlite(engine: AsyncEngine, *, background_checkpoints: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if background_checkpoints:  # see gateway.sqlite_checkpoints
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if not options.get(_READ_ONLY):
            connection.exec_driver_sql(BEGIN_IMMEDIATE)
            return
        if options.get(_QUICK):
            run_at_once(connection.connection.dbapi_connection)
        connection.exec_driver_sql("BEGIN")


PING_AFTER_IDLE = 5.0  # seconds
_IDLE_SINCE = "switchboard.idle_since"


def _ping_when_idle(engine: AsyncEngine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return  # new, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError("the connection was cut while idle") from error
            raise


@dataclass(frozen=True, slots=True)
class PoolSize:
    """How many connections one engine keeps and may add, and how long a checkout waits."""

    size: int = 10
    overflow: int = 20
    timeout: float = 30.0


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pooled: bool = True,
    pool: PoolSize = PoolSize(),
    background_checkpoints: bool = False,
) -> AsyncEngine:
    # The connection checked in last goes out first: under light traffic one connection
    # does the work and stays warm, instead of each taking its turn and idling long enough
    # to be pinged before use (`_ping_when_idle`); the rest wait for a burst.
    sizes: dict[str, Any] = {
        "pool_size": pool.size,
        "max_overflow": pool.overflow,
        "pool_timeout": pool.timeout,
        "pool_use_lifo": True,
    }
    if url.startswith("sqlite"):
        database = _sqlite_file(url)
        in_memory = database is None
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
        # a SQLite file keeps SQLAlchemy's pool either way (a connection is cheap to keep);
        # an in-memory database is one per connection, so its own pool class stays
        driver = one_hop_dbapi()
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30},
            **({} if driver is None else {"module": driver}),
            **({} if in_memory else sizes),
        )
        _configure_sqlite(engine, background_checkpoints=background_checkpoints)
        return engine
    if not pooled:
        return create_async_engine(url, echo=echo, poolclass=NullPool)
    engine = create_async_engine(url, echo=echo, **sizes)
    _ping_when_idle(engine)
    return engine


class _Turns:
    """An asyncio lock that the task holding it may enter again (a transaction opened
    inside another one on the same task must not wait for itself), and with it, when given
    a path, an exclusive lock on that file for the other processes."""

    def __init__(self, lock_path: Path | None) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0
        self._lock_path = lock_path
        self._file: int | None = None

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            self._depth += 1
            return
        await self._lock.acquire()
        try:
            await self._lock_file()
        except BaseException:
            self._lock.release()
            raise
        self._owner, self._depth = task, 1

    async def __aexit__(self, *_exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._lock.release()

    def close(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None

    async def _lock_file(self) -> None:
        if self._lock_path is None:
            return
        if self._file is None:
            self._file = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        file = self._file
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass  # another process's turn: wait for it in a thread
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, file, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # the thread still gets the lock: give it back as soon as it does
            def give_back(done: asyncio.Future[None]) -> None:
                if not done.cancelled() and done.exception() is None:
                    fcntl.flock(file, fcntl.LOCK_UN)

            waiting.add_done_callback(give_back)
            raise


def _sqlite_file(url: str) -> Path | None:
    """The database file a SQLite URL names (none for an in-memory database)."""
    path = url.split("///", 1)[-1]
    return None if path in ("", ":memory:") else Path(path)


def _lock_file_of(url: str) -> Path | None:
    """The file SQLite's writers take turns on, beside the database."""
    database = _sqlite_file(url)
    return None if database is None else database.with_name(database.name + ".turns")


class Database:
    """An engine and its session factory; create one per event loop. A long-lived process
    asks for `background_checkpoints`: on a SQLite file, its commits then never wait for a
    checkpoint (`gateway.sqlite_checkpoints`)."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pooled: bool = True,
        pool: PoolSize = PoolSize(),
        background_checkpoints: bool = False,
    ) -> None:
        self.url = url
        database = _sqlite_file(url) if url.startswith("sqlite") else None
        self.checkpointer = (
            Checkpointer(database) if background_checkpoints and database is not None else None
        )
        self.engine = make_engine(
            url,
            echo=echo,
            pooled=pooled,
            pool=pool,
            background_checkpoints=self.checkpointer is not None,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readers = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=ReadSession
        )
        self._turns: _Turns | contextlib.nullcontext[None] = (
            _Turns(_lock_file_of(url)) if self.dialect == "sqlite" else contextlib.nullcontext()
        )
        self._ends_at_once = isinstance(self.engine.dialect.loaded_dbapi, OneHopDBAPI)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error, and
        then the session's after-commit actions run in order."""
        async with self._turns, self._closing(self.sessions()) as session:
            async with session.begin():
                yield session
            actions: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
        await run_after_commit(actions)

    @asynccontextmanager
    async def read(self, *, quick: bool = False) -> AsyncIterator[AsyncSession]:
        """A session that only reads, in one transaction (one snapshot), committing nothing.
        On SQLite it takes neither the writers' turn nor the write lock: WAL lets it read
        beside a writer, so it never waits for one. Anything it would write is refused.
        A `quick` read (a few rows by key, on a request's path) runs its statements in the
        event loop's thread on SQLite (`gateway.sqlite_driver`): no round trips, but a long
        one would hold up the whole process meanwhile. On PostgreSQL it runs without a
        transaction: at READ COMMITTED each statement reads its own snapshot anyway, so
        `BEGIN` and `ROLLBACK` would only add two round trips."""
        options: dict[str, object] = {_READ_ONLY: True, _QUICK: quick}
        if quick and self.dialect == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        async with self._closing(self._readers()) as session:  # closing ends the transaction
            await session.connection(execution_options=options)
            yield session

    @asynccontextmanager
    async def _closing(self, session: AsyncSession) -> AsyncIterator[AsyncSession]:
        """`session`, closed on the way out. SQLAlchemy's own exit closes a session in a
        task of its own, shielded from the caller's cancellation, which costs the event
        loop two turns: a request waiting on the line lets other work in there. Through
        `gateway.sqlite_driver` a close never suspends (its rollback runs at once), so
        nothing can cancel it partway and it is awaited directly."""
        if not self._ends_at_once:
            async with session:
                yield session
            return
        try:
            yield session
        finally:
            await session.close()

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """The driver's own connection (asyncpg's on PostgreSQL), from the pool and outside
        any transaction, so each statement commits on its own: for a hot path whose whole
        transaction is one statement (`gateway.intake_statement`). PostgreSQL only."""
        async with self.engine.connect() as connection:
            driver: Any = (await connection.get_raw_connection()).driver_connection
            try:
                yield driver
            except BaseException:
                if driver.is_closed():  # lost: not back to the pool for the next one
                    await connection.invalidate()
                raise

    async def create_all(self) -> None:
        """Create the tables directly (tests and benchmarks; deployments run migrations)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def dispose(self) -> None:
        if self.checkpointer is not None:
            await asyncio.to_thread(self.checkpointer.stop)
        await self.engine.dispose()
        if isinstance(self._turns, _Turns):
            self._turns.close()


def after_commit(session: AsyncSession, action: AfterCommit, *, first: bool = False) -> None:
    """Run `action` once the session's transaction has committed (never if it rolls back),
    after the actions added before it, or with `first` before them (work someone waits
    for, which should not wait on a live event's trip to Redis)."""
    actions = session.info.setdefault(_AFTER_COMMIT, [])
    if first:
        actions.insert(0, action)
    else:
        actions.append(action)


async def run_after_commit(actions: Sequence[AfterCommit]) -> None:
    """Run committed work's follow-ups in order."""
    for action in actions:
        try:
            result = action()
            if result is not None:
                await result
        except (RedisError, OSError) as error:
            # The transaction is committed, so nothing is lost: the reconciler redoes
            # what Redis missed (routing, sends, deadlines). Failing the request now
            # would make a provider give up on a message that is already stored.
            log.warning(
                "committed, but a follow-up could not reach Redis (%s); the reconciler "
                "will redo it",
                error,
            )


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


@functools.cache
def conflict_insert(
    dialect: str, table: Table, conflict_columns: tuple[str, ...], returning: tuple[str, ...]
) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING `returning` for `table`, built once: its
    values come as parameters (one row, or a list of rows for one many-row INSERT), so each
    call skips building and keying a new statement."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*(table.c[name] for name in returning))
    )


async def insert_ignoring_conflict(
    session: AsyncSession,
    model: type[Base],
    values: Mapping[str, Any],
    conflict_columns: Sequence[str],
) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new row's id, or None when a row
    with the same unique key already exists. Safe under concurrent callers."""
    statement = conflict_insert(
        dialect_of(session), cast(Table, model.__table__), tuple(conflict_columns), ("id",)
    )
    row = (await session.execute(statement, dict(values))).first()
    return None if row is None else int(row[0])
