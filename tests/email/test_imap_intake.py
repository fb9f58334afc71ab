"""IMAP intake against a real Dovecot: new mail arrives by IDLE; Dovecot killed while we
idle, three mails delivered while it is down, restarted: the three are ingested once, in
UID order; a recreated folder (new UIDVALIDITY) is read again without duplicates; mail
already marked \\Seen is ingested; a cursor at the last UID re-ingests nothing; the
cursor moves only with the spooled batch it covers, and never back when two readers
overlap (what they both spooled is stored once); what /healthz says follows the reader."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.util import await_only

from email_channel import health, imap_intake
from email_channel import imap_cursors as cursors
from email_channel.imap_intake import ImapIntake
from email_channel.mailboxes import ImapAccess, imap_mailboxes
from email_channel.models import ImapCursor, SpooledMail
from email_channel.processor import MailProcessor
from email_channel.smtp_server import inbound_smtp
from gateway.db import Database
from gateway.models import Organization
from gateway.runtime import Services
from tests.email.helpers import SUPPORT, email_services, mail, messages, support_mailbox
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.ports import free_port

PASSWORD = "imap-pass-123"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from running_dovecot(SUPPORT, PASSWORD)


@pytest.fixture
async def services(db: Database, redis_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    async with email_services(db, redis_url, tmp_path) as built:
        yield built


@pytest.fixture
async def access(services: Services, org: Organization, dovecot: Dovecot) -> ImapAccess:
    await support_mailbox(
        services.db,
        org,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_tls=False,
        imap_password=PASSWORD,
    )
    (found,) = await imap_mailboxes(services.db)
    return found


async def texts_when(db: Database, count: int, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m.text for m in await messages(db)]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} messages, got {len(await messages(db))}")


def numbered(n: int) -> bytes:
    return mail(body=f"Mail number {n}", message_id=f"<n{n}@customer.example>")


async def test_idle_then_a_restart_with_mail_delivered_while_down(
    services: Services, access: ImapAccess, dovecot: Dovecot
) -> None:
    processor = MailProcessor(services)
    intake = ImapIntake(
        services, access, idle_seconds=30, backoff=(0.2, 1.0), on_spooled=processor.wake
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(intake.run(stop))
    processing = asyncio.create_task(processor.run(stop))
    try:
        dovecot.deliver(numbered(1))
        # Within 20 s, while IDLE is re-issued only every 30 s: pushed by the server.
        assert await texts_when(services.db, 1, timeout=20) == ["Mail number 1"]
        dovecot.stop()  # while the intake idles
        for n in (2, 3, 4):
            dovecot.deliver(numbered(n))
        dovecot.start()
        found = await texts_when(services.db, 4, timeout=60)
        assert found == [f"Mail number {n}" for n in (1, 2, 3, 4)]
    finally:
        stop.set()
        await asyncio.wait_for(runner, 20)
        await asyncio.wait_for(processing, 20)
    assert len(await messages(services.db)) == 4
    async with services.db.transaction() as session:
        cursor = await session.get(ImapCursor, access.mailbox.id)
    assert cursor is not None and cursor.last_uid == 4


async def test_seen_mail_is_ingested_and_a_second_pass_reads_nothing(
    services: Services, access: ImapAccess, dovecot: Dovecot
) -> None:
    dovecot.deliver(numbered(1))
    seen = dovecot.maildir / "cur" / "opened-in-webmail:2,S"
    seen.write_bytes(numbered(2))
    intake = ImapIntake(services, access)
    assert await intake.read_once() == 2
    assert await intake.read_once() == 0  # the cursor sits on the last UID
    assert await MailProcessor(services).process_pending() == 2
    assert sorted(m.text for m in await messages(services.db)) == [
        "Mail number 1",
        "Mail number 2",
    ]


async def test_a_recreated_folder_is_read_again_without_duplicates(
    services: Services, access: ImapAccess, dovecot: Dovecot
) -> None:
    for n in (1, 2):
        dovecot.deliver(numbered(n))
    intake = ImapIntake(services, access)
    processor = MailProcessor(services)
    assert await intake.read_once() == 2
    await processor.process_pending()
    async with services.db.transaction() as session:
        before = await session.get(ImapCursor, access.mailbox.id)
    assert before is not None
    dovecot.stop()
    dovecot.renumber(before.uidvalidity + 1000)  # as if the folder had been recreated
    dovecot.deliver(numbered(3))
    dovecot.start()
    assert await intake.read_once() == 3  # all read again ...
    await processor.process_pending()
    assert len(await messages(services.db)) == 3  # ... and only the new one stored
    async with services.db.transaction() as session:
        after = await session.get(ImapCursor, access.mailbox.id)
    assert after is not None and after.uidvalidity != before.uidvalidity
    assert after.last_uid == 3


async def test_the_cursor_moves_only_with_the_batch_it_covers(
    services: Services, access: ImapAccess, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in (1, 2, 3):
        dovecot.deliver(numbered(n))
    intake = ImapIntake(services, access, batch=2)
    calls = 0
    original = imap_intake.spool

    async def crash_on_second(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the process died here")
        return await original(*args, **kwargs)

    monkeypatch.setattr(imap_intake, "spool", crash_on_second)
    with pytest.raises(RuntimeError):
        await intake.read_once()
    async with services.db.transaction() as session:
        cursor = await session.get(ImapCursor, access.mailbox.id)
        kept = (await session.scalars(select(SpooledMail))).all()
    assert cursor is not None and cursor.last_uid == 2 and len(kept) == 2
    monkeypatch.undo()
    assert await ImapIntake(services, access).read_once() == 1
    assert await MailProcessor(services).process_pending() == 3
    assert [m.text for m in await messages(services.db)] == [
        "Mail number 1",
        "Mail number 2",
        "Mail number 3",
    ]


async def test_a_batch_fetch_reads_each_uid_once_whatever_the_order_of_the_items() -> None:
    lines = [
        b"1 FETCH (UID 7 BODY[] {3}",
        bytearray(b"one"),
        b")",
        b"2 FETCH (FLAGS (\\Seen))",
        b"3 FETCH (BODY[] {3}",
        bytearray(b"two"),
        b" UID 9)",
        b"Fetch completed.",
    ]
    assert imap_intake._fetched(lines) == [(7, b"one"), (9, b"two")]
    assert imap_intake._uid_set([9, 1, 2, 3, 7, 8]) == "1:3,7:9"


async def test_health_shows_the_listener_and_each_reader_while_they_run(
    services: Services, access: ImapAccess, dovecot: Dovecot
) -> None:
    """What /healthz says about email follows the listener and the reader: up, fetching,
    disconnected when Dovecot stops, and no address or host."""
    assert await health.report(services) == {
        "inbound_listening": False,
        "inbound_protocol": None,
        "imap": [],
    }
    stop = asyncio.Event()
    intake = ImapIntake(services, access, idle_seconds=30, backoff=(0.2, 1.0))
    async with inbound_smtp(services, "127.0.0.1", free_port()):
        runner = asyncio.create_task(intake.run(stop))
        try:
            fetching = await report_when(
                services, lambda r: r["imap"] and r["imap"][0]["last_fetch"]
            )
            assert fetching["inbound_listening"] is True
            assert fetching["inbound_protocol"] == "SMTP"
            [reader] = fetching["imap"]
            assert reader["mailbox"] == access.mailbox.id and reader["folder"] == "inbox"
            assert reader["connected"] is True
            dovecot.stop()
            down = await report_when(services, lambda r: not r["imap"][0]["connected"])
            assert down["imap"][0]["last_fetch"] >= reader["last_fetch"]
            assert SUPPORT not in str(down) and "127.0.0.1" not in str(down)
        finally:
            stop.set()
            await asyncio.wait_for(runner, 20)
    assert (await health.report(services))["inbound_listening"] is False


async def report_when(
    services: Services, wanted: Callable[[dict[str, Any]], object], timeout: float = 20.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = dict(await health.report(services))
        if wanted(found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the health report never matched: {found}")


async def cursor_of(db: Database, mailbox_id: int) -> tuple[int, int]:
    async with db.transaction() as session:
        cursor = await session.get(ImapCursor, mailbox_id)
    assert cursor is not None
    return cursor.uidvalidity, cursor.last_uid


async def test_two_readers_of_a_recreated_folder_read_it_once(
    services: Services, access: ImapAccess, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two readers of one mailbox (the lock ran out during a long first read) both find
    a new UIDVALIDITY; the one held before starting the folder again must not take the
    cursor back from the one that read it to its end meanwhile."""
    for n in (1, 2):
        dovecot.deliver(numbered(n))
    assert await ImapIntake(services, access).read_once() == 2
    old, _ = await cursor_of(services.db, access.mailbox.id)
    dovecot.stop()
    dovecot.renumber(old + 1000)
    dovecot.deliver(numbered(3))
    dovecot.start()
    held, go = asyncio.Event(), asyncio.Event()
    reset = cursors.reset

    async def held_reset(*args: Any) -> Any:
        if not held.is_set():  # the first reader only
            held.set()
            await go.wait()
        return await reset(*args)

    monkeypatch.setattr(cursors, "reset", held_reset)
    slow = asyncio.create_task(ImapIntake(services, access).read_once())
    try:
        await held.wait()  # it found the new UIDVALIDITY and waits to start the folder again
        assert await ImapIntake(services, access).read_once() == 3
    finally:
        go.set()
    spooled_again = await slow
    # Whatever was spooled twice is stored once.
    await MailProcessor(services).process_pending()
    assert sorted(m.text for m in await messages(services.db)) == [
        f"Mail number {n}" for n in (1, 2, 3)
    ]
    assert await cursor_of(services.db, access.mailbox.id) == (old + 1000, 3)
    assert spooled_again == 0  # it went on from the other reader's cursor


