"""Email intake: how fast mail is accepted and committed, and how fast it is processed,
against bare baselines measured in the same run.

SMTP: mails per second that Switchboard's inbound server answers `250` for (the raw mail
committed to the spool) against a bare aiosmtpd handler that only writes each mail to a
file, both on this event loop and driven by the same aiosmtplib clients, in alternating
rounds; and mails per second processed end to end (from the first SMTP command until the
last mail is parsed, threaded and stored by the funnel, its routing job queued), with the
processor running beside the server on the same loop, as `switchboard smtp` runs it.
IMAP (run as root, needs Dovecot): mails per second spooled by `ImapIntake` (batched
`UID FETCH`, spool and cursor in one transaction per batch) against a raw aioimaplib
fetch of the same new mails one `UID FETCH` each, and against the same raw fetch in
batches, all three timed from a logged-in client with the folder selected; and mails per
second processed end to end (from that moment to the last mail stored).

    .venv/bin/python -m bench.email_intake [--messages 600] [--concurrency 4] [--no-imap]
    .venv/bin/python -m bench.email_intake --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from aioimaplib import IMAP4
from aiosmtpd.smtp import SMTP
from sqlalchemy import func, select

from bench.services import bench_services, empty_queues
from bench.support import (
    TIMES,
    Run,
    add_database_options,
    combine,
    new_parser,
    print_report,
    round_sizes,
    run,
)
from email_channel.imap_intake import BATCH, ImapIntake
from email_channel.mailboxes import add_mailbox, imap_mailboxes
from email_channel.models import SpooledMail
from email_channel.processor import MailProcessor
from email_channel.smtp_server import inbound_smtp
from gateway.models import Message
from tests.support.factories import make_org
from tests.support.ports import free_port

SUPPORT = "support@bench.example"
QUOTE = "\n".join(f"> line {n} of the message we sent earlier" for n in range(12))


def sample(index: int, prefix: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {index % 50} <customer{index % 50}@shop-customers.example>"
    message["To"] = SUPPORT
    message["Subject"] = f"Question about order {1000 + index}"
    message["Message-ID"] = f"<{prefix}-{index}@shop-customers.example>"
    message.set_content(
        f"Hello, my order {1000 + index} has not arrived yet. Can you check it?\n\n"
        f"On Monday, Support wrote:\n{QUOTE}\n"
    )
    return bytes(message)


class DiskHandler:
    """The baseline: accept every recipient, write each mail to a file, answer 250."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        path = self.folder / f"{self.count}.eml"
        await asyncio.to_thread(path.write_bytes, envelope.original_content)
        return "250 2.0.0 OK"


async def send_all(port: int, mails: list[bytes], concurrency: int, mode: str) -> Run:
    """Each client holds one SMTP session and sends its share of `mails` in it."""
    latencies: list[float] = []
    shares = [mails[start::concurrency] for start in range(concurrency)]

    async def client(share: list[bytes]) -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await smtp.connect()
        try:
            for raw in share:
                started = time.perf_counter()
                errors, _ = await smtp.sendmail("c@shop-customers.example", [SUPPORT], raw)
                assert not errors
                latencies.append(time.perf_counter() - started)
        finally:
            await smtp.quit()

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for share in shares:
            group.create_task(client(share))
    return Run(mode, latencies, time.perf_counter() - started)


