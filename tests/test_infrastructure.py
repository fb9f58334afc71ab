"""The test servers themselves: Redis, PostgreSQL, the per-test databases and Chromium."""

from __future__ import annotations

import socket
from pathlib import Path

import redis
from playwright.async_api import Browser
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.db import Database
from tests.support.ports import free_port
from tests.support.servers import RedisProcess


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_redis_answers_ping(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping() is True
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
    finally:
        client.close()


def test_redis_url_starts_empty(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.dbsize() == 0
    finally:
        client.close()


def test_redis_restart_loses_data(restartable_redis: RedisProcess) -> None:
    port = restartable_redis.port
    client = redis.Redis.from_url(restartable_redis.url)
    try:
        client.set("deadline", "soon")
        assert client.get("deadline") == b"soon"
        restartable_redis.restart()
        assert restartable_redis.port == port
        assert client.ping() is True
        assert client.get("deadline") is None
    finally:
        client.close()


async def test_postgres_select_one(postgres_server: str) -> None:
    engine = create_async_engine(postgres_server)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("select 1"))).scalar_one() == 1
            version = (await conn.execute(text("show server_version"))).scalar_one()
            assert version
    finally:
        await engine.dispose()


async def test_db_has_the_schema(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert "organizations" in tables
    assert "conversations" in tables


async def test_each_test_gets_an_empty_database(db: Database) -> None:
    async with db.engine.connect() as conn:
        count = (await conn.execute(text("select count(*) from organizations"))).scalar_one()
    assert count == 0


def test_sqlite_url_is_a_fresh_file(sqlite_url: str, tmp_path: Path) -> None:
    assert sqlite_url.startswith("sqlite+aiosqlite:///")
    assert sqlite_url.endswith(".db")
    assert not Path(sqlite_url.split("///", 1)[1]).exists()


async def test_chromium_reads_a_data_url(browser: Browser, screenshots_dir: Path) -> None:
    page = await browser.new_page()
    try:
        await page.goto("data:text/html,<title>Switchboard test</title><h1>ready</h1>")
        assert await page.title() == "Switchboard test"
        assert await page.text_content("h1") == "ready"
        shot = screenshots_dir / "infrastructure-data-url.png"
        await page.screenshot(path=str(shot))
        assert shot.stat().st_size > 0
    finally:
        await page.close()
