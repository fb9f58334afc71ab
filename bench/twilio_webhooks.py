"""Twilio webhooks: signed incoming messages per second through a running gateway
(`server.asgi:app` served by Hypercorn with 1, then 2 workers as `switchboard serve
--workers N` serves it, each worker on a socket of its own; a real Redis, a migrated database),
against a bare endpoint that returns empty TwiML (`bench.twilio_webhooks:bare_app`) served
by the same hypercorn command in the same run. Each gateway request is a new message with
a valid `X-Twilio-Signature` computed by the `twilio` library's `RequestValidator` over
the public URL: it is verified, stored through intake and answered with empty TwiML (no
worker runs in this part; routing jobs just queue up). A third mode is the floor of never
losing a message (`bench.durable_accept:app`): the signature verified, one INSERT of the
raw form, a commit and one RQ enqueue, on the same database and Redis. The three modes
alternate in rounds; the signed webhook is reported against both the bare endpoint and the
floor, so the second ratio says what the conversation model costs on top of durability.

Then, with a worker process running and a loopback Twilio API (tests.support.fake_twilio)
answering the REST calls, the latency from posting an incoming message to Twilio receiving
the outgoing REST call, without the AI: a HELP keyword, answered with the organization's
help text (webhook → intake → delivery job → the `twilio` library's REST call). With
`--ai-replies N` the same figure for ordinary questions answered by the offline AI, for
comparison.

    .venv/bin/python -m bench.twilio_webhooks [--requests 2000] [--concurrency 16]
    .venv/bin/python -m bench.twilio_webhooks --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from quart import Quart, request
from quart.typing import ResponseReturnValue
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bench import durable_accept
from bench.durable_accept import TOKEN_VARIABLE, create_table
from bench.processes import cpu_seconds, gateway_env, hypercorn, wait_healthy, worker
from bench.services import settle
from bench.support import (
    TIMES,
    Run,
    add_database_options,
    bench_servers,
    combine,
    new_parser,
    print_report,
    round_sizes,
    run,
)
from gateway.db import Database
from gateway.models import Message
from gateway.organizations import create_organization
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from messaging.twilio.numbers import add_number
from tests.support.fake_twilio import FakeTwilio

PUBLIC_URL = "https://bench.switchboard.test"
INBOUND_URL = PUBLIC_URL + "/twilio/sms"
BUSINESS = "+15550001111"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
PORT_TIMEOUT = 60.0

bare_app = Quart(__name__)


@bare_app.post("/twilio/sms")
async def bare() -> ResponseReturnValue:
    await request.get_data()
    return EMPTY_TWIML, 200, {"Content-Type": "text/xml; charset=utf-8"}


# --- requests --------------------------------------------------------------------------


class Signer:
    """Builds signed webhook bodies like Twilio's, for one account."""

    def __init__(self, account_sid: str, token: str) -> None:
        self.account_sid = account_sid
        self.token = token
        self.validator = RequestValidator(token)
        self.count = 0

    def body(self, sender: str, text: str) -> tuple[bytes, str]:
        self.count += 1
        sid = f"SM{secrets.token_hex(16)}"
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": text,
            "FromCountry": "US",
            "To": BUSINESS,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": sender,
            "ApiVersion": "2010-04-01",
        }
        signature = self.validator.compute_signature(INBOUND_URL, params)
        return urlencode(params).encode(), signature


def customer(number: int) -> str:
    return f"+1555{2000000 + number:07d}"


async def post(session: aiohttp.ClientSession, port: int, body: bytes, signature: str) -> None:
    async with session.post(
        f"http://127.0.0.1:{port}/twilio/sms",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    ) as response:
        text = await response.text()
        if response.status != 200 or text != EMPTY_TWIML:
            raise RuntimeError(f"the webhook answered {response.status}: {text[:300]}")


async def measure(
    mode: str, port: int, bodies: Sequence[tuple[bytes, str]], concurrency: int
) -> Run:
    """All bodies posted by `concurrency` tasks, each sending its next once answered."""
    latencies: list[float] = []
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def sender(session: aiohttp.ClientSession) -> None:
        for body, signature in queue:
            started = time.perf_counter()
            await post(session, port, body, signature)
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(sender(session))
        return Run(mode, latencies, time.perf_counter() - started)


# --- servers -----------------------------------------------------------------------------


