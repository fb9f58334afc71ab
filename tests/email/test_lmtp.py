"""The intake as an LMTP server, driven by the standard library's LMTP client as a mail
server in front would drive it: one reply per accepted recipient after DATA, `250` only
once the mail is committed, `550 5.1.1` at RCPT for an address that is no mailbox here,
`552` for oversize mail (once per recipient), `451 4.3.0` with nothing stored when the
database fails, and a repeat delivery stored once. After each delivery the test waits for
the processor to store what was spooled. `switchboard lmtp` runs it as its own process."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from email_channel import spool as spool_module
from email_channel.lmtp_server import start_lmtp_server
from email_channel.mailboxes import add_mailbox, list_mailboxes
from email_channel.smtp_server import inbound_smtp
from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from tests.email.helpers import SUPPORT, Inbound, email_services, mail, messages, support_mailbox
from tests.server.test_cli import query, run_cli
from tests.support.ports import free_port, wait_for_port

SALES = "sales@partner.example"  # another organization's mailbox
Reply = tuple[int, bytes]


@pytest.fixture
async def services(db: Database, redis_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    async with email_services(db, redis_url, tmp_path) as built:
        yield built


@pytest.fixture
async def lmtp_port(
    services: Services, org: Organization, other_org: Organization
) -> AsyncIterator[Inbound]:
    await support_mailbox(services.db, org)
    await add_mailbox(services.db, other_org.id, SALES)
    port = free_port()
    async with inbound_smtp(
        services, "127.0.0.1", port, start=start_lmtp_server, size_limit=200_000
    ) as processor:
        yield Inbound(port, processor)


def _deliver(port: int, raw: bytes, recipients: list[str]) -> tuple[list[Reply], list[Reply]]:
    """One LMTP transaction: the RCPT replies, then every reply after DATA (one per
    accepted recipient; smtplib's `data()` reads the first, `getreply()` the others)."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # on the wire, lines end in CRLF
    client = smtplib.LMTP("127.0.0.1", port, local_hostname="relay.test")
    try:
        client.ehlo_or_helo_if_needed()
        client.mail("carol@customer.example")
        rcpt = [client.rcpt(address) for address in recipients]
        accepted = sum(1 for code, _ in rcpt if code == 250)
        if not accepted:
            return rcpt, []
        data = [client.data(raw)]
        data += [client.getreply() for _ in range(accepted - 1)]
        client.quit()
        return rcpt, data
    finally:
        client.close()


async def deliver(inbound: Inbound, raw: bytes, recipients: list[str]):  # type: ignore[no-untyped-def]
    """Deliver, then wait until the processor has handled what was spooled."""
    replies = await asyncio.to_thread(_deliver, inbound.port, raw, recipients)
    await inbound.processor.process_pending()
    return replies


async def test_one_reply_per_recipient_after_the_commit(
    services: Services, lmtp_port: Inbound
) -> None:
    raw = mail(message_id="<lmtp-1@customer.example>")
    rcpt, data = await deliver(lmtp_port, raw, [SUPPORT, "nobody@elsewhere.example", SALES])
    assert [code for code, _ in rcpt] == [250, 550, 250]
    assert b"5.1.1" in rcpt[1][1]
    assert [code for code, _ in data] == [250, 250]
    stored = await messages(services.db)
    # Committed before the 250s: one message in each organization.
    assert len(stored) == 2
    assert {m.meta["email"]["mailbox"] for m in stored} == {SUPPORT, SALES}
    # The mail server retries (it lost our replies, say): nothing new is stored.
    _, again = await deliver(lmtp_port, raw, [SUPPORT, SALES])
    assert [code for code, _ in again] == [250, 250]
    assert len(await messages(services.db)) == 2


async def test_two_addresses_of_one_mailbox_get_a_reply_each(
    services: Services, lmtp_port: Inbound
) -> None:
    tagged = SUPPORT.replace("@", "+orders@")
    _, data = await deliver(lmtp_port, mail(to=tagged), [SUPPORT, tagged, SALES])
    assert [code for code, _ in data] == [250, 250, 250]
    assert len(await messages(services.db)) == 2


async def test_oversize_mail_is_refused_for_every_recipient(
    services: Services, lmtp_port: Inbound
) -> None:
    big = mail(body="\n".join(["x" * 70] * 4000))  # 284 kB, over the 200 kB limit
    _, data = await deliver(lmtp_port, big, [SUPPORT, SALES])
    assert [code for code, _ in data] == [552, 552]
    assert await messages(services.db) == []


async def test_a_database_failure_answers_451_for_that_recipient_only(
    services: Services,
    lmtp_port: Inbound,
    other_org: Organization,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spool = spool_module.spool
    (sales,) = [box for box in await list_mailboxes(services.db) if box.address == SALES]

    async def broken_for_sales(session, arrivals):  # type: ignore[no-untyped-def]
        if any(arrival.mailbox_id == sales.id for arrival in arrivals):
            raise RuntimeError("disk full")
        return await spool(session, arrivals)

    monkeypatch.setattr(spool_module, "spool", broken_for_sales)
    raw = mail(to=f"{SUPPORT}, {SALES}", message_id="<lmtp-retry@customer.example>")
    _, data = await deliver(lmtp_port, raw, [SUPPORT, SALES])
    assert [code for code, _ in data] == [250, 451]
    assert b"4.3.0" in data[1][1]
    (stored,) = await messages(services.db)
    assert stored.meta["email"]["mailbox"] == SUPPORT
    monkeypatch.undo()
    # The mail server tries again for the refused recipient only.
    _, data = await deliver(lmtp_port, raw, [SALES])
    assert [code for code, _ in data] == [250]
    assert sorted(m.meta["email"]["mailbox"] for m in await messages(services.db)) == [
        SALES,
        SUPPORT,
    ]


async def test_lmtp_refuses_smtp_greetings(lmtp_port: Inbound) -> None:
    def helo() -> Reply:
        client = smtplib.SMTP("127.0.0.1", lmtp_port.port)
        try:
            return client.ehlo("relay.test")
        finally:
            client.close()

    code, _ = await asyncio.to_thread(helo)
    assert code == 500


def test_switchboard_lmtp_runs_the_intake_until_it_is_stopped(
    tmp_path: Path, redis_url: str
) -> None:
    """The command a Postfix `lmtp:inet:` transport points at, as its own process."""
    var_dir = tmp_path / "var"
    for args in (
        ("migrate",),
        ("org", "create", "shop", "Shop"),
        ("mailbox", "add", "shop", SUPPORT),
    ):
        assert run_cli(var_dir, *args).returncode == 0
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
    env.update(
        SWITCHBOARD_VAR_DIR=str(var_dir),
        SWITCHBOARD_REDIS_URL=redis_url,
        SWITCHBOARD_SECRET_KEY="lmtp-test-secret",
    )
    log = tmp_path / "lmtp.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "lmtp", "--listen", f"127.0.0.1:{port}"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_for_port(port, timeout=60), log.read_text()
        rcpt, data = _deliver(
            port, mail(body="Sent through LMTP"), [SUPPORT, "x@elsewhere.example"]
        )
        assert [code for code, _ in rcpt] == [250, 550]
        assert [code for code, _ in data] == [250]
        deadline = time.monotonic() + 30
        while not query(var_dir, "select text from messages") and time.monotonic() < deadline:
            time.sleep(0.1)  # stored by the processor running beside the listener
        assert query(var_dir, "select text from messages") == [("Sent through LMTP",)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert process.returncode == 0, log.read_text()