async def test_a_reader_held_before_its_cursor_write_never_moves_it_back(
    services: Services, access: ImapAccess, dovecot: Dovecot
) -> None:
    """One reader's batch transaction is held just before it writes the cursor while a
    second reader spools further and commits: the first one's commit leaves the cursor
    where the second put it."""
    if services.db.dialect != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time: none can straddle another")
    dovecot.deliver(numbered(1))
    assert await ImapIntake(services, access).read_once() == 1
    for n in (2, 3):
        dovecot.deliver(numbered(n))
    held, go = asyncio.Event(), asyncio.Event()

    def hold_first_cursor_write(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith("UPDATE email_imap_cursors") and not held.is_set():
            held.set()
            await_only(go.wait())  # in SQLAlchemy's greenlet: the event loop runs on

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", hold_first_cursor_write)
    try:
        slow = asyncio.create_task(ImapIntake(services, access).read_once())
        await held.wait()  # mails 2 and 3 spooled, its cursor write to 3 not yet made
        for n in (4, 5):
            dovecot.deliver(numbered(n))
        assert await ImapIntake(services, access).read_once() == 4  # 2 to 5, committed
        go.set()
        assert await slow == 2
    finally:
        go.set()
        event.remove(engine, "before_cursor_execute", hold_first_cursor_write)
    # Whatever was spooled twice is stored once.
    await MailProcessor(services).process_pending()
    assert sorted(m.text for m in await messages(services.db)) == [
        f"Mail number {n}" for n in (1, 2, 3, 4, 5)
    ]
    assert (await cursor_of(services.db, access.mailbox.id))[1] == 5
    assert await ImapIntake(services, access).read_once() == 0  # nothing read again