async def seed(database_url: str, account_sid: str, token: str) -> None:
    db = Database(database_url, pooled=False)
    try:
        org = await create_organization(db, "bench", "Bench Outfitters")
        await load_knowledge(db, org.id, demo_knowledge_paths())
        await add_number(db, org.id, BUSINESS, account_sid, token)
    finally:
        await db.dispose()


async def stored_count(database_url: str) -> int:
    db = Database(database_url, pooled=False)
    try:
        async with db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(Message)) or 0)
    finally:
        await db.dispose()


# --- the two parts -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Throughput:
    workers: int
    bare: Run
    floor: Run
    gateway: Run
    cpu_ms: dict[str, float]  # mode -> the server's CPU milliseconds per request


async def throughput(
    args: argparse.Namespace, workers: int, env: dict[str, str], workdir: Path, signer: Signer
) -> Throughput:
    log = workdir / f"gateway-{workers}.log"
    rounds: dict[str, list[Run]] = {"bare": [], "floor": [], "gateway": []}
    cpu: dict[str, float] = {"bare": 0.0, "floor": 0.0, "gateway": 0.0}
    floor_env = {**env, TOKEN_VARIABLE: signer.token}
    with (
        hypercorn(
            "bench.twilio_webhooks:bare_app", env, workdir / "bare.log", workers, PORT_TIMEOUT
        ) as bare,
        hypercorn(
            "bench.durable_accept:app", floor_env, workdir / "floor.log", workers, PORT_TIMEOUT
        ) as floor,
        hypercorn("server.asgi:app", env, log, workers, PORT_TIMEOUT) as gateway,
    ):
        await wait_healthy(gateway, log)
        ports = {"bare": bare, "floor": floor, "gateway": gateway}
        labels = {
            "bare": "bare TwiML endpoint",
            "floor": "durable accept (floor)",
            "gateway": "signed webhook",
        }

        def bodies(count: int) -> list[tuple[bytes, str]]:
            start = signer.count
            return [signer.body(customer((start + n) % 200), "Hi") for n in range(count)]

        for port in ports.values():
            await measure("warm-up", port, bodies(args.warmup), args.concurrency)
        for size in round_sizes(args.requests, args.rounds):
            for mode, port in ports.items():
                label = f"{labels[mode]} ({workers}w)"
                before = cpu_seconds(port)
                rounds[mode].append(await measure(label, port, bodies(size), args.concurrency))
                cpu[mode] += cpu_seconds(port) - before
    runs = {mode: combine(runs) for mode, runs in rounds.items()}
    cpu_ms = {mode: 1000 * cpu[mode] / runs[mode].count for mode in runs}
    return Throughput(workers, runs["bare"], runs["floor"], runs["gateway"], cpu_ms)


async def round_trips(
    port: int, fake: FakeTwilio, signer: Signer, text: str, count: int, warmup: int, label: str
) -> tuple[Run, Run]:
    """One message at a time, each from a new customer: (webhook answer, REST call at
    Twilio) latencies, both counted from the moment the webhook was posted."""
    acks: list[float] = []
    outs: list[float] = []
    async with aiohttp.ClientSession() as session:
        started_all = time.perf_counter()
        for number in range(warmup + count):
            before = len(fake.messages())
            body, signature = signer.body(customer(10_000 + signer.count), text)
            started, started_mono = time.perf_counter(), time.monotonic()
            await post(session, port, body, signature)
            acked = time.perf_counter()
            timeout = 120.0 if number == 0 else 30.0  # the first waits for the worker to start
            [sent] = (await asyncio.to_thread(fake.wait_for, before + 1, timeout))[before:]
            if number == warmup - 1:
                started_all = time.perf_counter()
            if number >= warmup:
                acks.append(acked - started)
                outs.append(sent.at - started_mono)
        seconds = time.perf_counter() - started_all
    return Run(f"webhook answer ({label})", acks, seconds), Run(
        f"REST call at Twilio ({label})", outs, seconds
    )


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    account_sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    signer = Signer(account_sid, token)
    results: list[Throughput] = []
    latency: list[tuple[Run, Run]] = []
    async with bench_servers(args, workdir) as (redis_url, database):
        await seed(database.url, account_sid, token)
        await create_table(database.url)
        env = gateway_env(database.url, redis_url, workdir / "var")
        env["SWITCHBOARD_PUBLIC_URL"] = PUBLIC_URL
        for workers in args.workers:
            results.append(await throughput(args, workers, env, workdir, signer))
        accepted = len(args.workers) * (args.warmup + args.requests)  # the gateway's share
        stored = await stored_count(database.url)
        if stored != accepted:
            raise RuntimeError(f"{accepted} webhooks accepted but {stored} messages stored")
        floor_stored = await durable_accept.stored_count(database.url)
        if floor_stored != accepted:
            raise RuntimeError(f"the floor accepted {accepted} but stored {floor_stored}")
        if args.round_trips:
            await settle(database.url, redis_url)
            fake = FakeTwilio().start()
            fake.add_account(account_sid, token)
            env["SWITCHBOARD_TWILIO_API_BASE_URL"] = fake.base_url
            log = workdir / "gateway-latency.log"
            try:
                with (
                    hypercorn("server.asgi:app", env, log, 1, PORT_TIMEOUT) as port,
                    worker(env, workdir / "worker.log"),
                ):
                    await wait_healthy(port, log)
                    latency.append(
                        await round_trips(
                            port, fake, signer, "HELP", args.round_trips, 3, "HELP, no AI"
                        )
                    )
                    if args.ai_replies:
                        latency.append(
                            await round_trips(
                                port,
                                fake,
                                signer,
                                "What are your opening hours?",
                                args.ai_replies,
                                3,
                                "offline AI",
                            )
                        )
            finally:
                fake.stop()
    report(args, database.label, results, latency)


