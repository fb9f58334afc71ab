"""Fixtures for real servers: Redis, PostgreSQL, Chromium, and per-test databases.

Servers start once per session on free loopback ports; each test gets clean state (a
flushed Redis, a fresh database). Missing PostgreSQL or Chromium binaries skip the tests
that need them locally, and fail them in CI (`CI` set), where they must be installed."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import redis
from playwright.async_api import Browser, Page
from quart import Quart

from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from gateway.settings import Settings
from server.app import create_app
from tests.support import browser as browser_support
from tests.support.databases import build_schema, temporary_postgres_database
from tests.support.databases import sqlite_url as make_sqlite_url
from tests.support.factories import job_services, make_org
from tests.support.servers import PostgresProcess, RedisProcess, ServerUnavailable


def _unavailable(error: ServerUnavailable) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{error} (required in CI)", pytrace=False)
    pytest.skip(str(error))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the servers they use, so `-m "not postgres"` / `-m "not browser"` work."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if "postgres_server" in fixtures or params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)
        if "browser" in fixtures or "page" in fixtures:
            item.add_marker(pytest.mark.browser)


# --- Redis ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (`redis://127.0.0.1:PORT/0`) of a Redis server shared by the session."""
    try:
        server = RedisProcess(directory=tmp_path_factory.mktemp("redis"))
    except ServerUnavailable as error:
        _unavailable(error)
    server.start()
    yield server.url
    server.close()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session Redis, emptied before the test."""
    client = redis.Redis.from_url(redis_server)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server


@pytest.fixture
def restartable_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of the test's own, which it may `restart()` (losing all data)."""
    try:
        server = RedisProcess(directory=tmp_path / "redis")
    except ServerUnavailable as error:
        _unavailable(error)
    server.start()
    yield server
    server.close()


# --- Databases ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """SQLAlchemy URL of the `postgres` database on a session-wide PostgreSQL server."""
    try:
        server = PostgresProcess()
    except ServerUnavailable as error:
        _unavailable(error)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh, empty SQLite file."""
    return make_sqlite_url(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh, empty database: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield make_sqlite_url(tmp_path)
        return
    server_url = request.getfixturevalue("postgres_server")
    async with temporary_postgres_database(server_url) as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A `Database` on a fresh database whose schema the migrations built."""
    await build_schema(database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


# --- Browser ----------------------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless system Chromium (Playwright async API)."""
    try:
        browser_support.find_chromium()
    except ServerUnavailable as error:
        _unavailable(error)
    async with browser_support.launch_browser() as launched:
        yield launched


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A new page in a fresh browser context."""
    context = await browser.new_context()
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    """test-artifacts/screenshots/ under the repository root."""
    return browser_support.screenshots_dir()


# --- Core services and rows ----------------------------------------------------------------


@pytest.fixture
async def services(db: Database, redis_url: str) -> AsyncIterator[Services]:
    """The services a worker builds (database, real Redis queues and events, channels)."""
    async with job_services(db, redis_url) as built:
        yield built


@pytest.fixture
async def org(db: Database) -> Organization:
    return await make_org(db, "acme")


@pytest.fixture
async def other_org(db: Database) -> Organization:
    return await make_org(db, "globex")


@pytest.fixture
async def app(services: Services, tmp_path) -> AsyncIterator[Quart]:
    settings = Settings(
        database_url=services.db.url,
        redis_url=services.settings.redis_url,
        secret_key="test-secret",
        var_dir=tmp_path,
    )
    application = create_app(settings)
    async with application.test_app():
        yield application
