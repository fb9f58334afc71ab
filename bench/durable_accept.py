"""The floor under a webhook that never loses a message: the least a gateway must do before
answering 200. It verifies the `X-Twilio-Signature` with the `twilio` library, INSERTs the
raw form in one table, commits, and enqueues one RQ job, on the same database engine
(`gateway.db.Database`, so SQLite's `BEGIN IMMEDIATE` and WAL too) and the same Redis as
the gateway. `bench/twilio_webhooks.py` serves it with hypercorn beside the real gateway,
so the ratio of the two says what the conversation model costs on top of durability.

Configured by the gateway's own `SWITCHBOARD_*` settings, plus the account's auth token in
`BENCH_TWILIO_AUTH_TOKEN`. The table is made by `create_table` before the servers start."""

from __future__ import annotations

import asyncio
import os

from quart import Quart, request
from quart.typing import ResponseReturnValue
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, func, insert, select
from twilio.request_validator import RequestValidator

from gateway.db import Database
from gateway.settings import load_settings

TOKEN_VARIABLE = "BENCH_TWILIO_AUTH_TOKEN"
QUEUE = "bench-durable-accept"
JOB = "bench.durable_accept.handle"  # never run: the floor only queues it
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

metadata = MetaData()
raw_messages = Table(
    "bench_raw_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sid", String(64), nullable=False, unique=True),
    Column("form", Text, nullable=False),
)

app = Quart(__name__)


async def create_table(database_url: str) -> None:
    db = Database(database_url, pooled=False)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    finally:
        await db.dispose()


async def stored_count(database_url: str) -> int:
    db = Database(database_url, pooled=False)
    try:
        async with db.engine.connect() as connection:
            return int(
                (await connection.execute(select(func.count()).select_from(raw_messages))).scalar()
                or 0
            )
    finally:
        await db.dispose()


@app.before_serving
async def start() -> None:
    settings = load_settings()
    app.config["db"] = Database(settings.resolved_database_url)
    app.config["queue"] = Queue(
        QUEUE, connection=Redis.from_url(settings.require_redis_url()), serializer=JSONSerializer
    )
    app.config["validator"] = RequestValidator(os.environ[TOKEN_VARIABLE])
    app.config["url"] = settings.resolved_public_url + "/twilio/sms"


@app.after_serving
async def stop() -> None:
    await app.config["db"].dispose()


@app.post("/twilio/sms")
async def accept() -> ResponseReturnValue:
    form = await request.form
    signature = request.headers.get("X-Twilio-Signature", "")
    if not app.config["validator"].validate(app.config["url"], form.to_dict(), signature):
        return "forged", 403
    async with app.config["db"].transaction() as session:
        row = await session.execute(
            insert(raw_messages).values(
                sid=form["MessageSid"], form=(await request.get_data(as_text=True))
            )
        )
        row_id = row.inserted_primary_key[0]
    await asyncio.to_thread(app.config["queue"].enqueue, JOB, row_id)
    return EMPTY_TWIML, 200, {"Content-Type": "text/xml; charset=utf-8"}