def report(
    args: argparse.Namespace,
    label: str,
    results: list[Throughput],
    latency: list[tuple[Run, Run]],
) -> None:
    ratios = [
        f"hypercorn {r.workers} worker(s): signed webhooks = {r.gateway.rate / r.bare.rate:.2f} "
        f"{TIMES} bare TwiML endpoint ({r.gateway.rate:.0f} vs {r.bare.rate:.0f} req/s); "
        f"p50 {r.gateway.p50_ms:.1f} ms = {r.gateway.p50_ms / r.bare.p50_ms:.1f} {TIMES}, "
        f"p99 {r.gateway.p99_ms:.1f} ms = {r.gateway.p99_ms / r.bare.p99_ms:.1f} {TIMES}\n"
        f"  = {r.gateway.rate / r.floor.rate:.2f} {TIMES} the durable accept "
        f"({r.floor.rate:.0f} req/s, itself {r.floor.rate / r.bare.rate:.2f} {TIMES} bare)\n"
        f"  the server's CPU per request: {r.cpu_ms['gateway']:.2f} ms = "
        f"{r.cpu_ms['gateway'] / r.cpu_ms['bare']:.1f} {TIMES} bare ({r.cpu_ms['bare']:.2f} ms), "
        f"{r.cpu_ms['gateway'] / r.cpu_ms['floor']:.2f} {TIMES} the durable accept "
        f"({r.cpu_ms['floor']:.2f} ms)"
        for r in results
    ]
    print_report(
        f"{args.requests} signed webhooks per mode from {args.concurrency} concurrent "
        f"connections (each waits for its answer), {args.rounds} alternating rounds, "
        f"{label}, real Redis, no job worker",
        [run for r in results for run in (r.bare, r.floor, r.gateway)],
        "\n\n".join(ratios),  # a blank line between worker counts
        count_label="requests",
    )
    for ack, out in latency:
        print_report(
            f"{out.count} messages one at a time, worker running, {label}",
            [ack, out],
            f"{out.mode}: p50 {out.p50_ms:.0f} ms, p99 {out.p99_ms:.0f} ms from the webhook "
            f"= {out.p50_ms / ack.p50_ms:.1f} {TIMES} the webhook's answer (p50)",
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = new_parser(__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per mode")
    parser.add_argument("--concurrency", type=int, default=16, help="connections at once")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per mode")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the two modes")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="hypercorn worker counts"
    )
    parser.add_argument(
        "--round-trips", type=int, default=30, help="HELP messages for the latency (0: skip)"
    )
    parser.add_argument(
        "--ai-replies", type=int, default=15, help="questions for the AI comparison (0: skip)"
    )
    add_database_options(parser)
    args = parser.parse_args(argv)
    if min(args.concurrency, args.rounds, *args.workers) < 1:
        parser.error("--concurrency, --rounds and --workers must be at least 1")
    if args.requests < args.rounds or min(args.warmup, args.round_trips, args.ai_replies) < 0:
        parser.error("--requests must be at least --rounds, and no count may be negative")
    return args


if __name__ == "__main__":
    run(benchmark, parse_args())
