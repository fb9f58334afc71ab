"""Voice: the time a caller's turn adds on top of the AI's own time, and the time to the
first TwiML of a call, through a running gateway (`hypercorn server.asgi:app`, one
worker) with a job worker, a real Redis and a migrated database, against a bare TwiML
endpoint (`bench.voice_turns:bare_app`, the same hypercorn command) in the same run.

First TwiML: a signed incoming-call webhook for a new CallSid each time (verify, intake of
the "call started" line, the call row, the greeting) against the bare endpoint answering a
fixed greeting. Turn overhead: each call says one question; the figure is the time from
posting the turn to the TwiML that speaks the reply, minus the AI's own time. With the
loopback model (tests.support.fake_llm, answering after a fixed `--model-delay`) the AI's
own time is the model's, from the request's arrival to its answer as the model measures it
(the delay, and its own parsing and timer); with the offline responder it is the
responder's time for the same question, measured in this process on the same database.
What remains is Switchboard's: intake, routing and the AI's turn in the gateway (with the
policy's checks), the version-checked claim and the remembered answer. A machine also
answers slower after idling (cold caches, a virtual processor given back): the model's
turns alternate with rounds of the bare endpoint each after the model's delay of idle,
and the model's overhead is printed against that. The same machine can run at half its
speed an hour later, so the run ends with how long a fixed piece of pure Python took
before and after it.

    .venv/bin/python -m bench.voice_turns [--calls 60] [--model-delay 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from quart import Quart, request
from quart.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator

from bench.processes import gateway_env, hypercorn, wait_healthy, worker
from bench.support import (
    TIMES,
    Run,
    add_database_options,
    bench_servers,
    combine,
    latency_ratio,
    new_parser,
    print_report,
    processor_ms,
    round_sizes,
    run,
)
from gateway.db import Database
from gateway.organizations import create_organization
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from handoff.ai.offline_responder import OfflineResponder
from handoff.ai.responder import ResponderRequest, Turn
from messaging.twilio.numbers import add_number
from tests.support.fake_llm import FakeLLM

PUBLIC_URL = "https://bench.switchboard.test"
BUSINESS = "+15550001111"
QUESTION = "How long does shipping take?"
GREETING = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="speech dtmf" '
    'action="https://bench.switchboard.test/twilio/voice/turn?c=1&amp;n=1" method="POST" '
    'speechTimeout="auto" speechModel="phone_call" actionOnEmptyResult="true"><Say>Thanks for '
    "calling. How can I help you today?</Say></Gather></Response>"
)
PORT_TIMEOUT = 60.0

bare_app = Quart(__name__)


@bare_app.post("/twilio/voice")
@bare_app.post("/twilio/voice/turn")
async def bare() -> ResponseReturnValue:
    await request.get_data()
    return GREETING, 200, {"Content-Type": "text/xml; charset=utf-8"}


class Phone:
    """Signs voice webhooks like Twilio's for one account."""

    def __init__(self, account_sid: str, token: str) -> None:
        self.account_sid = account_sid
        self.validator = RequestValidator(token)
        self.calls = 0

    def form(self, call_sid: str, **extra: str) -> dict[str, str]:
        return {
            "CallSid": call_sid,
            "AccountSid": self.account_sid,
            "From": f"+1555{3000000 + self.calls:07d}",
            "To": BUSINESS,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    async def post(
        self, session: aiohttp.ClientSession, port: int, url: str, form: dict[str, str]
    ) -> str:
        signature = self.validator.compute_signature(url, form)
        path = url.removeprefix(PUBLIC_URL)
        async with session.post(
            f"http://127.0.0.1:{port}{path}",
            data=urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        ) as response:
            text = await response.text()
            if response.status != 200 or "<Response" not in text:
                raise RuntimeError(f"{path} answered {response.status}: {text[:300]}")
            return text


def _gather_action(document: str) -> str:
    start = document.index('action="') + len('action="')
    return document[start : document.index('"', start)].replace("&amp;", "&")


def _redirect(document: str) -> str:
    start = document.index('<Redirect method="POST">') + len('<Redirect method="POST">')
    return document[start : document.index("</Redirect>", start)].replace("&amp;", "&")


async def first_twiml(phone: Phone, port: int, count: int, mode: str, idle: float = 0.0) -> Run:
    """`count` incoming calls one after the other, each after `idle` seconds of quiet (not
    counted): the latency of the first TwiML."""
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:
        started_all = time.perf_counter()
        for _ in range(count):
            if idle:
                await asyncio.sleep(idle)
            phone.calls += 1
            form = phone.form("CA" + secrets.token_hex(16), CallStatus="ringing")
            started = time.perf_counter()
            await phone.post(session, port, PUBLIC_URL + "/twilio/voice", form)
            latencies.append(time.perf_counter() - started)
        return Run(mode, latencies, time.perf_counter() - started_all)


async def turns(phone: Phone, port: int, count: int, mode: str) -> Run:
    """`count` calls, each saying QUESTION once: the turn's latency."""
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:
        started_all = time.perf_counter()
        for _ in range(count):
            phone.calls += 1
            sid = "CA" + secrets.token_hex(16)
            greeting = await phone.post(
                session, port, PUBLIC_URL + "/twilio/voice", phone.form(sid)
            )
            form = phone.form(sid, SpeechResult=QUESTION, Confidence="0.92")
            started = time.perf_counter()
            answer = await phone.post(session, port, _gather_action(greeting), form)
            while "<Redirect" in answer:  # not ready in the turn's budget: wait as Twilio would
                answer = await phone.post(session, port, _redirect(answer), phone.form(sid))
            latencies.append(time.perf_counter() - started)
        return Run(f"turn ({mode})", latencies, time.perf_counter() - started_all)


def overhead(turn: Run, ai_seconds: list[float], mode: str) -> Run:
    """Each turn's latency minus the AI's own time for it."""
    overheads = [max(0.0, took - ai) for took, ai in zip(turn.latencies, ai_seconds, strict=True)]
    return Run(f"turn overhead ({mode})", overheads, turn.seconds)


async def offline_times(database_url: str, organization_id: int, count: int) -> list[float]:
    """The offline responder's own time for QUESTION, `count` times, on a connection pool
    as in the gateway (without one, PostgreSQL would add a new connection to each)."""
    db = Database(database_url)
    try:
        responder = OfflineResponder(db, threshold=0.45)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            await responder.respond(
                ResponderRequest(
                    organization_id=organization_id,
                    conversation_id=0,
                    history=(Turn("customer", QUESTION),),
                    business_name="Bench Outfitters",
                )
            )
            times.append(time.perf_counter() - started)
        return times
    finally:
        await db.dispose()


async def seed(database_url: str, account_sid: str, token: str) -> int:
    db = Database(database_url, pooled=False)
    try:
        org = await create_organization(db, "bench", "Bench Outfitters")
        await load_knowledge(db, org.id, demo_knowledge_paths())
        await add_number(db, org.id, BUSINESS, account_sid, token)
        return org.id
    finally:
        await db.dispose()


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    processor_before = processor_ms()
    account_sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    phone = Phone(account_sid, token)
    async with bench_servers(args, workdir) as (redis_url, database):
        organization_id = await seed(database.url, account_sid, token)
        env = gateway_env(database.url, redis_url, workdir / "var")
        env["SWITCHBOARD_PUBLIC_URL"] = PUBLIC_URL
        bare_rounds: list[Run] = []
        first_rounds: list[Run] = []
        with (
            hypercorn("bench.voice_turns:bare_app", env, workdir / "bare.log", 1) as bare,
            hypercorn("server.asgi:app", env, workdir / "gw.log", 1, PORT_TIMEOUT) as port,
        ):
            await wait_healthy(port, workdir / "gw.log")
            await first_twiml(phone, bare, args.warmup, "warm-up")
            await first_twiml(phone, port, args.warmup, "warm-up")
            for size in round_sizes(args.first, args.rounds):
                bare_rounds.append(await first_twiml(phone, bare, size, "bare TwiML endpoint"))
                first_rounds.append(await first_twiml(phone, port, size, "first TwiML of a call"))
            bare_turns: list[Run] = []
            for size in round_sizes(args.calls, args.rounds):
                bare_turns.append(await first_twiml(phone, bare, size, "bare TwiML endpoint"))
            with worker(env, workdir / "worker.log"):
                await turns(phone, port, 3, "warm-up")
                offline = await offline_times(database.url, organization_id, args.calls)
                offline_turn = await turns(phone, port, args.calls, "offline responder")
                offline_overhead = overhead(offline_turn, offline, "offline responder")
        with FakeLLM() as llm:
            for _ in range(args.calls + 3):
                llm.answer_text("Orders ship in one to two business days.", delay=args.model_delay)
            env.update(
                SWITCHBOARD_LLM_BASE_URL=llm.base_url,
                SWITCHBOARD_LLM_MODEL="bench-model",
                SWITCHBOARD_LLM_TIMEOUT_SECONDS="5",
            )
            idle_rounds: list[Run] = []
            model_rounds: list[Run] = []
            model = f"model, {args.model_delay:.2f} s"
            idle_mode = f"bare endpoint after {args.model_delay:.2f} s idle"
            with (
                hypercorn("bench.voice_turns:bare_app", env, workdir / "bare2.log", 1) as bare,
                hypercorn("server.asgi:app", env, workdir / "gw2.log", 1, PORT_TIMEOUT) as port,
                worker(env, workdir / "worker2.log"),
            ):
                await wait_healthy(port, workdir / "gw2.log")
                await turns(phone, port, 3, "warm-up")
                await first_twiml(phone, bare, 3, "warm-up")
                for size in round_sizes(args.calls, args.rounds):
                    idle_rounds.append(
                        await first_twiml(phone, bare, size, idle_mode, idle=args.model_delay)
                    )
                    model_rounds.append(await turns(phone, port, size, model))
                # the model's own time for each turn, as the model measured it (the delay,
                # and the loopback server's own work and timer)
                model_times = llm.answer_times[-args.calls :]
                model_turn = combine(model_rounds)
                model_overhead = overhead(model_turn, model_times, model)
            bare_idle = combine(idle_rounds)
    bare_first, first = combine(bare_rounds), combine(first_rounds)
    bare_turn = combine(bare_turns)
    processor_after = processor_ms()
    print_report(
        f"{args.first} incoming calls per mode, one at a time, {args.rounds} alternating "
        f"rounds, {database.label}, real Redis",
        [bare_first, first],
        f"first TwiML: p50 {first.p50_ms:.1f} ms, p99 {first.p99_ms:.1f} ms (target p99 "
        f"<= 30 ms) = {first.p50_ms / bare_first.p50_ms:.1f} {TIMES} the bare endpoint (p50), "
        f"{first.p99_ms / bare_first.p99_ms:.1f} {TIMES} (p99)",
        count_label="calls",
    )
    ai_offline = sorted(offline)[len(offline) // 2] * 1000
    ai_model = sorted(model_times)[len(model_times) // 2] * 1000
    print_report(
        f"{args.calls} calls, one question each, worker running, {database.label}",
        [bare_turn, offline_turn, offline_overhead, bare_idle, model_turn, model_overhead],
        f"{offline_overhead.mode}: p50 {offline_overhead.p50_ms:.1f} ms, p99 "
        f"{offline_overhead.p99_ms:.1f} ms (target p99 <= 20 ms) = "
        + latency_ratio(offline_overhead, bare_turn, "the bare endpoint", 1),
        f"{model_overhead.mode}: p50 {model_overhead.p50_ms:.1f} ms, p99 "
        f"{model_overhead.p99_ms:.1f} ms (target p99 <= 20 ms) = "
        + latency_ratio(model_overhead, bare_idle, "the bare endpoint after the same idle", 1),
        f"the bare endpoint after {args.model_delay * 1000:.0f} ms idle: p50 "
        f"{bare_idle.p50_ms:.1f} ms, p99 {bare_idle.p99_ms:.1f} ms; one after another: p50 "
        f"{bare_turn.p50_ms:.1f} ms, p99 {bare_turn.p99_ms:.1f} ms (what an answer costs on "
        "this machine after waiting as long as the model, before any of Switchboard's work)",
        f"the offline responder's own time: p50 {ai_offline:.1f} ms; the model's: p50 "
        f"{ai_model:.1f} ms (a delay of {args.model_delay * 1000:.0f} ms)",
        f"this machine: a fixed piece of pure Python took {processor_before:.0f} ms before "
        f"the run and {processor_after:.0f} ms after it",
        count_label="calls",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = new_parser(__doc__)
    parser.add_argument("--first", type=int, default=300, help="incoming calls per mode")
    parser.add_argument("--calls", type=int, default=60, help="turns per AI mode")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured calls per mode")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the modes")
    parser.add_argument(
        "--model-delay", type=float, default=0.3, help="the loopback model's answer time (s)"
    )
    add_database_options(parser)
    args = parser.parse_args(argv)
    if min(args.first, args.calls, args.rounds) < 1 or args.first < args.rounds:
        parser.error("--first, --calls and --rounds must be at least 1, --first >= --rounds")
    return args


if __name__ == "__main__":
    run(benchmark, parse_args())