async def smtp_part(args: argparse.Namespace, workdir: Path) -> None:
    async with bench_services(args, workdir) as (database, services):
        services.settings = services.settings.model_copy(update={"var_dir": workdir / "var"})
        org = await make_org(services.db, "bench")
        await add_mailbox(services.db, org.id, SUPPORT)
        ours_port, bare_port = free_port(), free_port()
        disk = workdir / "disk"
        disk.mkdir()
        loop = asyncio.get_running_loop()
        bare = await loop.create_server(
            lambda: SMTP(DiskHandler(disk), hostname="bench", decode_data=False),
            "127.0.0.1",
            bare_port,
        )
        bare_rounds: list[Run] = []
        ours_rounds: list[Run] = []
        processed_rounds: list[Run] = []
        try:
            async with inbound_smtp(services, "127.0.0.1", ours_port) as processor:
                warm = [sample(n, "warm") for n in range(args.concurrency * 5)]
                await send_all(bare_port, warm, args.concurrency, "warm-up")
                await send_all(ours_port, warm, args.concurrency, "warm-up")
                await processor.process_pending()
                sent = 0
                for number, size in enumerate(round_sizes(args.messages, args.rounds)):
                    mails = [sample(n, f"r{number}") for n in range(size)]
                    bare_rounds.append(
                        await send_all(bare_port, mails, args.concurrency, "bare aiosmtpd to disk")
                    )
                    label = f"inbound SMTP, 250 ({database.label})"
                    started = time.perf_counter()
                    ours_rounds.append(await send_all(ours_port, mails, args.concurrency, label))
                    await processor.process_pending()
                    processed_rounds.append(
                        _mean_run(f"processed ({database.label})", size, started)
                    )
                    sent += size
                    empty_queues(services.jobs)
            async with services.db.transaction() as session:
                stored = await session.scalar(select(func.count()).select_from(Message))
                waiting = await session.scalar(select(func.count()).select_from(SpooledMail))
        finally:
            bare.close()
    if stored != sent + len(warm) or waiting:
        raise SystemExit(f"expected {sent + len(warm)} stored mails, found {stored}")
    baseline, measured = combine(bare_rounds), combine(ours_rounds)
    processed = combine(processed_rounds)
    print_report(
        f"SMTP: {args.messages} mails per mode from {args.concurrency} sessions, "
        f"{args.rounds} alternating rounds, {database.label}, real Redis",
        [baseline, measured, processed],
        f"inbound SMTP (250 once spooled) = {measured.rate / baseline.rate:.2f} {TIMES} "
        "bare aiosmtpd to disk",
        f"processed end to end = {processed.rate / baseline.rate:.2f} {TIMES} bare aiosmtpd "
        "to disk (first SMTP command to the last mail stored by the funnel)",
        f"(checked: every one of the {stored} mails stored once, none left spooled; "
        "the processed row's latency is its mean)",
    )


def _mean_run(mode: str, count: int, started: float) -> Run:
    seconds = time.perf_counter() - started
    return Run(mode, [seconds / count] * count, seconds)


async def raw_fetch(port: int, password: str, after: int) -> tuple[Run, int]:
    """The baseline: log in, search the UIDs after `after`, fetch each body."""
    client = IMAP4("127.0.0.1", port, timeout=60)
    await client.wait_hello_from_server()
    await client.login(SUPPORT, password)
    await client.select("INBOX")
    started = time.perf_counter()
    found = await client.uid_search("UID", f"{after + 1}:*")
    uids = [int(t) for t in bytes(found.lines[0]).split() if t.isdigit() and int(t) > after]
    latencies: list[float] = []
    for uid in uids:
        begun = time.perf_counter()
        await client.uid("fetch", str(uid), "(UID BODY.PEEK[])")
        latencies.append(time.perf_counter() - begun)
    seconds = time.perf_counter() - started
    await client.logout()
    return Run("raw aioimaplib fetch", latencies, seconds), max(uids, default=after)


async def raw_batch_fetch(port: int, password: str, after: int) -> Run:
    """The second baseline: the same, fetching the new UIDs in batches as intake does."""
    client = IMAP4("127.0.0.1", port, timeout=60)
    await client.wait_hello_from_server()
    await client.login(SUPPORT, password)
    await client.select("INBOX")
    started = time.perf_counter()
    found = await client.uid_search("UID", f"{after + 1}:*")
    uids = [int(t) for t in bytes(found.lines[0]).split() if t.isdigit() and int(t) > after]
    latencies: list[float] = []
    for start in range(0, len(uids), BATCH):
        chunk = uids[start : start + BATCH]
        begun = time.perf_counter()
        await client.uid("fetch", f"{chunk[0]}:{chunk[-1]}", "(UID BODY.PEEK[])")
        latencies.extend([(time.perf_counter() - begun) / len(chunk)] * len(chunk))
    seconds = time.perf_counter() - started
    await client.logout()
    return Run("raw aioimaplib fetch, batches", latencies, seconds)


