"""The fault run as a benchmark anyone can repeat: `switchboard up` on a fresh state folder
(SQLite, the Redis it manages, a loopback Twilio API from tests/support/fake_twilio.py and
a loopback webhook receiver) takes N signed SMS webhooks, 20 % of them repeats of earlier
ones, while its worker, then its Redis, then its gateway are killed with SIGKILL at set
points. Requests nobody answered are sent again after a second, as Twilio does when it
cannot connect; an answer other than 200 is a refusal, which Twilio would not retry.

A worker killed in the middle of sending an SMS leaves a reply nobody can say reached the
customer: Switchboard never sends it twice, but marks it failed and the conversation
"needs attention" for an agent (`gateway.lost_jobs`, after MESSAGE_SENDING_STALE). The run
counts such a reply as accounted for, and reports how many there were.

Printed: accepted, refused and unanswered requests; messages stored, lost and stored twice;
routed; AI replies stored and SMS sent per inbound message, and sends interrupted; webhook
deliveries received (and repeats of one delivery id); the gateway's longest outage, as seen
by a /healthz probe every 50 ms; and the managed Redis's memory and folder per 1,000
messages. The baseline of
the outage is the probe's own interval, measured in the same run before any fault.

    .venv/bin/python -m bench.faults [--messages 1000] [--rate 25] [--no-faults]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from bench.fault_system import Receiver, Up, environment, redis_footprint, set_up_demo
from gateway.db import Database
from gateway.lost_jobs import INTERRUPTED, MESSAGE_SENDING_STALE
from gateway.models import Conversation, Message
from tests.support.fake_twilio import BUSINESS, Account, FakeTwilio, incoming_params, sign
from tests.support.ports import free_port

FAULTS = (("worker", 0.25), ("redis", 0.5), ("gateway", 0.75))
REPEAT_SHARE = 0.2
RESEND_AFTER_SECONDS = 1.0
RESENDS = 30  # Twilio-like re-sends of a request nobody answered
PROBE_SECONDS = 0.05
# One worker handles every message: allow it time for the backlog a burst leaves, and for
# the reconciler to find a send the killed worker left half-done.
SETTLE_SECONDS = MESSAGE_SENDING_STALE.total_seconds() + 60.0
SETTLE_SECONDS_PER_MESSAGE = 0.8
QUESTION = "What are your opening hours?"


@dataclass
class Report:
    requests: int = 0
    unique: int = 0
    accepted: int = 0
    refused: int = 0
    unanswered: int = 0
    resends: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    stored: int = 0
    lost: int = 0
    duplicates: int = 0
    routed: int = 0
    ai_replies: Counter[int] = field(default_factory=Counter)  # replies per inbound → count
    sends_per_inbound: Counter[int] = field(default_factory=Counter)
    interrupted: int = 0  # replies a killed worker left mid-send, flagged for an agent
    unaccounted: int = 0  # accepted messages neither answered by SMS nor flagged
    duplicate_sends: int = 0
    webhook_deliveries: int = 0
    webhook_repeats: int = 0
    webhooks_expected: int = 0
    longest_outage: float = 0.0
    probe_interval: float = 0.0
    redis_bytes: int = 0  # grown during the run
    redis_folder_bytes: int = 0
    faults: list[str] = field(default_factory=list)
    settled: bool = False
    # What the last look before settling (or giving up) saw: routed, answered on SMS and
    # announced by webhook, each out of the accepted messages.
    last_look: tuple[int, int, int] = (0, 0, 0)

    @property
    def zero_lost_and_duplicated(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.duplicate_sends == 0
            and set(self.ai_replies) == {1}
            and self.unaccounted == 0
        )


class Traffic:
    """N signed webhooks, REPEAT_SHARE of them repeats, each from its own customer."""

    def __init__(self, url: str, account: Account, count: int) -> None:
        self.url = url
        self.requests: list[dict[str, str]] = []
        unique: list[dict[str, str]] = []
        for index in range(count):
            if unique and index % round(1 / REPEAT_SHARE) == round(1 / REPEAT_SHARE) - 1:
                self.requests.append(unique[(index * 7) % len(unique)])
                continue
            params = incoming_params(
                account, from_=f"+1555{2000000 + index:07d}", to=BUSINESS, body=QUESTION
            )
            unique.append(params)
            self.requests.append(params)
        self.unique = unique
        self.token = account.token
        self.accepted_sids: set[str] = set()

    async def send(
        self, client: aiohttp.ClientSession, params: dict[str, str], report: Report
    ) -> None:
        headers = {"X-Twilio-Signature": sign(self.token, self.url, params)}
        for attempt in range(RESENDS + 1):
            if attempt:
                report.resends += 1
                await asyncio.sleep(RESEND_AFTER_SECONDS)
            try:
                async with client.post(self.url, data=params, headers=headers) as answer:
                    await answer.read()
                    report.statuses[answer.status] += 1
                    if answer.status == 200:
                        report.accepted += 1
                        self.accepted_sids.add(params["MessageSid"])
                    else:
                        report.refused += 1
                    return
            except (aiohttp.ClientError, TimeoutError, OSError):
                continue
        report.unanswered += 1


async def probe(url: str, stop: asyncio.Event, report: Report, measuring: asyncio.Event) -> None:
    """GET /healthz every PROBE_SECONDS; the longest gap between good answers."""
    last_good = time.monotonic()
    intervals: list[float] = []
    timeout = aiohttp.ClientTimeout(total=1)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                async with client.get(f"{url}/healthz") as answer:
                    await answer.read()
                    good = True  # it answered (its Redis check may fail meanwhile)
            except (aiohttp.ClientError, TimeoutError, OSError):
                good = False
            now = time.monotonic()
            if good:
                if measuring.is_set():
                    report.longest_outage = max(report.longest_outage, now - last_good)
                else:
                    intervals.append(now - last_good)
                last_good = now
            await asyncio.sleep(max(0.0, PROBE_SECONDS - (time.monotonic() - started)))
    report.probe_interval = sorted(intervals)[len(intervals) // 2] if intervals else 0.0


def kill(up: Up, name: str, after: int, report: Report) -> None:
    os.kill(up.pids()[name], signal.SIGKILL)
    report.faults.append(f"SIGKILL {name} after {after} requests")


async def settle(
    db: Database, traffic: Traffic, fake: FakeTwilio, receiver: Receiver, report: Report
) -> bool:
    """Wait until every accepted message is routed, answered on SMS and its webhook in."""
    wanted = len(traffic.accepted_sids)
    deadline = time.monotonic() + SETTLE_SECONDS + SETTLE_SECONDS_PER_MESSAGE * wanted
    while time.monotonic() < deadline:
        async with db.transaction() as session:
            routed = await session.scalar(
                select(func.count(Message.id)).where(
                    Message.direction == "inbound", Message.routed_at.is_not(None)
                )
            )
        customers = {sent.get("To") for sent in fake.messages()} | await flagged(db)
        report.last_look = (routed or 0, len(customers), len(receiver.ids))
        if routed == wanted and len(customers) >= wanted and len(receiver.ids) >= wanted:
            return True
        await asyncio.sleep(0.5)
    return False


async def flagged(db: Database) -> set[str]:
    """The customers whose AI reply a killed worker left mid-send, now flagged for an agent."""
    async with db.transaction() as session:
        addresses = await session.scalars(
            select(Conversation.address)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.author == "ai", Message.error_code == INTERRUPTED)
        )
        return {str(address) for address in addresses}


async def collect(db: Database, traffic: Traffic, fake: FakeTwilio, report: Report) -> None:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(
                    Message.provider_message_id, Message.conversation_id, Message.routed_at
                ).where(Message.direction == "inbound")
            )
        ).all()
        replies = Counter(
            conversation
            for (conversation,) in (
                await session.execute(select(Message.conversation_id).where(Message.author == "ai"))
            ).all()
        )
    stored = Counter(sid for sid, _, _ in rows)
    report.stored = len(stored)
    report.duplicates = sum(count - 1 for count in stored.values())
    report.lost = len(traffic.accepted_sids - set(stored))
    report.routed = sum(1 for _, _, routed in rows if routed is not None)
    conversations = {sid: conversation for sid, conversation, _ in rows}
    by_customer = Counter(sent.get("To") for sent in fake.messages())
    interrupted = await flagged(db)
    report.interrupted = len(interrupted)
    for params in traffic.unique:
        if params["MessageSid"] not in traffic.accepted_sids:
            continue
        report.ai_replies[replies.get(conversations.get(params["MessageSid"], -1), 0)] += 1
        report.sends_per_inbound[by_customer.get(params["From"], 0)] += 1
        if not by_customer.get(params["From"]) and params["From"] not in interrupted:
            report.unaccounted += 1
    callbacks = Counter(
        re.sub(r".*[?&]part=(\d+).*", r"\1", sent.get("StatusCallback") or "")
        for sent in fake.messages()
    )
    report.duplicate_sends = sum(count - 1 for count in callbacks.values() if count > 1)
    report.webhooks_expected = len(traffic.accepted_sids)


async def run_faults(workdir: Path, messages: int, rate: float, *, faults: bool = True) -> Report:
    """One fault run; the report of what arrived where."""
    report = Report()
    var_dir = workdir / "var"
    var_dir.mkdir(parents=True)
    port = free_port()
    fake = FakeTwilio().start()
    account = fake.add_account()
    receiver = Receiver()
    await receiver.start()
    up = Up(var_dir, port, environment(var_dir, port, fake))
    db = Database(f"sqlite+aiosqlite:///{var_dir / 'switchboard.db'}", pooled=False)
    try:
        await up.wait_running()
        await set_up_demo(db, account, receiver)
        before = await asyncio.to_thread(redis_footprint, up.redis_url(), var_dir)
        traffic = Traffic(f"{up.url}/twilio/sms", account, messages)
        report.requests, report.unique = len(traffic.requests), len(traffic.unique)
        stop, measuring = asyncio.Event(), asyncio.Event()
        prober = asyncio.create_task(probe(up.url, stop, report, measuring))
        await asyncio.sleep(1.0)  # the probe's own interval, before any fault
        measuring.set()
        points = {int(share * messages): name for name, share in FAULTS} if faults else {}
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as client, asyncio.TaskGroup() as group:
            for index, params in enumerate(traffic.requests):
                if index in points:
                    kill(up, points[index], index, report)
                group.create_task(traffic.send(client, params, report))
                await asyncio.sleep(1 / rate)
        report.settled = await settle(db, traffic, fake, receiver, report)
        stop.set()
        await prober
        await collect(db, traffic, fake, report)
        report.webhook_deliveries = len(receiver.ids)
        report.webhook_repeats = sum(count - 1 for count in receiver.ids.values())
        after = await asyncio.to_thread(redis_footprint, up.redis_url(), var_dir)
        report.redis_bytes = after[0] - before[0]
        report.redis_folder_bytes = after[1] - before[1]
    finally:
        up.stop()
        await db.dispose()
        await receiver.stop()
        fake.stop()
    if not report.settled:
        print(up.output()[-3000:], file=sys.stderr)
    return report


def print_report(report: Report, messages: int) -> None:
    per_thousand = 1000 / max(1, report.unique)
    rows = [
        ("faults", "; ".join(report.faults) or "none"),
        ("requests sent", f"{report.requests} ({report.unique} distinct, the rest repeats)"),
        ("accepted (200)", str(report.accepted)),
        ("refused (any other answer)", f"{report.refused} {dict(report.statuses)}"),
        ("unanswered after re-sends", str(report.unanswered)),
        ("re-sends of unanswered requests", str(report.resends)),
        ("stored", str(report.stored)),
        ("lost (accepted, not stored)", str(report.lost)),
        ("stored twice", str(report.duplicates)),
        ("routed", str(report.routed)),
        ("AI replies stored per inbound", str(dict(sorted(report.ai_replies.items())))),
        ("SMS sent per inbound", str(dict(sorted(report.sends_per_inbound.items())))),
        ("SMS parts sent twice", str(report.duplicate_sends)),
        (
            "sends a killed worker interrupted",
            f"{report.interrupted} (flagged for an agent, never sent twice)",
        ),
        ("accepted, neither answered nor flagged", str(report.unaccounted)),
        (
            "webhook deliveries received",
            f"{report.webhook_deliveries} of {report.webhooks_expected} "
            f"({report.webhook_repeats} repeats of a delivery id)",
        ),
        (
            "gateway's longest outage",
            f"{report.longest_outage:.2f} s "
            f"(= {report.longest_outage / max(report.probe_interval, 1e-3):.0f} x the "
            f"probe's interval of {report.probe_interval * 1000:.0f} ms)",
        ),
        (
            "managed Redis per 1,000 messages",
            f"{report.redis_bytes * per_thousand / 1e6:.2f} MB more memory, "
            f"{report.redis_folder_bytes * per_thousand / 1e6:.2f} MB more on disk "
            "(after an AOF rewrite), once the messages are handled",
        ),
        (
            "settled",
            "yes"
            if report.settled
            else f"NO (timed out; routed, answered, announced: {report.last_look})",
        ),
        (
            "verdict",
            "0 lost, 0 duplicated" if report.zero_lost_and_duplicated else "LOSS OR DUPLICATES",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"bench.faults: {messages} signed SMS webhooks into `switchboard up`")
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=1000, help="webhooks to send")
    parser.add_argument("--rate", type=float, default=10.0, help="webhooks per second")
    parser.add_argument("--no-faults", action="store_true", help="kill nothing (a baseline)")
    parser.add_argument("--keep", action="store_true", help="keep the state folder and log")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="switchboard-faults-")
    try:
        report = asyncio.run(
            run_faults(Path(workdir), args.messages, args.rate, faults=not args.no_faults)
        )
    finally:
        if args.keep:
            print(f"state folder and up.log kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(report, args.messages)
    raise SystemExit(0 if report.zero_lost_and_duplicated and report.settled else 1)


if __name__ == "__main__":
    main()