async def imap_part(args: argparse.Namespace, workdir: Path) -> None:
    from tests.support.dovecot import Dovecot
    from tests.support.servers import ServerUnavailable

    password = "bench-imap-password"
    try:
        dovecot = Dovecot(SUPPORT, password).start()
    except ServerUnavailable as error:
        print(f"\nIMAP: skipped ({error})")
        return
    own = workdir / "imap"  # a database and Redis of its own, apart from the SMTP part's
    own.mkdir()
    try:
        async with bench_services(args, own) as (database, services):
            services.settings = services.settings.model_copy(update={"var_dir": own / "var"})
            org = await make_org(services.db, "bench")
            await add_mailbox(
                services.db,
                org.id,
                SUPPORT,
                smtp=False,
                imap_host="127.0.0.1",
                imap_port=dovecot.port,
                imap_tls=False,
                imap_password=password,
            )
            (access,) = await imap_mailboxes(services.db)
            processor = MailProcessor(services)
            stop = asyncio.Event()
            running = asyncio.create_task(processor.run(stop))
            intake = ImapIntake(services, access, on_spooled=processor.wake)
            raw_rounds: list[Run] = []
            batch_rounds: list[Run] = []
            ours_rounds: list[Run] = []
            processed_rounds: list[Run] = []
            last = 0
            try:
                for number, size in enumerate(round_sizes(args.imap_messages, args.rounds)):
                    for n in range(size):
                        dovecot.deliver(sample(n, f"imap{number}"))
                    batch_rounds.append(await raw_batch_fetch(dovecot.port, password, last))
                    baseline, last = await raw_fetch(dovecot.port, password, last)
                    raw_rounds.append(baseline)
                    # Timed as the baselines are: from a selected folder to the last mail.
                    async with intake.connected() as (client, uidvalidity):
                        started = time.perf_counter()
                        count = await intake.sync(client, uidvalidity)
                        ours_rounds.append(
                            _mean_run(f"IMAP intake, spooled ({database.label})", count, started)
                        )
                    await processor.process_pending()
                    processed_rounds.append(
                        _mean_run(f"processed ({database.label})", count, started)
                    )
                    empty_queues(services.jobs)
            finally:
                stop.set()
                await running
            async with services.db.transaction() as session:
                stored = await session.scalar(select(func.count()).select_from(Message))
    finally:
        dovecot.close()
    if stored != args.imap_messages:
        raise SystemExit(f"expected {args.imap_messages} stored mails, found {stored}")
    baseline, batched = combine(raw_rounds), combine(batch_rounds)
    measured, processed = combine(ours_rounds), combine(processed_rounds)
    print_report(
        f"IMAP: {args.imap_messages} mails per mode from a loopback Dovecot, "
        f"{args.rounds} alternating rounds, {database.label}",
        [baseline, batched, measured, processed],
        f"IMAP intake (spooled, cursor moved) = {measured.rate / baseline.rate:.2f} {TIMES} "
        f"raw aioimaplib fetch, {measured.rate / batched.rate:.2f} {TIMES} raw fetch in batches",
        f"processed end to end = {processed.rate / baseline.rate:.2f} {TIMES} raw aioimaplib "
        f"fetch, {processed.rate / batched.rate:.2f} {TIMES} raw fetch in batches",
        f"(checked: {stored} mails stored once; intake's and processing's per-mail latency is "
        "their mean: they read a batch in one call)",
    )


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    await smtp_part(args, workdir)
    if not args.no_imap:
        await imap_part(args, workdir)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = new_parser(__doc__)
    parser.add_argument("--messages", type=int, default=600, help="SMTP mails per mode")
    parser.add_argument("--imap-messages", type=int, default=300, help="IMAP mails per mode")
    parser.add_argument("--concurrency", type=int, default=4, help="SMTP sessions at once")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the modes")
    parser.add_argument("--no-imap", action="store_true", help="skip the IMAP part")
    add_database_options(parser)
    args = parser.parse_args(argv)
    if min(args.concurrency, args.rounds) < 1 or args.messages < args.rounds:
        parser.error("--concurrency and --rounds must be at least 1, --messages at least --rounds")
    return args


if __name__ == "__main__":
    run(benchmark, parse_args())
